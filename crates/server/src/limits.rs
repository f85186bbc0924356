//! Rate limits: on guessing (failed sign-ins per user name, failed enrollment codes
//! per client address) and on sync requests per device ([`SyncRate`]).
//!
//! Guessing: After [`MAX_FAILURES`] failures within [`WINDOW`] the key is
//! refused (429, with `Retry-After`) until the window that began with its first
//! failure ends; a success clears it. In memory, per server process: a restart forgets
//! (an attacker gains one window), which is the usual trade for no shared state.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed within a window.
pub const MAX_FAILURES: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Keys kept at most (oldest windows dropped first past this), so that a flood of
/// distinct names cannot grow memory without bound.
const MAX_KEYS: usize = 100_000;

/// Failure counts by key (`user:<name>`, `enroll:<address>`).
#[derive(Debug, Default)]
pub struct Attempts {
    by_key: Mutex<HashMap<String, (u32, Instant)>>,
}

impl Attempts {
    /// `Err(seconds to wait)` when `key` has failed too often lately.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        let now = Instant::now();
        let map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some((count, since)) if *count >= MAX_FAILURES && now - *since < WINDOW => {
                Err((WINDOW - (now - *since)).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Count a failure of `key`.
    pub fn fail(&self, key: &str) {
        let now = Instant::now();
        let mut map = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, (_, since)| now - *since < WINDOW);
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
        let entry = map.entry(key.to_string()).or_insert((0, now));
        if now - entry.1 >= WINDOW {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// Forget `key`'s failures (it succeeded).
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
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl SyncRate {
    /// Take one request from `device`'s bucket; `false` when it is empty.
    pub fn take(&self, device: &str) -> bool {
        let now = Instant::now();
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            // Full buckets are the same as none.
            map.retain(|_, (tokens, at)| {
                *tokens + (now - *at).as_secs_f64() * SYNC_PER_SECOND < SYNC_BURST
            });
        }
        let (tokens, at) = map.entry(device.to_string()).or_insert((SYNC_BURST, now));
        *tokens = (*tokens + (now - *at).as_secs_f64() * SYNC_PER_SECOND).min(SYNC_BURST);
        *at = now;
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
        let granted = (0..(SYNC_BURST as usize + 50))
            .filter(|_| rate.take("phone"))
            .count();
        // The burst, plus what refilled while the loop ran (microseconds).
        assert!(
            granted >= SYNC_BURST as usize && granted < SYNC_BURST as usize + 5,
            "{granted}"
        );
        assert!(rate.take("other phone"), "buckets are per device");
        std::thread::sleep(Duration::from_millis(50));
        assert!(rate.take("phone"), "refilled");
    }

    #[test]
    fn ten_failures_lock_a_key_and_a_success_clears_it() {
        let a = Attempts::default();
        for _ in 0..MAX_FAILURES {
            assert_eq!(a.check("user:ana"), Ok(()));
            a.fail("user:ana");
        }
        let wait = a.check("user:ana").unwrap_err();
        assert!(wait > 800 && wait <= 900, "{wait}");
        assert_eq!(a.check("user:bo"), Ok(()), "other keys are not affected");
        a.succeed("user:ana");
        assert_eq!(a.check("user:ana"), Ok(()));
        assert_eq!(user_key(" Ana "), "user:ana");
    }
}
