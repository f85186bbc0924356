//! Messages of the endpoints that are not part of the device sync feed (sign-in and
//! administration). The sync messages themselves are `sync_core::protocol`'s.

use serde::{Deserialize, Serialize};
use sync_core::Scope;

pub use sync_core::protocol::{EnrollRequest, TokenRequest, TokenResponse};

/// `POST /v1/admin/users`: create a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserRequest {
    /// Protocol version.
    pub v: u32,
    /// The user name (unique).
    pub username: String,
    /// The password.
    pub password: String,
    /// One of `admin`, `backbone_staff`, `partner_staff`, `outreach_worker`, `parent`,
    /// `reports_only`.
    pub role: String,
    /// What the user may see and write; none (only for `admin`) means everything.
    #[serde(default)]
    pub scope: Option<Scope>,
}

/// The answer to a user creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateUserResponse {
    /// Protocol version.
    pub v: u32,
    /// The new user's id.
    pub user_id: String,
}

/// `POST /v1/admin/devices/revoke`: revoke a device's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeDeviceRequest {
    /// Protocol version.
    pub v: u32,
    /// The device to revoke.
    pub device_id: String,
}

/// The answer to a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeDeviceResponse {
    /// Protocol version.
    pub v: u32,
    /// Whether the device was active until now (false: unknown or already revoked).
    pub revoked: bool,
}

/// `POST /v1/admin/purge`: withdraw consent: remove a household or a person and every
/// record about them, with their history, from the server and (by tombstones) from
/// every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeRequest {
    /// Protocol version.
    pub v: u32,
    /// The household or person.
    pub subject: uuid::Uuid,
    /// Why (kept in the audit log; 1 to 500 characters).
    pub reason: String,
}

/// The answer to a purge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeResponse {
    /// Protocol version.
    pub v: u32,
    /// Every record removed, the subject first.
    pub records: Vec<String>,
}
