# The idle lock (kx app --idle-seconds 3): left alone on a screen with data, the app locks
# itself and the screen goes back to PIN入力 by itself, saying why; the PIN opens it again.
pin = sys.argv[1]

with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin)
    menu(page, "受信ファイル一覧取得")
    started = time.time()
    expect(page.get_by_role("heading", level=1, name="PIN入力")).to_be_visible(timeout=15_000)
    waited = time.time() - started
    assert waited >= 3, waited
    expect(page.get_by_role("status")).to_have_text(
        "しばらく操作がなかったため、ロックしました。PINを入力してください。")
    expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)
    # What the locked app shows a stale bookmark: the PIN screen, no data.
    page.goto(ORIGIN + "/inbox")
    heading(page, "PIN入力")
    enter_pin(page, pin)
    say("LOCKED AFTER", round(waited, 1))
    b.close()
