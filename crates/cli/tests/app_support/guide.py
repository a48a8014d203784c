# docs/first-file.md, step by step: from `kxd demo` to a first file received, on screens only.
# The society sets up its desk, an office sets up its app and waits, the desk approves it, the
# desk sends a file to the office, the office receives it. Two browser tabs, two `kx app`s.
(desk_url, server, ca, society_id, society_code, society_temporary, office_id, office_code,
 office_temporary, office_name, file) = sys.argv[1:12]
DESK_PIN, OFFICE_PIN = "2580", "1357"
SOCIETY_OWN, OFFICE_OWN = "Kenpo-Desk-2027", "Office-Mine-2027"


def new_password(page, own):
    """The temporary password replaced by one's own: the first screen after a setup."""
    heading(page, "パスワード変更")
    change_password(page, own)


with sync_playwright() as p:
    b = browser(p)
    desk = new_page(b)
    office = new_page(b)

    # 1. The society: `kx --profile kenpo app`, 健康保険組合の方はこちら, the demo's answers.
    desk.goto(desk_url)
    heading(desk, "初回設定")
    desk.get_by_role("link", name="健康保険組合の方はこちら（健保組合デスクの初回設定）").click()
    heading(desk, "健康保険組合の初回設定")
    fill_setup(desk, server, ca, society_id, society_code, society_temporary, DESK_PIN, DESK_PIN)
    shot(desk, "guide-1-desk-setup")
    desk.get_by_role("button", name="登録", exact=True).click()
    new_password(desk, SOCIETY_OWN)
    start(desk, DESK)
    shot(desk, "guide-2-desk-menu")

    # 2. The office: `kx --profile office1 app`, its own wizard, then the wait.
    office.goto(URL)
    heading(office, "初回設定")
    fill_setup(office, server, ca, office_id, office_code, office_temporary, OFFICE_PIN, OFFICE_PIN)
    shot(office, "guide-3-office-setup")
    office.get_by_role("button", name="登録を申請").click()
    heading(office, "健康保険組合の承認待ち")
    shot(office, "guide-4-office-waiting")

    # 3. The desk approves the request.
    desk.reload()
    desk_menu(desk, "電子証明書の発行申請", "電子証明書の発行申請")
    request = desk.get_by_label(office_name + " " + office_id)
    request.check()
    shot(desk, "guide-5-desk-requests")
    desk.get_by_role("button", name="承認", exact=True).click()
    desk.get_by_role("dialog", name="確認").get_by_role("button", name="はい").click()
    heading(desk, "処理結果")
    expect(row(desk, office_id)).to_contain_text("発行しました")
    desk.get_by_role("link", name="OK").click()

    # 4. The office's wait ends by itself: its own password, then 起動確認 and 機能一覧.
    new_password(office, OFFICE_OWN)
    start(office)

    # 5. The desk sends a file to the office.
    desk_menu(desk, "事業所へ送信", "事業所へ送信")
    desk.get_by_label(office_name).check()
    desk.get_by_role("button", name="送信先に設定").click()
    add_files(desk, file)
    no_error(desk)
    shot(desk, "guide-6-desk-send")
    desk.get_by_role("button", name="送信", exact=True).click()
    desk.get_by_role("dialog", name="確認").get_by_role("button", name="はい").click()
    result = desk.get_by_role("table", name="事業所ごとの送信結果")
    expect(result).to_contain_text("成功")
    sealed = re.search(r"Send-\S+", row(desk, office_name.split()[0]).inner_text()).group(0)

    # 6. The office receives it: 受信ファイル一覧取得, 受信, and the ZIP saved by the browser.
    menu(office, "受信ファイル一覧取得")
    expect(row(office, sealed)).to_contain_text("未")
    office.get_by_label(sealed).check()
    shot(office, "guide-7-office-inbox")
    office.get_by_role("button", name="受信", exact=True).click()
    heading(office, "受信結果")
    expect(row(office, sealed)).to_contain_text("成功")
    shot(office, "guide-8-office-received")
    saved = save_download(office, sealed, os.path.dirname(file))
    say("RECEIVED", saved)
    b.close()
