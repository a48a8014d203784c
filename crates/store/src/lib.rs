//! Durable state for `kxd`: organisations, accounts, mailboxes, submissions and blobs.
//!
//! SQLite plus a local blob directory by default; the gateway and exchange pipelines talk to
//! this crate only, so other backends can slot in behind it.
