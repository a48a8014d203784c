//! The per-source penalty: a failed login is answered only after a delay that doubles with each
//! recent failure from the same source and decays while the source stays quiet, as Dovecot and
//! OpenSSH slow a guessing source down instead of locking the account it guesses at.
//!
//! One table serves every listener of the process, so a source cannot escape its penalty by
//! moving from SMTP to POP3 or HTTPS; with a [`Tally`] the table is that of every instance, so
//! it cannot escape it by reconnecting through the load balancer to another kxd either. The
//! delay is waited after the password check, never while holding one of the password pool's
//! workers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::tally::{FailureRecord, Tally, unix_ms};

/// Sources remembered at most; beyond, sources already known are still counted, and one not
/// known gets the longest delay, so memory stays bounded and an attacker with many addresses
/// gains nothing by filling the table.
const MAX_SOURCES: usize = 10_000;

/// How failed logins from one source are slowed down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PenaltyConfig {
    /// The delay of a first failure; each further recent one doubles it. Zero: no penalty.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// One failure is forgotten per this much time without a failure from the source; zero
    /// forgets at once.
    pub decay: Duration,
}

/// The penalty table, shared by every listener of the process.
pub struct LoginPenalty {
    config: PenaltyConfig,
    /// Where failures are counted first; the process's own table is the fallback.
    tally: Option<Tally>,
    sources: Mutex<HashMap<Source, Record>>,
}

/// Who is penalised: an IPv4 address, or an IPv6 /64 (the least a host is usually given, so a
/// host cannot step aside to a neighbouring address).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Source {
    V4(u32),
    V6(u64),
}

impl From<IpAddr> for Source {
    fn from(ip: IpAddr) -> Source {
        match ip {
            IpAddr::V4(v4) => Source::V4(v4.into()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Source::V4(v4.into()),
                None => Source::V6((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

impl std::fmt::Display for Source {
    /// The source as the shared tally names it: `192.0.2.1`, `2001:db8::/64`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Source::V4(v4) => std::net::Ipv4Addr::from(v4).fmt(f),
            Source::V6(prefix) => {
                write!(
                    f,
                    "{}/64",
                    std::net::Ipv6Addr::from(u128::from(prefix) << 64)
                )
            }
        }
    }
}

struct Record {
    failures: u32,
    updated: Instant,
}

impl Record {
    /// The failures still remembered at `now`.
    fn remembered(&self, now: Instant, decay: Duration) -> u32 {
        remembered(self.failures, now.duration_since(self.updated), decay)
    }
}

/// Which of `failures` are still remembered after `quiet` without a failure.
fn remembered(failures: u32, quiet: Duration, decay: Duration) -> u32 {
    if decay.is_zero() {
        return 0;
    }
    let forgotten = quiet.as_nanos() / decay.as_nanos();
    failures.saturating_sub(u32::try_from(forgotten).unwrap_or(u32::MAX))
}

impl LoginPenalty {
    /// An empty table of this process.
    pub fn new(config: PenaltyConfig) -> LoginPenalty {
        LoginPenalty {
            config,
            tally: None,
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// A table every instance counting in `tally` shares.
    pub fn shared(config: PenaltyConfig, tally: Tally) -> LoginPenalty {
        LoginPenalty {
            tally: Some(tally),
            ..LoginPenalty::new(config)
        }
    }

    /// Counts a failed login from `source`, then waits its penalty: call it before answering
    /// the failure, after the password check is over.
    pub async fn failed(&self, source: IpAddr) {
        let delay = self.count_failure(source.into()).await;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    /// Counts a failure of `source` now, in the shared tally when there is one and it answers,
    /// else in the process's table; the delay it earns.
    async fn count_failure(&self, source: Source) -> Duration {
        let shared = match &self.tally {
            Some(tally) if !self.config.first.is_zero() => {
                Some(self.count_shared(tally, source, unix_ms()).await)
            }
            _ => None,
        };
        match shared {
            Some(Ok(delay)) => delay,
            Some(Err(error)) => {
                tracing::warn!(error = %error, "login penalty: the shared counts are unreachable, counting in this process");
                self.count(source, Instant::now())
            }
            None => self.count(source, Instant::now()),
        }
    }

    /// Counts a failure of `source` at `now_ms` in the shared tally; the delay it earns.
    async fn count_shared(
        &self,
        tally: &Tally,
        source: Source,
        now_ms: i64,
    ) -> anyhow::Result<Duration> {
        let decay = self.config.decay;
        let decay_ms = i64::try_from(decay.as_millis()).unwrap_or(i64::MAX);
        let count = |old: Option<FailureRecord>| {
            let failures = old
                .map_or(0, |old| {
                    // Another instance's clock may be a little ahead: no time has passed then.
                    let quiet = u64::try_from(now_ms - old.updated_ms).unwrap_or(0);
                    remembered(old.failures, Duration::from_millis(quiet), decay)
                })
                .saturating_add(1);
            FailureRecord {
                failures,
                updated_ms: now_ms,
                forget_ms: now_ms.saturating_add(decay_ms.saturating_mul(i64::from(failures))),
            }
        };
        let record = tally
            .get()
            .count_failure(&source.to_string(), now_ms, &count)
            .await?;
        Ok(self.delay(record.failures))
    }

    /// The delay `failures` recent failures earn.
    fn delay(&self, failures: u32) -> Duration {
        let PenaltyConfig { first, max, .. } = self.config;
        let doublings = failures.saturating_sub(1);
        first
            .checked_mul(1u32.checked_shl(doublings).unwrap_or(u32::MAX))
            .map_or(max, |delay| delay.min(max))
    }

    /// Counts a failure of `source` at `now` in the process's table; the delay it earns.
    fn count(&self, source: Source, now: Instant) -> Duration {
        let PenaltyConfig { first, max, decay } = self.config;
        if first.is_zero() {
            return Duration::ZERO;
        }
        let Ok(mut sources) = self.sources.lock() else {
            // A panic elsewhere poisoned the table; the longest delay is the safe answer.
            return max;
        };
        if sources.len() >= MAX_SOURCES && !sources.contains_key(&source) {
            sources.retain(|_, record| record.remembered(now, decay) > 0);
            if sources.len() >= MAX_SOURCES {
                return max;
            }
        }
        let record = sources.entry(source).or_insert(Record {
            failures: 0,
            updated: now,
        });
        record.failures = record.remembered(now, decay).saturating_add(1);
        record.updated = now;
        let failures = record.failures;
        drop(sources);
        self.delay(failures)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use super::*;

    fn config(first: u64, max: u64, decay: u64) -> PenaltyConfig {
        PenaltyConfig {
            first: Duration::from_secs(first),
            max: Duration::from_secs(max),
            decay: Duration::from_secs(decay),
        }
    }

    fn penalty(first: u64, max: u64, decay: u64) -> LoginPenalty {
        LoginPenalty::new(config(first, max, decay))
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn the_delay_doubles_up_to_the_cap_and_decays_while_quiet() {
        let table = penalty(1, 8, 60);
        let (a, b) = (Source::V4(1), Source::V4(2));
        let start = Instant::now();
        let delays: Vec<u64> = (0..6).map(|_| table.count(a, start).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 8, 8]);
        assert_eq!(table.count(b, start), secs(1), "sources are independent");
        // Six failures, three forgotten after three quiet minutes: the next is the fourth.
        assert_eq!(table.count(a, start + secs(180)), secs(8));
        assert_eq!(table.count(b, start + secs(600)), secs(1), "all forgotten");
    }

    #[test]
    fn no_first_delay_is_no_penalty() {
        assert_eq!(
            penalty(0, 8, 60).count(Source::V4(1), Instant::now()),
            secs(0)
        );
        let forgetful = penalty(1, 8, 0);
        let now = Instant::now();
        assert_eq!(forgetful.count(Source::V4(1), now), secs(1));
        assert_eq!(forgetful.count(Source::V4(1), now), secs(1));
    }

    #[test]
    fn a_full_table_gives_unknown_sources_the_longest_delay() {
        let table = penalty(1, 30, 60);
        let now = Instant::now();
        for n in 0..MAX_SOURCES {
            table.count(Source::V4(n as u32), now);
        }
        assert_eq!(table.count(Source::V4(u32::MAX), now), secs(30));
        assert_eq!(
            table.count(Source::V4(7), now),
            secs(2),
            "known ones still count"
        );
        let later = now + secs(61);
        assert_eq!(table.count(Source::V4(u32::MAX), later), secs(1), "pruned");
    }

    #[tokio::test]
    async fn instances_sharing_a_tally_share_the_penalty() {
        let memory = std::sync::Arc::new(crate::tally::Memory::default());
        let config = config(1, 8, 60);
        let tally = Tally::new(memory.clone());
        let one = LoginPenalty::shared(config, tally.clone());
        let two = LoginPenalty::shared(config, tally.clone());
        let (a, b) = (Source::V4(1), Source::V4(2));
        let t = 1_800_000_000_000;
        let delays = [
            one.count_shared(&tally, a, t).await.unwrap(),
            two.count_shared(&tally, a, t).await.unwrap(),
            one.count_shared(&tally, a, t).await.unwrap(),
            two.count_shared(&tally, b, t).await.unwrap(),
        ];
        assert_eq!(delays, [secs(1), secs(2), secs(4), secs(1)]);
        // Three failures, two forgotten after two quiet minutes: the next is the second.
        let later = t + 120_000;
        assert_eq!(two.count_shared(&tally, a, later).await.unwrap(), secs(2));
        let record = memory.failures("0.0.0.1");
        assert_eq!((record.failures, record.forget_ms), (2, later + 120_000));
        assert_eq!(
            Source::from("2001:db8:0:1::7".parse::<IpAddr>().unwrap()).to_string(),
            "2001:db8:0:1::/64"
        );
    }

    #[tokio::test]
    async fn while_the_tally_is_unreachable_the_process_counts_alone() {
        let memory = std::sync::Arc::new(crate::tally::Memory::default());
        memory
            .unreachable
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let config = config(1, 8, 60);
        let penalty = LoginPenalty::shared(config, Tally::new(memory));
        let a = Source::V4(1);
        let delays = [
            penalty.count_failure(a).await,
            penalty.count_failure(a).await,
            penalty.count_failure(a).await,
        ];
        assert_eq!(delays, [secs(1), secs(2), secs(4)]);
    }

    #[test]
    fn an_ipv6_host_is_its_64() {
        let ip = |text: &str| Source::from(text.parse::<IpAddr>().unwrap());
        assert_eq!(ip("2001:db8::1"), ip("2001:db8::ffff:1"));
        assert_ne!(ip("2001:db8::1"), ip("2001:db8:0:1::1"));
        assert_eq!(
            Source::from(IpAddr::V6(Ipv6Addr::from(0xffff_7f00_0001_u128))),
            ip("127.0.0.1")
        );
    }
}
