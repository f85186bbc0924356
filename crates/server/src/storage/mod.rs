//! The server's storage: the append-only change log (the source of truth), one
//! materialized row per record, users, devices, forms and the feed epoch.
//!
//! [`Storage`] is the boundary the HTTP layer uses; all SQL lives in [`sqlite`]. Every
//! method blocks: call it from `tokio::task::spawn_blocking`. Writes go through one
//! connection behind a mutex (SQLite has one writer anyway), each push in one
//! transaction; reads use a small pool of other connections (WAL lets them run
//! alongside the writer).

mod accounts;
mod attachments;
mod backend;
mod browse;
mod feed_watch;
mod form_versions;
mod log_tx;
pub mod pg;
mod prebuild;
mod pull;
mod purge;
mod push;
mod reports;
mod review;
pub mod schema;
mod sql;
pub mod sqlite;
mod survey_cache;
mod targets;

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use lru::LruCache;
use rusqlite::Connection;
use sync_core::protocol::{PushResult, PushStatus, PushedChange, RecordHeads};
use sync_core::{RecordDoc, Scope};
use thiserror::Error;
use uuid::Uuid;

use crate::auth::{self, Caller};
pub use accounts::{normalize_code, DeviceSummary, Enrollment, UserSummary, ENROLLMENT_TTL};
pub use attachments::{AttachmentError, NewAttachment, Swept, UploadState};
pub use browse::{ChangeOrigin, ListCursor, ListedRecord, RecordFilter, RecordList, SEARCH_SCAN};
pub use feed_watch::FeedMark;
pub use form_versions::{
    FormFile, FormFileInfo, FormFileKind, FormListing, PublishError, Published, FORMS_PER_ANSWER,
};
pub use purge::PurgeReport;
pub use sqlite::RecordRow;
pub use survey_cache::{SurveyFacts, SURVEY_FORM};
pub use targets::{Targets, DEFAULT_MIN_CELL};

/// The device name of a browser's session on the staff pages.
pub const WEB_SESSION_DEVICE: &str = "web session";

/// How long a web session lasts, in seconds.
pub const WEB_SESSION_SECS: i64 = 12 * 3600;

/// The database file inside the data directory.
pub const DB_FILE: &str = "server.db";

/// How many record documents the writer keeps in memory.
const DOC_CACHE: usize = 256;

/// How many idle read connections are kept.
const READERS: usize = 8;

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
    /// A SQLite-only path was reached on PostgreSQL (a bug: every request's path runs
    /// on both databases).
    #[error("this operation runs on SQLite only")]
    NotOnPostgres,
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
    db: backend::Db,
    forms: form_versions::FormCache,
    survey: Mutex<survey_cache::SurveyCache>,
    /// The feed's mark, for waiting pulls.
    feed: tokio::sync::watch::Sender<feed_watch::FeedMark>,
    /// The time the rules read (session age, code expiry), settable by tests.
    clock: crate::clock::Clock,
}

pub(crate) struct Writer {
    conn: Connection,
    docs: LruCache<Uuid, RecordDoc>,
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
    /// Open (creating if needed) the database in `data_dir`: migrate the schema, store
    /// the seed forms (first versions), and load the compiled forms.
    pub fn open(data_dir: &Path) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(DB_FILE);
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn, &auth::new_epoch())?;
        let time = now();
        for form in forms::instruments::seed_forms() {
            sqlite::insert_form(&conn, &form.id, form.version, &form.to_json(), time)?;
        }
        let compiled = form_versions::FormCache::load(&conn)?;
        let epoch = sqlite::epoch(&conn)?;
        let high_water = sqlite::max_seq(&conn)?;
        Ok(Storage {
            inner: Arc::new(Inner {
                epoch,
                db: backend::Db::Sqlite(backend::SqliteDb {
                    path,
                    writer: Mutex::new(Writer {
                        conn,
                        docs: LruCache::new(
                            NonZeroUsize::new(DOC_CACHE).unwrap_or(NonZeroUsize::MIN),
                        ),
                    }),
                    readers: Mutex::new(Vec::new()),
                }),
                forms: compiled,
                survey: Mutex::new(survey_cache::SurveyCache::default()),
                feed: tokio::sync::watch::Sender::new(feed_watch::FeedMark {
                    seq: high_water,
                    closing: false,
                }),
                clock: crate::clock::Clock::default(),
            }),
        })
    }

    /// The clock every time-based rule reads: session age, enrollment-code expiry,
    /// and (through the router's state) rate limits and lockouts.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.inner.clock
    }

    /// Give the database in `data_dir` a new feed epoch (after restoring it from a
    /// backup): every cursor handed out before becomes unknown. Returns the new epoch.
    /// Run it while the server is stopped.
    pub fn new_epoch(data_dir: &Path) -> Result<String, StorageError> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StorageError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no database at {}", path.display()),
            )));
        }
        let mut conn = Connection::open(&path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn, &auth::new_epoch())?;
        let epoch = auth::new_epoch();
        sqlite::set_epoch(&conn, &epoch)?;
        Ok(epoch)
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
        if let Some(pg) = self.pg() {
            return Ok(pg.run(|c| async move {
                c.simple_query("SELECT 1").await?;
                Ok(())
            })?);
        }
        self.read(|c| sqlite::max_seq(c).map(|_| ()))
    }

    /// Take pushed changes: one result per change, in order. One transaction.
    pub fn push(
        &self,
        caller: &Caller,
        changes: Vec<PushedChange>,
    ) -> Result<Vec<PushResult>, StorageError> {
        let incoming = push::decode(changes);
        // New records are built under the writer's lock, alongside the write: built
        // ahead of it, every waiting push's documents would be in memory at once.
        let results = match self.pg() {
            Some(pool) => {
                let mut prebuilt = prebuild::build(self, push::creations(&incoming));
                push::write_pg(pool, self, caller, incoming, &mut prebuilt, now())?
            }
            None => self.write(|w| {
                let mut prebuilt = prebuild::build(self, push::creations(&incoming));
                push::write(w, self, caller, incoming, &mut prebuilt, now())
            })?,
        };
        if results.iter().any(|r| r.status == PushStatus::Accepted) {
            self.announce()?;
        }
        Ok(results)
    }

    /// The server's heads of each record, `[]` for records unknown or not visible.
    pub fn repair(
        &self,
        caller: &Caller,
        records: &[RecordHeads],
    ) -> Result<Vec<RecordHeads>, StorageError> {
        let ids: Vec<String> = records.iter().map(|r| r.record.to_string()).collect();
        let found = match self.pg() {
            Some(pool) => {
                pool.run(move |c| async move { pg::records::record_heads(&c, &ids).await })?
            }
            None => self.read(|conn| {
                ids.iter()
                    .map(|id| sqlite::record_heads(conn, id))
                    .collect::<Result<Vec<_>, _>>()
            })?,
        };
        Ok(records
            .iter()
            .zip(found)
            .map(|(r, found)| RecordHeads {
                record: r.record,
                heads: match found {
                    Some((heads, scope)) if caller.may_see(&scope) => heads,
                    _ => Vec::new(),
                },
            })
            .collect())
    }

    /// A record's materialized row.
    pub fn record(&self, id: Uuid) -> Result<Option<RecordRow>, StorageError> {
        if let Some(pool) = self.pg() {
            return Ok(
                pool.run(move |c| async move { pg::records::record(&c, &id.to_string()).await })?
            );
        }
        self.read(|c| sqlite::record(c, &id.to_string()))
    }

    /// A record's document as the server holds it (snapshot plus later changes).
    pub fn record_doc(&self, id: Uuid) -> Result<Option<RecordDoc>, StorageError> {
        if let Some(pool) = self.pg() {
            let mut conn = pool.get()?;
            let tx = pg::wait(conn.transaction()).map_err(pg::PgError::from)?;
            return push::load_doc(&log_tx::PgLog::new(&tx), &id.to_string());
        }
        self.read(|c| push::load_doc(c, &id.to_string()))
    }

    /// How many changes the log holds.
    pub fn change_count(&self) -> Result<i64, StorageError> {
        if let Some(pool) = self.pg() {
            return Ok(pool.run(|c| async move { pg::records::count(&c, "changes").await })?);
        }
        self.read(|c| sqlite::change_count(c))
    }

    /// How many records there are.
    pub fn record_count(&self) -> Result<i64, StorageError> {
        if let Some(pool) = self.pg() {
            return Ok(pool.run(|c| async move { pg::records::count(&c, "records").await })?);
        }
        self.read(|c| sqlite::record_count(c))
    }
}
