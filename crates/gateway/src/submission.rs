//! SMTP submissions: inspect, store with the Accept in one transaction, only then `250`.
//!
//! The transaction is shared with the other connections' submissions under way (group
//! commit, see `group_commit`): each commit costs an fsync, so one per message would cap ingest.
//! Inspection decodes Base64 and unpacks archives: it runs once per message, on the blocking
//! pool, a few at a time, never on the threads that serve the other sessions.

use std::net::IpAddr;

use kx_denso::inspect::ClientKind;
use kx_denso::message::{Accept, Message};
use kx_denso::{AccountId, Context, Inspection, TransmissionNumber, UpstreamDefinition, inspect};
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
        let Submission {
            account,
            peer,
            recipients,
            message,
            ..
        } = submission;
        let transmit = self.config.transmit_address();
        let to_transmit = recipients.iter().any(|r| r.eq_ignore_ascii_case(&transmit));
        let (outcome, audited) = if to_transmit {
            self.data_message(&account, peer, message).await
        } else {
            (self.upstream_notice(&account, message).await, false)
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
        let account = account.to_string();
        self.audit(&account, "smtp.submit", &account, Some(peer), &word)
            .await;
        outcome
    }
}

/// What inspecting one message found, on the blocking pool.
struct Examined {
    /// The message as received, handed back.
    raw: Vec<u8>,
    inspection: Inspection,
    /// The message parsed, when it is valid and its answer needs more than the inspection
    /// (a DataDelete's number to cancel, an upstream notice's kind and unique number).
    parsed: Option<Message>,
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
    /// Looks up whether the numbers `raw` claims are used, then inspects it once with the
    /// answer, within the message's decompression budget, on the blocking pool and no more
    /// than one per core at a time. `upstream`: the federation's upstream kinds, for a notice
    /// sent to an upstream address; `None` for a message to the transmit address. `None` when
    /// the store cannot answer or the inspection broke down: the client tries later.
    async fn examine(
        &self,
        account: &AccountId,
        raw: Vec<u8>,
        upstream: Option<Vec<UpstreamDefinition>>,
    ) -> Option<Examined> {
        let claimed = kx_denso::claimed(&raw);
        let unique = claimed
            .unique
            .as_ref()
            .map(|(kind, unique)| (kind.as_str(), unique.as_str()));
        let org = account.org().org_code();
        let used = match self
            .store
            .used_snapshot(&org, claimed.number.as_ref(), unique)
            .await
        {
            Ok(used) => used,
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot read used numbers");
                return None;
            }
        };
        let _turn = self.inspections.acquire().await.ok()?;
        let account = account.clone();
        let domain = self.config.domain.clone();
        let transmit = self.config.transmit_address();
        let unpack_limits = self.config.denso.unpack_limits();
        let inspected = tokio::task::spawn_blocking(move || {
            let context = Context {
                account: Some(&account),
                domain: Some(&domain),
                transmit_address: upstream.is_none().then_some(transmit.as_str()),
                upstream: upstream.as_deref(),
                used: Some(&used),
                unpack_limits,
            };
            let inspection = inspect(&raw, &context);
            let parsed = (inspection.is_valid() && inspection.kind != ClientKind::DataSend)
                .then(|| Message::parse(&raw).ok())
                .flatten();
            Examined {
                raw,
                inspection,
                parsed,
            }
        });
        match inspected.await {
            Ok(examined) => Some(examined),
            Err(e) => {
                tracing::error!(error = %e, "smtp: the inspection broke down");
                None
            }
        }
    }

    /// A DataSend or DataDelete (or anything else sent to the transmit address): always answered
    /// with an Accept, Success or IFErr, stored with the message in one transaction. True with
    /// the outcome when that transaction also wrote the submission's audit entry.
    async fn data_message(
        &self,
        account: &AccountId,
        peer: IpAddr,
        raw: Vec<u8>,
    ) -> (SubmitOutcome, bool) {
        let Some(Examined {
            raw,
            inspection,
            parsed,
        }) = self.examine(account, raw, None).await
        else {
            return (SubmitOutcome::TryLater, false);
        };
        if inspection.kind == ClientKind::Upstream {
            let refused = SubmitOutcome::Refused {
                code: 554,
                status: [5, 1, 1],
                text: "upstream notices go to their own address, not the transmit address".into(),
            };
            return (refused, false);
        }
        let number: Option<TransmissionNumber> = inspection
            .transmission_number
            .as_deref()
            .and_then(|n| n.parse().ok());
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
                cancel: match parsed {
                    Some(Message::DataDelete(delete)) => Some(delete.cancel),
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
            message: raw,
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
            source_ip: Some(peer),
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
    async fn upstream_notice(&self, account: &AccountId, raw: Vec<u8>) -> SubmitOutcome {
        let definitions = match self.store.upstream_definitions().await {
            Ok(definitions) => definitions,
            Err(e) => {
                tracing::error!(error = %e, "smtp: cannot read upstream definitions");
                return SubmitOutcome::TryLater;
            }
        };
        let Some(Examined {
            raw,
            inspection,
            parsed,
        }) = self.examine(account, raw, Some(definitions)).await
        else {
            return SubmitOutcome::TryLater;
        };
        if inspection.kind != ClientKind::Upstream || !inspection.is_valid() {
            return refused(&inspection);
        }
        let Some(Message::Upstream(notice)) = parsed else {
            return refused(&inspection);
        };
        let new = NewUpstreamNotice {
            account: account.clone(),
            kind: notice.kind.clone(),
            unique: notice.unique.clone(),
            message: raw,
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
