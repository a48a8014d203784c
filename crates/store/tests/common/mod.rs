//! Shared fixtures: a store in a temporary directory, offices with accounts, messages.

#![allow(dead_code, unreachable_pub)] // each test crate uses a different part

pub mod exchange;

use std::path::Path;

use tempfile::TempDir;

use kx_denso::{AccountId, OrgKind, OrgNumber, TransmissionNumber};
use kx_store::{
    Arrival, Database, NewSubmission, PasswordParams, Store, StoreConfig, SubmissionKind,
};

/// The configuration tests use: the real layout, cheap password hashes; on PostgreSQL when
/// scripts/test names a server (`KX_TEST_POSTGRES`), a database of `dir`'s own there.
pub fn config(dir: &Path) -> StoreConfig {
    let mut config = sqlite_config(dir);
    if let Some(url) = kx_testkit::postgres::database_for(dir) {
        config.database = Database::postgres(&url).expect("a postgres:// URL");
    }
    config
}

/// [`config`] on SQLite whatever the backend, for what is about SQLite's own file.
pub fn sqlite_config(dir: &Path) -> StoreConfig {
    let mut config = StoreConfig::in_dir(dir);
    config.password = PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    config
}

pub async fn open(dir: &Path) -> Store {
    Store::open(&config(dir)).await.expect("store opens")
}

/// Adds the office with this 10-digit number and its master account.
pub async fn office(store: &Store, number: &str) -> AccountId {
    let org = OrgNumber::new(OrgKind::Office, number).expect("office number");
    store.add_org(&org, "office", &[]).await.expect("org added");
    let account = org.master();
    store.add_account(&account).await.expect("account added");
    account
}

pub fn number(account: &AccountId, serial: &str) -> TransmissionNumber {
    TransmissionNumber::new(account.org(), serial).expect("transmission number")
}

/// A DataSend with Accept Success, its message and Accept bytes naming the number.
pub fn data_send(account: &AccountId, serial: &str) -> NewSubmission {
    submission(account, serial, None)
}

/// A DataDelete with Accept Success cancelling `target`.
pub fn data_delete(account: &AccountId, serial: &str, target: &str) -> NewSubmission {
    submission(account, serial, Some(number(account, target)))
}

fn submission(
    account: &AccountId,
    serial: &str,
    cancel: Option<TransmissionNumber>,
) -> NewSubmission {
    let number = number(account, serial);
    let (kind, ifarea) = match &cancel {
        None => (SubmissionKind::DataSend, format!("{number},00001")),
        Some(target) => (SubmissionKind::DataDelete, format!("{number},{target}")),
    };
    NewSubmission {
        account: account.clone(),
        kind,
        message: format!("Subject: Transmit {kind}\r\nX-IFArea: {ifarea}\r\n").into(),
        accept: format!("Subject: Transmit Accept\r\nX-IFArea: {number},Success\r\n").into(),
        arrival: Arrival::Success { number, cancel },
    }
}

/// Every message in the account's mailbox, oldest first.
pub async fn mailbox(store: &Store, account: &AccountId) -> Vec<Vec<u8>> {
    let mut messages = Vec::new();
    for item in store.list_mail(account).await.expect("list") {
        messages.push(store.fetch_mail(account, item.uid).await.expect("fetch"));
    }
    messages
}

/// A store in a fresh temporary directory (kept as long as the directory is).
pub async fn fresh() -> (TempDir, Store) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = open(dir.path()).await;
    (dir, store)
}

/// A fresh store with one office (1312345678) and its master account.
pub async fn with_office() -> (TempDir, Store, AccountId) {
    let (dir, store) = fresh().await;
    let account = office(&store, "1312345678").await;
    (dir, store, account)
}

/// Accepts one DataSend.
pub async fn accept_one(store: &Store, account: &AccountId, serial: &str) {
    store
        .accept(vec![data_send(account, serial)])
        .await
        .expect("accepted");
}
