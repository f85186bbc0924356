//! The endpoints, by area.

pub mod admin;
pub mod attachments;
pub mod auth;
pub mod forms;
pub mod health;
pub mod sync;

use crate::error::ApiError;

/// Run blocking storage work off the async threads.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
    E: Into<ApiError> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(Into::into),
        Err(e) => {
            tracing::error!(error = %e, "a storage task failed");
            Err(ApiError::internal())
        }
    }
}
