# A society administrator: first login, its overview, an office and a user added, a
# password reset and an enrolment code shown once, a destination added and removed; then the
# same administrator editing URLs and ids to reach another society's office, user and file,
# and federation pages, answered as missing.
operator, temporary = sys.argv[1], sys.argv[2]
other_office, other_user, other_file = sys.argv[3], sys.argv[4], sys.argv[5]

with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    first_login(page, operator, temporary, "Kx-Society-2026!")
    expect(page.get_by_role("heading", name="概要")).to_be_visible()
    shot(page, "console-society-overview")

    page.get_by_role("link", name="事業所").click()
    page.get_by_label("事業所番号").fill("1002")
    page.get_by_label("名称").fill("第二営業所")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("status")).to_contain_text("1002")
    page.get_by_role("link", name="1002").click()
    expect(page.get_by_text("第二営業所")).to_be_visible()
    page.get_by_label("容量上限（MB） 1002").fill("50")
    page.get_by_role("button", name="変更").click()
    expect(page.get_by_role("status")).to_contain_text("容量上限を変更しました")
    expect(page.get_by_text("/ 50.0 MB")).to_be_visible()

    page.get_by_role("link", name="利用者").click()
    page.get_by_label("事業所").select_option(label="1002 第二営業所")
    page.get_by_label("ID").fill("sato.1002")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("status")).to_contain_text("仮パスワード")
    page.get_by_role("button", name="登録コード発行 sato.1002").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("登録コード")
    code = status.locator(".secret").inner_text()
    assert len(code) >= 16, code
    shot(page, "console-society-users")
    page.reload()
    expect(page.get_by_text(code)).to_have_count(0)
    page.get_by_label("ID").fill(other_user)
    page.get_by_label("事業所").select_option(label="1002 第二営業所")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("alert")).to_contain_text("このIDは使用できません")

    page.get_by_role("link", name="送信先").click()
    page.get_by_label("送信先名").fill("経理課")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("listitem").filter(has_text="経理課")).to_be_visible()
    page.get_by_role("button", name="削除 経理課").click()
    expect(page.get_by_role("listitem").filter(has_text="経理課")).to_have_count(0)

    page.get_by_role("link", name="ファイル").click()
    expect(page.get_by_role("heading", name="ファイル")).to_be_visible()
    page.get_by_role("link", name="証明書").click()
    expect(page.get_by_role("heading", name="60日以内に期限切れ")).to_be_visible()

    # Edited URLs: another society's office and file, and federation pages, are missing.
    for path in ["/offices/" + other_office, "/files/" + other_file, "/files/no-such-file",
                 "/orgs", "/audit", "/accounts"]:
        response = page.goto(CONSOLE + path)
        assert response.status == 404, (path, response.status)
        expect(page.get_by_role("heading", name="見つかりません")).to_be_visible()
    # An edited id in a form: another society's user's password is not reset.
    page.goto(CONSOLE + "/users")
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    for action in ["password", "unlock", "code"]:
        response = page.request.post(CONSOLE + "/users/" + other_user + "/" + action,
                                     form={"csrf": csrf}, headers={"Origin": CONSOLE})
        assert response.status == 404, (action, response.status)
    response = page.request.post(CONSOLE + "/offices/" + other_office + "/quota",
                                 form={"csrf": csrf, "megabytes": "1"}, headers={"Origin": CONSOLE})
    assert response.status == 404, response.status
    # Without the CSRF token, nothing is done.
    response = page.request.post(CONSOLE + "/destinations", form={"add": "x"},
                                 headers={"Origin": CONSOLE})
    assert response.status == 403, response.status
    # From another site, nothing is done either.
    response = page.request.post(CONSOLE + "/destinations", form={"csrf": csrf, "add": "x"},
                                 headers={"Origin": "https://evil.example"})
    assert response.status == 403, response.status
    print("SCOPED")
    b.close()
