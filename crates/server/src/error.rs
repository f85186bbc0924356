//! The one error type of the HTTP layer: a status code and a JSON [`ErrorBody`].

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sync_core::protocol::{ErrorBody, ProtocolError};

use crate::storage::StorageError;

/// An error answered to a client: status, machine-readable code, message for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The `error` code of the body (`too_large`, `unauthorized`, ...).
    pub code: &'static str,
    /// The `message` of the body.
    pub message: String,
    /// Seconds for a `Retry-After` header (429 and 503 answers).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, telling the client to retry after `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// 503 `busy`: the server is at a bound it keeps (password checks at once, say);
    /// nothing happened, and the same request will work after `seconds`.
    pub fn busy(message: impl Into<String>, seconds: u64) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message).retry_after(seconds)
    }

    /// 503 `unavailable`: a failure of ours (the database did not answer); nothing
    /// was refused, retry later.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the server cannot reach its database just now; nothing was refused, retry later",
        )
        .retry_after(5)
    }

    /// 429 `too_many_attempts`: a key failed too often; `wait` seconds remain.
    pub fn too_many_attempts(wait: u64) -> Self {
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!(
                "too many failed attempts; try again in {} minutes",
                wait.div_ceil(60)
            ),
        )
        .retry_after(wait)
    }

    /// 400 `bad_message`.
    pub fn bad_message(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_message", message)
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 413 `too_large`.
    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 500 `internal`: the details go to the log, not to the client.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; nothing was half-written, retry later",
        )
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        let status = match e {
            ProtocolError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::UnknownCursor(message) => {
                ApiError::new(StatusCode::CONFLICT, "unknown_cursor", message)
            }
            StorageError::AlreadyExists(message) => {
                ApiError::new(StatusCode::CONFLICT, "already_exists", message)
            }
            StorageError::Invalid(message) => ApiError::bad_message(message),
            // The database did not answer or failed: ours to fix, the client's to
            // retry. Never an answer a device would take as a refusal of its record.
            e @ (StorageError::Sqlite(_) | StorageError::Postgres(_) | StorageError::Io(_)) => {
                tracing::error!(error = %e, "database failure");
                ApiError::unavailable()
            }
            other => {
                tracing::error!(error = %other, "storage failure");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(ErrorBody {
                error: self.code.to_string(),
                message: self.message,
            }),
        )
            .into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
