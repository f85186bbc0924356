//! The messages of the sync protocol.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bytes carried as base64 text in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine;
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Bytes)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// Push: the device sends changes from its outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Protocol version.
    pub v: u32,
    /// The changes, in the order they were made.
    pub changes: Vec<PushedChange>,
}

/// One change pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedChange {
    /// The record the change belongs to.
    pub record: Uuid,
    /// The encoded Automerge change.
    pub change: Bytes,
}

/// The server's answer to a push: one result per change, in the same order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// Protocol version.
    pub v: u32,
    /// One per pushed change.
    pub results: Vec<PushResult>,
}

/// What the server did with one pushed change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResult {
    /// The change hash (hex), or empty when the change could not be decoded.
    pub hash: String,
    /// Accepted, already had, or rejected.
    pub status: PushStatus,
    /// Why it was rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The outcome of one pushed change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PushStatus {
    /// New to the server, now in its log.
    Accepted,
    /// The server already had it (a retry): nothing changed.
    AlreadyHad,
    /// Refused; the device quarantines it and goes on.
    Rejected,
}

/// Pull: the device asks for the change feed after its cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullRequest {
    /// Protocol version.
    pub v: u32,
    /// Where the device stopped reading; none for the beginning.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Most items wanted in this page (the server caps it).
    pub limit: u32,
    /// Most change bytes wanted in this page (at least one item is always sent).
    pub max_bytes: u64,
    /// The device's own Automerge actor (hex): changes made by it are left out of the
    /// page, since the device has them already. The cursor still moves past them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// When there is nothing new, wait up to this long (milliseconds, capped at
    /// [`super::MAX_PULL_WAIT_MS`]) for a change to arrive before answering; the answer
    /// then comes as soon as one commits, on any server node. None: answer at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u32>,
}

/// One page of the change feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullResponse {
    /// Protocol version.
    pub v: u32,
    /// Changes, in feed order.
    pub changes: Vec<PulledChange>,
    /// Records deleted or purged: the device removes them.
    #[serde(default)]
    pub tombstones: Vec<Tombstone>,
    /// The cursor to store with this page and send next time.
    pub cursor: String,
    /// Whether more remains after this page.
    pub more: bool,
    /// How many items remain after this page (for progress).
    pub remaining: u64,
}

/// A change in the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledChange {
    /// The record.
    pub record: Uuid,
    /// The encoded Automerge change.
    pub change: Bytes,
}

/// A record removed from the server: every device deletes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The record.
    pub record: Uuid,
    /// Why (for instance `consent_withdrawn`).
    pub reason: String,
}

/// Repair: after the server lost track of the device's cursor, the device sends the
/// heads of its records so the server can say which it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairRequest {
    /// Protocol version.
    pub v: u32,
    /// Records and their heads on the device.
    pub records: Vec<RecordHeads>,
}

/// A record's heads (hex change hashes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHeads {
    /// The record.
    pub record: Uuid,
    /// Its heads; empty when the record is unknown.
    pub heads: Vec<String>,
}

/// The server's heads for the records asked about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairResponse {
    /// Protocol version.
    pub v: u32,
    /// The server's heads for each record asked about (empty: the server lacks it).
    pub records: Vec<RecordHeads>,
}

/// Every error response's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A machine-readable code (`too_large`, `unknown_cursor`, `unauthorized`, ...).
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// `POST /v1/auth/token`: sign in a device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// Protocol version.
    pub v: u32,
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
    /// A name for the device, for people (`Maria's phone`).
    pub device_name: String,
}

/// `POST /v1/auth/enroll`: enroll a device with a one-time code instead of a password
/// (the code staff create on the users page, typed or read from its QR code). The
/// answer is a [`TokenResponse`], as for a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// Protocol version.
    pub v: u32,
    /// The code (`ABCDE-FGHJK`; dashes, spaces and case do not matter).
    pub code: String,
    /// A name for the device, shown on the devices page.
    pub device_name: String,
}

/// The answer to a sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// Protocol version.
    pub v: u32,
    /// The bearer token (64 hex digits); the server keeps only its hash.
    pub token: String,
    /// The user's id.
    pub user_id: String,
    /// The new device's id.
    pub device_id: String,
    /// The user's name.
    #[serde(default)]
    pub username: String,
    /// The user's role (`outreach_worker`, `parent`, ...).
    #[serde(default)]
    pub role: String,
    /// What the user may see and write; none (admins) means everything.
    #[serde(default)]
    pub scope: Option<crate::record::Scope>,
}
