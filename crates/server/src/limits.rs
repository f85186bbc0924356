//! Rate limits: on guessing (sign-ins per user name, enrollment codes per client
//! address) and on sync requests per device ([`SyncRate`]).
//!
//! Guessing: every attempt is counted *before* its password or code is checked, in
//! one step under a lock ([`Attempts::begin`]), so that concurrent guesses cannot
//! slip past the count: of 60 guesses sent at once, [`MAX_FAILURES`] are checked and
//! the rest refused (429, with `Retry-After`) until the window that began with the
//! first attempt ends. A success clears the key. In memory, per server process: a
//! restart forgets (an attacker gains one window), which is the usual trade for no
//! shared state.
//!
//! Time comes from the caller (milliseconds, from [`crate::clock::Clock`]), so tests
//! decide how it passes.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Attempts allowed within a window (a success clears them).
pub const MAX_FAILURES: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most (oldest windows dropped first past this), so that a flood of
/// distinct names cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

fn window_ms() -> i64 {
    WINDOW.as_millis() as i64
}

/// Attempt counts by key (`user:<name>`, `enroll:<address>`): (count, window start ms).
#[derive(Debug, Default)]
pub struct Attempts {
    by_key: Mutex<HashMap<String, (u32, i64)>>,
}

impl Attempts {
    /// Count an attempt of `key` at `now_ms`, before checking it. `Err(seconds to
    /// wait)` when `key` has used up its attempts in the current window: then the
    /// attempt must not be checked at all.
    pub fn begin(&self, key: &str, now_ms: i64) -> Result<(), u64> {
        let mut map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            map.retain(|_, (_, since)| now_ms - *since < window_ms());
            if map.len() >= MAX_KEYS {
                if let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, (_, s))| *s)
                    .map(|(k, _)| k.clone())
                {
                    map.remove(&oldest);
                }
            }
        }
        let entry = map.entry(key.to_string()).or_insert((0, now_ms));
        if now_ms - entry.1 >= window_ms() {
            *entry = (0, now_ms);
        }
        if entry.0 >= MAX_FAILURES {
            let left_ms = window_ms() - (now_ms - entry.1);
            return Err((left_ms.max(0) as u64).div_ceil(1000).max(1));
        }
        entry.0 += 1;
        Ok(())
    }

    /// Take back one counted attempt of `key` (it succeeded, and the key is shared by
    /// many honest users, as an address is: twelve phones enrolled behind one router
    /// must not lock it).
    pub fn refund(&self, key: &str) {
        let mut map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((count, _)) = map.get_mut(key) {
            *count = count.saturating_sub(1);
        }
    }

    /// Forget `key`'s attempts (one succeeded).
    pub fn succeed(&self, key: &str) {
        self.by_key
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}

/// Sync requests a device may make at once (a full pull of 100,000 records is 100).
pub const SYNC_BURST: f64 = 600.0;
/// Sync requests a device may make per second, sustained.
pub const SYNC_PER_SECOND: f64 = 100.0;

/// A token bucket per device for `/v1/sync/*`: a phone stuck in a loop, or a stolen
/// token used to scrape, is slowed to [`SYNC_PER_SECOND`] without touching anyone
/// else. Devices answer 429 by backing off, as for any busy server.
#[derive(Debug, Default)]
pub struct SyncRate {
    /// (tokens, last refill ms) by device.
    buckets: Mutex<HashMap<String, (f64, i64)>>,
}

impl SyncRate {
    /// Take one request from `device`'s bucket at `now_ms`; `false` when it is empty.
    pub fn take(&self, device: &str, now_ms: i64) -> bool {
        let refill = |tokens: f64, at: i64| {
            (tokens + (now_ms - at).max(0) as f64 / 1000.0 * SYNC_PER_SECOND).min(SYNC_BURST)
        };
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            // Full buckets are the same as none.
            map.retain(|_, (tokens, at)| refill(*tokens, *at) < SYNC_BURST);
        }
        let (tokens, at) = map
            .entry(device.to_string())
            .or_insert((SYNC_BURST, now_ms));
        *tokens = refill(*tokens, *at);
        *at = now_ms;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The key of a user name's sign-ins (case does not make a new key).
pub fn user_key(username: &str) -> String {
    format!("user:{}", username.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_gets_its_burst_then_the_sustained_rate() {
        let rate = SyncRate::default();
        let t = 1_000_000;
        let granted = (0..(SYNC_BURST as usize + 50))
            .filter(|_| rate.take("phone", t))
            .count();
        assert_eq!(granted, SYNC_BURST as usize, "the burst, no more");
        assert!(rate.take("other phone", t), "buckets are per device");
        assert!(!rate.take("phone", t + 5), "half a request refilled");
        assert!(rate.take("phone", t + 20), "two refilled after 20 ms");
        assert!(rate.take("phone", t + 20));
        assert!(!rate.take("phone", t + 20));
    }

    #[test]
    fn attempts_are_counted_before_they_are_checked() {
        let a = Attempts::default();
        let t = 5_000_000;
        for _ in 0..MAX_FAILURES {
            assert_eq!(a.begin("user:ana", t), Ok(()));
        }
        // The eleventh, even with the right password, is never checked.
        let wait = a.begin("user:ana", t + 1000).unwrap_err();
        assert_eq!(wait, WINDOW.as_secs() - 1);
        assert_eq!(a.begin("user:bo", t), Ok(()), "other keys are not affected");
        // The window ends...
        assert_eq!(a.begin("user:ana", t + window_ms()), Ok(()));
        // ...and a success clears the count.
        a.succeed("user:ana");
        for _ in 0..MAX_FAILURES {
            assert_eq!(a.begin("user:ana", t + window_ms()), Ok(()));
        }
        assert!(a.begin("user:ana", t + window_ms()).is_err());
        assert_eq!(user_key(" Ana "), "user:ana");
    }

    #[test]
    fn concurrent_guesses_cannot_pass_the_count() {
        let a = std::sync::Arc::new(Attempts::default());
        let passed = std::sync::atomic::AtomicU32::new(0);
        std::thread::scope(|s| {
            for _ in 0..60 {
                s.spawn(|| {
                    if a.begin("enroll:10.0.0.1", 0).is_ok() {
                        passed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(passed.into_inner(), MAX_FAILURES);
    }
}
