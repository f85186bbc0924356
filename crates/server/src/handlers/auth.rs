//! `POST /v1/auth/token` and `POST /v1/auth/enroll`: sign in a device with a
//! password, or enroll it with a one-time code.

use axum::extract::State;

use super::blocking;
use crate::api::{EnrollRequest, TokenRequest, TokenResponse};
use crate::app::{AppState, RequestLog};
use crate::error::ApiError;
use crate::extract::{Gz, Msg};
use crate::storage::Session;
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
    Ok(answer(session, log))
}

/// Redeem a one-time enrollment code, answer the new device's token.
pub async fn enroll(
    State(state): State<AppState>,
    log: Option<Extension<RequestLog>>,
    Msg(req): Msg<EnrollRequest>,
) -> Result<Gz<TokenResponse>, ApiError> {
    let storage = state.storage.clone();
    let session = blocking(move || storage.enroll(&req.code, &req.device_name)).await?;
    let session = session.ok_or_else(|| {
        ApiError::unauthorized(
            "this enrollment code is unknown, already used or expired; ask for a new one",
        )
    })?;
    Ok(answer(session, log))
}

fn answer(session: Session, log: Option<Extension<RequestLog>>) -> Gz<TokenResponse> {
    if let Some(Extension(log)) = log {
        log.set(&session.user_id, &session.device_id);
    }
    Gz(TokenResponse {
        v: PROTOCOL_VERSION,
        token: session.token,
        user_id: session.user_id,
        device_id: session.device_id,
        username: session.username,
        role: session.role,
        scope: session.scope,
    })
}
