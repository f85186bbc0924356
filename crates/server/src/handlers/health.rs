//! `GET /healthz`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use super::blocking;
use crate::app::AppState;
use crate::error::ApiError;

/// 200 `{"status": "ok"}` when the database answers.
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.health()).await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the database does not answer",
        )
    })?;
    Ok(Json(json!({"status": "ok"})))
}
