//! The device sync client: push the outbox, then pull the change feed until caught up.
//!
//! - Push sends the outbox in batches; each change gets its own result. Accepted and
//!   already-had changes leave the outbox; refused ones move to quarantine, so one bad
//!   change never blocks the rest.
//! - Pull asks for the feed after the stored cursor and applies each page together with
//!   its cursor in one SQLite transaction: a crash anywhere loses nothing and repeats
//!   nothing.
//! - Network errors, 5xx and 429 are retried with exponential backoff; when the server
//!   stays unreachable the sync ends with [`SyncError::Offline`] and the data stays safe
//!   in the store for the next try.
//! - A sync reports progress to a [`SyncObserver`] and stops at the next step when its
//!   [`CancellationToken`] is cancelled.
//! - When the server does not know the cursor (restored from backup), the client runs
//!   the repair path of `docs/protocol.md`.

mod attachments;
mod client;
mod error;
mod forms;
mod http;
#[cfg(not(target_arch = "wasm32"))]
mod tls;

pub use client::{SyncClient, SyncConfig, SyncReport};
pub use error::SyncError;
pub use tokio_util::sync::CancellationToken;

/// Which part of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Enum)
)]
pub enum SyncPhase {
    /// Sending this device's changes, then its attachments (items are then
    /// attachments, bytes their bytes).
    Push,
    /// Receiving the change feed.
    Pull,
    /// Reconciling with a server restored from backup.
    Repair,
}

/// How far a sync has come. Totals are estimates that can grow while it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct SyncProgress {
    /// The running phase.
    pub phase: SyncPhase,
    /// Items (changes) done in this phase.
    pub items_done: u64,
    /// Items expected in this phase.
    pub items_total: u64,
    /// Bytes sent and received so far, all phases.
    pub bytes_done: u64,
    /// Bytes expected in all, an estimate: the outbox's size while pushing; while
    /// pulling, what was moved plus the remaining items at the average size so far.
    pub bytes_total: u64,
}

/// Receives progress while a sync runs (a progress bar, a log).
pub trait SyncObserver: Send + Sync {
    /// Called after every batch or page.
    fn on_progress(&self, progress: SyncProgress);
}

/// An observer that ignores progress.
pub struct NoProgress;

impl SyncObserver for NoProgress {
    fn on_progress(&self, _: SyncProgress) {}
}
