# 送信済みファイルステータス一覧: the sends with their sealed names, 健保ダウンロード 未; a
# send cancelled by checkbox while 未 (the confirmation, 取消結果); once the society downloaded
# the other (the test runs `kx society pull`), it is 済 and its cancel fails with E8005. When the
# server ends the session, the app goes back to PIN入力.
pin, first, second, third = sys.argv[1:5]


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin)
    menu(page, "送信済みファイルステータス一覧")
    expect(page.get_by_text("ファイル名は暗号化後のファイル名を表示します。")).to_be_visible()
    expect(page.get_by_role("radio", name="過去2か月")).to_be_checked()
    for name in [first, second]:
        expect(row(page, name)).to_contain_text("給付課")
        expect(row(page, name).get_by_role("cell").last).to_have_text("未")
    shot(page, "office-sent")

    page.get_by_role("button", name="削除").click()
    error_dialog(page, "E2001")
    # The list stays as it was shown.
    expect(page.get_by_role("radio", name="過去2か月")).to_be_checked()

    # Cancelled while 未: the confirmation, then 取消結果.
    page.get_by_label(first).check()
    page.get_by_role("button", name="削除").click()
    dialog = page.get_by_role("dialog", name="確認")
    expect(dialog).to_contain_text("選択したファイルの送信を取り消します")
    dialog.get_by_role("button", name="はい").click()
    heading(page, "取消結果")
    expect(page.get_by_role("columnheader")).to_have_text(["ファイル名", "取消結果"])
    expect(row(page, first)).to_contain_text("成功")
    no_error(page)
    page.get_by_role("link", name="OK").click()
    heading(page, "送信済みファイルステータス一覧")
    expect(row(page, first)).to_have_count(0)

    # The society downloads the other: 済, and too late to cancel.
    ask("pull")
    page.get_by_role("radio", name="全件").check()
    page.get_by_role("button", name="表示").click()
    expect(page.get_by_role("radio", name="全件")).to_be_checked()
    for name in [second, third]:
        expect(row(page, name).get_by_role("cell").last).to_have_text("済")
        page.get_by_label(name).check()
    page.get_by_role("button", name="削除").click()
    page.get_by_role("dialog", name="確認").get_by_role("button", name="はい").click()
    heading(page, "取消結果")
    # A dialog per file, each its own.
    dialogs = page.get_by_role("alertdialog", name="エラー E8005")
    expect(dialogs).to_have_count(2)
    unique_ids(page)
    for name in [second, third]:
        expect(row(page, name)).to_contain_text("失敗")
        # The server names the operation as the screen does: the send is cancelled by 削除.
        expect(row(page, name).get_by_role("alertdialog")).to_contain_text("ファイルの削除に失敗しました。")
    # Back to the list as it was (全件), after a result, a refusal and a いいえ alike.
    page.get_by_role("link", name="OK").click()
    expect(page.get_by_role("radio", name="全件")).to_be_checked()
    expect(row(page, second)).to_be_visible()
    page.get_by_role("button", name="削除").click()
    error_dialog(page, "E2001")
    expect(page.get_by_role("radio", name="全件")).to_be_checked()
    page.get_by_label(second).check()
    page.get_by_role("button", name="削除").click()
    page.get_by_role("dialog", name="確認").get_by_role("link", name="いいえ").click()
    expect(page.get_by_role("radio", name="全件")).to_be_checked()
    expect(row(page, second)).to_be_visible()
    say("CANCELLED")

    # The server ends the session (its absolute end passed): the next screen that asks the
    # server goes back to PIN入力, saying why, and the PIN opens a new session.
    ask("end sessions")
    page.get_by_role("button", name="表示").click()
    heading(page, "PIN入力")
    expect(page.get_by_role("status")).to_have_text(
        "KXサーバがログインを終了しました。PINを入力してください。")
    enter_pin(page, pin)
    menu(page, "送信済みファイルステータス一覧")
    expect(row(page, second)).to_be_visible()
    b.close()
