# A federation operator: first login (temporary password, new password, TOTP enrolment), the
# dashboard, an organisation and an account added, locked and unlocked, the pipeline search,
# the audit log searched and exported, the English toggle, a replayed code refused, logout,
# and a lock-out after wrong codes.
operator, temporary, new_password = sys.argv[1], sys.argv[2], "Kx-Console-2026!"

with sync_playwright() as p:
    b = browser(p)
    page = new_page(b)
    secret, step = first_login(page, operator, temporary, new_password, screenshots=True)

    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["__Host-kx_console"]
    assert session["httpOnly"] and session["secure"] and session["sameSite"] == "Strict", session

    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()
    expect(page.get_by_text("Regist待ち", exact=True)).to_be_visible()
    shot(page, "console-dashboard")

    page.get_by_role("link", name="組織").click()
    expect(page.get_by_role("heading", name="組織")).to_be_visible()
    page.get_by_label("種別").select_option(label="事業所")
    page.get_by_label("番号").fill("1398765432")
    page.get_by_label("名称", exact=True).fill("テスト事業所")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("status")).to_contain_text("1398765432")
    expect(page.get_by_role("cell", name="テスト事業所")).to_be_visible()
    page.get_by_label("番号").fill("13-bad")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("alert")).to_contain_text("入力が正しくありません")

    page.get_by_role("link", name="1398765432").click()
    expect(page.get_by_role("heading", name="ID")).to_be_visible()
    page.get_by_label("ID", exact=True).fill("J13987654320")
    page.get_by_role("button", name="追加").click()
    status = page.get_by_role("status")
    expect(status).to_contain_text("仮パスワード")
    account_password = status.locator(".secret").inner_text()
    print("ACCOUNT_PASSWORD", account_password)
    shot(page, "console-accounts")
    page.get_by_role("button", name="ロック J13987654320").click()
    expect(page.get_by_role("row", name=re.compile("J13987654320"))).to_contain_text("ロック中")
    page.get_by_role("button", name="ロック解除 J13987654320").click()
    expect(page.get_by_role("row", name=re.compile("J13987654320"))).to_contain_text("有効")

    # The organisation's clients may connect from 10.0.0.0/8 only (not from this machine).
    page.get_by_role("link", name="組織").click()
    page.get_by_label("接続元ネットワーク 1398765432", exact=True).fill("10.0.0.0/8")
    page.get_by_role("row", name=re.compile("1398765432")).get_by_role("button", name="変更").click()
    expect(page.get_by_role("status")).to_contain_text("接続元ネットワークを変更しました")
    expect(page.get_by_label("接続元ネットワーク 1398765432", exact=True)).to_have_value("10.0.0.0/8")

    page.get_by_role("link", name="健康保険組合").click()
    page.get_by_label("保険者番号").fill("06130009")
    page.get_by_label("名称").fill("テスト健康保険組合")
    page.get_by_label("最初の利用者のID").fill("kenpo.test")
    page.get_by_role("button", name="追加").click()
    expect(page.get_by_role("status")).to_contain_text("セットアップコード")
    expect(page.get_by_role("cell", name="テスト健康保険組合")).to_be_visible()
    print("SETUP", page.get_by_role("status").inner_text())

    page.get_by_role("link", name="システム").click()
    page.get_by_label("独自情報名").fill("KogakuInfo")
    page.get_by_label("宛先アドレス").fill("info_kogaku@denso.test.kokuho")
    page.get_by_label("最大ファイル数（空欄で制限なし）").fill("3")
    page.get_by_label("拡張子（カンマ区切り、空欄で禁止以外すべて）").fill("csv, pdf")
    page.get_by_role("button", name="定義").click()
    expect(page.get_by_role("status")).to_contain_text("KogakuInfo")
    expect(page.get_by_role("row", name=re.compile("KogakuInfo"))).to_contain_text("csv, pdf")
    page.get_by_label("独自情報名").fill("Bad Name!")
    page.get_by_label("宛先アドレス").fill("info_kogaku@denso.test.kokuho")
    page.get_by_role("button", name="定義").click()
    expect(page.get_by_role("alert")).to_contain_text("入力が正しくありません")
    page.get_by_label("バージョン").fill("0.2.0")
    page.get_by_label("変更内容").fill("受信画面の改善")
    page.get_by_role("button", name="公開").click()
    expect(page.get_by_role("status")).to_contain_text("0.2.0")
    expect(page.get_by_text("0.2.0 — 受信画面の改善")).to_be_visible()

    page.get_by_role("link", name="受付状況").click()
    number = os.environ["KX_NUMBER"]
    page.get_by_label("伝送整理番号で検索").fill(number)
    page.get_by_role("button", name="検索").click()
    expect(page.get_by_role("row", name=re.compile(os.environ["KX_SENDER"]))).to_be_visible()
    shot(page, "console-pipeline")

    page.get_by_role("link", name="メールボックス").click()
    expect(page.get_by_role("row", name=re.compile(os.environ["KX_SENDER"]))).to_be_visible()

    # The review system's output, delivered to the office's master ID as a Transmit Result.
    results = os.path.join(os.environ["KX_FILES"], "KYUFU.CSV")
    with open(results, "w", encoding="utf-8") as f:
        f.write("1,審査結果\r\n")
    page.get_by_role("link", name="交換情報").click()
    page.get_by_label("識別番号または番号").fill("1312345678")
    page.get_by_label("データ種別（3文字）").fill("K01")
    page.get_by_label("ファイル（順番どおり）").set_input_files(results)
    page.get_by_role("button", name="配信").click()
    expect(page.get_by_role("status")).to_contain_text("J13123456780")
    page.get_by_label("識別番号または番号").fill("9999999999")
    page.get_by_label("データ種別（3文字）").fill("K01")
    page.get_by_label("ファイル（順番どおり）").set_input_files(results)
    page.get_by_role("button", name="配信").click()
    expect(page.get_by_role("alert")).to_contain_text("no organisation 9999999999")

    page.get_by_role("link", name="下り連絡").click()
    page.get_by_label("宛先ID（空白区切り）").fill(os.environ["KX_SENDER"])
    page.get_by_label("件名").fill("システム停止のお知らせ")
    page.get_by_label("本文").fill("12月5日 22時から停止します。")
    page.get_by_label("添付ファイル").set_input_files(results)
    page.get_by_role("button", name="送信").click()
    expect(page.get_by_role("status")).to_contain_text("1")
    shot(page, "console-contact")

    page.get_by_role("link", name="サービス情報").click()
    page.get_by_label("識別番号または番号").fill("1312345678")
    page.get_by_label("場所（例：/kaigo/exchangeinfo322）").fill("/kaigo/exchangeinfo322")
    page.get_by_label("ファイル", exact=True).set_input_files(results)
    page.get_by_role("button", name="公開して通知").click()
    expect(page.get_by_role("status")).to_contain_text("1312345678/kaigo/exchangeinfo322/KYUFU.CSV")
    page.get_by_label("識別番号または番号").fill("1312345678")
    page.get_by_label("場所（例：/kaigo/exchangeinfo322）").fill("/../../etc")
    page.get_by_label("ファイル", exact=True).set_input_files(results)
    page.get_by_role("button", name="公開して通知").click()
    expect(page.get_by_role("alert")).to_contain_text("公開できません")

    page.get_by_role("link", name="監査ログ").click()
    page.get_by_label("操作").fill("console.account.lock")
    page.get_by_role("button", name="検索").click()
    expect(page.get_by_role("cell", name="J13987654320")).to_be_visible()
    shot(page, "console-audit")
    with page.expect_download() as download:
        page.get_by_role("link", name="CSVでダウンロード").click()
    text = open(download.value.path(), encoding="utf-8", newline="").read()
    assert text.startswith("id,at,actor,action,object,source_ip,outcome\r\n"), text[:200]
    assert '"console.account.lock","J13987654320"' in text, text
    assert "console.account.unlock" not in text, text

    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    page.get_by_role("link", name="日本語").click()

    page.get_by_role("button", name="ログアウト").click()
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    page.goto(CONSOLE + "/orgs")
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()

    # The code of the enrolment's step was used: it is refused now.
    enter_password(page, operator, new_password)
    page.get_by_label("確認コード").fill(totp(secret, step))
    page.get_by_role("button", name="確認").click()
    expect(page.get_by_role("alert")).to_contain_text("確認コードが正しくありません")
    step = enter_code(page, secret, step)
    page.get_by_role("button", name="ログアウト").click()

    # Wrong codes count as failed logins: the fifth locks the operator out.
    enter_password(page, operator, new_password)
    wrong = "000000" if totp(secret) != "000000" else "111111"
    for _ in range(5):
        page.get_by_label("確認コード").fill(wrong)
        page.get_by_role("button", name="確認").click()
        expect(page.get_by_role("alert")).to_contain_text("確認コードが正しくありません")
    expect(page.get_by_role("heading", name="ログイン")).to_be_visible()
    enter_password(page, operator, new_password)
    expect(page.get_by_role("alert")).to_contain_text("IDまたはパスワードが正しくありません")
    print("LOCKED OUT")
    b.close()
