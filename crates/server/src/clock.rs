//! [`Clock`]: the time every time-based rule reads (rate limits, lockouts, session
//! age, enrollment-code expiry), so that a test can freeze it or move it on instead
//! of depending on how fast the machine runs.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Marks a clock that follows the system's.
const RUNNING: i64 = i64::MIN;

/// The server's clock: the system's, optionally shifted or frozen by a test. Cloning
/// shares it.
#[derive(Debug, Clone)]
pub struct Clock(Arc<State>);

#[derive(Debug)]
struct State {
    /// Milliseconds since the epoch while frozen, else [`RUNNING`].
    frozen_ms: AtomicI64,
    /// Added to the system's time while running.
    offset_ms: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock(Arc::new(State {
            frozen_ms: AtomicI64::new(RUNNING),
            offset_ms: AtomicI64::new(0),
        }))
    }
}

impl Clock {
    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match self.0.frozen_ms.load(Ordering::Acquire) {
            RUNNING => {
                chrono::Utc::now().timestamp_millis() + self.0.offset_ms.load(Ordering::Acquire)
            }
            frozen => frozen,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Stop the clock at the current time (for tests): it moves only by
    /// [`Clock::advance`] from now on.
    pub fn freeze(&self) {
        let now = self.now_ms();
        self.0.frozen_ms.store(now, Ordering::Release);
    }

    /// Stop the clock at `unix_seconds` (for tests whose dates must not depend on the
    /// day they run).
    pub fn freeze_at(&self, unix_seconds: i64) {
        let ms = unix_seconds.saturating_mul(1000);
        self.0.frozen_ms.store(ms, Ordering::Release);
    }

    /// Move the clock on by `by` (frozen or not).
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2);
        let frozen = &self.0.frozen_ms;
        let moved = frozen.fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
            (f != RUNNING).then_some(f.saturating_add(ms))
        });
        if moved.is_err() {
            self.0.offset_ms.fetch_add(ms, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_told() {
        let clock = Clock::default();
        let before = clock.now_ms();
        assert!((before - chrono::Utc::now().timestamp_millis()).abs() < 1000);
        clock.freeze();
        let frozen = clock.now_ms();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(clock.now_ms(), frozen);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now_ms(), frozen + 90_000);
        assert_eq!(
            clock.clone().now(),
            (frozen + 90_000) / 1000,
            "clones share it"
        );
    }

    #[test]
    fn a_running_clock_can_be_moved_on() {
        let clock = Clock::default();
        clock.advance(Duration::from_secs(13 * 3600));
        let ahead = clock.now_ms() - chrono::Utc::now().timestamp_millis();
        assert!((ahead - 13 * 3600 * 1000).abs() < 1000, "{ahead}");
    }
}
