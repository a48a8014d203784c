//! POP3 over the store: each account reads, and deletes, only its own mailbox.

use std::net::IpAddr;
use std::time::Duration;

use kx_denso::AccountId;

use super::Gateway;
use kx_pop3::{AuditEvent, AuthOutcome, Backend, BackendError, Entry, LockError, Uid};

/// An account's mailbox, locked for one POP3 session and renewed while the session lives.
pub struct MailboxLock {
    account: AccountId,
    holder: String,
    _renewal: Renewal,
}

/// The task renewing a lock, stopped when the lock is dropped, however the session ends.
struct Renewal(tokio::task::AbortHandle);

impl Drop for Renewal {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Renews `holder`'s lock of `account` for `lease` every third of it, until aborted: three
/// renewals per lease, so one slow database write never lets a living session's lock lapse.
async fn renew(store: kx_store::Store, account: AccountId, holder: String, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        match store.try_lock_mailbox(&account, &holder, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::error!(%account, "pop3: a session's mailbox lock lapsed and was taken");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "pop3: cannot renew a mailbox lock"),
        }
    }
}

fn backend_error(e: kx_store::Error) -> BackendError {
    BackendError(Box::new(e))
}

impl Backend for Gateway {
    type Account = AccountId;
    type Lock = MailboxLock;
    type MessageId = kx_store::Uid;

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<AuthOutcome<AccountId>, BackendError> {
        Ok(self.login("pop3", user, password, source).await)
    }

    async fn lock(&self, account: &AccountId) -> Result<MailboxLock, LockError> {
        let token =
            kx_listen::random_token().map_err(|e| LockError::Backend(BackendError(Box::new(e))))?;
        let holder = format!("pop3-{}-{token}", std::process::id());
        // The lease is short and renewed while the session lives: the lock of a process that
        // died (`kill -9`, a power cut) lapses within it, however long a session may idle.
        let lease = Duration::from_secs(self.config.denso.maildrop_lease.max(1));
        match self.store.try_lock_mailbox(account, &holder, lease).await {
            Ok(true) => {
                let renewal = tokio::spawn(renew(
                    self.store.clone(),
                    account.clone(),
                    holder.clone(),
                    lease,
                ));
                Ok(MailboxLock {
                    account: account.clone(),
                    holder,
                    _renewal: Renewal(renewal.abort_handle()),
                })
            }
            Ok(false) => Err(LockError::InUse),
            Err(e) => Err(LockError::Backend(backend_error(e))),
        }
    }

    async fn list(&self, lock: &MailboxLock) -> Result<Vec<Entry<kx_store::Uid>>, BackendError> {
        let items = self
            .store
            .list_mail(&lock.account)
            .await
            .map_err(backend_error)?;
        items
            .into_iter()
            .map(|item| {
                let uid =
                    Uid::new(item.uid.0.to_string()).map_err(|e| BackendError(Box::new(e)))?;
                Ok(Entry {
                    id: item.uid,
                    uid,
                    size: item.size,
                })
            })
            .collect()
    }

    async fn fetch(&self, lock: &MailboxLock, id: &kx_store::Uid) -> Result<Vec<u8>, BackendError> {
        self.store
            .fetch_mail(&lock.account, *id)
            .await
            .map_err(backend_error)
    }

    async fn delete(&self, lock: &MailboxLock, ids: &[kx_store::Uid]) -> Result<(), BackendError> {
        self.store
            .delete_mail(&lock.account, ids)
            .await
            .map(drop)
            .map_err(backend_error)
    }

    async fn unlock(&self, lock: MailboxLock) {
        if let Err(e) = self.store.unlock_mailbox(&lock.account, &lock.holder).await {
            tracing::error!(error = %e, "pop3: cannot unlock a mailbox");
        }
    }

    async fn record(&self, event: AuditEvent<'_>) {
        match event {
            // Logins are audited by `Gateway::login` with their precise outcome.
            AuditEvent::LoginSucceeded { .. } | AuditEvent::LoginFailed { .. } => {}
            AuditEvent::Read {
                user,
                uid,
                top_lines,
            } => {
                let action = if top_lines.is_some() {
                    "pop3.top"
                } else {
                    "pop3.retr"
                };
                self.audit(user, action, uid, None, "ok").await;
            }
            AuditEvent::Deleted { user, uids } => {
                self.audit(user, "pop3.delete", &uids.join(","), None, "ok")
                    .await;
            }
        }
    }
}
