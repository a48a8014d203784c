//! The Regist job (spec §4.1): runs periodically, settles DataDeletes at once, and answers each
//! DataSend older than the Regist interval with its Regist; from then on its number is no
//! longer managed and can no longer be cancelled.
//!
//! Checking a DataSend (parsing, unpacking within the message's decompression budget, the
//! record checker) runs on the blocking pool under a time budget, with its panics caught. An
//! attempt that fails so is tried again; after `max_regist_attempts` (the process dying during
//! one counts, since attempts are counted when claimed) the submission is a poison submission:
//! settled with Regist CheckErr [`ErrorCode::CheckAbandoned`], audited, never tried again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kx_denso::message::{Attachment, CancelResult, CheckResult, DeleteRegist, Message};
use kx_denso::names::{DataFileKind, data_file_kind};
use kx_denso::reply::ReplyTo;
use kx_denso::{ErrorCode, OrgKind, TransmissionNumber};
use kx_records::{FileCheck, Tables, check_file};
use kx_store::{CancelOutcome, Claim, Registration, SubmissionKind};
use tokio::sync::watch;

use super::Gateway;
use crate::handoff::{self, Origin};
use crate::settings::EnvironmentSetting;

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

/// Why checking a DataSend stopped short of its per-file verdicts.
enum Stop {
    /// The transmission system itself cannot check it: Regist `CheckErr` with this code.
    CheckErr(ErrorCode),
    /// The attempt ran out of its time budget.
    OutOfTime,
}

/// A DataSend checked: its Regist, and the files that passed for the hand-off (name, data,
/// record count).
struct Checked {
    number: TransmissionNumber,
    regist: Vec<u8>,
    /// Whether the Regist is a CheckErr (the files could not be checked at all).
    check_err: bool,
    accepted: Vec<(String, Vec<u8>, u64)>,
}

/// Why an attempt ended without a Regist to deliver; it counts against the submission.
enum Failure {
    TimedOut,
    Panicked,
    Broken(anyhow::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::TimedOut => f.write_str("out of its time budget"),
            Failure::Panicked => f.write_str("crashed"),
            Failure::Broken(e) => write!(f, "failed: {e}"),
        }
    }
}

/// When an attempt's time budget ends, checked between files and archive entries so that an
/// abandoned attempt stops soon after instead of running on beside the next one.
#[derive(Clone, Copy)]
struct Deadline(Instant);

/// The time budget ran out.
struct OutOfTime;

impl From<OutOfTime> for Stop {
    fn from(_: OutOfTime) -> Stop {
        Stop::OutOfTime
    }
}

impl From<OutOfTime> for Failure {
    fn from(_: OutOfTime) -> Failure {
        Failure::TimedOut
    }
}

impl Deadline {
    fn check(self) -> Result<(), OutOfTime> {
        if Instant::now() < self.0 {
            Ok(())
        } else {
            Err(OutOfTime)
        }
    }
}

impl Gateway {
    /// One pass: every due DataDelete, then the DataSends older than `interval`.
    async fn regist_pass(&self, interval: Duration) -> anyhow::Result<()> {
        let time_budget = Duration::from_millis(self.config.denso.regist_time_budget_ms);
        // Far longer than a Regist takes, so a claim only runs out when its job died; never
        // shorter than twice the time budget of one attempt.
        let lease =
            Duration::from_secs(self.config.denso.regist_lease).max(time_budget.saturating_mul(2));
        for claim in self
            .store
            .due_for_regist(SubmissionKind::DataDelete, Duration::ZERO, lease, 100)
            .await?
        {
            self.settle_delete(&claim).await?;
        }
        loop {
            let claims = self
                .store
                .due_for_regist(SubmissionKind::DataSend, interval, lease, BATCH)
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
            let message =
                DeleteRegist::answering(reply.clone(), number.clone(), cancelled.clone(), result);
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
        let max_attempts = self.config.denso.max_regist_attempts;
        let attempts = submission.regist_attempts;
        if attempts > max_attempts {
            // The earlier attempts ended without a verdict and without giving the claim up:
            // the process died in each. This one does no work at all.
            let why = format!("the server stopped during {} attempts", attempts - 1);
            return self.settle_poison(claim, &why).await;
        }
        let raw = self.store.submission_message(submission.id).await?;
        let time_budget = Duration::from_millis(self.config.denso.regist_time_budget_ms);
        let deadline = Deadline(Instant::now() + time_budget);
        let reply = self.reply_to(&submission.account);
        let sender = submission.account.org().kind();
        let tables = Arc::clone(&self.tables);
        let limits = self.config.denso.unpack_limits();
        let work = tokio::task::spawn_blocking(move || {
            check(raw, reply, sender, &tables, limits, deadline)
        });
        let failure = match tokio::time::timeout(time_budget, work).await {
            Ok(Ok(Ok(checked))) => return self.deliver(claim, checked).await,
            Ok(Ok(Err(failure))) => failure,
            Err(_) => Failure::TimedOut,
            Ok(Err(e)) if e.is_panic() => Failure::Panicked,
            Ok(Err(e)) => Failure::Broken(e.into()),
        };
        if attempts >= max_attempts {
            return self.settle_poison(claim, &failure.to_string()).await;
        }
        tracing::warn!(
            account = %submission.account,
            submission = %submission.id,
            attempt = attempts,
            "regist: the check {failure}; it will be tried again"
        );
        self.store.release(claim).await?;
        Ok(())
    }

    /// Hands the checked files off and delivers the Regist.
    async fn deliver(&self, claim: &Claim, checked: Checked) -> anyhow::Result<()> {
        let Checked {
            number,
            regist,
            check_err,
            accepted,
        } = checked;
        let handed_off = self.hand_off(&claim.submission, &number, accepted).await?;
        let registration = self.store.register(claim, regist, handed_off).await?;
        count_regist(&claim.submission, registration, check_err);
        let account = &claim.submission.account;
        tracing::info!(%account, %number, handed_off, ?registration, "regist: Regist");
        Ok(())
    }

    /// Settles a poison submission: Regist CheckErr A20004 (no attachment is unpacked or even
    /// parsed: its header gives the file count), audited, never tried again.
    async fn settle_poison(&self, claim: &Claim, why: &str) -> anyhow::Result<()> {
        let submission = &claim.submission;
        let number: TransmissionNumber =
            submission.number.as_deref().unwrap_or_default().parse()?;
        let raw = self.store.submission_message(submission.id).await?;
        let file_count = kx_denso::claimed(&raw).file_count.unwrap_or_default();
        let code = ErrorCode::CheckAbandoned;
        let regist = kx_records::regist::check_error(
            self.reply_to(&submission.account),
            number.clone(),
            file_count,
            code.into(),
        )?;
        let registration = self
            .store
            .register(claim, Message::Regist(regist).to_bytes()?, false)
            .await?;
        count_regist(submission, registration, true);
        let account = submission.account.to_string();
        if registration == Registration::Lost {
            tracing::info!(%account, %number, "regist: cancelled or taken by another job meanwhile");
            return Ok(());
        }
        tracing::warn!(
            %account,
            %number,
            attempts = submission.regist_attempts,
            "regist: poison submission, the check {why}: settled CheckErr {code}"
        );
        let outcome = format!(
            "CheckErr {code} after {} attempts: {why}",
            submission.regist_attempts
        );
        self.store
            .record_audit(
                &account,
                kx_store::POISON_ACTION,
                number.as_str(),
                None,
                &outcome,
            )
            .await;
        Ok(())
    }

    /// Writes the files that passed the structure check to `DIR/handoff/<number>/`, in
    /// production only. A folder left by an earlier attempt that died before registering
    /// counts as handed off.
    async fn hand_off(
        &self,
        submission: &kx_store::Submission,
        number: &TransmissionNumber,
        accepted: Vec<(String, Vec<u8>, u64)>,
    ) -> anyhow::Result<bool> {
        if self.config.environment == EnvironmentSetting::TestLoopback || accepted.is_empty() {
            return Ok(false);
        }
        let origin = Origin {
            transmission_number: number.to_string(),
            org_code: number.org_code().to_string(),
            account: submission.account.to_string(),
            received_at: submission.accepted_at.to_rfc3339(),
            handed_off_at: chrono::Local::now().to_rfc3339(),
        };
        let root = self.handoff_root();
        let written =
            tokio::task::spawn_blocking(move || handoff::write(&root, &origin, &accepted)).await?;
        match written {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(true),
            Err(e) => Err(e.into()),
        }
    }
}

/// Counts a Regist delivered into the mailbox (`kx_web::monitor` lists the metrics):
/// `kx_regist_total` by outcome and `kx_regist_latency_seconds` from the submission's acceptance.
fn count_regist(submission: &kx_store::Submission, registration: Registration, check_err: bool) {
    if registration != Registration::Registered {
        return;
    }
    let outcome = if check_err { "checkerr" } else { "success" };
    metrics::counter!("kx_regist_total", "outcome" => outcome).increment(1);
    // A clock stepped back since the acceptance counts as no wait.
    let waited = (chrono::Utc::now() - submission.accepted_at)
        .to_std()
        .map_or(0.0, |waited| waited.as_secs_f64());
    metrics::histogram!("kx_regist_latency_seconds").record(waited);
}

/// Checks the DataSend `raw` (on the blocking pool): its Regist, CheckErr when the
/// transmission system cannot check it, otherwise the record checker's verdict per file.
fn check(
    raw: Vec<u8>,
    reply: ReplyTo,
    sender: OrgKind,
    tables: &Tables,
    limits: kx_lzh::Limits,
    deadline: Deadline,
) -> Result<Checked, Failure> {
    let Ok(Message::DataSend(data_send)) = Message::parse(&raw) else {
        return Err(Failure::Broken(anyhow::anyhow!("not a readable DataSend")));
    };
    drop(raw);
    let number = data_send.number;
    let file_count = u32::try_from(data_send.files.len()).unwrap_or(u32::MAX);
    let mut budget = kx_lzh::Budget::new(limits);
    let (regist, accepted) = match data_files(data_send.files, &mut budget, deadline) {
        Ok(files) => {
            let mut checks = Vec::with_capacity(files.len());
            for (name, data) in &files {
                deadline.check()?;
                checks.push((name.clone(), check_file(name, data, tables)));
            }
            let regist = kx_records::regist::from_checks(reply, number.clone(), sender, &checks);
            let accepted = files
                .into_iter()
                .zip(&checks)
                .filter_map(|((name, data), (_, check))| match check {
                    FileCheck::Checked { counts, .. } => Some((name, data, counts.total)),
                    FileCheck::DataErr(_) => None,
                })
                .collect();
            (regist, accepted)
        }
        Err(Stop::CheckErr(code)) => {
            let regist =
                kx_records::regist::check_error(reply, number.clone(), file_count, code.into());
            (regist, Vec::new())
        }
        Err(Stop::OutOfTime) => return Err(Failure::TimedOut),
    };
    let regist = regist.map_err(|e| Failure::Broken(e.into()))?;
    let check_err = matches!(regist.check, CheckResult::CheckErr { .. });
    let regist = Message::Regist(regist)
        .to_bytes()
        .map_err(|e| Failure::Broken(e.into()))?;
    Ok(Checked {
        number,
        regist,
        check_err,
        accepted,
    })
}

/// The data files of a DataSend: its CSVs, and the CSVs inside its LZH archives (§5.4(1): the
/// server unpacks them before the hand-off), all archives within one `budget`.
fn data_files(
    attachments: Vec<Attachment>,
    budget: &mut kx_lzh::Budget,
    deadline: Deadline,
) -> Result<Vec<(String, Vec<u8>)>, Stop> {
    let mut files = Vec::new();
    for attachment in attachments {
        deadline.check()?;
        match data_file_kind(&attachment.name) {
            Some(DataFileKind::Csv) => files.push((attachment.name, attachment.data)),
            Some(DataFileKind::Lzh) => {
                archive_files(&attachment.data, budget, deadline, &mut files)?
            }
            None => return Err(Stop::CheckErr(ErrorCode::LzhContent)),
        }
    }
    let mut names = std::collections::HashSet::new();
    if files.is_empty()
        || !files
            .iter()
            .all(|(n, _)| names.insert(n.to_ascii_uppercase()))
    {
        return Err(Stop::CheckErr(ErrorCode::LzhContent));
    }
    Ok(files)
}

/// Appends the CSVs of one archive to `files`, decoding entry by entry within `budget`: an
/// archive over it is refused at the entry that crosses it, before that entry is decoded.
fn archive_files(
    archive: &[u8],
    budget: &mut kx_lzh::Budget,
    deadline: Deadline,
    files: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), Stop> {
    let refused = |e: kx_lzh::Error| {
        Stop::CheckErr(if e.is_over_budget() {
            ErrorCode::ReceptionLimits
        } else {
            ErrorCode::LzhUnpack
        })
    };
    let mut reader = kx_lzh::Reader::new(archive, budget);
    while let Some(entry) = reader.next_entry().map_err(refused)? {
        deadline.check()?;
        if entry.is_directory {
            continue;
        }
        let name = entry.path.components().last().cloned().unwrap_or_default();
        if data_file_kind(&name) != Some(DataFileKind::Csv) {
            return Err(Stop::CheckErr(ErrorCode::LzhContent));
        }
        let mut data = Vec::new();
        reader.read_data(&mut data).map_err(refused)?;
        files.push((name, data));
    }
    Ok(())
}
