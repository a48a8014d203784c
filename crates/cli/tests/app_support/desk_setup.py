# 初回設定 of the society desk: a new profile starts at the office app's wizard, whose link
# 健康保険組合の方はこちら leads to the desk's (and its own link back); a refusal (the PIN typed
# twice differently) and a one-time code the server does not know, each shown with the fields
# kept; the registration (the society's CA and certificate made here), the temporary password
# replaced, 起動確認 naming the desk, and the desk's function list, which leads to 設定変更 and
# パスワード変更 too; 終了.
server, ca, login_id, code, temporary, pin, own = sys.argv[1:8]


def fill_wizard(page, pin_again, one_time=code):
    fill_setup(page, server, ca, login_id, one_time, temporary, pin, pin_again)


def register(page):
    page.get_by_role("button", name="登録", exact=True).click()


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    page.goto(URL)
    heading(page, "初回設定")
    page.get_by_role("link", name="健康保険組合の方はこちら（健保組合デスクの初回設定）").click()
    heading(page, "健康保険組合の初回設定")
    expect(page).to_have_url(ORIGIN + "/desk/setup")
    expect(page.get_by_text(re.compile("CAの秘密鍵はPINで保護され、このパソコンから出ません。"))).to_be_visible()
    # The way back to the office's wizard, and here again.
    page.get_by_role("link", name="事業所の方はこちら（事業所アプリの初回設定）").click()
    heading(page, "初回設定")
    page.get_by_role("link", name="健康保険組合の方はこちら（健保組合デスクの初回設定）").click()
    heading(page, "健康保険組合の初回設定")
    expect(page.get_by_role("banner")).to_contain_text("KX 健保組合デスク")
    shot(page, "society-setup")

    # Two different PINs: E1003, nothing registered, the ID and code kept, the secrets not.
    fill_wizard(page, "9" + pin[1:] if pin[0] != "9" else "8" + pin[1:])
    register(page)
    error_dialog(page, "E1003")
    heading(page, "健康保険組合の初回設定")
    expect(page.get_by_label("ID", exact=True)).to_have_value(login_id)
    expect(page.get_by_label("ワンタイムコード")).to_have_value(code)
    expect(page.get_by_label("仮パスワード")).to_have_value("")

    # A one-time code the server does not know: refused, and the wizard can be done again.
    fill_wizard(page, pin, one_time="WRONG-" + code)
    register(page)
    error_dialog(page, "E1002")
    heading(page, "健康保険組合の初回設定")

    fill_wizard(page, pin)
    register(page)
    # Registered: the first login, and the temporary password must go first.
    heading(page, "パスワード変更")
    expect(page.get_by_text("仮パスワードを、ご自分で決めたパスワードに変更してください")).to_be_visible()
    expect(page.get_by_label("現在のパスワード")).to_have_count(0)
    change_password(page, own)
    start(page, DESK)
    expect(page.get_by_role("banner")).to_contain_text("06139999")
    functions = page.get_by_role("navigation", name="機能一覧")
    expect(functions.get_by_role("link")).to_have_text([
        "受信", "事業所へ送信", "送信状況", "電子証明書の発行申請 (0)", "事業所一覧",
        "有効期限が近い事業所の電子証明書 (0)", "設定変更", "パスワード変更"])
    shot(page, "society-menu")
    # The settings and the password are the office app's screens, reached from the desk.
    desk_menu(page, "設定変更", "設定変更")
    no_error(page)
    expect(page.get_by_label("自動ロックまでの分数")).to_have_value("10")
    desk_menu(page, "パスワード変更", "パスワード変更")
    expect(page.get_by_label("現在のパスワード")).to_be_visible()
    # The office app's function list is the desk's here.
    page.goto(ORIGIN + "/menu")
    expect(page).to_have_url(ORIGIN + "/desk")

    # 終了: the app stops.
    functions.get_by_role("button", name="終了").click()
    expect(page.get_by_text("アプリを終了しました。このタブは閉じてください。")).to_be_visible()
    say("SET UP")
    b.close()
