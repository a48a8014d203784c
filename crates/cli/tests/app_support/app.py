# What every flow of the office app (`kx app`) shares: Debian's chromium driven by Playwright,
# the launch URL the test read from `kx app`, questions to the test (the society's side, done
# with the real `kx society …` and `kxd admin`), and the screens found as a clerk finds them:
# by role, label and visible text.
import json, os, re, sys, time

from playwright.sync_api import expect, sync_playwright

URL = os.environ["KX_APP_URL"]
ORIGIN = re.match(r"http://[^/]+", URL).group(0)
SCREENSHOTS = os.environ.get("KX_SCREENSHOTS")
expect.set_options(timeout=20_000)


def ask(*words):
    """Asks the test to do something (the society's side) and waits for its answer."""
    print("ASK " + json.dumps(list(words), ensure_ascii=False), flush=True)
    line = sys.stdin.readline()
    if not line:
        raise SystemExit("the test stopped answering")
    return json.loads(line)


def say(*words):
    """A line for the test to check."""
    print(" ".join(str(w) for w in words), flush=True)


def browser(p):
    return p.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
              "--disable-component-update", "--disable-sync", "--no-first-run"],
    )


def new_page(b):
    context = b.new_context(viewport={"width": 1024, "height": 768}, locale="ja-JP",
                            accept_downloads=True)
    return context.new_page()


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name + ".png"), full_page=True)


def heading(page, name):
    """The screen's title (its one h1); its ids each used once."""
    expect(page.get_by_role("heading", level=1, name=name, exact=True)).to_be_visible()
    unique_ids(page)


def error_dialog(page, code):
    """The manual's error dialog with `code`: its code, Japanese message, English and 対応方法."""
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=re.compile(code))).to_be_visible()
    expect(dialog.get_by_role("heading", name=re.compile("^(対応方法|What to do)$"))).to_be_visible()
    return dialog


def unique_ids(page):
    """Every id of the screen once (labels and dialogs refer to them)."""
    twice = page.evaluate("""() => {
        const ids = [...document.querySelectorAll("[id]")].map(e => e.id);
        return ids.filter((id, i) => ids.indexOf(id) !== i);
    }""")
    assert not twice, "ids used twice: %s" % twice


def no_error(page):
    expect(page.get_by_role("alertdialog")).to_have_count(0)


OFFICE_APP = "KX事業所アプリ"
DESK = "KX健保組合デスク"


def enter_pin(page, pin, app=OFFICE_APP):
    """PIN入力, then 起動確認 はい: the function list."""
    heading(page, "PIN入力")
    page.get_by_label("PIN", exact=True).fill(pin)
    page.get_by_role("button", name="OK").click()
    start(page, app)


def start(page, app=OFFICE_APP):
    """起動確認 of `app` (the office app or the society desk), はい: the function list."""
    heading(page, "起動確認")
    expect(page.get_by_text(app + "を起動します。よろしいですか？")).to_be_visible()
    page.get_by_role("button", name="はい").click()
    heading(page, "機能一覧")


def launch(page, pin, app=OFFICE_APP):
    """Opens the launch URL and logs in with `pin`."""
    page.goto(URL)
    enter_pin(page, pin, app)


def fill_setup(page, server, ca, login_id, code, temporary, pin, pin_again):
    """The answers of a first setup's form, the office app's or the desk's."""
    page.get_by_label("KXサーバのURL").fill(server)
    page.get_by_label("KXサーバのCA証明書（PEM）").set_input_files(ca)
    page.get_by_label("ID", exact=True).fill(login_id)
    page.get_by_label("ワンタイムコード").fill(code)
    page.get_by_label("仮パスワード").fill(temporary)
    page.get_by_label("変更後のPIN", exact=True).fill(pin)
    page.get_by_label("変更後のPIN再確認").fill(pin_again)


def row(page, name):
    """The table row that shows `name`."""
    return page.get_by_role("row").filter(has_text=name)


def menu(page, function):
    """機能一覧 → `function`."""
    page.get_by_role("navigation", name="操作").get_by_role("link", name="機能一覧").click()
    heading(page, "機能一覧")
    page.get_by_role("link", name=function, exact=True).click()
    heading(page, function)


def desk_menu(page, function, title):
    """機能一覧 of the desk → `function` (a link whose name may end with a count, "(1)"): the
    screen `title`."""
    page.get_by_role("navigation", name="操作").get_by_role("link", name="機能一覧").click()
    heading(page, "機能一覧")
    functions = page.get_by_role("navigation", name="機能一覧")
    functions.get_by_role("link", name=re.compile("^" + re.escape(function) + r"( \(\d+\))?$")).click()
    heading(page, title)


def progress_values(page, bar, until):
    """The values a progress bar showed while polled until `until()` is true."""
    seen = []
    deadline = time.time() + 60
    while not until():
        assert time.time() < deadline, "the job did not end: %s" % seen
        try:
            value = page.get_by_role("progressbar", name=bar).get_attribute("aria-valuenow", timeout=200)
        except Exception:
            value = None
        if value is not None and (not seen or seen[-1] != value):
            seen.append(value)
        time.sleep(0.02)
    return seen


def add_files(page, *paths):
    """追加するファイル: `paths` chosen, then the manual's ファイル追加 button."""
    page.get_by_label("追加するファイル").set_input_files(list(paths))
    page.get_by_role("button", name="ファイル追加").click()


def change_password(page, new, again=None, current=None):
    """パスワード変更's form: the current password when asked, the new one twice, 更新."""
    if current is not None:
        page.get_by_label("現在のパスワード").fill(current)
    page.get_by_label("変更後のパスワード", exact=True).fill(new)
    page.get_by_label("変更後のパスワード確認").fill(new if again is None else again)
    page.get_by_role("button", name="更新").click()


def save_download(page, name, folder):
    """保存 NAME on 受信結果: the browser's download of that ZIP, saved in `folder` (its path)."""
    with page.expect_download() as download:
        page.get_by_role("link", name="保存 " + name).click()
    assert download.value.suggested_filename == name, download.value.suggested_filename
    path = os.path.join(folder, name)
    download.value.save_as(path)
    return path
