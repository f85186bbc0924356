//! Sync progress reported to the app (a foreign trait) and cancellation from it.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::AppError;
use crate::sync::{SyncObserver, SyncProgress};

/// Implemented by the app to hear a sync's progress (after every batch and page).
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    uniffi::export(with_foreign)
)]
pub trait ProgressObserver: Send + Sync {
    /// Items and bytes done and expected so far. An error (an exception thrown in
    /// Kotlin or Swift) is logged and the sync goes on.
    fn on_progress(&self, progress: SyncProgress) -> Result<(), AppError>;
}

/// Passes the core's progress to the app's observer, absorbing its failures.
pub(super) struct Relay(pub Arc<dyn ProgressObserver>);

impl SyncObserver for Relay {
    fn on_progress(&self, progress: SyncProgress) {
        if let Err(e) = self.0.on_progress(progress) {
            tracing::warn!(error = %e, "the app's progress observer failed");
        }
    }
}

/// Cancels a running sync: call `cancel()` from any thread.
#[derive(Default)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Object)
)]
pub struct CancelToken {
    token: CancellationToken,
}

#[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::export)]
impl CancelToken {
    /// A token not yet cancelled.
    #[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::constructor)]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Stop the sync at its next step; what was applied stays applied.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Whether `cancel` was called.
    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl CancelToken {
    pub(super) fn token(&self) -> CancellationToken {
        self.token.clone()
    }
}
