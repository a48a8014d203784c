# The desk while `kx society serve` holds the profile: serve's state and nothing else — no PIN,
# no function list, no setup, whatever the address; what serve does shows on the next reload
# (an office's request it approves itself).
inbox, outbox = sys.argv[1:3]
TITLE = "kx society serve が実行中です"


def state(page, name):
    return page.get_by_role("row", name=re.compile("^" + re.escape(name))).get_by_role("cell")


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    page.goto(URL)
    heading(page, TITLE)
    expect(page).to_have_url(ORIGIN + "/desk/serve")
    expect(page.get_by_role("status")).to_have_text(TITLE)
    expect(page.get_by_text(re.compile("デスクで操作するには、serve を停止してから kx app を起動し直してください。"))).to_be_visible()
    expect(state(page, "受信フォルダ")).to_have_text(inbox)
    expect(state(page, "送信フォルダ")).to_have_text(outbox)
    expect(state(page, "処理間隔（秒）")).to_have_text("1")
    expect(state(page, "申請の自動承認")).to_have_text("はい")
    expect(state(page, "最後のエラー")).to_have_text("-")
    expect(page.get_by_role("banner")).to_contain_text("KX 健保組合デスク")
    # Nothing of a session: no way to the function list, no logout.
    expect(page.get_by_role("navigation", name="操作").get_by_role("link", name="機能一覧")).to_have_count(0)
    expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)
    expect(page.get_by_label("PIN")).to_have_count(0)

    # An office asks for its certificate: serve approves it, the page says so once reloaded.
    ask("request")
    deadline = time.time() + 30
    while state(page, "処理した申請").inner_text() != "1":
        assert time.time() < deadline, "serve decided nothing"
        time.sleep(0.5)
        page.reload()
        heading(page, TITLE)
    shot(page, "society-serve")

    for path in ["/pin", "/pin/change", "/start", "/menu", "/desk", "/inbox", "/sent", "/desk/send",
                 "/desk/requests", "/desk/offices", "/settings", "/password", "/setup", "/desk/setup"]:
        page.goto(ORIGIN + path)
        heading(page, TITLE)
        expect(page.get_by_label("PIN")).to_have_count(0)
    say("WATCHED")
    b.close()
