# 事業所へ送信 on the desk: 送信 before any office is chosen (E2005); two offices picked, one
# searched by its number and one by its name, the first kept while the second search does not
# show it; 送信 before any file is added (E2002), then a file added; the confirmation naming
# both; the upload's bar, then 事業所ごとの送信結果 with a sealed name per office. Then 送信状況:
# the sends by office, 健保ダウンロード 済 once the office received its file (the test runs its
# `kx receive`), 未 for the other.
pin, files, name, first, second = sys.argv[1:6]
first_number, second_number = first.split()[0], second.split()[0]


def search(page, query):
    page.get_by_label("検索（事業所番号・事業所名）").fill(query)
    page.get_by_role("search").get_by_role("button", name="表示").click()
    heading(page, "事業所へ送信")


def pick(page, office):
    page.get_by_label(office).check()
    page.get_by_role("button", name="送信先に設定").click()
    heading(page, "事業所へ送信")


def chosen(page):
    return page.locator("h2", has_text="送信先の事業所").locator("xpath=following-sibling::*[1]")


def send_button(page):
    return page.get_by_role("button", name="送信", exact=True)


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin, DESK)
    desk_menu(page, "事業所へ送信", "事業所へ送信")
    expect(row(page, first_number)).to_be_visible()
    expect(row(page, second_number)).to_be_visible()
    expect(chosen(page)).to_have_text("ありません。")
    send_button(page).click()
    error_dialog(page, "E2005")

    # By number: only that office is shown.
    search(page, first_number)
    expect(row(page, first_number)).to_be_visible()
    expect(row(page, second_number)).to_have_count(0)
    pick(page, first)
    expect(chosen(page).get_by_role("listitem")).to_have_text([first])
    # By name: the other one, the first kept though not shown.
    search(page, second.split()[1][:2])
    expect(row(page, second_number)).to_be_visible()
    expect(row(page, first_number)).to_have_count(0)
    pick(page, second)
    expect(chosen(page).get_by_role("listitem")).to_have_text([first, second])
    expect(page.get_by_label(first)).to_be_checked()
    expect(page.get_by_label(second)).to_be_checked()
    send_button(page).click()
    error_dialog(page, "E2002")

    add_files(page, os.path.join(files, name))
    no_error(page)
    expect(row(page, name)).to_be_visible()
    shot(page, "society-send")

    send_button(page).click()
    dialog = page.get_by_role("dialog", name="確認")
    expect(dialog).to_contain_text("ファイルを送信します。よろしいですか？")
    expect(dialog).to_contain_text(first_number + ", " + second_number)
    expect(dialog.get_by_role("listitem")).to_contain_text([name])
    dialog.get_by_role("button", name="はい").click()
    values = progress_values(page, "暗号化・送信", lambda: "/result" in page.url)
    say("PROGRESS", " ".join(values))
    heading(page, "事業所へ送信")
    table = page.get_by_role("table", name="事業所ごとの送信結果")
    expect(table.get_by_role("columnheader")).to_have_text(["事業所番号", "送信結果"])
    sealed = {}
    for number in [first_number, second_number]:
        result = row(page, number)
        expect(result).to_contain_text("成功")
        sealed[number] = re.search(r"Send-\S+", result.inner_text()).group(0)
        say("SENT", number, sealed[number])
    assert sealed[first_number] != sealed[second_number], sealed
    shot(page, "society-send-result")
    page.get_by_role("link", name="OK").click()
    heading(page, "機能一覧")
    # Sent: nothing chosen any more.
    desk_menu(page, "事業所へ送信", "事業所へ送信")
    expect(chosen(page)).to_have_text("ありません。")
    expect(row(page, name)).to_have_count(0)

    # 送信状況: the office that received its file says 済; one office at a time.
    ask("receive", first_number)
    desk_menu(page, "送信状況", "送信済みファイルステータス一覧")
    expect(row(page, sealed[first_number])).to_contain_text("済")
    expect(row(page, sealed[second_number])).to_contain_text("未")
    office = page.get_by_label("事業所名")
    expect(office.get_by_role("option")).to_have_text(["すべての事業所", first, second])
    office.select_option(label=second)
    page.get_by_role("button", name="表示").click()
    heading(page, "送信済みファイルステータス一覧")
    expect(office).to_have_value(second_number)
    expect(row(page, sealed[second_number])).to_contain_text(second)
    expect(row(page, sealed[first_number])).to_have_count(0)
    shot(page, "society-sent")
    office.select_option(label=first)
    page.get_by_role("button", name="表示").click()
    expect(office).to_have_value(first_number)
    expect(row(page, sealed[first_number])).to_be_visible()
    expect(row(page, sealed[second_number])).to_have_count(0)
    office.select_option(label="すべての事業所")
    page.get_by_role("button", name="表示").click()
    expect(row(page, sealed[first_number])).to_be_visible()
    expect(row(page, sealed[second_number])).to_be_visible()
    b.close()
