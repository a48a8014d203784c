//! What `serve` tells whoever looks at its profile (the desk of `kx app`, an operator): when it
//! started, its last round and what it has done since, written after every round. The file
//! names no file, office or person: counts and the code of the last failure only.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::profile::ProfileDir;
use super::society::{ServeEvent, ServeOptions};

/// The state file's name in the profile.
const FILE: &str = "serve-state.json";

/// The state of a running `serve`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServeState {
    /// Its process.
    pub pid: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When its last round ended.
    pub last_round_at: DateTime<Utc>,
    /// The time between rounds, in seconds.
    pub interval_seconds: u64,
    /// Where pulled files go.
    pub inbox: PathBuf,
    /// The folder whose files are sent.
    pub outbox: PathBuf,
    /// Whether it approves certificate requests itself.
    pub approving: bool,
    /// Files pulled since it started.
    pub pulled: u64,
    /// Files sent since it started.
    pub sent: u64,
    /// Certificate requests decided since it started.
    pub decided: u64,
    /// Steps and files that failed since it started.
    pub failures: u64,
    /// The code and message of the last failure, when there was one.
    pub last_failure: Option<String>,
}

impl ServeState {
    /// A state for a `serve` starting now.
    pub(crate) fn starting(options: &ServeOptions) -> ServeState {
        let now = Utc::now();
        ServeState {
            pid: std::process::id(),
            started_at: now,
            last_round_at: now,
            interval_seconds: options.interval.as_secs().max(1),
            inbox: options.inbox.clone(),
            outbox: options.outbox.clone(),
            approving: options.approve_days.is_some(),
            pulled: 0,
            sent: 0,
            decided: 0,
            failures: 0,
            last_failure: None,
        }
    }

    /// Counts `event`.
    pub(crate) fn count(&mut self, event: &ServeEvent) {
        let failure = match event {
            ServeEvent::Decided(..) => {
                self.decided += 1;
                None
            }
            ServeEvent::Pulled(outcome) => match &outcome.result {
                Ok(_) => {
                    self.pulled += 1;
                    None
                }
                Err(err) => Some(headline(err)),
            },
            ServeEvent::Sent { .. } => {
                self.sent += 1;
                None
            }
            ServeEvent::StepFailed { error, .. } => Some(headline(error)),
            ServeEvent::Retry { .. } | ServeEvent::Refused { .. } => {
                Some(kx_exchange::Code::E8005.fill(&["送信"]))
            }
        };
        if let Some(failure) = failure {
            self.failures += 1;
            self.last_failure = Some(failure);
        }
    }

    /// Writes the state after a round.
    pub(crate) fn round_done(&mut self, profile: &ProfileDir) {
        self.last_round_at = Utc::now();
        let written = serde_json::to_vec_pretty(self)
            .map_err(anyhow::Error::from)
            .and_then(|json| profile.write(FILE, &json));
        if let Err(err) = written {
            tracing::warn!(error = %format!("{err:#}"), "could not write the serve state");
        }
    }

    /// The state `serve` last wrote in `profile`, if any.
    pub fn read(profile: &ProfileDir) -> crate::Result<Option<ServeState>> {
        Ok(profile
            .read_private(FILE)?
            .and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// Whether it is still running: its last round is at most three intervals (and a minute)
    /// old.
    pub fn is_current(&self, now: DateTime<Utc>) -> bool {
        let grace = Duration::from_secs(self.interval_seconds.saturating_mul(3) + 60);
        (now - self.last_round_at)
            .to_std()
            .is_ok_and(|age| age <= grace)
            || now < self.last_round_at
    }
}

/// The code and message of an error, without its causes (which may name files).
fn headline(err: &crate::Error) -> String {
    match err {
        crate::Error::Exchange(f) => format!("{} {}", f.code.code(), f.message),
        _ => format!(
            "{} {}",
            kx_exchange::Code::E9999.code(),
            kx_exchange::Code::E9999.japanese()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ServeOptions {
        ServeOptions {
            inbox: "in".into(),
            outbox: "out".into(),
            interval: Duration::from_secs(10),
            approve_days: None,
            once: false,
        }
    }

    #[test]
    fn a_state_is_current_for_three_intervals_and_a_minute() {
        let state = ServeState::starting(&options());
        let at = state.last_round_at;
        assert!(state.is_current(at + chrono::TimeDelta::seconds(90)));
        assert!(!state.is_current(at + chrono::TimeDelta::seconds(91)));
    }

    #[test]
    fn failures_keep_only_their_code_and_message() {
        let mut state = ServeState::starting(&options());
        state.count(&ServeEvent::StepFailed {
            step: "pull",
            error: crate::Error::Other(anyhow::anyhow!("reading /home/yamada/secret.csv")),
        });
        assert_eq!(state.failures, 1);
        let last = state.last_failure.expect("a failure");
        assert!(last.starts_with("E9999"), "{last}");
        assert!(!last.contains("yamada"), "{last}");
    }
}
