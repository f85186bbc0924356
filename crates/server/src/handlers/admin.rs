//! `/v1/admin/*`: users, devices and purges (admins only).

use axum::extract::State;

use super::blocking;
use crate::api::{
    CreateUserRequest, CreateUserResponse, PurgeRequest, PurgeResponse, RevokeDeviceRequest,
    RevokeDeviceResponse,
};
use crate::app::AppState;
use crate::auth::Role;
use crate::error::ApiError;
use crate::extract::{Admin, Gz, Msg};
use crate::storage::Act;
use sync_core::protocol::PROTOCOL_VERSION;

/// `POST /v1/admin/users`: create a user.
pub async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Msg(req): Msg<CreateUserRequest>,
) -> Result<Gz<CreateUserResponse>, ApiError> {
    let role: Role = req.role.parse().map_err(ApiError::bad_message)?;
    if !admin.may_act_for(role, req.scope.as_ref()) {
        return Err(ApiError::forbidden(
            "an admin creates users only within its own scope; only an unscoped admin creates an unscoped one",
        ));
    }
    let storage = state.storage.clone();
    let user_id = state
        .passwords
        .run(move || {
            let act = Act {
                actor: &admin,
                address: "api",
                action: "user.create",
                subject: &req.username,
                detail: format!("role {role}, through the admin API"),
            };
            storage.create_user_logged(
                &req.username,
                &req.password,
                role,
                req.scope.as_ref(),
                Some(&act),
            )
        })
        .await??;
    tracing::info!(user = %user_id, role = %role, "user created");
    Ok(Gz(CreateUserResponse {
        v: PROTOCOL_VERSION,
        user_id,
    }))
}

/// `POST /v1/admin/devices/revoke`: revoke a device.
pub async fn revoke_device(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Msg(req): Msg<RevokeDeviceRequest>,
) -> Result<Gz<RevokeDeviceResponse>, ApiError> {
    let storage = state.storage.clone();
    let device = req.device_id.clone();
    let owner = blocking(move || storage.device_owner(&device)).await?;
    // A device outside the admin's reach is answered as unknown: its existence is
    // not the admin's to learn.
    let may = owner.as_ref().is_some_and(|u| {
        u.role
            .parse::<Role>()
            .is_ok_and(|role| admin.may_act_for(role, u.scope.as_ref()))
    });
    let revoked = if may {
        let storage = state.storage.clone();
        let device = req.device_id.clone();
        let actor = admin.clone();
        let subject = owner.map_or_else(String::new, |u| u.username);
        blocking(move || {
            let act = Act {
                actor: &actor,
                address: "api",
                action: "device.revoke",
                subject: &subject,
                detail: format!("device {device}, through the admin API"),
            };
            storage.revoke_device_logged(&device, Some(&act))
        })
        .await?
    } else {
        false
    };
    tracing::info!(device = %req.device_id, by = %admin.user_id, revoked, "device revoked");
    Ok(Gz(RevokeDeviceResponse {
        v: PROTOCOL_VERSION,
        revoked,
    }))
}

/// `POST /v1/admin/purge`: purge a household or person (consent withdrawn).
pub async fn purge(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Msg(req): Msg<PurgeRequest>,
) -> Result<Gz<PurgeResponse>, ApiError> {
    let storage = state.storage.clone();
    let report = blocking(move || storage.purge(&admin, req.subject, &req.reason)).await?;
    let report = report.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            "no household or person with this id",
        )
    })?;
    Ok(Gz(PurgeResponse {
        v: PROTOCOL_VERSION,
        records: report.records,
    }))
}
