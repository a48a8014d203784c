//! Rate limits per key (a source address, an account): at most so many events a minute,
//! counted in a sliding window (this minute's events plus the part of last minute's that the
//! window still covers).
//!
//! With a [`Tally`], the count is that of every instance: once a second each adds its events to
//! the shared tally in one batch and reads back the counts of every key any instance counted in
//! the last two minutes, so the limit costs no round trip to the database per event. In
//! between, an instance decides on the counts it last read plus its own events since. What all
//! instances together let through beyond the limit is therefore bounded by what the others
//! admit in one such second. Without a tally the count is the process's own.

use std::collections::HashMap;
use std::fmt::Display;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use crate::tally::{RateEvents, Tally, unix_ms};

/// Keys remembered at most: beyond, those of past minutes are forgotten, and the shared
/// counts of keys not seen here are not taken in.
const MAX_KEYS: usize = 10_000;

/// How often an instance exchanges its counts with the shared tally.
const EXCHANGE_EVERY: Duration = Duration::from_secs(1);

const MINUTE_MS: i64 = 60_000;

/// The counts per key, by the key's text (what the shared tally knows it by).
type Keys = Mutex<HashMap<String, Window>>;

/// At most `per_minute` events per key and minute.
pub struct RateLimiter<K> {
    per_minute: u32,
    keys: Arc<Keys>,
    key: PhantomData<fn(&K)>,
}

/// One key's counts in the minute `minute` and the one before (`[last, this]`).
#[derive(Clone, Copy, Debug, Default)]
struct Window {
    minute: i64,
    /// The shared counts as last read (zero without a tally).
    read: [u32; 2],
    /// This process's events not yet in the shared tally (without one: all of them).
    own: [u32; 2],
}

impl Window {
    fn at(minute: i64) -> Window {
        Window {
            minute,
            ..Window::default()
        }
    }

    /// Moves the window on to `minute`: what is older than the minute before is dropped.
    fn roll(&mut self, minute: i64) {
        match minute - self.minute {
            ..=0 => return,
            1 => {
                self.read = [self.read[1], 0];
                self.own = [self.own[1], 0];
            }
            _ => {
                self.read = [0, 0];
                self.own = [0, 0];
            }
        }
        self.minute = minute;
    }

    /// The events the window covers at `now_ms`.
    fn count(&self, now_ms: i64) -> f64 {
        let covered = 1.0 - (now_ms.rem_euclid(MINUTE_MS) as f64 / MINUTE_MS as f64);
        let last = f64::from(self.read[0].saturating_add(self.own[0]));
        let this = f64::from(self.read[1].saturating_add(self.own[1]));
        last * covered + this
    }

    /// Takes the shared counts read for `minute` (`[last, this]`), in which this window's
    /// events sent before are included.
    fn learn(&mut self, minute: i64, read: [u32; 2]) {
        self.roll(minute);
        match self.minute - minute {
            0 => self.read = read,
            1 => self.read[0] = read[1],
            _ => {}
        }
    }

    /// Gives back events taken for the tally at `minute` that did not reach it.
    fn restore(&mut self, minute: i64, own: [u32; 2]) {
        let mut taken = Window {
            own,
            ..Window::at(minute)
        };
        taken.roll(self.minute);
        self.roll(minute);
        self.own[0] = self.own[0].saturating_add(taken.own[0]);
        self.own[1] = self.own[1].saturating_add(taken.own[1]);
    }
}

impl<K: Display> RateLimiter<K> {
    /// A limiter allowing `per_minute` events per key in this process; 0 allows none.
    pub fn new(per_minute: u32) -> RateLimiter<K> {
        RateLimiter {
            per_minute,
            keys: Arc::new(Mutex::new(HashMap::new())),
            key: PhantomData,
        }
    }

    /// A limiter allowing `per_minute` events per key across every instance counting in
    /// `tally` under `scope` (a name of the limit). Starts the task that exchanges the counts,
    /// so call it within the Tokio runtime; the task ends with the limiter.
    pub fn shared(per_minute: u32, scope: &'static str, tally: Tally) -> RateLimiter<K> {
        let limiter = RateLimiter::new(per_minute);
        let keys = Arc::downgrade(&limiter.keys);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EXCHANGE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if !exchange(&keys, scope, &tally, unix_ms()).await {
                    break;
                }
            }
        });
        limiter
    }

    /// Takes one event for `key` now; false when the key is over its limit.
    pub fn allow(&self, key: &K) -> bool {
        self.allow_at(key, unix_ms())
    }

    fn allow_at(&self, key: &K, now_ms: i64) -> bool {
        let minute = now_ms.div_euclid(MINUTE_MS);
        let key = key.to_string();
        let Ok(mut keys) = self.keys.lock() else {
            // A panic elsewhere poisoned the table; refusing is the safe answer.
            return false;
        };
        if keys.len() >= MAX_KEYS && !keys.contains_key(&key) {
            keys.retain(|_, w| w.minute >= minute - 1);
        }
        let window = keys.entry(key).or_insert(Window::at(minute));
        window.roll(minute);
        if window.count(now_ms) + 1.0 > f64::from(self.per_minute) {
            return false;
        }
        window.own[1] = window.own[1].saturating_add(1);
        true
    }
}

/// Sends this process's events to the tally and takes in everyone's counts; false once the
/// limiter is gone.
async fn exchange(keys: &Weak<Keys>, scope: &'static str, tally: &Tally, now_ms: i64) -> bool {
    let minute = now_ms.div_euclid(MINUTE_MS);
    let Some(table) = keys.upgrade() else {
        return false;
    };
    // The events taken from each key, `[last, this]`.
    let taken: Vec<(String, [u32; 2])> = {
        let Ok(mut table) = table.lock() else {
            return false;
        };
        table.retain(|_, window| {
            window.roll(minute);
            window.read != [0, 0] || window.own != [0, 0]
        });
        table
            .iter_mut()
            .filter(|(_, window)| window.own != [0, 0])
            .map(|(key, window)| (key.clone(), std::mem::take(&mut window.own)))
            .collect()
    };
    let events: Vec<RateEvents> = taken
        .iter()
        .flat_map(|(key, own)| {
            [(minute - 1, own[0]), (minute, own[1])]
                .into_iter()
                .filter(|&(_, n)| n > 0)
                .map(|(at, n)| RateEvents {
                    key: key.clone(),
                    minute: at,
                    events: n,
                })
        })
        .collect();
    let counts = tally.get().add_events(scope, &events, minute).await;
    let Ok(mut table) = table.lock() else {
        return false;
    };
    match counts {
        Ok(counts) => {
            let mut read: HashMap<String, [u32; 2]> = counts
                .into_iter()
                .map(|c| (c.key, [c.last_minute, c.this_minute]))
                .collect();
            // A key the tally no longer counts has no events left in the window.
            for (key, window) in table.iter_mut() {
                window.learn(minute, read.remove(key).unwrap_or_default());
            }
            for (key, counts) in read {
                if table.len() >= MAX_KEYS {
                    break;
                }
                table
                    .entry(key)
                    .or_insert(Window::at(minute))
                    .learn(minute, counts);
            }
        }
        Err(error) => {
            // Not counted in the tally: the events stay this process's own until the next
            // exchange, so they still count here meanwhile.
            tracing::warn!(scope, error = %error, "rate limit: the shared counts are unreachable");
            for (key, own) in taken {
                table
                    .entry(key)
                    .or_insert(Window::at(minute))
                    .restore(minute, own);
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tally::Memory;

    /// The start of some minute.
    const T: i64 = 29_000_000 * MINUTE_MS;

    #[test]
    fn up_to_the_limit_a_minute_then_as_the_window_slides() {
        let limiter = RateLimiter::new(3);
        assert!((0..3).all(|_| limiter.allow_at(&"a", T)));
        assert!(!limiter.allow_at(&"a", T + 20_000));
        assert!(limiter.allow_at(&"b", T), "keys are independent");
        // A third into the next minute, two thirds of the last minute's three still count.
        assert!(!limiter.allow_at(&"a", T + MINUTE_MS + 10_000));
        assert!(limiter.allow_at(&"a", T + MINUTE_MS + 21_000));
        assert!(!limiter.allow_at(&"a", T + MINUTE_MS + 22_000));
        assert!(limiter.allow_at(&"a", T + 3 * MINUTE_MS), "all forgotten");
        assert!(!RateLimiter::new(0).allow_at(&"x", T));
    }

    #[tokio::test]
    async fn instances_sharing_a_tally_share_the_limit() {
        let memory = Arc::new(Memory::default());
        let tally = Tally::new(Arc::clone(&memory));
        let (one, two) = (RateLimiter::new(4), RateLimiter::new(4));
        let exchange = |limiter: &RateLimiter<&str>, at| {
            let keys = Arc::downgrade(&limiter.keys);
            let tally = tally.clone();
            async move { assert!(exchange(&keys, "test", &tally, at).await) }
        };
        assert!(one.allow_at(&"a", T) && one.allow_at(&"a", T));
        exchange(&one, T).await;
        // `two` learns of them without having seen the key.
        exchange(&two, T).await;
        assert!(two.allow_at(&"a", T + 1), "the third");
        assert!(two.allow_at(&"a", T + 2), "the fourth");
        assert!(!two.allow_at(&"a", T + 3));
        exchange(&two, T + 5).await;
        exchange(&one, T + 5).await;
        assert!(!one.allow_at(&"a", T + 6), "one has learnt of two's events");
        assert_eq!(memory.events("a", T / MINUTE_MS), 4);
        // Half into the next minute, half of the last minute's four still count.
        exchange(&one, T + MINUTE_MS + 30_000).await;
        assert!(one.allow_at(&"a", T + MINUTE_MS + 30_001));
        assert!(one.allow_at(&"a", T + MINUTE_MS + 30_002));
        assert!(!one.allow_at(&"a", T + MINUTE_MS + 30_003));
        let gone = Arc::downgrade(&RateLimiter::<&str>::new(1).keys);
        assert!(
            !super::exchange(&gone, "test", &tally, T).await,
            "the task ends"
        );
    }

    #[tokio::test]
    async fn events_the_tally_could_not_take_still_count_and_reach_it_later() {
        let memory = Arc::new(Memory::default());
        let tally = Tally::new(Arc::clone(&memory));
        let limiter = RateLimiter::new(4);
        let keys = Arc::downgrade(&limiter.keys);
        assert!(limiter.allow_at(&"a", T) && limiter.allow_at(&"a", T));
        memory
            .unreachable
            .store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(exchange(&keys, "test", &tally, T + 1).await);
        assert!(limiter.allow_at(&"a", T + 2) && limiter.allow_at(&"a", T + 3));
        assert!(!limiter.allow_at(&"a", T + 4), "the first two still count");
        memory
            .unreachable
            .store(false, std::sync::atomic::Ordering::SeqCst);
        assert!(exchange(&keys, "test", &tally, T + 5).await);
        assert_eq!(memory.events("a", T / MINUTE_MS), 4, "all four reached it");
        assert!(!limiter.allow_at(&"a", T + 6));
    }
}
