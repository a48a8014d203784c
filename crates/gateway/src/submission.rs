//! SMTP submissions: inspect, store with the Accept in one transaction, only then `250`.
//!
//! The transaction is shared with the other connections' submissions under way (group
//! commit, see `group_commit`): each commit costs an fsync, so one per message would cap ingest.

use std::net::IpAddr;

use kx_denso::inspect::ClientKind;
use kx_denso::message::{Accept, Message};
use kx_denso::{AccountId, Context, Inspection, TransmissionNumber, inspect};
use kx_store::{
    Arrival, AuditEntry, Error as StoreError, NewSubmission, NewUpstreamNotice, SubmissionKind,
};

use super::Gateway;
use super::group_commit::Committed;
use kx_smtp::{AuthOutcome, Submission, SubmissionService, SubmitOutcome};

impl SubmissionService for Gateway {
    type Account = AccountId;

    async fn authenticate(
        &self,
        user: &str,
        password: &str,
        peer: IpAddr,
    ) -> AuthOutcome<AccountId> {
        self.login("smtp", user, password, peer).await
    }

    fn sender_allowed(&self, account: &AccountId, address: &str) -> bool {
        address.eq_ignore_ascii_case(&account.address(&self.config.domain))
    }

    async fn recipient_allowed(&self, _account: &AccountId, address: &str) -> bool {
        if address.eq_ignore_ascii_case(&self.config.transmit_address()) {
            return true;
        }
        match self.store.upstream_definitions().await {
            Ok(definitions) => definitions
                .iter()
                .any(|d| d.to.eq_ignore_ascii_case(address)),
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot read upstream definitions");
                false
            }
        }
    }

    async fn submit(&self, submission: Submission<AccountId>) -> SubmitOutcome {
        if !self.messages.allow(&submission.account) {
            return SubmitOutcome::TryLater;
        }
        let transmit = self.config.transmit_address();
        let to_transmit = submission
            .recipients
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&transmit));
        let (outcome, audited) = if to_transmit {
            self.data_message(&submission).await
        } else {
            (self.upstream_notice(&submission).await, false)
        };
        if audited {
            // Written with the message, in its transaction.
            return outcome;
        }
        let word = match &outcome {
            SubmitOutcome::Accepted(_) => "accepted".to_owned(),
            SubmitOutcome::Refused { text, .. } => {
                format!("refused {}", text.split(' ').next().unwrap_or(""))
            }
            SubmitOutcome::TryLater => "try-later".to_owned(),
        };
        let account = submission.account.to_string();
        self.audit(
            &account,
            "smtp.submit",
            &account,
            Some(submission.peer),
            &word,
        )
        .await;
        outcome
    }
}

/// `554 5.6.0 <code> <English text>`: a refusal the client can look up in the code table.
fn refused(inspection: &Inspection) -> SubmitOutcome {
    let (code, text) = inspection
        .first_code()
        .map_or(("", ""), |c| (c.code(), c.message_en()));
    SubmitOutcome::Refused {
        code: 554,
        status: [5, 6, 0],
        text: format!("{code} {text}"),
    }
}

impl Gateway {
    fn context<'a>(&'a self, account: &'a AccountId, transmit: &'a str) -> Context<'a> {
        Context {
            account: Some(account),
            domain: Some(&self.config.domain),
            transmit_address: Some(transmit),
            ..Context::default()
        }
    }

    /// A DataSend or DataDelete (or anything else sent to the transmit address): always answered
    /// with an Accept, Success or IFErr, stored with the message in one transaction. True with
    /// the outcome when that transaction also wrote the submission's audit entry.
    async fn data_message(&self, submission: &Submission<AccountId>) -> (SubmitOutcome, bool) {
        let account = &submission.account;
        let org = account.org().org_code();
        let transmit = self.config.transmit_address();
        let raw = &submission.message;
        let mut inspection = inspect(raw, &self.context(account, &transmit));
        if inspection.kind == ClientKind::Upstream {
            let refused = SubmitOutcome::Refused {
                code: 554,
                status: [5, 1, 1],
                text: "upstream notices go to their own address, not the transmit address".into(),
            };
            return (refused, false);
        }
        // `inspect` is synchronous; whether the number is used is read first, then checked.
        let number: Option<TransmissionNumber> = inspection
            .transmission_number
            .as_deref()
            .and_then(|n| n.parse().ok());
        if let Some(number) = &number {
            match self.store.used_snapshot(&org, Some(number), None).await {
                Ok(used) => {
                    let context = kx_denso::Context {
                        used: Some(&used),
                        ..self.context(account, &transmit)
                    };
                    inspection = inspect(raw, &context);
                }
                Err(e) => {
                    tracing::error!(error = %e, "smtp: cannot read used numbers");
                    return (SubmitOutcome::TryLater, false);
                }
            }
        }
        let kind = match inspection.kind {
            ClientKind::DataDelete => SubmissionKind::DataDelete,
            // Unrecognised messages are kept as refused DataSends: the client still gets its
            // Accept IFErr, which is what the protocol answers to anything sent here.
            _ => SubmissionKind::DataSend,
        };
        // Only this is echoed in the `250`: the rest of X-IFArea is client text, which may
        // hold anything (NUL bytes, markup, forged reply lines).
        let shown = number.clone();
        let arrival = match (inspection.first_code(), number) {
            (None, Some(number)) => Arrival::Success {
                cancel: match Message::parse(raw) {
                    Ok(Message::DataDelete(delete)) => Some(delete.cancel),
                    _ => None,
                },
                number,
            },
            (first, _) => Arrival::IfErr {
                code: first.unwrap_or(kx_denso::ErrorCode::TransmissionNumberForm),
                number: inspection.transmission_number.clone(),
                // A refused message does not use up its number: the client may send the
                // corrected message under the same one.
                number_valid: false,
            },
        };
        let accept = Accept::answering(&inspection, self.reply_to(account));
        let accept = match Message::Accept(accept).to_bytes() {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot build the Accept");
                return (SubmitOutcome::TryLater, false);
            }
        };
        let success = matches!(arrival, Arrival::Success { .. });
        let new = NewSubmission {
            account: account.clone(),
            kind,
            arrival,
            message: raw.clone(),
            accept,
        };
        // The blobs are written and fsynced here, in parallel with other connections; only
        // the transaction is shared.
        let mut prepared = match self.store.prepare_submission(new).await {
            Ok(prepared) => prepared,
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot store the message");
                return (SubmitOutcome::TryLater, false);
            }
        };
        let actor = account.to_string();
        prepared.audit_with(AuditEntry {
            actor: actor.clone(),
            action: "smtp.submit".into(),
            object: actor,
            source_ip: Some(submission.peer),
            outcome: "accepted".into(),
        });
        match self.commits.commit(prepared).await {
            Committed::Stored(_) => {
                if kind == SubmissionKind::DataDelete && success {
                    self.wake_regist.notify_one();
                }
                let verdict = if success { "Success" } else { "IFErr" };
                let number = shown.as_ref().map_or("", TransmissionNumber::as_str);
                tracing::info!(%account, number, verdict, "smtp: message accepted");
                let accepted = match &shown {
                    Some(number) => format!("Accepted {number} ({verdict})"),
                    None => format!("Accepted ({verdict})"),
                };
                (SubmitOutcome::Accepted(accepted), true)
            }
            // Another connection took the number between the check and the commit (perhaps
            // earlier in the same batch): the client retries and then receives the Accept
            // IFErr for a used number.
            Committed::NumberUsed => (SubmitOutcome::TryLater, false),
            // Logged by the writer; nothing of the message was stored.
            Committed::Failed => (SubmitOutcome::TryLater, false),
        }
    }

    /// An upstream notice: checked against its definition and kept for the operator, with no
    /// reply message; a notice that breaks a rule is refused at once.
    async fn upstream_notice(&self, submission: &Submission<AccountId>) -> SubmitOutcome {
        let account = &submission.account;
        let raw = &submission.message;
        let definitions = match self.store.upstream_definitions().await {
            Ok(definitions) => definitions,
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot read upstream definitions");
                return SubmitOutcome::TryLater;
            }
        };
        let context = Context {
            account: Some(account),
            domain: Some(&self.config.domain),
            upstream: Some(&definitions),
            ..Context::default()
        };
        let first = inspect(raw, &context);
        let Ok(Message::Upstream(notice)) = Message::parse(raw) else {
            return refused(&first);
        };
        let used = match self
            .store
            .used_snapshot(
                &account.org().org_code(),
                None,
                Some((&notice.kind, &notice.unique)),
            )
            .await
        {
            Ok(used) => used,
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot read used unique numbers");
                return SubmitOutcome::TryLater;
            }
        };
        let inspection = inspect(
            raw,
            &Context {
                used: Some(&used),
                ..context
            },
        );
        if inspection.kind != ClientKind::Upstream || !inspection.is_valid() {
            return refused(&inspection);
        }
        let new = NewUpstreamNotice {
            account: account.clone(),
            kind: notice.kind.clone(),
            unique: notice.unique.clone(),
            message: raw.clone(),
        };
        match self.store.receive_upstream(new).await {
            Ok(()) => SubmitOutcome::Accepted(format!(
                "Upstream notice {} {} received",
                notice.kind, notice.unique
            )),
            Err(StoreError::UniqueUsed { .. }) => SubmitOutcome::Refused {
                code: 554,
                status: [5, 6, 0],
                text: format!(
                    "{} {}",
                    kx_denso::ErrorCode::UniqueNumberUsed.code(),
                    kx_denso::ErrorCode::UniqueNumberUsed.message_en()
                ),
            },
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot store the upstream notice");
                SubmitOutcome::TryLater
            }
        }
    }
}
