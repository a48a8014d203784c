# What every console test script shares: an RFC 6238 code computed here (the test's own
# implementation, not kxd's), Debian's chromium driven by Playwright, and the first and later
# logins as a person does them, by label, role and visible text.
import base64, hashlib, hmac, os, re, struct, sys, time

from playwright.sync_api import expect, sync_playwright

CONSOLE = os.environ["KX_CONSOLE"]
SCREENSHOTS = os.environ.get("KX_SCREENSHOTS")


def step_now():
    return int(time.time() // 30)


def totp(secret_b32, step=None):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    step = step_now() if step is None else step
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


def browser(p):
    return p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )


def new_page(b):
    context = b.new_context(ignore_https_errors=True, viewport={"width": 1280, "height": 900},
                            locale="ja-JP")
    return context.new_page()


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name + ".png"), full_page=True)


def first_login(page, operator, temporary, new_password, screenshots=False):
    """Logs in with the temporary password, changes it, enrols the second factor; returns
    the secret and the step of the code used."""
    page.goto(CONSOLE + "/login")
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    page.get_by_label("ID").fill(operator)
    page.get_by_label("パスワード").fill(temporary)
    page.get_by_role("button", name="ログイン").click()
    expect(page.get_by_role("heading", name="パスワード変更")).to_be_visible()
    page.get_by_label("現在のパスワード").fill(temporary)
    page.get_by_label("新しいパスワード").fill(new_password)
    page.get_by_label("確認").fill(new_password)
    page.get_by_role("button", name="変更").click()
    expect(page.get_by_role("heading", name="2段階認証の設定")).to_be_visible()
    qr = page.get_by_role("img", name="2段階認証のQRコード")
    expect(qr).to_be_visible()
    assert qr.locator("svg").count() == 1
    if screenshots:
        shot(page, "console-enrol")
    secret = page.get_by_text(re.compile(r"^[A-Z2-7]{32}$")).inner_text()
    page.get_by_label("確認コード").fill("000000" if totp(secret) != "000000" else "111111")
    page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("alert")).to_contain_text("確認コードが正しくありません")
    step = step_now()
    page.get_by_label("確認コード").fill(totp(secret, step))
    page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    return secret, step


def next_step(last):
    """The step after `last`, once kxd accepts it (a code is good for the current step and
    one either side, and once only)."""
    while step_now() + 1 < last + 1:
        time.sleep(1)
    return last + 1


def enter_password(page, operator, password):
    page.goto(CONSOLE + "/login")
    page.get_by_label("ID").fill(operator)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


def enter_code(page, secret, last):
    """Enters a code of a step after `last` on the code page; returns its step."""
    expect(page.get_by_role("heading", name="確認コード")).to_be_visible()
    step = next_step(last)
    page.get_by_label("確認コード").fill(totp(secret, step))
    page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("button", name="ログアウト")).to_be_visible()
    return step
