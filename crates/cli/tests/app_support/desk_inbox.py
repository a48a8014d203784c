# 受信 on the desk: the society's inbox with its 送信先 column and filter (every destination the
# files name), each destination keeping only its files; one file received through its bars to
# 受信結果 and downloaded by the browser; the list after, the other still 未.
pin, downloads, to_first, first, first_office, to_second, second, second_office = sys.argv[1:9]


def only(page, destination):
    page.get_by_label("送信先").select_option(destination)
    page.get_by_role("button", name="表示").click()
    heading(page, "受信ファイル一覧取得")


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin, DESK)
    desk_menu(page, "受信", "受信ファイル一覧取得")
    expect(page.get_by_role("columnheader")).to_have_text(
        ["選択", "受信日時", "送信日時", "送信元", "送信先", "サイズ", "受信期限", "ファイル名"])
    for name, office, to in [(first, first_office, to_first), (second, second_office, to_second)]:
        expect(row(page, name)).to_contain_text(office)
        expect(row(page, name)).to_contain_text(to)
        expect(row(page, name)).to_contain_text("未")
    expect(page.get_by_label("送信先").get_by_role("option")).to_have_text(
        ["すべての送信先"] + sorted([to_first, to_second]))

    only(page, to_second)
    expect(page.get_by_label("送信先")).to_have_value(to_second)
    expect(row(page, second)).to_be_visible()
    expect(row(page, first)).to_have_count(0)
    only(page, to_first)
    expect(page.get_by_label("送信先")).to_have_value(to_first)
    expect(row(page, first)).to_be_visible()
    expect(row(page, second)).to_have_count(0)
    shot(page, "society-inbox")

    page.get_by_label(first).check()
    page.get_by_role("button", name="受信", exact=True).click()
    heading(page, "受信")
    progress_values(page, "ダウンロード", lambda: "/result" in page.url)
    heading(page, "受信結果")
    expect(row(page, first)).to_contain_text("成功")
    save_download(page, first, downloads)
    page.get_by_role("link", name="OK").click()
    heading(page, "機能一覧")

    # Received: the time replaces 未; the other destination's file still waits.
    desk_menu(page, "受信", "受信ファイル一覧取得")
    expect(row(page, first)).not_to_contain_text("未")
    expect(row(page, second)).to_contain_text("未")
    say("RECEIVED")
    b.close()
