//! Why a sync stopped. Whatever the error, nothing recorded on the device is lost: the
//! outbox keeps every unacknowledged change and the cursor only moves with its page.

use thiserror::Error;

use crate::CoreError;

/// Why a sync did not complete.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The server could not be reached, after retries.
    #[error("the server could not be reached ({attempts} attempts: {last}); everything is saved on this device and will sync next time")]
    Offline {
        /// How many attempts were made.
        attempts: u32,
        /// The last network error.
        last: String,
    },
    /// The sync was cancelled.
    #[error("the sync was cancelled; everything is saved on this device")]
    Cancelled,
    /// The token is unknown or expired.
    #[error("sign in again: {0}")]
    Unauthorized(String),
    /// The device was revoked: the app must wipe its store.
    #[error("this device was revoked; its data must be wiped and the user must sign in again")]
    DeviceRevoked,
    /// The server refused the request.
    #[error("the server refused the request ({status} {code}): {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The server's message.
        message: String,
    },
    /// The server kept failing (5xx) after retries.
    #[error("the server failed ({status}) after {attempts} attempts: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Attempts made.
        attempts: u32,
        /// The server's message.
        message: String,
    },
    /// The server's answer did not make sense.
    #[error("the server's answer could not be read: {0}")]
    Protocol(String),
    /// The device store failed.
    #[error(transparent)]
    Store(#[from] CoreError),
}
