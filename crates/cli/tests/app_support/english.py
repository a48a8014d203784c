# The language toggle: every screen in English once chosen (a cookie, kept from screen to
# screen), the error dialogs' texts in English, and back to 日本語 on the same screen.
pin = sys.argv[1]

with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    page.goto(URL)
    heading(page, "PIN入力")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    heading(page, "PIN")
    expect(page.get_by_role("link", name="Change PIN")).to_be_visible()
    page.get_by_label("PIN", exact=True).fill("9999" if pin != "9999" else "8888")
    page.get_by_role("button", name="OK").click()
    dialog = error_dialog(page, "E1002")
    expect(dialog.get_by_role("heading", name="Error E1002")).to_be_visible()
    expect(dialog).to_contain_text("What to do")
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="OK").click()
    heading(page, "Start")
    expect(page.get_by_text("Start the KX office app?")).to_be_visible()
    page.get_by_role("button", name="Yes").click()
    heading(page, "Functions")
    expect(page.get_by_role("banner")).to_contain_text("KX office app")
    for function in ["Received files", "Send files (e-application)",
                     "Send files (other than e-application)", "Sent files", "Settings",
                     "Change password"]:
        expect(page.get_by_role("link", name=function, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.get_by_role("button", name="Quit")).to_be_visible()

    page.get_by_role("link", name="Send files (e-application)").click()
    heading(page, "Send files (e-application)")
    expect(page.get_by_text("Only the file KPFD.CSV can be sent here.")).to_be_visible()
    expect(page.get_by_label("Destination")).to_be_visible()
    page.get_by_role("button", name="Send", exact=True).click()
    dialog = error_dialog(page, "E2002")
    expect(dialog.get_by_role("heading", name="Error E2002")).to_be_visible()
    expect(dialog).to_contain_text("Add a file to send.")
    # The manual's Japanese stays beside the English.
    expect(dialog).to_contain_text("送信するファイルを追加してください。")

    page.get_by_role("link", name="Functions").click()
    page.get_by_role("link", name="Settings").click()
    heading(page, "Settings")
    for label in ["User name", "User code", "Mail address",
                  "Receive folder (empty: browser downloads only)",
                  "Minutes until the app locks itself"]:
        expect(page.get_by_label(label)).to_be_visible()
    expect(page.get_by_role("button", name="Apply")).to_be_visible()

    # Back to Japanese, on the same screen.
    page.get_by_role("link", name="日本語").click()
    heading(page, "設定変更")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_label("利用者名")).to_be_visible()
    say("TOGGLED")
    b.close()
