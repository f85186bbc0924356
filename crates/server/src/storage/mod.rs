//! The server's storage: the append-only change log (the source of truth), one
//! materialized row per record, users, devices, forms and the feed epoch.
//!
//! [`Storage`] is the boundary the HTTP layer uses, and the only place with SQL. It
//! runs on a SQLite file ([`Storage::open`]) or PostgreSQL ([`Storage::open_postgres`]),
//! behind one seam (`database`: a trait with one implementation per database, chosen
//! at open); every module above it is written once, in portable SQL (`sql`) or over
//! the log's statements (`log_tx`). Every method blocks: call it from
//! `tokio::task::spawn_blocking`. ARCHITECTURE.md ("Server storage") has the map and
//! the steps to add an endpoint.

mod accounts;
mod attachments;
mod audit;
mod browse;
mod database;
mod dialect;
mod exports;
mod feed_watch;
pub mod followups;
mod form_versions;
mod households;
mod lists;
mod log_tx;
mod open;
mod people;
pub mod pg;
mod prebuild;
pub mod programs;
mod pull;
mod purge;
mod push;
mod records;
mod reports;
mod responses;
mod review;
pub mod schema;
mod scorecard;
mod selection;
mod settings;
mod sql;
mod sqlite;
mod survey_cache;
mod targets;

use std::sync::{Arc, Mutex, MutexGuard};

use sync_core::protocol::{PushResult, PushedChange};
use sync_core::Scope;
use thiserror::Error;

use crate::auth::Caller;
pub use accounts::{
    check_password, normalize_code, DeviceSummary, Enrollment, UserSummary, ENROLLMENT_TTL,
};
pub use attachments::{AttachmentError, NewAttachment, Swept, UploadState};
pub use audit::{Act, AuditEntry, AUDIT_PAGE};
pub use browse::{ChangeOrigin, ListCursor, ListedRecord, RecordFilter, RecordList, SEARCH_SCAN};
pub use feed_watch::FeedMark;
pub use form_versions::{
    FormFile, FormFileInfo, FormFileKind, FormListing, PublishError, Published, FORMS_PER_ANSWER,
};
pub use households::{HouseholdLinks, LinkedRecord, HOUSEHOLD_RECORDS};
pub use lists::{valid_code, ListEntry, ListKind};
pub use people::{Account, PasswordReset, LANGUAGES, RESET_TTL};
pub use programs::{
    Better, Declaration, DeclarationError, HowWell, PeriodChoice, StoredDeclaration,
    MAX_PROGRAM_RECORDS,
};
pub use purge::PurgeReport;
pub use records::RecordRow;
pub use responses::{FilterChoices, FormCounts, ResponsePage, ResponseRow};
pub use selection::{query_value, Selection, QUERY_KEYS};
pub use survey_cache::{SurveyFacts, SURVEY_FORM};
pub use targets::{Targets, DEFAULT_MIN_CELL};

/// The device name of a browser's session on the staff pages.
pub const WEB_SESSION_DEVICE: &str = "web session";

/// How long a web session lasts, in seconds.
pub const WEB_SESSION_SECS: i64 = 12 * 3600;

/// The database file inside the data directory.
pub const DB_FILE: &str = "server.db";

/// What can go wrong in storage.
#[derive(Debug, Error)]
pub enum StorageError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The data directory could not be created or read.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// The database was written by a newer server.
    #[error(
        "the database has schema version {found}, newer than this server understands ({supported})"
    )]
    SchemaTooNew {
        /// In the file.
        found: i64,
        /// Known here.
        supported: i64,
    },
    /// The cursor is not one of this server's (another epoch, or past the end).
    #[error("{0}")]
    UnknownCursor(String),
    /// Something with this name exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The request is well-formed but its content is not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// Stored data could not be read back (a bug or a damaged file).
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
    /// PostgreSQL failed.
    #[error("database: {0}")]
    Postgres(#[from] pg::PgError),
    /// A transaction was rolled back because the work inside it failed; the work's
    /// own error is what the caller sees (this one is internal to the storage).
    #[error("the transaction was rolled back")]
    RolledBack,
}

impl From<tokio_postgres::Error> for StorageError {
    fn from(e: tokio_postgres::Error) -> Self {
        StorageError::Postgres(pg::PgError::Db(e))
    }
}

/// The outcome of looking up a bearer token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// A valid token.
    Valid(Caller),
    /// No such token.
    Unknown,
    /// The token's device was revoked.
    Revoked,
}

/// A signed-in device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The bearer token (shown once; only its hash is stored).
    pub token: String,
    /// The user.
    pub user_id: String,
    /// The new device.
    pub device_id: String,
    /// The user's name.
    pub username: String,
    /// The user's role name.
    pub role: String,
    /// What the user may see; none (admins) means everything.
    pub scope: Option<Scope>,
}

/// A user's stored scope (JSON), read back.
fn parse_scope(user_id: &str, json: Option<String>) -> Result<Option<Scope>, StorageError> {
    json.map(|json| {
        serde_json::from_str::<Scope>(&json)
            .map_err(|e| StorageError::Corrupt(format!("user {user_id} scope: {e}")))
    })
    .transpose()
}

/// The server's storage. Cheap to clone (shared).
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    epoch: String,
    db: Box<dyn database::Database>,
    forms: form_versions::FormCache,
    survey: Mutex<survey_cache::SurveyCache>,
    /// The feed's mark, for waiting pulls.
    feed: tokio::sync::watch::Sender<feed_watch::FeedMark>,
    /// The time the rules read (session age, code expiry), settable by tests.
    clock: crate::clock::Clock,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled its transaction back (the Transaction's
    // Drop) and dropped any document it had taken out of the cache: the state is sound.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Storage {
    /// The clock every time-based rule reads: session age, enrollment-code expiry,
    /// and (through the router's state) rate limits and lockouts.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.inner.clock
    }

    /// The feed epoch.
    pub fn epoch(&self) -> &str {
        &self.inner.epoch
    }

    /// Every stored form (id, version).
    pub fn form_ids(&self) -> Result<Vec<(String, u32)>, StorageError> {
        Ok(self
            .stored_forms()?
            .into_iter()
            .map(|(id, v, _, _)| (id, v))
            .collect())
    }

    /// Whether the database answers.
    pub fn health(&self) -> Result<(), StorageError> {
        self.with_sql(|c| c.row("SELECT 1", &[]).map(|_| ()))
    }

    /// Take pushed changes: one result per change, in order. One transaction.
    pub fn push(
        &self,
        caller: &Caller,
        changes: Vec<PushedChange>,
    ) -> Result<Vec<PushResult>, StorageError> {
        let incoming = push::decode(changes);
        let creations = push::creations(&incoming);
        let results = self.write_feed(
            // New records' documents are built on rayon's pool while the push's
            // records are taken in order (see `Database::write_feed` for when).
            move || prebuild::build(self, creations),
            |tx, mut prebuilt| {
                push::write_in(
                    tx.log,
                    tx.docs,
                    self,
                    caller,
                    incoming,
                    &mut prebuilt,
                    now(),
                )
            },
        )?;
        Ok(results)
    }
}
