//! `POST /v1/auth/token` and `POST /v1/auth/enroll`: sign in a device with a
//! password, or enroll it with a one-time code.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};

use super::blocking;
use crate::api::{EnrollRequest, TokenRequest, TokenResponse};
use crate::app::{AppState, RequestLog};
use crate::error::ApiError;
use crate::extract::{Gz, Msg};
use crate::limits;
use crate::storage::Session;
use axum::Extension;
use sync_core::protocol::PROTOCOL_VERSION;

/// Check the password, enroll the device, answer its token.
pub async fn token(
    State(state): State<AppState>,
    log: Option<Extension<RequestLog>>,
    Msg(req): Msg<TokenRequest>,
) -> Result<Gz<TokenResponse>, ApiError> {
    let key = limits::user_key(&req.username);
    state
        .attempts
        .begin(&key, state.clock().now_ms())
        .map_err(ApiError::too_many_attempts)?;
    let storage = state.storage.clone();
    let session = state
        .passwords
        .run(move || storage.sign_in(&req.username, &req.password, &req.device_name))
        .await??;
    let Some(session) = session else {
        return Err(ApiError::unauthorized("wrong user name or password"));
    };
    state.attempts.succeed(&key);
    Ok(answer(session, log))
}

/// Redeem a one-time enrollment code, answer the new device's token.
pub async fn enroll(
    State(state): State<AppState>,
    log: Option<Extension<RequestLog>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Msg(req): Msg<EnrollRequest>,
) -> Result<Gz<TokenResponse>, ApiError> {
    // Codes are guessed per address, not per code: one key per client.
    let key = format!(
        "enroll:{}",
        peer.map_or_else(
            || "unknown".to_string(),
            |Extension(ConnectInfo(a))| a.ip().to_string()
        )
    );
    state
        .attempts
        .begin(&key, state.clock().now_ms())
        .map_err(ApiError::too_many_attempts)?;
    let storage = state.storage.clone();
    let session = blocking(move || storage.enroll(&req.code, &req.device_name)).await?;
    let Some(session) = session else {
        return Err(ApiError::unauthorized(
            "this enrollment code is unknown, already used or expired; ask for a new one",
        ));
    };
    state.attempts.refund(&key);
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
