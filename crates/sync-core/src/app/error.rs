//! The app API's one error type: a typed exception in Kotlin (`AppException.Offline`,
//! ...) and an `Error` enum in Swift, each with a message a person can read.

use crate::sync::SyncError;
use crate::CoreError;

/// What went wrong, for the app. Exported flat: each variant reaches Kotlin and Swift
/// as its kind with the text below as the exception's message.
#[derive(Debug, thiserror::Error)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Error),
    uniffi(flat_error)
)]
pub enum AppError {
    /// The server could not be reached; everything is kept on the device.
    #[error("{message}")]
    Offline {
        /// What to show.
        message: String,
    },
    /// The sync was cancelled; everything is kept on the device.
    #[error("{message}")]
    Cancelled {
        /// What to show.
        message: String,
    },
    /// Wrong user name or password, or the token is no longer valid: sign in again.
    #[error("{message}")]
    Unauthorized {
        /// What to show.
        message: String,
    },
    /// This device was revoked: wipe its data, sign in again.
    #[error("{message}")]
    DeviceRevoked {
        /// What to show.
        message: String,
    },
    /// No user is signed in on this store.
    #[error("no user is signed in on this device")]
    NotSignedIn,
    /// The server refused or failed a request, or answered something unreadable.
    #[error("{message}")]
    Server {
        /// What to show.
        message: String,
    },
    /// The app asked for something that does not fit (unknown form, bad path, ...).
    #[error("{message}")]
    Invalid {
        /// What to show.
        message: String,
    },
    /// No record with that id on this device.
    #[error("{message}")]
    NotFound {
        /// What to show.
        message: String,
    },
    /// The store is encrypted and the key is wrong or missing.
    #[error("{message}")]
    WrongKey {
        /// What to show.
        message: String,
    },
    /// The device store failed (disk full, corrupt file, ...).
    #[error("{message}")]
    Storage {
        /// What to show.
        message: String,
    },
    /// A callback into the app failed (an exception thrown by the observer).
    #[error("{message}")]
    Callback {
        /// What to show.
        message: String,
    },
}

impl AppError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        AppError::Invalid {
            message: message.into(),
        }
    }
}

impl From<CoreError> for AppError {
    fn from(e: CoreError) -> Self {
        let message = e.to_string();
        match e {
            CoreError::NotFound(_) => AppError::NotFound { message },
            CoreError::WrongKey => AppError::WrongKey { message },
            CoreError::BadPath { .. }
            | CoreError::WrongForm { .. }
            | CoreError::Attachment(_)
            | CoreError::Unsupported(_) => AppError::Invalid { message },
            _ => AppError::Storage { message },
        }
    }
}

impl From<SyncError> for AppError {
    fn from(e: SyncError) -> Self {
        let message = e.to_string();
        match e {
            SyncError::Offline { .. } => AppError::Offline { message },
            SyncError::Cancelled => AppError::Cancelled { message },
            SyncError::Unauthorized(_) => AppError::Unauthorized { message },
            SyncError::DeviceRevoked => AppError::DeviceRevoked { message },
            SyncError::Store(inner) => inner.into(),
            SyncError::Refused { .. } | SyncError::Server { .. } | SyncError::Protocol(_) => {
                AppError::Server { message }
            }
        }
    }
}

#[cfg(all(feature = "ffi", not(target_arch = "wasm32")))]
impl From<uniffi::UnexpectedUniFFICallbackError> for AppError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        AppError::Callback { message: e.reason }
    }
}
