# A clerk opens the app of a new profile, begins 初回設定, and gives up: the tab is closed.
with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    page.goto(URL)
    heading(page, "初回設定")
    page.get_by_label("ID", exact=True).fill("office1")
    page.close()
    say("ABANDONED")
    b.close()
