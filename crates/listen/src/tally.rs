//! Where the login penalty and the rate limits are counted when several kxd serve one
//! installation: a [`SharedTally`] every instance reads and writes alike (kxd's store, in its
//! database), so that a source cannot multiply its allowance by the number of instances a
//! load balancer spreads it over.
//!
//! This crate knows no storage: it says what it needs counted, the store does the counting.
//! Without a tally ([`RateLimiter::new`](crate::RateLimiter::new),
//! [`LoginPenalty::new`](crate::LoginPenalty::new)) the counts live in the process.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::future::BoxFuture;

/// A source's failed logins as the shared tally keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureRecord {
    /// Failures still remembered at `updated_ms`.
    pub failures: u32,
    /// When the last one was counted (milliseconds since the Unix epoch).
    pub updated_ms: i64,
    /// From when none is remembered any longer, so the tally may forget the record.
    pub forget_ms: i64,
}

/// Events to add to a rate limit's shared counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateEvents {
    /// The limited key (an address, an account), as text.
    pub key: String,
    /// The minute they happened in (minutes since the Unix epoch).
    pub minute: i64,
    /// How many.
    pub events: u32,
}

/// A key's shared counts, as every instance has added them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateCount {
    /// The key, as text.
    pub key: String,
    /// Events in the minute asked about.
    pub this_minute: u32,
    /// Events in the minute before it.
    pub last_minute: u32,
}

/// The counts several instances share.
pub trait SharedTally: Send + Sync + 'static {
    /// Replaces `source`'s failure record by what `count` makes of it (`None`: no record, or
    /// one forgotten by `now_ms`), atomically with respect to every other instance; the new
    /// record.
    fn count_failure<'a>(
        &'a self,
        source: &'a str,
        now_ms: i64,
        count: &'a (dyn Fn(Option<FailureRecord>) -> FailureRecord + Sync),
    ) -> BoxFuture<'a, anyhow::Result<FailureRecord>>;

    /// Adds `events` to the counts of the limit `scope`, then reads the counts of every key
    /// with events in `minute` or the minute before (or a bounded share of them). Counts of
    /// older minutes may be forgotten.
    fn add_events<'a>(
        &'a self,
        scope: &'a str,
        events: &'a [RateEvents],
        minute: i64,
    ) -> BoxFuture<'a, anyhow::Result<Vec<RateCount>>>;
}

/// A handle on the shared tally, cloned into every limit that counts in it.
#[derive(Clone)]
pub struct Tally(Arc<dyn SharedTally>);

impl Tally {
    /// Counts in `tally`.
    pub fn new(tally: impl SharedTally) -> Tally {
        Tally(Arc::new(tally))
    }

    pub(crate) fn get(&self) -> &dyn SharedTally {
        &*self.0
    }
}

impl fmt::Debug for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tally")
    }
}

/// Milliseconds since the Unix epoch: the clock shared counts are kept in, as every instance
/// has one like it.
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A shared tally in memory, standing for the store several instances share in this crate's
/// tests.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct Memory {
    failures: std::sync::Mutex<std::collections::HashMap<String, FailureRecord>>,
    events: std::sync::Mutex<std::collections::HashMap<(String, i64), u32>>,
    /// Answers every call with an error, as a database that cannot be reached.
    pub(crate) unreachable: std::sync::atomic::AtomicBool,
}

#[cfg(test)]
impl Memory {
    /// The record of `source`.
    pub(crate) fn failures(&self, source: &str) -> FailureRecord {
        self.failures.lock().unwrap()[source]
    }

    /// The events of `key` in `minute`.
    pub(crate) fn events(&self, key: &str, minute: i64) -> u32 {
        self.events.lock().unwrap()[&(key.to_owned(), minute)]
    }
}

#[cfg(test)]
impl SharedTally for Arc<Memory> {
    fn count_failure<'a>(
        &'a self,
        source: &'a str,
        now_ms: i64,
        count: &'a (dyn Fn(Option<FailureRecord>) -> FailureRecord + Sync),
    ) -> BoxFuture<'a, anyhow::Result<FailureRecord>> {
        if self.unreachable.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async { Err(anyhow::anyhow!("unreachable")) });
        }
        let mut failures = self.failures.lock().unwrap();
        let old = failures.get(source).filter(|r| r.forget_ms > now_ms);
        let record = count(old.copied());
        failures.insert(source.to_owned(), record);
        Box::pin(async move { Ok(record) })
    }

    fn add_events<'a>(
        &'a self,
        _: &'a str,
        events: &'a [RateEvents],
        minute: i64,
    ) -> BoxFuture<'a, anyhow::Result<Vec<RateCount>>> {
        if self.unreachable.load(std::sync::atomic::Ordering::SeqCst) {
            return Box::pin(async { Err(anyhow::anyhow!("unreachable")) });
        }
        let mut counts = self.events.lock().unwrap();
        for e in events {
            *counts.entry((e.key.clone(), e.minute)).or_default() += e.events;
        }
        let mut read: std::collections::BTreeMap<&str, RateCount> = Default::default();
        for ((key, at), n) in counts.iter() {
            let count = read.entry(key).or_insert_with(|| RateCount {
                key: key.clone(),
                this_minute: 0,
                last_minute: 0,
            });
            if *at == minute {
                count.this_minute = *n;
            } else if *at == minute - 1 {
                count.last_minute = *n;
            }
        }
        let read = read.into_values().collect();
        Box::pin(async move { Ok(read) })
    }
}
