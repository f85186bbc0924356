//! [`PasswordPool`]: password hashing with bounded concurrency and memory.
//!
//! One argon2 check takes about 19 MiB and tens of milliseconds of a core. Run on
//! the blocking pool without a bound, 300 concurrent sign-ins (unknown names cost
//! the same as known ones, by design) held 300 checks' memory at once and starved
//! everyone else's requests. Here at most a few checks (one per core, at most 4) run at
//! once, a bounded number wait their turn, and anything beyond that is answered 503
//! `busy` at once (with `Retry-After`), as is a wait that lasts too long.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::ApiError;

/// Checks that may wait for a turn before new ones are refused.
pub const DEFAULT_WAITING: usize = 64;
/// The longest a check waits for its turn.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

/// The gate every password hash and check passes through.
#[derive(Debug)]
pub struct PasswordPool {
    turns: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Default for PasswordPool {
    /// As many checks at once as the machine has cores (at most 4), 64 waiting.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordPool::new(cores.clamp(1, 4), DEFAULT_WAITING)
    }
}

impl PasswordPool {
    /// A pool running `running` checks at once, with `max_waiting` more waiting.
    pub fn new(running: usize, max_waiting: usize) -> Self {
        PasswordPool {
            turns: Arc::new(Semaphore::new(running.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
        }
    }

    /// Run `work` (which hashes or checks a password) on a blocking thread when a
    /// turn is free. `Err(busy)` when too many wait already or the turn does not
    /// come within [`MAX_WAIT`]: nothing of `work` ran.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let busy = || {
            ApiError::busy(
                "the server is checking many passwords just now; try again in a moment",
                2,
            )
        };
        let permit = match self.turns.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let queued = self.waiting.fetch_add(1, Ordering::AcqRel);
                let _leave = Leave(&self.waiting);
                if queued >= self.max_waiting {
                    return Err(busy());
                }
                match tokio::time::timeout(MAX_WAIT, self.turns.clone().acquire_owned()).await {
                    Ok(Ok(permit)) => permit,
                    _ => return Err(busy()),
                }
            }
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "a password check failed");
            ApiError::internal()
        })
    }
}

/// Takes a waiter off the count however its wait ends.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_run_a_few_at_once_and_the_overflow_is_refused_at_once() {
        let pool = Arc::new(PasswordPool::new(2, 3));
        let now_running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (pool, now_running, most) = (pool.clone(), now_running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                pool.run(move || {
                    let n = now_running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    now_running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            }));
        }
        let mut done = 0;
        let mut busy = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => done += 1,
                Err(e) => {
                    assert_eq!(e.code, "busy");
                    assert_eq!(e.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
                    busy += 1;
                }
            }
        }
        assert!(
            most.load(Ordering::SeqCst) <= 2,
            "never more than two at once"
        );
        assert!(
            (2..=5).contains(&done),
            "two running and three waiting: {done}"
        );
        assert_eq!(done + busy, 20);
        // Once the flood has passed, checks run again.
        assert!(pool.run(|| ()).await.is_ok());
    }
}
