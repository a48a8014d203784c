# 電子証明書の発行申請 on the desk: an office's request waiting (the function list counts it,
# 事業所一覧 shows the office without a certificate); 承認 with nothing checked, then いいえ at the
# confirmation, then はい: 処理結果, and the office's setup finishing (the test resumes its
# `kx setup`); a second office's request refused, first without a reason, then with one that
# the office's `kx setup` ends with.
pin, first, second, first_user, second_user = sys.argv[1:6]
REASON = "事業所番号を確認中です"
# The offices' numbers (their rows).
first_number, second_number = first.split()[0], second.split()[0]


def request(page, office, user):
    return page.get_by_label(office + " " + user)


with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    launch(page, pin, DESK)
    expect(page.get_by_role("link", name="電子証明書の発行申請 (1)", exact=True)).to_be_visible()

    # Not issued yet: the office is there, no certificate to send with.
    desk_menu(page, "事業所一覧", "事業所一覧")
    expect(row(page, first_number)).to_contain_text("有効な電子証明書なし（送信不可）")

    desk_menu(page, "電子証明書の発行申請", "電子証明書の発行申請")
    expect(page.get_by_role("columnheader")).to_have_text(
        ["選択", "申請日時", "事業所番号", "事業所名", "利用者ID", "種別"])
    expect(row(page, first_user)).to_contain_text(first_number)
    expect(row(page, first_user)).to_contain_text("新規")
    shot(page, "society-requests")
    page.get_by_role("button", name="承認", exact=True).click()
    error_dialog(page, "E2001")

    # いいえ at the confirmation: still waiting.
    request(page, first, first_user).check()
    page.get_by_role("button", name="承認", exact=True).click()
    dialog = page.get_by_role("dialog", name="確認")
    expect(dialog).to_contain_text("選択した申請に電子証明書を発行します。よろしいですか？")
    expect(dialog.get_by_role("listitem")).to_have_text([first + " (" + first_user + ")"])
    dialog.get_by_role("link", name="いいえ").click()
    heading(page, "電子証明書の発行申請")
    expect(row(page, first_user)).to_be_visible()

    request(page, first, first_user).check()
    page.get_by_role("button", name="承認", exact=True).click()
    page.get_by_role("dialog", name="確認").get_by_role("button", name="はい").click()
    heading(page, "処理結果")
    expect(row(page, first_user)).to_contain_text("発行しました")
    page.get_by_role("link", name="OK").click()
    heading(page, "電子証明書の発行申請")
    expect(page.get_by_text("承認待ちの申請はありません。")).to_be_visible()
    say("SET UP", ask("resume setup", first_user))

    # Issued: counted no more, and the office has its certificate (730 days).
    desk_menu(page, "事業所一覧", "事業所一覧")
    expect(row(page, first_number)).not_to_contain_text("有効な電子証明書なし")
    expect(row(page, first_number).get_by_role("cell").last).to_have_text(re.compile("^(729|730)$"))
    page.get_by_role("link", name="戻る").click()
    expect(page.get_by_role("link", name="電子証明書の発行申請 (0)", exact=True)).to_be_visible()

    # A second office's request, refused: a reason is asked for first.
    ask("request", second_user)
    desk_menu(page, "電子証明書の発行申請", "電子証明書の発行申請")
    request(page, second, second_user).check()
    page.get_by_role("button", name="却下", exact=True).click()
    expect(error_dialog(page, "E1001")).to_contain_text("却下の理由")
    request(page, second, second_user).check()
    page.get_by_label("却下の理由（事業所に表示されます）").fill(REASON)
    page.get_by_role("button", name="却下", exact=True).click()
    dialog = page.get_by_role("dialog", name="確認")
    expect(dialog).to_contain_text("選択した申請を却下します。よろしいですか？")
    expect(dialog.get_by_role("listitem")).to_have_text([second + " (" + second_user + ")"])
    dialog.get_by_role("button", name="はい").click()
    heading(page, "処理結果")
    expect(row(page, second_user)).to_contain_text("却下しました: " + REASON)
    page.get_by_role("link", name="OK").click()
    expect(page.get_by_text("承認待ちの申請はありません。")).to_be_visible()
    say("REFUSED", ask("resume refused setup", second_user, REASON))
    b.close()
