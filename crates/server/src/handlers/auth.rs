//! `POST /v1/auth/token`: sign in a device.

use axum::extract::State;

use super::blocking;
use crate::api::{TokenRequest, TokenResponse};
use crate::app::{AppState, RequestLog};
use crate::error::ApiError;
use crate::extract::{Gz, Msg};
use axum::Extension;
use sync_core::protocol::PROTOCOL_VERSION;

/// Check the password, enroll the device, answer its token.
pub async fn token(
    State(state): State<AppState>,
    log: Option<Extension<RequestLog>>,
    Msg(req): Msg<TokenRequest>,
) -> Result<Gz<TokenResponse>, ApiError> {
    let storage = state.storage.clone();
    let session =
        blocking(move || storage.sign_in(&req.username, &req.password, &req.device_name)).await?;
    let session = session.ok_or_else(|| ApiError::unauthorized("wrong user name or password"))?;
    if let Some(Extension(log)) = log {
        log.set(&session.user_id, &session.device_id);
    }
    Ok(Gz(TokenResponse {
        v: PROTOCOL_VERSION,
        token: session.token,
        user_id: session.user_id,
        device_id: session.device_id,
        username: session.username,
        role: session.role,
        scope: session.scope,
    }))
}
