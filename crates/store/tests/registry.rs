//! Organisations, accounts, upstream kinds and the audit log against real SQLite files.

mod common;

use std::net::IpAddr;

use common::{config, fresh, office, open, with_office};
use kx_denso::{OrgKind, OrgNumber, UpstreamDefinition, UsedNumbers as _};
use kx_store::{AuditEntry, AuditFilter, Error, Login, Network, NewUpstreamNotice, Store};

fn org(kind: OrgKind, number: &str) -> OrgNumber {
    OrgNumber::new(kind, number).expect("org number")
}

#[tokio::test]
async fn organisations_are_kept_with_their_networks() {
    let (_dir, store) = fresh().await;
    let insurer = org(OrgKind::Insurer, "123456");
    let networks: Vec<Network> = ["192.0.2.0/24", "2001:db8::/32"]
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    store.add_org(&insurer, "保険者", &networks).await.unwrap();
    store
        .add_org(&org(OrgKind::Prefecture, "13"), "東京都", &[])
        .await
        .unwrap();
    assert!(matches!(
        store.add_org(&insurer, "again", &[]).await,
        Err(Error::Exists(_))
    ));

    let found = store.org(&insurer.org_code()).await.unwrap().unwrap();
    assert_eq!(found.org, insurer);
    assert_eq!(found.name, "保険者");
    assert_eq!(found.networks, networks);
    assert!(found.allows("192.0.2.99".parse().unwrap()));
    assert!(!found.allows("198.51.100.1".parse().unwrap()));
    let codes: Vec<String> = store
        .orgs()
        .await
        .unwrap()
        .iter()
        .map(|o| o.org.org_code().to_string())
        .collect();
    assert_eq!(codes, ["0000000013", "0000123456"]);
    let anywhere = store.orgs().await.unwrap().remove(0);
    assert!(anywhere.allows("198.51.100.1".parse().unwrap()));
    let missing = org(OrgKind::Office, "1312345678").org_code();
    assert_eq!(store.org(&missing).await.unwrap(), None);
}

#[tokio::test]
async fn accounts_need_their_organisation_and_are_listed_per_organisation() {
    let (_dir, store) = fresh().await;
    let welfare = org(OrgKind::WelfareOffice, "654321");
    assert!(matches!(
        store.add_account(&welfare.master()).await,
        Err(Error::NotFound(_))
    ));
    store.add_org(&welfare, "福祉事務所", &[]).await.unwrap();
    for seq in ['0', 'A'] {
        store
            .add_account(&welfare.account(seq).unwrap())
            .await
            .unwrap();
    }
    assert!(matches!(
        store.add_account(&welfare.master()).await,
        Err(Error::Exists(_))
    ));
    let other = office(&store, "1312345678").await;

    let listed: Vec<String> = store
        .accounts(Some(&welfare.org_code()))
        .await
        .unwrap()
        .iter()
        .map(|a| a.id.to_string())
        .collect();
    assert_eq!(listed, ["F00126543210", "F0012654321A"]);
    assert_eq!(store.accounts(None).await.unwrap().len(), 3);
    let account = store.account(&other).await.unwrap().unwrap();
    assert!(!account.has_password && !account.locked);
    assert_eq!(
        store.verify_password(&other.to_string(), "").await.unwrap(),
        Login::Wrong,
        "no password, no login"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_for_a_while_or_until_unlocked() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.lockout.after = 3;
    let store = Store::open(&config).await.unwrap();
    let account = office(&store, "1312345678").await;
    let id = account.to_string();
    store.set_password(&account, "right", false).await.unwrap();
    let ok = Login::Ok {
        must_change_password: false,
    };

    for _ in 0..2 {
        assert_eq!(
            store.verify_password(&id, "wrong").await.unwrap(),
            Login::Wrong
        );
    }
    assert_eq!(store.verify_password(&id, "right").await.unwrap(), ok);
    assert_eq!(
        store
            .account(&account)
            .await
            .unwrap()
            .unwrap()
            .failed_logins,
        0,
        "a success resets the count"
    );
    for expected in [Login::Wrong, Login::Wrong, Login::LockedOut] {
        assert_eq!(store.verify_password(&id, "wrong").await.unwrap(), expected);
    }
    assert_eq!(
        store.verify_password(&id, "right").await.unwrap(),
        Login::Locked
    );
    let locked = store.account(&account).await.unwrap().unwrap();
    assert!(
        !locked.locked && locked.locked_until.is_some(),
        "{locked:?}"
    );

    store.unlock(&account).await.unwrap();
    assert_eq!(store.verify_password(&id, "right").await.unwrap(), ok);
    store.lock(&account).await.unwrap();
    assert_eq!(
        store.verify_password(&id, "right").await.unwrap(),
        Login::Locked
    );
    assert_eq!(
        store
            .verify_password("J13123456789", "right")
            .await
            .unwrap(),
        Login::Unknown
    );
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_only_and_temporary_ones_must_change() {
    let (dir, store, account) = with_office().await;
    let id = account.to_string();
    let temporary = "Temporary-Password-4711";
    store.set_password(&account, temporary, true).await.unwrap();
    assert_eq!(
        store.verify_password(&id, temporary).await.unwrap(),
        Login::Ok {
            must_change_password: true
        }
    );
    store
        .set_password(&account, "chosen by me", false)
        .await
        .unwrap();
    assert_eq!(
        store.verify_password(&id, temporary).await.unwrap(),
        Login::Wrong
    );
    assert_eq!(
        store.verify_password(&id, "chosen by me").await.unwrap(),
        Login::Ok {
            must_change_password: false
        }
    );
    drop(store);

    // What the database holds, read as its own client would.
    let url = kx_testkit::postgres::database_for(dir.path())
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("kx.sqlite3").display()));
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM accounts")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
    for file in ["kx.sqlite3", "kx.sqlite3-wal"] {
        let Ok(bytes) = std::fs::read(dir.path().join(file)) else {
            continue;
        };
        for password in [temporary, "chosen by me"] {
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "{password} in {file}"
            );
        }
    }
}

#[tokio::test]
async fn upstream_kinds_and_their_unique_numbers() {
    let (_dir, store) = fresh().await;
    let pref = org(OrgKind::Prefecture, "99");
    store.add_org(&pref, "県", &[]).await.unwrap();
    let sender = pref.master();
    store.add_account(&sender).await.unwrap();
    let definition = UpstreamDefinition {
        name: "SampleMail".into(),
        to: "info_hanyo@hoken.xxx.kokuho".into(),
        max_files: Some(3),
        max_bytes: Some(1 << 20),
        extensions: Some(vec!["doc".into(), "PDF".into()]),
    };
    store.add_upstream_definition(&definition).await.unwrap();
    let open_kind = UpstreamDefinition {
        name: "Free".into(),
        to: "free@hoken.xxx.kokuho".into(),
        max_files: None,
        max_bytes: None,
        extensions: None,
    };
    store.add_upstream_definition(&open_kind).await.unwrap();
    assert!(matches!(
        store.add_upstream_definition(&definition).await,
        Err(Error::Exists(_))
    ));

    let mut expected = definition.clone();
    expected.extensions = Some(vec!["doc".into(), "pdf".into()]);
    assert_eq!(
        store.upstream_definition("SampleMail").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(
        store.upstream_definitions().await.unwrap(),
        [open_kind, expected]
    );

    let notice = |kind: &str| NewUpstreamNotice {
        account: sender.clone(),
        kind: kind.into(),
        unique: "00000000993333333333".into(),
        message: b"Subject: Transmit SampleMail\r\n".to_vec(),
    };
    assert!(
        !store
            .unique_used("SampleMail", "00000000993333333333")
            .await
            .unwrap()
    );
    store.receive_upstream(notice("SampleMail")).await.unwrap();
    assert!(
        store
            .unique_used("SampleMail", "00000000993333333333")
            .await
            .unwrap()
    );
    assert!(matches!(
        store.receive_upstream(notice("SampleMail")).await,
        Err(Error::UniqueUsed { .. })
    ));
    let snapshot = store
        .used_snapshot(
            &pref.org_code(),
            None,
            Some(("SampleMail", "00000000993333333333")),
        )
        .await
        .unwrap();
    assert!(snapshot.unique_used("SampleMail", "00000000993333333333"));
    store.receive_upstream(notice("Free")).await.unwrap();
    assert!(matches!(
        store.receive_upstream(notice("Undefined")).await,
        Err(Error::NotFound(_))
    ));
    let receipts = store.upstream_receipts("SampleMail", 10).await.unwrap();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].account, sender);
}

#[tokio::test]
async fn audit_entries_are_written_and_filtered() {
    let (dir, store) = fresh().await;
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    let entry = |actor: &str, action: &str, outcome: &str| AuditEntry {
        actor: actor.into(),
        action: action.into(),
        object: "J13123456780".into(),
        source_ip: Some(ip),
        outcome: outcome.into(),
    };
    store
        .audit(&entry("J13123456780", "smtp.login", "wrong-password"))
        .await
        .unwrap();
    store
        .audit(&entry("J13123456780", "smtp.login", "ok"))
        .await
        .unwrap();
    store
        .audit(&entry("operator", "account.unlock", "ok"))
        .await
        .unwrap();

    let all = store.audit_log(&AuditFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].entry, entry("operator", "account.unlock", "ok"));
    let logins = store
        .audit_log(&AuditFilter {
            action: Some("smtp.login".into()),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    let outcomes: Vec<&str> = logins.iter().map(|r| r.entry.outcome.as_str()).collect();
    assert_eq!(outcomes, ["ok", "wrong-password"]);
    let newest = store
        .audit_log(&AuditFilter {
            actor: Some("J13123456780".into()),
            since: Some(all[2].at),
            limit: Some(1),
            ..AuditFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].entry.outcome, "ok");
    drop(store);
    let reopened = open(dir.path()).await;
    assert_eq!(
        reopened.audit_log(&AuditFilter::default()).await.unwrap(),
        all
    );
}
