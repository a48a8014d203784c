# 起動確認 with the login's notices as the manual's dialogs: a certificate with fewer than 60
# days left offers 電子証明書の更新, waiting for the society (the test runs `kx society
# approve`): refused first, with the society's reason, then approved; the session goes on and
# sends. After the society renewed its own certificate, the next start says so.
pin, files = sys.argv[1:3]

with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    page.goto(URL)
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="OK").click()
    heading(page, "起動確認")
    renewal = page.get_by_role("dialog", name="電子証明書の更新")
    expect(renewal).to_contain_text("電子証明書の有効期限が近づいています。更新しますか？")
    renewal.get_by_role("button", name="更新").click()
    heading(page, "電子証明書の更新")
    expect(page.get_by_role("progressbar", name="健康保険組合の承認待ち")).to_be_visible()
    ask("refuse renewal")
    expect(error_dialog(page, "E0003")).to_contain_text("事業所確認中")
    heading(page, "電子証明書の更新")
    expect(page.get_by_label("KXサーバのURL")).to_have_count(0)
    page.get_by_role("link", name="OK").click()

    heading(page, "起動確認")
    renewal.get_by_role("button", name="更新").click()
    ask("approve renewal")
    expect(page.get_by_role("status")).to_have_text("電子証明書を更新しました。")
    heading(page, "電子証明書の更新")
    page.get_by_role("link", name="OK").click()
    heading(page, "起動確認")
    expect(renewal).to_have_count(0)
    page.get_by_role("button", name="はい").click()
    heading(page, "機能一覧")

    # The session goes on after the renewal: a send.
    menu(page, "ファイル送信（電子申請以外）")
    page.get_by_label("送信先").select_option("給付課")
    page.get_by_role("button", name="選択").click()
    add_files(page, os.path.join(files, "after.txt"))
    page.get_by_role("button", name="送信", exact=True).click()
    page.get_by_role("dialog", name="確認").get_by_role("button", name="はい").click()
    heading(page, "送信結果")
    sealed = page.get_by_text(re.compile(r"^ファイル名（暗号化後）")).inner_text()
    say("SENT", re.search(r"Send-\S+", sealed).group(0))

    # The society renews its own certificate and a newer app is published: both announced
    # at the next start.
    ask("society renews")
    ask("publish version")
    page.get_by_role("button", name="ログアウト").click()
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="OK").click()
    heading(page, "起動確認")
    replaced = page.get_by_role("dialog", name="健保組合の電子証明書")
    expect(replaced).to_contain_text("最新の健保組合の電子証明書を取得しました。")
    expect(page.get_by_role("dialog", name="電子証明書の更新")).to_have_count(0)
    update = page.get_by_role("dialog", name="新しいバージョンが公開されています")
    expect(update).to_contain_text("9.9.9")
    expect(update.get_by_role("link", name="https://kx.example/download")).to_be_visible()
    shot(page, "office-start")
    page.get_by_role("button", name="はい").click()
    heading(page, "機能一覧")
    say("RENEWED")
    b.close()
