# 受信ファイル一覧: the files the society sent, 未 until received; 受信 with its two bars
# (ダウンロード, 復号) and 受信結果, each ZIP downloaded by the browser and written to the receive
# folder set in 設定; 削除 warning about a file never received (未); 履歴.
pin, folder, downloads, first, second = sys.argv[1:6]


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin)

    menu(page, "設定変更")
    page.get_by_label("受信フォルダ（空欄：ブラウザのダウンロードのみ）").fill(folder)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("このパソコンの設定を保存しました。")

    menu(page, "受信ファイル一覧取得")
    for name in [first, second]:
        expect(row(page, name)).to_contain_text("未")
        expect(row(page, name)).to_contain_text("06139999 デモ健康保険組合")
    shot(page, "office-inbox")
    # 受信 with nothing checked.
    page.get_by_role("button", name="受信", exact=True).click()
    error_dialog(page, "E2001")

    page.get_by_label(first).check()
    page.get_by_label(second).check()
    page.get_by_role("button", name="受信", exact=True).click()
    heading(page, "受信")
    expect(page.get_by_role("progressbar", name="ダウンロード")).to_be_visible()
    expect(page.get_by_role("progressbar", name="復号")).to_be_visible()
    shot(page, "office-receive-progress")
    seen = progress_values(page, "ダウンロード", lambda: "/result" in page.url)
    say("DOWNLOAD BAR", " ".join(seen))

    heading(page, "受信結果")
    table = page.get_by_role("table", name="受信結果")
    expect(table).to_be_visible()
    shot(page, "office-received")
    for name in [first, second]:
        expect(row(page, name)).to_contain_text("成功")
        expect(row(page, name)).to_contain_text(os.path.join(folder, name))
        save_download(page, name, downloads)
    page.get_by_role("link", name="OK").click()
    heading(page, "機能一覧")

    # Received: the time replaces 未. A new file arrives meanwhile.
    third = ask("society send", "later.pdf")
    menu(page, "受信ファイル一覧取得")
    expect(row(page, first)).not_to_contain_text("未")
    expect(row(page, third)).to_contain_text("未")

    # 削除 of a received file and one never received: the warning names the latter only.
    page.get_by_label(first).check()
    page.get_by_label(third).check()
    page.get_by_role("button", name="削除").click()
    dialog = page.get_by_role("dialog", name="確認")
    expect(dialog).to_contain_text("未受信のファイル（受信日時が「未」）を削除すると、受信できなくなります。")
    expect(dialog.get_by_role("listitem")).to_have_text([third])
    # いいえ keeps everything.
    dialog.get_by_role("link", name="いいえ").click()
    heading(page, "受信ファイル一覧取得")
    expect(row(page, third)).to_be_visible()
    page.get_by_label(first).check()
    page.get_by_label(third).check()
    page.get_by_role("button", name="削除").click()
    page.get_by_role("dialog", name="確認").get_by_role("button", name="はい").click()
    heading(page, "削除結果")
    expect(page.get_by_role("columnheader")).to_have_text(["ファイル名", "削除結果"])
    expect(row(page, first)).to_contain_text("成功")
    expect(row(page, third)).to_contain_text("成功")
    page.get_by_role("link", name="OK").click()
    heading(page, "受信ファイル一覧取得")
    expect(row(page, first)).to_have_count(0)
    expect(row(page, second)).to_be_visible()

    page.get_by_role("link", name="履歴").click()
    heading(page, "削除済み受信ファイルの履歴")
    expect(page.get_by_text("履歴は送信日から2年間表示されます。")).to_be_visible()
    expect(row(page, first)).to_be_visible()
    expect(row(page, third)).to_contain_text("未")
    expect(row(page, second)).to_have_count(0)
    say("RECEIVED")
    b.close()
