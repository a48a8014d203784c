# The idle lock (kx app --idle-seconds 3): left alone on a screen with data (a receive's
# result), the app locks itself and the screen goes back to PIN入力 by itself, saying why;
# what that screen showed — the result, its download — is out of reach until the PIN is given
# again. 起動確認's いいえ goes back to the PIN screen.
pin, name = sys.argv[1:3]

with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin)
    menu(page, "受信ファイル一覧取得")
    page.get_by_label(name).check()
    page.get_by_role("button", name="受信", exact=True).click()
    heading(page, "受信結果")
    result = page.url
    link = page.get_by_role("link", name="保存 " + name)
    download = ORIGIN + link.get_attribute("href")
    started = time.time()
    expect(page.get_by_role("heading", level=1, name="PIN入力")).to_be_visible(timeout=15_000)
    waited = time.time() - started
    assert waited >= 3, waited
    expect(page.get_by_role("status")).to_have_text(
        "しばらく操作がなかったため、ロックしました。PINを入力してください。")
    expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)
    # What the locked app answers a page of the session, the result and its download (the
    # browser's history still has them): the PIN screen.
    for path in [ORIGIN + "/inbox", result]:
        page.goto(path)
        heading(page, "PIN入力")
    answer = page.request.get(download)
    assert answer.url == ORIGIN + "/pin", answer.url
    assert "PIN入力" in answer.text(), answer.headers

    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="OK").click()
    heading(page, "起動確認")
    page.get_by_role("button", name="いいえ").click()
    heading(page, "PIN入力")
    enter_pin(page, pin)
    say("LOCKED AFTER", round(waited, 1))
    b.close()
