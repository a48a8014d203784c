//! Rate limits per key (a source address, an account): a token bucket refilled continuously.
//!
//! Limits live in the process: with several `kxd` behind a load balancer each enforces its own
//! share, which bounds abuse without a round trip to the database on every connection.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys not seen for this long are forgotten, so the table cannot grow without bound.
const FORGET_AFTER: Duration = Duration::from_secs(600);

/// At most `per_minute` events per key and minute, with bursts of up to that many.
pub struct RateLimiter<K> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

impl<K: Eq + Hash + Clone> RateLimiter<K> {
    /// A limiter allowing `per_minute` events per key; 0 allows none.
    pub fn new(per_minute: u32) -> RateLimiter<K> {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one event for `key` now; false when the key is over its limit.
    pub fn allow(&self, key: &K) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &K, now: Instant) -> bool {
        let capacity = f64::from(self.per_minute);
        let Ok(mut buckets) = self.buckets.lock() else {
            // A panic elsewhere poisoned the table; refusing is the safe answer.
            return false;
        };
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.duration_since(b.updated) < FORGET_AFTER);
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * capacity / 60.0).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_up_to_the_limit_then_refills() {
        let limiter = RateLimiter::new(3);
        let start = Instant::now();
        assert!((0..3).all(|_| limiter.allow_at(&"a", start)));
        assert!(!limiter.allow_at(&"a", start));
        assert!(limiter.allow_at(&"b", start), "keys are independent");
        assert!(limiter.allow_at(&"a", start + Duration::from_secs(20)));
        assert!(!limiter.allow_at(&"a", start + Duration::from_secs(21)));
        assert!(!RateLimiter::new(0).allow_at(&"x", start));
    }
}
