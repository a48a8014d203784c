//! The Regist job (spec §4.1): runs periodically, settles DataDeletes at once, and answers each
//! DataSend older than the Regist interval with its Regist; from then on its number is no
//! longer managed and can no longer be cancelled.

use std::sync::Arc;
use std::time::Duration;

use kx_denso::message::{CancelResult, DeleteRegist, Message};
use kx_denso::names::{DataFileKind, data_file_kind};
use kx_denso::{ErrorCode, TransmissionNumber};
use kx_records::{FileCheck, check_file};
use kx_store::{CancelOutcome, Claim, SubmissionKind};
use tokio::sync::watch;

use super::Gateway;
use crate::handoff::{self, Origin};
use crate::settings::EnvironmentSetting;

/// How long a job holds a claim: far longer than a Regist takes, so a claim only runs out when
/// its job died.
const LEASE: Duration = Duration::from_secs(300);
/// Submissions taken per pass.
const BATCH: u32 = 20;

/// Runs passes until `shutdown` turns true: every second (or every interval, if shorter), and
/// at once when a DataDelete arrives.
pub async fn run(gateway: Arc<Gateway>, mut shutdown: watch::Receiver<bool>) {
    let interval = Duration::from_secs(gateway.config.denso.regist_interval);
    let tick = interval.clamp(Duration::from_millis(200), Duration::from_secs(1));
    loop {
        if let Err(e) = gateway.regist_pass(interval).await {
            tracing::error!(error = %e, "regist: pass failed, retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = gateway.wake_regist.notified() => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Why the transmission system itself could not check a submission (Regist `CheckErr`).
struct CheckError(ErrorCode);

impl Gateway {
    /// One pass: every due DataDelete, then the DataSends older than `interval`.
    async fn regist_pass(&self, interval: Duration) -> anyhow::Result<()> {
        for claim in self
            .store
            .due_for_regist(SubmissionKind::DataDelete, Duration::ZERO, LEASE, 100)
            .await?
        {
            self.settle_delete(&claim).await?;
        }
        loop {
            let claims = self
                .store
                .due_for_regist(SubmissionKind::DataSend, interval, LEASE, BATCH)
                .await?;
            if claims.is_empty() {
                return Ok(());
            }
            for claim in &claims {
                self.register(claim).await?;
            }
        }
    }

    async fn settle_delete(&self, claim: &Claim) -> anyhow::Result<()> {
        let submission = &claim.submission;
        let number: TransmissionNumber =
            submission.number.as_deref().unwrap_or_default().parse()?;
        let cancelled: TransmissionNumber = submission
            .cancel_target
            .as_deref()
            .unwrap_or_default()
            .parse()?;
        let reply = self.reply_to(&submission.account);
        let build = |outcome: CancelOutcome| {
            let result = match outcome {
                CancelOutcome::Success => CancelResult::Success,
                CancelOutcome::NoData => CancelResult::NoData(ErrorCode::CancelNoData.into()),
            };
            let message = DeleteRegist::answering(reply, number.clone(), cancelled.clone(), result);
            // Every field is ASCII built from validated numbers: it cannot fail to build.
            Message::DeleteRegist(message)
                .to_bytes()
                .unwrap_or_default()
        };
        let outcome = self.store.settle_delete(claim, build).await?;
        tracing::info!(account = %submission.account, number = %number, cancelled = %cancelled, ?outcome, "regist: DeleteRegist");
        Ok(())
    }

    async fn register(&self, claim: &Claim) -> anyhow::Result<()> {
        let submission = &claim.submission;
        let account = &submission.account;
        let raw = self.store.submission_message(submission.id).await?;
        let Ok(Message::DataSend(data_send)) = Message::parse(&raw) else {
            anyhow::bail!("submission {} is not a readable DataSend", submission.id);
        };
        let reply = self.reply_to(account);
        let file_count = u32::try_from(data_send.files.len()).unwrap_or(u32::MAX);
        let (regist, handed_off) = match data_files(&data_send.files) {
            Err(CheckError(code)) => (
                kx_records::regist::check_error(
                    reply,
                    data_send.number.clone(),
                    file_count,
                    code.into(),
                )?,
                false,
            ),
            Ok(files) => {
                let checks: Vec<(String, FileCheck)> = files
                    .iter()
                    .map(|(name, data)| (name.clone(), check_file(name, data, &self.tables)))
                    .collect();
                let regist = kx_records::regist::from_checks(
                    reply,
                    data_send.number.clone(),
                    account.org().kind(),
                    &checks,
                )?;
                let handed_off = self.hand_off(submission, &data_send.number, &files, &checks)?;
                (regist, handed_off)
            }
        };
        let bytes = Message::Regist(regist).to_bytes()?;
        let registration = self.store.register(claim, bytes, handed_off).await?;
        tracing::info!(%account, number = %data_send.number, handed_off, ?registration, "regist: Regist");
        Ok(())
    }

    /// Writes the files that passed the structure check to `DIR/handoff/<number>/`, in
    /// production only. A folder left by an earlier attempt that died before registering
    /// counts as handed off.
    fn hand_off(
        &self,
        submission: &kx_store::Submission,
        number: &TransmissionNumber,
        files: &[(String, Vec<u8>)],
        checks: &[(String, FileCheck)],
    ) -> anyhow::Result<bool> {
        if self.config.environment == EnvironmentSetting::TestLoopback {
            return Ok(false);
        }
        let accepted: Vec<(String, Vec<u8>, u64)> = files
            .iter()
            .zip(checks)
            .filter_map(|((name, data), (_, check))| match check {
                FileCheck::Checked { counts, .. } => {
                    Some((name.clone(), data.clone(), counts.total))
                }
                FileCheck::DataErr(_) => None,
            })
            .collect();
        if accepted.is_empty() {
            return Ok(false);
        }
        let origin = Origin {
            transmission_number: number.to_string(),
            org_code: number.org_code().to_string(),
            account: submission.account.to_string(),
            received_at: submission.accepted_at.to_rfc3339(),
            handed_off_at: chrono::Local::now().to_rfc3339(),
        };
        match handoff::write(&self.data_dir.join("handoff"), &origin, &accepted) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(true),
            Err(e) => Err(e.into()),
        }
    }
}

/// The data files of a DataSend: its CSVs, and the CSVs inside its LZH archives (§5.4(1): the
/// server unpacks them before the hand-off).
fn data_files(
    attachments: &[kx_denso::message::Attachment],
) -> Result<Vec<(String, Vec<u8>)>, CheckError> {
    let mut files = Vec::new();
    for attachment in attachments {
        match data_file_kind(&attachment.name) {
            Some(DataFileKind::Csv) => {
                files.push((attachment.name.clone(), attachment.data.clone()))
            }
            Some(DataFileKind::Lzh) => {
                let entries = kx_lzh::unpack(&attachment.data, &kx_lzh::Limits::default())
                    .map_err(|_| CheckError(ErrorCode::LzhUnpack))?;
                for entry in entries.into_iter().filter(|e| !e.entry.is_directory) {
                    let name = entry
                        .entry
                        .path
                        .components()
                        .last()
                        .cloned()
                        .unwrap_or_default();
                    if data_file_kind(&name) != Some(DataFileKind::Csv) {
                        return Err(CheckError(ErrorCode::LzhContent));
                    }
                    files.push((name, entry.data));
                }
            }
            None => return Err(CheckError(ErrorCode::LzhContent)),
        }
    }
    let mut names = std::collections::HashSet::new();
    if files.is_empty()
        || !files
            .iter()
            .all(|(n, _)| names.insert(n.to_ascii_uppercase()))
    {
        return Err(CheckError(ErrorCode::LzhContent));
    }
    Ok(files)
}
