//! The store as the listeners' shared tally: the login penalty and the rate limits of every
//! kxd on one database count in it alike.

use std::collections::BTreeMap;

use futures_util::FutureExt as _;
use futures_util::future::BoxFuture;
use kx_listen::{FailureRecord, RateCount, RateEvents, SharedTally};
use kx_store::{LoginFailures, MinuteCount, Store};

/// Counts in a store's database.
pub(crate) struct StoreTally(pub(crate) Store);

impl SharedTally for StoreTally {
    fn count_failure<'a>(
        &'a self,
        source: &'a str,
        now_ms: i64,
        count: &'a (dyn Fn(Option<FailureRecord>) -> FailureRecord + Sync),
    ) -> BoxFuture<'a, anyhow::Result<FailureRecord>> {
        async move {
            let stored = self
                .0
                .count_login_failure(source, now_ms, |old| {
                    let new = count(old.map(|old| FailureRecord {
                        failures: old.failures,
                        updated_ms: old.updated_at,
                        forget_ms: old.forget_at,
                    }));
                    LoginFailures {
                        failures: new.failures,
                        updated_at: new.updated_ms,
                        forget_at: new.forget_ms,
                    }
                })
                .await?;
            Ok(FailureRecord {
                failures: stored.failures,
                updated_ms: stored.updated_at,
                forget_ms: stored.forget_at,
            })
        }
        .boxed()
    }

    fn add_events<'a>(
        &'a self,
        scope: &'a str,
        events: &'a [RateEvents],
        minute: i64,
    ) -> BoxFuture<'a, anyhow::Result<Vec<RateCount>>> {
        async move {
            let events: Vec<MinuteCount> = events
                .iter()
                .map(|e| MinuteCount {
                    subject: e.key.clone(),
                    minute: e.minute,
                    events: u64::from(e.events),
                })
                .collect();
            let mut counts: BTreeMap<String, RateCount> = BTreeMap::new();
            for row in self.0.add_rate_events(scope, &events, minute).await? {
                let events = u32::try_from(row.events).unwrap_or(u32::MAX);
                let count = counts
                    .entry(row.subject)
                    .or_insert_with_key(|key| RateCount {
                        key: key.clone(),
                        this_minute: 0,
                        last_minute: 0,
                    });
                if row.minute == minute {
                    count.this_minute = events;
                } else {
                    count.last_minute = events;
                }
            }
            Ok(counts.into_values().collect())
        }
        .boxed()
    }
}
