//! Counts every instance on one database shares: a source's failed logins for the login
//! penalty, and events per minute for the rate limits. The rules (how failures decay, how a
//! window slides) are the listeners'; the store only keeps the counts, atomically.
//!
//! Neither needs the writer lock: each statement touches rows no other invariant reads, and
//! row locks (PostgreSQL) or the one writer (SQLite) make each update atomic.

use std::collections::BTreeMap;

use crate::db::{Conn, placeholders};
use crate::{Error, Store};

/// Rows per statement: four values each, well inside the parameters both databases allow.
const CHUNK: usize = 250;

/// A source's failed logins, as the login penalty counts them (times in milliseconds since
/// the Unix epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginFailures {
    /// Failures still remembered at `updated_at`.
    pub failures: u32,
    /// When the last one was counted.
    pub updated_at: i64,
    /// From when none is remembered: the row is deleted then.
    pub forget_at: i64,
}

/// Events of one subject (an address, an account) of a rate limit in one minute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinuteCount {
    /// The limited subject, as text.
    pub subject: String,
    /// Minutes since the Unix epoch.
    pub minute: i64,
    /// How many events.
    pub events: u64,
}

impl Store {
    /// Replaces the failure record of `source` by what `count` makes of it (`None`: none, or
    /// one whose `forget_at` has passed by `now`), atomically with respect to every instance;
    /// the new record. Records forgotten by `now` are deleted on the way.
    pub async fn count_login_failure(
        &self,
        source: &str,
        now: i64,
        count: impl FnOnce(Option<LoginFailures>) -> LoginFailures,
    ) -> Result<LoginFailures, Error> {
        let mut tx = self.db.write_rows().await?;
        sqlx::query("DELETE FROM login_failures WHERE forget_at <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // A row to lock first: two instances counting a new source's first failures at once
        // then take turns instead of both inserting.
        sqlx::query(
            "INSERT INTO login_failures (source, failures, updated_at, forget_at) \
             VALUES ($1, 0, 0, 0) ON CONFLICT (source) DO NOTHING",
        )
        .bind(source)
        .execute(&mut *tx)
        .await?;
        let lock = self.db.for_update();
        let (failures, updated_at, forget_at): (i64, i64, i64) = sqlx::query_as(&format!(
            "SELECT failures, updated_at, forget_at FROM login_failures WHERE source = $1{lock}"
        ))
        .bind(source)
        .fetch_one(&mut *tx)
        .await?;
        let old = (failures > 0).then(|| LoginFailures {
            failures: u32::try_from(failures).unwrap_or(u32::MAX),
            updated_at,
            forget_at,
        });
        let new = count(old);
        sqlx::query(
            "UPDATE login_failures SET failures = $2, updated_at = $3, forget_at = $4 \
             WHERE source = $1",
        )
        .bind(source)
        .bind(i64::from(new.failures))
        .bind(new.updated_at)
        .bind(new.forget_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(new)
    }

    /// Adds `events` to the counts of the rate limit `scope`, then reads the counts of every
    /// subject in `minute` and the minute before: at most 20,000 rows, the largest counts
    /// first. Counts of minutes before those are deleted on the way.
    pub async fn add_rate_events(
        &self,
        scope: &str,
        events: &[MinuteCount],
        minute: i64,
    ) -> Result<Vec<MinuteCount>, Error> {
        if events.is_empty() {
            let mut conn = self.db.pool().acquire().await?;
            return read_counts(&mut conn, scope, minute).await;
        }
        // One row per subject and minute: PostgreSQL refuses to update a row twice in one
        // statement.
        let mut merged: BTreeMap<(&str, i64), u64> = BTreeMap::new();
        for e in events {
            *merged.entry((&e.subject, e.minute)).or_default() += e.events;
        }
        let merged: Vec<_> = merged.into_iter().collect();
        let mut tx = self.db.write_rows().await?;
        sqlx::query("DELETE FROM rate_events WHERE minute < $1")
            .bind(minute - 1)
            .execute(&mut *tx)
            .await?;
        for chunk in merged.chunks(CHUNK) {
            let values = (0..chunk.len())
                .map(|i| format!("({})", placeholders(4, 4 * i + 1)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO rate_events (scope, subject, minute, events) VALUES {values} \
                 ON CONFLICT (scope, subject, minute) \
                 DO UPDATE SET events = rate_events.events + excluded.events"
            );
            let mut query = sqlx::query(&sql);
            for ((subject, at), n) in chunk {
                query = query
                    .bind(scope)
                    .bind(*subject)
                    .bind(*at)
                    .bind(crate::db::to_db(*n)?);
            }
            query.execute(&mut *tx).await?;
        }
        let counts = read_counts(&mut tx, scope, minute).await?;
        tx.commit().await?;
        Ok(counts)
    }
}

/// Rows [`Store::add_rate_events`] reads at most: the listeners' limiters remember no more
/// than 10,000 keys, each with two minutes.
const MAX_COUNTS: i64 = 20_000;

/// The counts of `scope` in `minute` and the minute before.
async fn read_counts(conn: &mut Conn, scope: &str, minute: i64) -> Result<Vec<MinuteCount>, Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT subject, minute, events FROM rate_events \
         WHERE scope = $1 AND minute >= $2 AND minute <= $3 ORDER BY events DESC LIMIT $4",
    )
    .bind(scope)
    .bind(minute - 1)
    .bind(minute)
    .bind(MAX_COUNTS)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(subject, minute, events)| {
            Ok(MinuteCount {
                subject,
                minute,
                events: crate::db::from_db(events)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::Store;
    use crate::shared::{LoginFailures, MinuteCount};

    /// Two handles on one store, as two instances have.
    async fn stores() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::testing::config(dir.path());
        let one = Store::open(&config).await.unwrap();
        let two = Store::open(&config).await.unwrap();
        (dir, one, two)
    }

    #[tokio::test]
    async fn failures_are_counted_in_turn_and_forgotten_rows_go() {
        let (_dir, store, other) = stores().await;
        let add = |old: Option<LoginFailures>, at: i64| LoginFailures {
            failures: old.map_or(0, |o| o.failures) + 1,
            updated_at: at,
            forget_at: at + 1000,
        };
        let counts = futures_util::future::join_all((0..8).map(|i| {
            let store = if i % 2 == 0 { &store } else { &other };
            store.count_login_failure("192.0.2.1", 10, move |old| add(old, 10))
        }))
        .await;
        let mut seen: Vec<u32> = counts.into_iter().map(|c| c.unwrap().failures).collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=8).collect::<Vec<_>>(), "no failure lost");
        let other_source = store
            .count_login_failure("2001:db8::/64", 10, |old| {
                assert_eq!(old, None);
                add(old, 10)
            })
            .await
            .unwrap();
        assert_eq!(other_source.failures, 1);
        // Past forget_at: the record is gone, the next failure is a first one.
        let later = other
            .count_login_failure("192.0.2.1", 1010, |old| {
                assert_eq!(old, None, "forgotten");
                add(old, 1010)
            })
            .await
            .unwrap();
        assert_eq!(later.failures, 1);
    }

    #[tokio::test]
    async fn rate_events_add_up_across_handles_and_old_minutes_go() {
        let (_dir, store, other) = stores().await;
        let event = |subject: &str, minute, events| MinuteCount {
            subject: subject.to_owned(),
            minute,
            events,
        };
        store
            .add_rate_events(
                "smtp",
                &[event("a", 99, 2), event("a", 100, 1), event("a", 100, 1)],
                100,
            )
            .await
            .unwrap();
        other
            .add_rate_events("messages", &[event("a", 100, 7)], 100)
            .await
            .unwrap();
        let mut read = other
            .add_rate_events("smtp", &[event("b", 100, 3)], 100)
            .await
            .unwrap();
        read.sort_by(|x, y| (&x.subject, x.minute).cmp(&(&y.subject, y.minute)));
        assert_eq!(
            read,
            [event("a", 99, 2), event("a", 100, 2), event("b", 100, 3)],
            "scopes are apart"
        );
        // Two minutes on, minute 99 is no longer kept.
        let read = store
            .add_rate_events("smtp", &[event("c", 101, 1)], 101)
            .await
            .unwrap();
        assert_eq!(read.len(), 3, "{read:?}");
        // Read alone, without events to add.
        let read = other.add_rate_events("smtp", &[], 102).await.unwrap();
        assert_eq!(read, [event("c", 101, 1)], "{read:?}");
    }
}
