//! The 伝送 pipeline's storage against real SQLite files: accept, Regist, cancel, mailboxes.

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::{accept_one, data_delete, data_send, mailbox, number, office, open, with_office};
use kx_denso::ErrorCode;
use kx_store::{
    Arrival, AuditEntry, AuditFilter, CancelOutcome, Claim, Error, NewSubmission,
    PreparedSubmission, Registration, Store, SubmissionKind, SubmissionState, Uid,
};
use tokio::task::JoinSet;

const NOW: Duration = Duration::ZERO;
const MINUTE: Duration = Duration::from_secs(60);

/// Registers a claimed DataSend as handed off, with a Regist that says "Regist".
async fn register(store: &Store, claim: &Claim) -> Registration {
    store
        .register(claim, b"Regist".to_vec(), true)
        .await
        .expect("register")
}

/// Copies every file under `from` to `to`, as a machine that stops dead leaves its disk: the
/// store is neither closed nor dropped, and SQLite's shared-memory index is left behind.
fn crash_image(from: &Path, to: &Path) {
    for entry in fs::read_dir(from).expect("readable") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            fs::create_dir_all(&target).expect("copy");
            crash_image(&entry.path(), &target);
        } else if !entry.file_name().to_string_lossy().ends_with("-shm") {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

#[tokio::test]
async fn an_accepted_submission_is_all_there_after_a_crash() {
    let (dir, store, account) = with_office().await;
    let item = data_send(&account, "0000000001");
    let (message, accept) = (item.message.clone(), item.accept.clone());
    let ids = store.accept(vec![item]).await.unwrap();

    // The moment accept returns, SMTP says 250; the disk must already hold everything.
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let reopened = open(image.path()).await;
    assert_eq!(reopened.submission_message(ids[0]).await.unwrap(), message);
    assert_eq!(mailbox(&reopened, &account).await, vec![accept]);
    assert!(
        reopened
            .number_used(&account.org().org_code(), &number(&account, "0000000001"))
            .await
            .unwrap()
    );
    let history = reopened
        .submissions(&account.org().org_code(), 10)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].state, SubmissionState::Accepted);
    assert_eq!(history[0].size, message.len() as u64);
    assert_eq!(
        reopened
            .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 10)
            .await
            .unwrap()
            .len(),
        1
    );

    // Opening the original again (migrations already applied) keeps it too.
    drop(store);
    let again = open(dir.path()).await;
    assert_eq!(
        again.schema_version().await.unwrap(),
        reopened.schema_version().await.unwrap()
    );
    assert_eq!(again.submission_message(ids[0]).await.unwrap(), message);
}

#[tokio::test]
async fn a_used_number_is_refused_and_named_and_its_batch_is_not_stored() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    accept_one(&store, &account, "0000000001").await;

    let again = store.accept(vec![data_send(&account, "0000000001")]).await;
    assert!(
        matches!(again, Err(Error::NumberUsed(ref n)) if *n == number(&account, "0000000001")),
        "{again:?}"
    );
    let mixed = store
        .accept(vec![
            data_send(&account, "0000000002"),
            data_send(&account, "0000000001"),
        ])
        .await;
    assert!(matches!(mixed, Err(Error::NumberUsed(_))), "{mixed:?}");
    let twice_in_one_batch = store
        .accept(vec![
            data_send(&account, "0000000003"),
            data_send(&account, "0000000003"),
        ])
        .await;
    assert!(matches!(twice_in_one_batch, Err(Error::NumberUsed(_))));

    for serial in ["0000000002", "0000000003"] {
        assert!(
            !store
                .number_used(&org, &number(&account, serial))
                .await
                .unwrap()
        );
    }
    assert_eq!(store.submissions(&org, 100).await.unwrap().len(), 1);
    assert_eq!(store.list_mail(&account).await.unwrap().len(), 1);
}

/// Prepares each submission (its blobs written) for [`Store::accept_prepared`].
async fn prepared(store: &Store, items: Vec<NewSubmission>) -> Vec<PreparedSubmission> {
    let mut out = Vec::new();
    for item in items {
        out.push(store.prepare_submission(item).await.expect("prepare"));
    }
    out
}

#[tokio::test]
async fn a_prepared_batch_refuses_used_and_repeated_numbers_one_by_one_as_in_turn() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    accept_one(&store, &account, "0000000001").await;
    let mut second_0003 = data_send(&account, "0000000003");
    second_0003.message = b"Subject: the second 0003\r\n".to_vec();
    second_0003.accept = b"Subject: Accept of the second 0003\r\n".to_vec();
    // A refused message with a number it does not use up is stored even when that number is
    // taken earlier in the batch, as it would be after that commit.
    let mut refused_0003 = data_send(&account, "0000000009");
    refused_0003.arrival = Arrival::IfErr {
        code: ErrorCode::ALL[0],
        number: Some(number(&account, "0000000003").to_string()),
        number_valid: false,
    };
    let batch = vec![
        data_send(&account, "0000000002"),
        data_send(&account, "0000000001"),
        data_send(&account, "0000000003"),
        second_0003,
        refused_0003,
        data_delete(&account, "0000000004", "0000000002"),
        data_delete(&account, "0000000004", "0000000003"),
    ];
    let outcomes = store
        .accept_prepared(prepared(&store, batch).await)
        .await
        .unwrap();

    let used = |o: &Result<_, Error>, serial: &str| matches!(o, Err(Error::NumberUsed(n)) if *n == number(&account, serial));
    assert_eq!(outcomes.len(), 7, "{outcomes:?}");
    assert!(outcomes[0].is_ok(), "{outcomes:?}");
    assert!(used(&outcomes[1], "0000000001"), "{outcomes:?}");
    assert!(outcomes[2].is_ok(), "{outcomes:?}");
    assert!(used(&outcomes[3], "0000000003"), "{outcomes:?}");
    assert!(outcomes[4].is_ok(), "{outcomes:?}");
    assert!(outcomes[5].is_ok(), "{outcomes:?}");
    assert!(used(&outcomes[6], "0000000004"), "{outcomes:?}");

    // The first of each number won: its message is stored, the later one left no trace.
    let id = |i: usize| *outcomes[i].as_ref().unwrap();
    assert_eq!(
        store.submission_message(id(2)).await.unwrap(),
        data_send(&account, "0000000003").message
    );
    let stored = store.submissions(&org, 100).await.unwrap();
    assert_eq!(stored.len(), 1 + 4);
    let deletes: Vec<_> = stored
        .iter()
        .filter(|s| s.kind == SubmissionKind::DataDelete)
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(
        deletes[0].cancel_target.as_deref(),
        Some(number(&account, "0000000002").as_str())
    );
    let mail = mailbox(&store, &account).await;
    assert_eq!(mail.len(), 1 + 4);
    assert!(
        !mail
            .iter()
            .any(|m| m.starts_with(b"Subject: Accept of the second"))
    );
    for serial in ["0000000002", "0000000003", "0000000004"] {
        assert!(
            store
                .number_used(&org, &number(&account, serial))
                .await
                .unwrap()
        );
    }
    assert!(
        !store
            .number_used(&org, &number(&account, "0000000009"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_prepared_submission_writes_its_audit_entry_only_when_it_is_stored() {
    let (_dir, store, account) = with_office().await;
    let entry = |object: &str| AuditEntry {
        actor: account.to_string(),
        action: "smtp.submit".into(),
        object: object.into(),
        source_ip: None,
        outcome: "accepted".into(),
    };
    let mut batch = prepared(
        &store,
        vec![
            data_send(&account, "0000000001"),
            data_send(&account, "0000000001"),
        ],
    )
    .await;
    batch[0].audit_with(entry("first"));
    batch[1].audit_with(entry("second"));
    let outcomes = store.accept_prepared(batch).await.unwrap();
    assert!(outcomes[0].is_ok() && matches!(outcomes[1], Err(Error::NumberUsed(_))));
    let log = store.audit_log(&AuditFilter::default()).await.unwrap();
    let objects: Vec<&str> = log
        .iter()
        .filter(|r| r.entry.action == "smtp.submit")
        .map(|r| r.entry.object.as_str())
        .collect();
    assert_eq!(objects, ["first"]);
}

#[tokio::test]
async fn a_prepared_batch_commits_nothing_when_its_transaction_fails() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    let batch = prepared(
        &store,
        vec![
            data_send(&account, "0000000001"),
            data_send(&account, "0000000002"),
        ],
    )
    .await;
    store.close().await;
    assert!(store.accept_prepared(batch).await.is_err());
    let reopened = open(_dir.path()).await;
    assert!(reopened.submissions(&org, 100).await.unwrap().is_empty());
    assert!(mailbox(&reopened, &account).await.is_empty());
}

#[tokio::test]
async fn a_number_of_another_organisation_is_refused() {
    let (_dir, store, mine) = with_office().await;
    let theirs = office(&store, "1398765432").await;
    let mut item = data_send(&mine, "0000000001");
    item.arrival = Arrival::Success {
        number: number(&theirs, "0000000001"),
        cancel: None,
    };
    assert!(matches!(
        store.accept(vec![item]).await,
        Err(Error::Invalid(_))
    ));
}

#[tokio::test]
async fn refused_messages_are_kept_and_mark_their_number_only_when_it_was_valid() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    let refused = |written: &str, valid: bool| {
        let mut item = data_send(&account, "0000000009");
        item.arrival = Arrival::IfErr {
            code: ErrorCode::ALL[0],
            number: Some(written.to_owned()),
            number_valid: valid,
        };
        item
    };
    let valid = number(&account, "0000000001").to_string();
    store
        .accept(vec![
            refused(&valid, true),
            refused("garbage number", false),
        ])
        .await
        .unwrap();

    assert!(
        store
            .number_used(&org, &number(&account, "0000000001"))
            .await
            .unwrap()
    );
    let history = store.submissions(&org, 10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert!(history.iter().all(|s| s.state == SubmissionState::Refused));
    assert_eq!(
        history[0].error_code.as_deref(),
        Some(ErrorCode::ALL[0].code())
    );
    assert_eq!(history[0].number.as_deref(), Some("garbage number"));
    assert_eq!(store.list_mail(&account).await.unwrap().len(), 2);
    assert!(
        store
            .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_batch_of_a_hundred_commits_as_one_transaction() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    let batch = |last: &str| -> Vec<NewSubmission> {
        (1..100)
            .map(|i| data_send(&account, &format!("{i:010}")))
            .chain([data_send(&account, last)])
            .collect()
    };

    // The hundredth item repeats the first: if the batch were not one transaction, the 99
    // before it would stay.
    let failed = store.accept(batch(&format!("{:010}", 1))).await;
    assert!(matches!(failed, Err(Error::NumberUsed(_))));
    assert!(store.submissions(&org, 1000).await.unwrap().is_empty());
    assert!(store.list_mail(&account).await.unwrap().is_empty());

    let ids = store.accept(batch(&format!("{:010}", 100))).await.unwrap();
    assert_eq!(ids.len(), 100);
    assert_eq!(store.submissions(&org, 1000).await.unwrap().len(), 100);
    let accepts = mailbox(&store, &account).await;
    assert_eq!(accepts.len(), 100);
    for (i, accept) in accepts.iter().enumerate() {
        let serial = format!("{:010}", i + 1);
        assert!(
            String::from_utf8_lossy(accept).contains(&serial),
            "in order"
        );
    }
}

#[tokio::test]
async fn a_claim_is_held_by_one_job_until_its_lease_ends() {
    let (_dir, store, account) = with_office().await;
    store
        .accept(vec![
            data_send(&account, "0000000001"),
            data_send(&account, "0000000002"),
        ])
        .await
        .unwrap();

    assert!(
        store
            .due_for_regist(SubmissionKind::DataSend, MINUTE, MINUTE, 10)
            .await
            .unwrap()
            .is_empty(),
        "too recent"
    );
    let first = store
        .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 1)
        .await
        .unwrap();
    let second = store
        .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 10)
        .await
        .unwrap();
    assert_eq!((first.len(), second.len()), (1, 1));
    assert_ne!(first[0].submission.id, second[0].submission.id);
    assert!(
        store
            .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let expired = store
        .due_for_regist(SubmissionKind::DataSend, NOW, NOW, 10)
        .await
        .unwrap();
    assert!(expired.is_empty(), "live leases are not taken");
    assert_eq!(register(&store, &first[0]).await, Registration::Registered);
    assert_eq!(
        register(&store, &first[0]).await,
        Registration::Lost,
        "registered once only"
    );
    let history = store
        .submissions(&account.org().org_code(), 10)
        .await
        .unwrap();
    let registered = history
        .iter()
        .find(|s| s.id == first[0].submission.id)
        .unwrap();
    assert_eq!(registered.state, SubmissionState::Registered);
    assert_eq!(registered.handed_off, Some(true));
    assert!(registered.settled_at.is_some());
    assert_eq!(mailbox(&store, &account).await.last().unwrap(), b"Regist");
}

#[tokio::test]
async fn regist_attempts_are_counted_when_claimed_and_survive_a_crash() {
    let (dir, store, account) = with_office().await;
    accept_one(&store, &account, "0000000001").await;
    let claim = |store: &Store, lease: Duration| {
        let store = store.clone();
        async move {
            store
                .due_for_regist(SubmissionKind::DataSend, NOW, lease, 10)
                .await
                .unwrap()
        }
    };
    // A zero lease runs out at once, as a dead job's does.
    let first = claim(&store, NOW).await;
    assert_eq!(first[0].submission.regist_attempts, 1);

    // The process died during that attempt: the count is already on disk.
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let reopened = open(image.path()).await;
    let second = claim(&reopened, MINUTE).await;
    assert_eq!(second[0].submission.regist_attempts, 2);
    assert!(
        claim(&reopened, MINUTE).await.is_empty(),
        "the live claim holds"
    );

    // A released claim is taken again at once, and counts again; releasing a claim that is
    // no longer the submission's changes nothing.
    reopened.release(&second[0]).await.unwrap();
    let third = claim(&reopened, MINUTE).await;
    assert_eq!(third[0].submission.regist_attempts, 3);
    reopened.release(&second[0]).await.unwrap();
    assert!(
        claim(&reopened, MINUTE).await.is_empty(),
        "the third claim holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_concurrent_cancels_and_registers_exactly_one_wins() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    for round in 0..12 {
        let serial = format!("{round:010}");
        store
            .accept(vec![data_send(&account, &serial)])
            .await
            .unwrap();
        // A zero lease: the claim does not shield it, so cancel and register truly race.
        let claim = store
            .due_for_regist(SubmissionKind::DataSend, NOW, NOW, 1)
            .await
            .unwrap()
            .remove(0);
        let mut tasks = JoinSet::new();
        for task in 0..8 {
            let (store, org, claim) = (store.clone(), org.clone(), claim.clone());
            let number = number(&account, &serial);
            tasks.spawn(async move {
                if (task + round) % 2 == 0 {
                    store.cancel(&org, &number).await.unwrap() == CancelOutcome::Success
                } else {
                    register(&store, &claim).await == Registration::Registered
                }
            });
        }
        let winners = tasks
            .join_all()
            .await
            .into_iter()
            .filter(|&won| won)
            .count();
        assert_eq!(winners, 1, "round {round}");
        let state = store.submissions(&org, 1).await.unwrap()[0].state;
        assert!(matches!(
            state,
            SubmissionState::Registered | SubmissionState::Cancelled
        ));
    }
    let regists = mailbox(&store, &account)
        .await
        .into_iter()
        .filter(|m| m == b"Regist")
        .count();
    let registered = store
        .submissions(&org, 100)
        .await
        .unwrap()
        .iter()
        .filter(|s| s.state == SubmissionState::Registered)
        .count();
    assert_eq!(
        regists, registered,
        "a Regist for each registration, no more"
    );
}

#[tokio::test]
async fn a_live_claim_shields_a_submission_from_cancel() {
    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    accept_one(&store, &account, "0000000001").await;
    let claim = store
        .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 1)
        .await
        .unwrap()
        .remove(0);
    let target = number(&account, "0000000001");
    assert_eq!(
        store.cancel(&org, &target).await.unwrap(),
        CancelOutcome::NoData
    );
    assert_eq!(register(&store, &claim).await, Registration::Registered);
    assert_eq!(
        store.cancel(&org, &target).await.unwrap(),
        CancelOutcome::NoData
    );
}

#[tokio::test]
async fn a_data_delete_cancels_and_delivers_the_delete_regist_in_one_step() {
    let (_dir, store, account) = with_office().await;
    let other = office(&store, "1398765432").await;
    store
        .accept(vec![
            data_send(&account, "0000000001"),
            data_delete(&account, "0000000002", "0000000001"),
            data_delete(&account, "0000000003", "0000000042"),
            data_send(&other, "0000000001"),
        ])
        .await
        .unwrap();
    let reply = |outcome: CancelOutcome| format!("DeleteRegist {outcome:?}").into_bytes();

    // DataDeletes are claimed on their own and settled first.
    let deletes = store
        .due_for_regist(SubmissionKind::DataDelete, NOW, MINUTE, 10)
        .await
        .unwrap();
    assert_eq!(deletes.len(), 2);
    let mut outcomes = Vec::new();
    for claim in &deletes {
        outcomes.push(store.settle_delete(claim, reply).await.unwrap());
    }
    assert_eq!(
        outcomes,
        [Some(CancelOutcome::Success), Some(CancelOutcome::NoData)]
    );
    assert_eq!(
        store.settle_delete(&deletes[0], reply).await.unwrap(),
        None,
        "settled once only"
    );
    assert!(matches!(
        store.register(&deletes[0], b"Regist".to_vec(), true).await,
        Err(Error::Invalid(_))
    ));
    // The cancelled DataSend is never claimed for its Regist; the other office's is.
    let sends = store
        .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 10)
        .await
        .unwrap();
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].submission.account, other);
    let messages = mailbox(&store, &account).await;
    assert_eq!(
        &messages[3..],
        [reply(CancelOutcome::Success), reply(CancelOutcome::NoData)]
    );

    // The other office's submission with the same serial is untouched.
    assert_eq!(
        store
            .register(&sends[0], b"Regist".to_vec(), false)
            .await
            .unwrap(),
        Registration::Registered
    );
    let states: Vec<_> = store
        .submissions(&account.org().org_code(), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.state)
        .collect();
    assert_eq!(
        states,
        [
            SubmissionState::Registered,
            SubmissionState::Registered,
            SubmissionState::Cancelled
        ]
    );
}

#[tokio::test]
async fn no_account_can_see_or_touch_another_accounts_mailbox() {
    let (_dir, store, a) = with_office().await;
    let b = office(&store, "1398765432").await;
    let mine = store.deliver(&a, b"for A".to_vec()).await.unwrap();
    let theirs = store.deliver(&b, b"for B".to_vec()).await.unwrap();
    store.deliver(&b, b"for B too".to_vec()).await.unwrap();
    assert_eq!(mine, theirs, "uids are per mailbox");

    let listed = store.list_mail(&a).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].size, 5);
    for guess in 0..20 {
        match store.fetch_mail(&a, Uid(guess)).await {
            Ok(message) => assert_eq!(message, b"for A"),
            Err(Error::NotFound(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    let guesses: Vec<Uid> = (0..20).map(Uid).filter(|&u| u != mine).collect();
    assert_eq!(store.delete_mail(&a, &guesses).await.unwrap(), 0);
    assert_eq!(
        mailbox(&store, &b).await,
        [b"for B".to_vec(), b"for B too".to_vec()]
    );
}

#[tokio::test]
async fn uids_survive_deletions_and_reopening_and_are_never_reused() {
    let (dir, store, account) = with_office().await;
    let mut uids = Vec::new();
    for n in 1..=3 {
        uids.push(store.deliver(&account, vec![b'0' + n]).await.unwrap());
    }
    assert_eq!(uids, [Uid(1), Uid(2), Uid(3)]);
    assert_eq!(store.delete_mail(&account, &[Uid(2)]).await.unwrap(), 1);
    assert_eq!(
        store.deliver(&account, b"4".to_vec()).await.unwrap(),
        Uid(4)
    );
    assert_eq!(store.delete_mail(&account, &[Uid(4)]).await.unwrap(), 1);
    drop(store);

    let store = open(dir.path()).await;
    let listed: Vec<Uid> = store
        .list_mail(&account)
        .await
        .unwrap()
        .iter()
        .map(|m| m.uid)
        .collect();
    assert_eq!(listed, [Uid(1), Uid(3)]);
    assert_eq!(store.fetch_mail(&account, Uid(3)).await.unwrap(), b"3");
    assert_eq!(
        store.deliver(&account, b"5".to_vec()).await.unwrap(),
        Uid(5)
    );
}

#[tokio::test]
async fn the_mailbox_lock_admits_one_holder_until_released_or_expired() {
    let (_dir, store, a) = with_office().await;
    let b = office(&store, "1398765432").await;
    assert!(store.try_lock_mailbox(&a, "kxd-1", MINUTE).await.unwrap());
    assert!(!store.try_lock_mailbox(&a, "kxd-2", MINUTE).await.unwrap());
    assert!(store.try_lock_mailbox(&b, "kxd-2", MINUTE).await.unwrap());
    store.unlock_mailbox(&a, "kxd-2").await.unwrap();
    assert!(!store.try_lock_mailbox(&a, "kxd-2", MINUTE).await.unwrap());
    store.unlock_mailbox(&a, "kxd-1").await.unwrap();
    assert!(store.try_lock_mailbox(&a, "kxd-2", NOW).await.unwrap());
    assert!(
        store.try_lock_mailbox(&a, "kxd-3", MINUTE).await.unwrap(),
        "an expired lock is taken over"
    );
}

#[tokio::test]
async fn inspect_sees_numbers_the_store_has_used() {
    use kx_denso::UsedNumbers as _;

    let (_dir, store, account) = with_office().await;
    let org = account.org().org_code();
    let used = number(&account, "0000000001");
    let fresh = number(&account, "0000000002");
    accept_one(&store, &account, "0000000001").await;
    let snapshot = store
        .used_snapshot(&org, Some(&used), Some(("SampleMail", "1")))
        .await
        .unwrap();
    assert!(snapshot.number_used(&used));
    assert!(!snapshot.unique_used("SampleMail", "1"));
    let snapshot = store.used_snapshot(&org, Some(&fresh), None).await.unwrap();
    assert!(!snapshot.number_used(&fresh));
}

#[tokio::test]
async fn monitoring_counts_waiting_and_poison_submissions_and_locked_accounts() {
    let (_dir, store, account) = with_office().await;
    store.ping().await.unwrap();
    assert_eq!(store.submissions_waiting().await.unwrap(), 0);
    store
        .accept(vec![
            data_send(&account, "0000000001"),
            data_send(&account, "0000000002"),
            data_delete(&account, "0000000003", "0000000002"),
        ])
        .await
        .unwrap();
    assert_eq!(store.submissions_waiting().await.unwrap(), 3);
    let claims = store
        .due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 1)
        .await
        .unwrap();
    assert_eq!(
        store.submissions_waiting().await.unwrap(),
        3,
        "a claimed submission still waits for its Regist"
    );
    assert_eq!(register(&store, &claims[0]).await, Registration::Registered);
    assert_eq!(store.submissions_waiting().await.unwrap(), 2);

    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    store
        .record_audit(
            "J13123456780",
            kx_store::POISON_ACTION,
            "n",
            None,
            "CheckErr",
        )
        .await;
    store
        .record_audit("J13123456780", "regist.other", "n", None, "ok")
        .await;
    assert_eq!(store.poison_submissions(before).await.unwrap(), 1);
    let later = chrono::Utc::now() + chrono::Duration::seconds(1);
    assert_eq!(store.poison_submissions(later).await.unwrap(), 0);

    assert_eq!(store.locked_logins().await.unwrap().accounts, 0);
    store.lock(&account).await.unwrap();
    assert_eq!(
        store.locked_logins().await.unwrap(),
        kx_store::LockedLogins {
            accounts: 1,
            exchange_users: 0
        }
    );
    store.unlock(&account).await.unwrap();
    assert_eq!(store.locked_logins().await.unwrap().accounts, 0);
}

#[tokio::test]
async fn instances_claiming_at_once_take_every_submission_once() {
    let (dir, store, account) = with_office().await;
    // A second handle on the same database, as a second kxd has.
    let other = open(dir.path()).await;
    let batch: Vec<NewSubmission> = (1..=40)
        .map(|i| data_send(&account, &format!("{i:010}")))
        .collect();
    store.accept(batch).await.unwrap();
    let mut claimed = Vec::new();
    loop {
        let claims = futures_util::future::join_all(
            [&store, &other, &store, &other]
                .map(|s| s.due_for_regist(SubmissionKind::DataSend, NOW, MINUTE, 7)),
        )
        .await;
        let round: Vec<_> = claims
            .into_iter()
            .flat_map(|c| c.unwrap())
            .map(|c| c.submission.id)
            .collect();
        if round.is_empty() {
            break;
        }
        claimed.extend(round);
    }
    claimed.sort_unstable();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!(before, claimed.len(), "a submission was claimed twice");
    assert_eq!(claimed.len(), 40, "every submission was claimed");
}
