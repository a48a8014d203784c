//! The exchange's store: parties, codes, the certificate queue, sessions, files with quotas,
//! deletion and cancellation, retention and the outbox, with the clock passed in.

mod common;

use std::net::IpAddr;

use chrono::{DateTime, Duration};
use kx_store::exchange::{
    CodeKind, Decision, DeleteOutcome, EnrolOutcome, NewCertificate, PartyId, RequestState,
    SendOutcome, SessionCheck, SessionLimits, SetupOutcome, sha256_hex,
};
use kx_store::{Login, Retention, Store};

use common::exchange::{notice, send, t0, world};

const LIMITS: SessionLimits = SessionLimits {
    idle: Duration::minutes(30),
    absolute: Duration::hours(12),
};

fn policy() -> Retention {
    Retention {
        keep_raw_messages: Duration::days(30),
        keep_mail: Duration::days(400),
        download_window: Duration::days(70),
        keep_months: 24,
        keep_sent_mails: Duration::days(30),
        orphan_grace: std::time::Duration::ZERO,
    }
}

/// How long certificate requests wait for their society.
const REQUEST_LIFETIME: Duration = Duration::days(14);

fn blob_files(dir: &std::path::Path) -> usize {
    kx_testkit::files_under(&dir.join("blobs/exchange"))
        .into_iter()
        .filter(|p| !p.starts_with(dir.join("blobs/exchange/tmp")))
        .count()
}

#[tokio::test]
async fn codes_are_one_time_and_enrolment_goes_through_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let w = world(&store).await;

    let setup = store
        .issue_code("soc1", CodeKind::Setup, t0(), Duration::days(14))
        .await
        .unwrap();
    let cert = NewCertificate {
        der: b"society cert".to_vec(),
        not_after: t0() + Duration::days(365),
    };
    let generation = store.ca_generation().await.unwrap();
    assert_eq!(
        store
            .setup_society("off1", &setup, b"ca", &cert, t0())
            .await
            .unwrap(),
        SetupOutcome::Refused,
        "an office user cannot set up a society"
    );
    assert_eq!(
        store
            .setup_society("soc1", &setup.to_lowercase(), b"ca", &cert, t0())
            .await
            .unwrap(),
        SetupOutcome::Done(w.society)
    );
    assert_eq!(
        store
            .setup_society("soc1", &setup, b"ca", &cert, t0())
            .await
            .unwrap(),
        SetupOutcome::Refused,
        "a code works once"
    );
    assert_eq!(store.ca_generation().await.unwrap(), generation + 1);
    assert_eq!(store.society_cas().await.unwrap(), vec![b"ca".to_vec()]);

    let first = store
        .issue_code("off1", CodeKind::Enrolment, t0(), Duration::days(14))
        .await
        .unwrap();
    let code = store
        .issue_code("off1", CodeKind::Enrolment, t0(), Duration::days(14))
        .await
        .unwrap();
    assert_eq!(
        store
            .enrol("off1", &first, b"csr", t0(), REQUEST_LIFETIME)
            .await
            .unwrap(),
        EnrolOutcome::Refused,
        "a newer code replaces the older"
    );
    assert_eq!(
        store
            .enrol(
                "off1",
                &code,
                b"csr",
                t0() + Duration::days(15),
                REQUEST_LIFETIME
            )
            .await
            .unwrap(),
        EnrolOutcome::Refused,
        "codes expire"
    );
    let EnrolOutcome::Queued(request) = store
        .enrol("off1", &code, b"csr", t0(), REQUEST_LIFETIME)
        .await
        .unwrap()
    else {
        panic!("enrolment refused")
    };
    let pending = store.pending_requests(w.society, t0()).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].csr_der, b"csr");
    let other = store
        .add_society("01010101", "other", 1, t0())
        .await
        .unwrap();
    assert!(
        store
            .pending_requests(other, t0())
            .await
            .unwrap()
            .is_empty()
    );
    let office_cert = NewCertificate {
        der: b"office cert".to_vec(),
        not_after: t0() + Duration::days(365),
    };
    assert!(
        !store
            .decide_request(other, &request, &Decision::Issue(office_cert.clone()), t0())
            .await
            .unwrap(),
        "another society cannot answer"
    );
    assert!(
        store
            .decide_request(w.society, &request, &Decision::Issue(office_cert), t0())
            .await
            .unwrap()
    );
    let answered = store.certificate_request(&request).await.unwrap().unwrap();
    assert_eq!(answered.state, RequestState::Issued);
    assert_eq!(answered.certificate.as_deref(), Some(&b"office cert"[..]));
    let record = store
        .certificate_by_fingerprint(&sha256_hex(b"office cert"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((record.party, record.current), (w.office, true));

    // A renewal replaces the user's current certificate.
    let renewal = store
        .request_renewal("off1", w.office, b"csr2", t0(), REQUEST_LIFETIME)
        .await
        .unwrap();
    let renewed = NewCertificate {
        der: b"office cert 2".to_vec(),
        not_after: t0() + Duration::days(700),
    };
    store
        .decide_request(w.society, &renewal, &Decision::Issue(renewed), t0())
        .await
        .unwrap();
    let current = store.certificates(w.office, true).await.unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0].der, b"office cert 2");
    assert_eq!(store.certificates(w.office, false).await.unwrap().len(), 2);
}

#[tokio::test]
async fn certificate_requests_left_undecided_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let w = world(&store).await;
    let code = store
        .issue_code("off1", CodeKind::Enrolment, t0(), Duration::days(14))
        .await
        .unwrap();
    let EnrolOutcome::Queued(enrolment) = store
        .enrol("off1", &code, b"csr", t0(), REQUEST_LIFETIME)
        .await
        .unwrap()
    else {
        panic!("enrolment refused")
    };
    let later = t0() + Duration::days(1);
    let renewal = store
        .request_renewal("off1", w.office, b"csr2", later, REQUEST_LIFETIME)
        .await
        .unwrap();
    let refused = store
        .request_renewal("off1", w.office, b"csr3", t0(), REQUEST_LIFETIME)
        .await
        .unwrap();
    assert!(
        store
            .decide_request(w.society, &refused, &Decision::Refuse("no".into()), t0())
            .await
            .unwrap()
    );
    let pending = async |now| -> Vec<String> {
        let pending = store.pending_requests(w.society, now).await.unwrap();
        pending.into_iter().map(|r| r.id).collect()
    };

    // Until its expiry a request waits; from then on the society no longer sees it, cannot
    // decide it, and its poller learns it expired, whether or not the job has run.
    let deadline = t0() + REQUEST_LIFETIME;
    let just_before = deadline - Duration::milliseconds(1);
    assert_eq!(
        pending(just_before).await,
        [enrolment.clone(), renewal.clone()]
    );
    let report = store.run_retention(just_before, &policy()).await.unwrap();
    assert_eq!(report.requests_expired, 0);
    assert_eq!(pending(deadline).await, std::slice::from_ref(&renewal));
    let stored = store
        .certificate_request(&enrolment)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.expires_at, deadline);
    assert_eq!(stored.state, RequestState::Pending, "not marked yet");
    assert_eq!(stored.state_at(just_before), RequestState::Pending);
    assert_eq!(stored.state_at(deadline), RequestState::Expired);
    assert!(
        !store
            .decide_request(
                w.society,
                &enrolment,
                &Decision::Refuse("late".into()),
                deadline
            )
            .await
            .unwrap(),
        "an expired request cannot be decided"
    );

    // The job marks it (and only it: the renewal is younger, the refused one decided).
    let report = store.run_retention(deadline, &policy()).await.unwrap();
    assert_eq!(report.requests_expired, 1);
    let stored = store
        .certificate_request(&enrolment)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, RequestState::Expired);
    assert_eq!(stored.refusal, None);
    let report = store
        .run_retention(later + REQUEST_LIFETIME, &policy())
        .await
        .unwrap();
    assert_eq!(report.requests_expired, 1, "the renewal, a day later");
    assert!(pending(later + REQUEST_LIFETIME).await.is_empty());
    let mut states = Vec::new();
    for id in [&enrolment, &renewal, &refused] {
        states.push(store.certificate_request(id).await.unwrap().unwrap().state);
    }
    assert_eq!(
        states,
        [
            RequestState::Expired,
            RequestState::Expired,
            RequestState::Refused
        ]
    );
}

#[tokio::test]
async fn sessions_are_bound_to_address_and_certificate_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let w = world(&store).await;
    store
        .set_exchange_password("off1", "Right-Pass-1", true)
        .await
        .unwrap();
    let store = &store;
    let verify = |party, password: &'static str| async move {
        store
            .verify_exchange_password(party, "off1", password)
            .await
            .unwrap()
    };
    let temporary = Login::Ok {
        must_change_password: true,
    };
    assert_eq!(verify(w.office, "Right-Pass-1").await, temporary);
    for failure in 1..=5 {
        let expected = if failure < 5 {
            Login::Wrong
        } else {
            Login::LockedOut
        };
        assert_eq!(verify(w.office, "wrong").await, expected);
    }
    assert_eq!(
        verify(w.office, "Right-Pass-1").await,
        Login::Locked,
        "the account lock-out applies to exchange users too"
    );
    assert_eq!(store.locked_logins().await.unwrap().exchange_users, 1);
    store.unlock_exchange_user("off1").await.unwrap();
    assert_eq!(store.locked_logins().await.unwrap().exchange_users, 0);
    // Through another party's certificate the user is unknown, and no failure is counted.
    for _ in 0..6 {
        assert_eq!(verify(w.society, "wrong").await, Login::Unknown);
    }
    assert_eq!(verify(w.society, "Right-Pass-1").await, Login::Unknown);
    assert_eq!(verify(w.office, "Right-Pass-1").await, temporary);

    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let token = store
        .create_session("off1", w.office, ip, "fp", t0(), LIMITS)
        .await
        .unwrap();
    let check = |token: String, ip: &'static str, fp: &'static str, at| {
        let store = store.clone();
        async move {
            store
                .check_session(&token, ip.parse().unwrap(), fp, at, LIMITS)
                .await
                .unwrap()
        }
    };
    let temporary = |check: SessionCheck| match check {
        SessionCheck::Valid(session) => session.must_change_password,
        other => panic!("{other:?}"),
    };
    assert!(
        temporary(check(token.clone(), "127.0.0.1", "fp", t0()).await),
        "the session reports the temporary password"
    );
    store
        .set_exchange_password("off1", "Own-Pass-22", false)
        .await
        .unwrap();
    assert!(
        !temporary(check(token.clone(), "127.0.0.1", "fp", t0()).await),
        "a changed password frees the open session"
    );
    store
        .set_exchange_password("off1", "Reset-Pass-3", true)
        .await
        .unwrap();
    assert!(
        temporary(check(token.clone(), "127.0.0.1", "fp", t0()).await),
        "a reset restricts the open session at once"
    );
    assert_eq!(
        check(token.clone(), "127.0.0.2", "fp", t0()).await,
        SessionCheck::Address
    );
    assert_eq!(
        check(token.clone(), "127.0.0.1", "other", t0()).await,
        SessionCheck::Certificate
    );
    let mut at = t0();
    for _ in 0..10 {
        at += Duration::minutes(29);
        assert!(matches!(
            check(token.clone(), "127.0.0.1", "fp", at).await,
            SessionCheck::Valid(_)
        ));
    }
    assert_eq!(
        check(token.clone(), "127.0.0.1", "fp", at + Duration::minutes(31)).await,
        SessionCheck::Expired,
        "idle"
    );
    assert_eq!(
        check(token.clone(), "127.0.0.1", "fp", t0() + Duration::hours(12)).await,
        SessionCheck::Expired,
        "absolute"
    );
    assert!(store.end_session(&token).await.unwrap());
    assert_eq!(
        check(token, "127.0.0.1", "fp", t0()).await,
        SessionCheck::Expired
    );
}

#[tokio::test]
async fn files_keep_quota_delete_cancel_expire_and_purge() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let w = world(&store).await;
    store
        .update_profile(
            "off1",
            &kx_store::exchange::ProfileUpdate {
                user_name: "事業所太郎".into(),
                user_code: "U1".into(),
                mail: "off1@example.test".into(),
            },
        )
        .await
        .unwrap();
    store
        .update_profile(
            "soc1",
            &kx_store::exchange::ProfileUpdate {
                user_name: "健保花子".into(),
                user_code: "S1".into(),
                mail: "soc1@example.test".into(),
            },
        )
        .await
        .unwrap();

    // Office quota is 100 bytes.
    let SendOutcome::Stored(a) = send(&store, w.society, "soc1", w.office, &[1; 60], t0()).await
    else {
        panic!("first file over quota")
    };
    assert_eq!(
        send(&store, w.society, "soc1", w.office, &[2; 41], t0()).await,
        SendOutcome::OverQuota {
            used: 60,
            quota: 100
        }
    );
    assert_eq!(blob_files(dir.path()), 1, "the refused blob is gone");
    let SendOutcome::Stored(b) = send(&store, w.society, "soc1", w.office, &[3; 40], t0()).await
    else {
        panic!("second file over quota")
    };
    assert_eq!(store.quota_used(w.office).await.unwrap(), 100);
    assert_eq!(store.inbox(w.office).await.unwrap().len(), 2);
    assert!(store.file_for(w.society, &a.id).await.unwrap().is_some());
    let stranger = store
        .add_office(w.society, "0002", "other", 100, t0())
        .await
        .unwrap();
    assert!(store.file_for(stranger, &a.id).await.unwrap().is_none());
    assert_eq!(
        store.delete_file(stranger, &a.id, t0()).await.unwrap(),
        DeleteOutcome::NotFound
    );

    // Download a, then the sender cannot cancel it; b can be cancelled.
    assert!(
        store
            .mark_received(w.office, &a.id, &notice("downloaded"), t0())
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_received(w.office, &a.id, &notice("downloaded"), t0())
            .await
            .unwrap()
    );
    assert_eq!(
        store.delete_file(w.society, &a.id, t0()).await.unwrap(),
        DeleteOutcome::AlreadyDownloaded
    );
    assert_eq!(
        store.delete_file(w.society, &b.id, t0()).await.unwrap(),
        DeleteOutcome::Cancelled
    );
    assert_eq!(
        store.delete_file(w.society, &b.id, t0()).await.unwrap(),
        DeleteOutcome::NotFound
    );
    assert_eq!(
        store.delete_file(w.office, &a.id, t0()).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert!(store.inbox(w.office).await.unwrap().is_empty());
    assert_eq!(store.history(w.office).await.unwrap().len(), 1);
    assert_eq!(store.sent(w.society, None).await.unwrap().len(), 2);
    assert_eq!(
        blob_files(dir.path()),
        0,
        "deleted and cancelled bytes are gone"
    );
    assert_eq!(store.quota_used(w.office).await.unwrap(), 0);

    // Three notifications to off1 (two files... one refused, so two) and one to soc1.
    let mails = store
        .claim_mails(t0(), 10, Duration::minutes(1))
        .await
        .unwrap();
    let to: Vec<&str> = mails.iter().map(|m| m.to.as_str()).collect();
    assert_eq!(
        to,
        [
            "off1@example.test",
            "off1@example.test",
            "soc1@example.test"
        ]
    );
    assert!(
        store
            .claim_mails(t0(), 10, Duration::minutes(1))
            .await
            .unwrap()
            .is_empty(),
        "claimed mails are not handed out twice"
    );
    store.mail_sent(mails[0].id, t0()).await.unwrap();
    store
        .mail_failed(mails[1].id, "relay down", t0() + Duration::minutes(5))
        .await
        .unwrap();
    let again = store
        .claim_mails(t0() + Duration::minutes(5), 10, Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|m| m.id).collect::<Vec<_>>(),
        [mails[1].id, mails[2].id]
    );

    // Expiry after 70 days (files to offices only), purge after 2 years.
    let SendOutcome::Stored(c) = send(&store, w.society, "soc1", w.office, &[4; 10], t0()).await
    else {
        panic!()
    };
    let SendOutcome::Stored(d) = send(&store, w.office, "off1", w.society, &[5; 10], t0()).await
    else {
        panic!()
    };
    let report = store
        .run_retention(t0() + Duration::days(69), &policy())
        .await
        .unwrap();
    assert_eq!(report.expired, 0);
    let report = store
        .run_retention(t0() + Duration::days(70), &policy())
        .await
        .unwrap();
    assert_eq!((report.expired, report.blobs_removed), (1, 1));
    let c = store.file_for(w.office, &c.id).await.unwrap().unwrap();
    assert!(c.expired_at.is_some() && !c.available());
    assert!(
        store
            .file_for(w.society, &d.id)
            .await
            .unwrap()
            .unwrap()
            .available(),
        "files to the society do not expire"
    );
    // 24 calendar months: 730 days after 2026-04-01 is 2028-03-31 (a leap year), too early.
    let report = store
        .run_retention(t0() + Duration::days(730), &policy())
        .await
        .unwrap();
    assert_eq!(report.purged, 0);
    let report = store
        .run_retention(t0() + Duration::days(731), &policy())
        .await
        .unwrap();
    assert_eq!(report.purged, 4);
    assert!(store.sent(w.society, None).await.unwrap().is_empty());
    assert!(store.history(w.office).await.unwrap().is_empty());
    assert_eq!(blob_files(dir.path()), 0);
}

#[tokio::test]
async fn the_sender_sees_the_first_download_and_the_recipient_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let w = world(&store).await;
    let SendOutcome::Stored(file) = send(&store, w.office, "off1", w.society, &[1; 10], t0()).await
    else {
        panic!("over quota")
    };
    let first = t0() + Duration::hours(1);
    let second = t0() + Duration::days(2);
    for (at, is_first) in [(first, true), (second, false)] {
        assert_eq!(
            store
                .mark_received(w.society, &file.id, &notice("downloaded"), at)
                .await
                .unwrap(),
            is_first
        );
    }
    let sent = store.sent(w.office, None).await.unwrap();
    assert_eq!(
        (sent[0].first_received_at, sent[0].last_received_at),
        (Some(first), Some(second))
    );
    let inbox = store.inbox(w.society).await.unwrap();
    assert_eq!(inbox[0].last_received_at, Some(second));
}

/// A database as a store of schema version 2 left it, with a file downloaded and a request
/// waiting; opening it as a store applies the rest.
#[tokio::test]
async fn migration_3_keeps_downloads_and_gives_waiting_requests_their_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("migrations-1-2");
    std::fs::create_dir(&old).unwrap();
    let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    for name in ["0001_initial.sql", "0002_exchange.sql"] {
        std::fs::copy(all.join(name), old.join(name)).unwrap();
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.path().join("kx.sqlite3"))
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::migrate::Migrator::new(old.as_path())
        .await
        .unwrap()
        .run(&pool)
        .await
        .unwrap();
    let created = t0().timestamp_millis();
    let received = created + 60_000;
    for sql in [
        "INSERT INTO ex_parties (id, kind, number, name, quota_bytes, created_at) \
         VALUES (1, 'society', '06139999', 's', 100, 0)",
        "INSERT INTO ex_parties (id, kind, number, name, society_id, quota_bytes, created_at) \
         VALUES (2, 'office', '0001', 'o', 1, 100, 0)",
        "INSERT INTO ex_users (id, party_id, created_at) VALUES ('off1', 2, 0)",
        &format!(
            "INSERT INTO ex_files (id, sender_party, sender_user, recipient_party, function, \
             name, size, sha256, sent_at, received_at) \
             VALUES ('f1', 2, 'off1', 1, 'attachments', 'n', 1, 'x', {created}, {received})"
        ),
        &format!(
            "INSERT INTO ex_certificate_requests (id, kind, party_id, user_id, csr_der, state, \
             created_at) VALUES ('r1', 'enrol', 2, 'off1', x'00', 'pending', {created})"
        ),
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = Store::open(&common::sqlite_config(dir.path()))
        .await
        .unwrap();
    // Every migration after 2 is applied, whatever the newest is.
    let newest = std::fs::read_dir(&all)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.get(..4)?.parse::<i64>().ok())
        .max()
        .unwrap();
    assert_eq!(store.schema_version().await.unwrap(), newest);
    let file = store.file_for(PartyId(1), "f1").await.unwrap().unwrap();
    let at = DateTime::from_timestamp_millis(received);
    assert_eq!((file.first_received_at, file.last_received_at), (at, at));
    let request = store.certificate_request("r1").await.unwrap().unwrap();
    assert_eq!(request.state, RequestState::Pending);
    assert_eq!(request.expires_at, t0() + Duration::days(14));
    assert_eq!(
        store
            .pending_requests(PartyId(1), t0())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unrecorded_uploads_are_held_until_their_intents_lapse() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let mut upload = store.exchange_upload().await.unwrap();
    upload.write(b"never recorded").await.unwrap();
    let _staged = upload.finish().await.unwrap();
    let dropped = store.exchange_upload().await.unwrap();
    drop(dropped);
    assert_eq!(blob_files(dir.path()), 1);
    assert!(kx_testkit::files_under(&dir.path().join("blobs/exchange/tmp")).is_empty());
    // An upload in flight, however old its blob: only its recording, or its intent lapsing
    // (its uploader died; the store's own tests lapse one), frees it.
    store.run_retention(t0(), &policy()).await.unwrap();
    assert_eq!(blob_files(dir.path()), 1, "held by its intent");
}

#[tokio::test]
async fn monitoring_counts_society_quotas_and_expiring_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open(dir.path()).await;
    let w = world(&store).await;
    let quota = |used| kx_store::SocietyQuota {
        number: "06139999".into(),
        used,
        quota: 1000,
    };
    assert_eq!(store.society_quotas().await.unwrap(), [quota(0)]);
    let SendOutcome::Stored(_) = send(&store, w.office, "off1", w.society, &[1; 300], t0()).await
    else {
        panic!("over quota")
    };
    // A file to the office counts toward the office's quota, not the society's.
    let SendOutcome::Stored(_) = send(&store, w.society, "soc1", w.office, &[2; 50], t0()).await
    else {
        panic!("over quota")
    };
    assert_eq!(store.society_quotas().await.unwrap(), [quota(300)]);

    let in_days = |days| NewCertificate {
        der: format!("certificate for {days} days").into_bytes(),
        not_after: t0() + Duration::days(days),
    };
    store
        .publish_society_certificate(w.society, &in_days(30), t0())
        .await
        .unwrap();
    let within_60_days = t0() + Duration::days(60);
    assert_eq!(
        store.certificates_expiring(within_60_days).await.unwrap(),
        1
    );
    // A renewal replaces it: the old one is no longer current.
    store
        .publish_society_certificate(w.society, &in_days(400), t0())
        .await
        .unwrap();
    assert_eq!(
        store.certificates_expiring(within_60_days).await.unwrap(),
        0
    );
}
