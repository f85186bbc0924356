//! The schema and its migrations (the `user_version` pragma counts them).

use rusqlite::Connection;

use super::StorageError;

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = 5;

const SCHEMA_V1: &str = "
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope         TEXT,
    created_at    INTEGER NOT NULL
);
CREATE TABLE devices (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    name       TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE forms (
    id         TEXT NOT NULL,
    version    INTEGER NOT NULL,
    definition TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
);
CREATE TABLE changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    hash        BLOB NOT NULL UNIQUE,
    record_id   TEXT NOT NULL,
    bytes       BLOB NOT NULL,
    user_id     TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE INDEX changes_by_record ON changes (record_id, seq);
CREATE TABLE records (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL,
    partnership   TEXT NOT NULL,
    organization  TEXT,
    neighborhood  TEXT,
    family        TEXT,
    program       TEXT,
    form_id       TEXT,
    form_version  INTEGER,
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    heads         TEXT NOT NULL,
    fields        TEXT NOT NULL,
    has_conflicts INTEGER NOT NULL,
    issues        TEXT NOT NULL,
    snapshot      BLOB,
    snapshot_seq  INTEGER NOT NULL DEFAULT 0,
    pending       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX records_by_scope ON records (partnership, organization, neighborhood, family);
";

/// Version 2: each logged change's Automerge actor, so that a device's pull can leave
/// out its own changes (NULL for changes logged before: they are always sent).
const SCHEMA_V2: &str = "ALTER TABLE changes ADD COLUMN actor BLOB;";

/// Version 3, for the staff pages: indicator baselines and targets, administrative
/// indicators' uploaded rows, one-time enrollment codes, and the indexes that keep
/// the record list's keyset pages fast (newest first, by kind, with conflicts).
const SCHEMA_V3: &str = "
CREATE TABLE indicator_targets (
    indicator       TEXT PRIMARY KEY,
    baseline_year   INTEGER,
    baseline_value  REAL,
    targets         TEXT NOT NULL,
    updated_by      TEXT NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE TABLE aggregate_rows (
    indicator   TEXT NOT NULL,
    year        INTEGER NOT NULL,
    grouping    TEXT NOT NULL,
    category    TEXT NOT NULL,
    numerator   INTEGER NOT NULL,
    denominator INTEGER NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL,
    PRIMARY KEY (indicator, year, grouping, category)
);
CREATE TABLE enrollment_codes (
    code_hash  BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    device_id  TEXT
);
CREATE INDEX records_by_update ON records (updated_at, id);
CREATE INDEX records_by_kind ON records (kind, updated_at, id);
CREATE INDEX records_with_conflicts ON records (updated_at, id) WHERE has_conflicts = 1;
";

/// Version 4, consent withdrawal: a purged record leaves a tombstone in the feed (its
/// `seq` drawn from the change log's own sequence, so feed order holds) and an audit
/// row that names it without any of its data.
const SCHEMA_V4: &str = "
CREATE TABLE tombstones (
    seq          INTEGER PRIMARY KEY,
    record_id    TEXT NOT NULL,
    partnership  TEXT NOT NULL,
    organization TEXT,
    neighborhood TEXT,
    family       TEXT,
    program      TEXT,
    reason       TEXT NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE TABLE purges (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_id TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    purged_by  TEXT NOT NULL,
    purged_at  INTEGER NOT NULL,
    reason     TEXT NOT NULL
);
";

/// Version 5, attachments (a consent signature, a photo) by the SHA-256 of their
/// bytes, uploaded in chunks: kept in the database rather than in files, so that a
/// backup of the database holds them and every server node on one database sees them.
const SCHEMA_V5: &str = "
CREATE TABLE attachments (
    sha256       TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    received     INTEGER NOT NULL DEFAULT 0,
    complete     INTEGER NOT NULL DEFAULT 0,
    record_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE TABLE attachment_chunks (
    sha256 TEXT NOT NULL,
    offset INTEGER NOT NULL,
    bytes  BLOB NOT NULL,
    PRIMARY KEY (sha256, offset)
);
";

/// Set the connection up: WAL, full durability, foreign keys, a busy timeout.
pub fn configure(conn: &Connection) -> Result<(), StorageError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Deleted content is overwritten, not left in free pages: a purge must leave no
    // trace of the answers in the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Bring the schema up to [`SCHEMA_VERSION`]; returns whether the database was new.
pub fn migrate(conn: &mut Connection, new_epoch: &str) -> Result<bool, StorageError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StorageError::SchemaTooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(false);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let new = version == 0;
    if new {
        tx.execute_batch(SCHEMA_V1)?;
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('epoch', ?1)",
            [new_epoch],
        )?;
    }
    if version < 2 {
        tx.execute_batch(SCHEMA_V2)?;
    }
    if version < 3 {
        tx.execute_batch(SCHEMA_V3)?;
    }
    if version < 4 {
        tx.execute_batch(SCHEMA_V4)?;
    }
    if version < 5 {
        tx.execute_batch(SCHEMA_V5)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(new)
}
