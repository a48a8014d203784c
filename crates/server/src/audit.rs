//! Writing the audit log from every listener, job and operator command.

use std::net::IpAddr;

use kx_store::{AuditEntry, Store};

/// Appends an audit entry. A failure to write is logged, never hidden, and does not undo or
/// fail the action it records (that action has happened).
pub(crate) async fn record(
    store: &Store,
    actor: &str,
    action: &str,
    object: &str,
    source: Option<IpAddr>,
    outcome: &str,
) {
    let entry = AuditEntry {
        actor: actor.to_owned(),
        action: action.to_owned(),
        object: object.to_owned(),
        source_ip: source,
        outcome: outcome.to_owned(),
    };
    if let Err(e) = store.audit(&entry).await {
        tracing::error!(error = %e, action, "audit: cannot write");
    }
}
