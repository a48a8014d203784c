# 事業所一覧 and 有効期限が近い事業所の電子証明書 on the desk: the function list counts the offices
# whose certificates have fewer than 60 days left; the filtered list shows that office only,
# and a search keeps the filter; the whole list shows both, searched by number or by name.
pin, normal, short = sys.argv[1:4]
normal_number, short_number = normal.split()[0], short.split()[0]


def search(page, query, title):
    page.get_by_label("検索（事業所番号・事業所名）").fill(query)
    page.get_by_role("button", name="表示").click()
    heading(page, title)


def days_left(page, number):
    return row(page, number).get_by_role("cell").last


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin, DESK)
    expect(page.get_by_role("link", name="有効期限が近い事業所の電子証明書 (1)", exact=True)).to_be_visible()

    desk_menu(page, "有効期限が近い事業所の電子証明書", "有効期限が近い事業所の電子証明書")
    expect(page.get_by_text("有効期限まで60日を切った事業所です。")).to_be_visible()
    expect(page.get_by_role("columnheader")).to_have_text(
        ["事業所番号", "事業所名", "電子証明書の有効期限", "残り日数"])
    expect(row(page, short_number)).to_contain_text(short.split()[1])
    expect(days_left(page, short_number)).to_have_text(re.compile("^(29|30)$"))
    expect(row(page, normal_number)).to_have_count(0)
    shot(page, "society-expiring")
    # The search stays within the filter.
    search(page, normal_number, "有効期限が近い事業所の電子証明書")
    expect(page).to_have_url(re.compile(r"[?&]soon=1"))
    expect(page.get_by_text("有効期限が近い事業所はありません。")).to_be_visible()
    page.get_by_role("link", name="戻る").click()
    heading(page, "機能一覧")

    desk_menu(page, "事業所一覧", "事業所一覧")
    expect(days_left(page, normal_number)).to_have_text(re.compile("^(729|730)$"))
    expect(days_left(page, short_number)).to_have_text(re.compile("^(29|30)$"))
    shot(page, "society-offices")
    search(page, normal.split()[1][:2], "事業所一覧")
    expect(row(page, normal_number)).to_be_visible()
    expect(row(page, short_number)).to_have_count(0)
    search(page, short_number, "事業所一覧")
    expect(row(page, short_number)).to_be_visible()
    expect(row(page, normal_number)).to_have_count(0)
    search(page, "99999", "事業所一覧")
    expect(page.get_by_text("ありません。", exact=True)).to_be_visible()
    say("LISTED")
    b.close()
