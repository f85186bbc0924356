//! The device store's schema, versioned by SQLite's `user_version`.
//!
//! Each migration moves the schema one version up, inside one transaction with the
//! version bump, so a crash mid-migration leaves the previous version intact.

use rusqlite::Connection;

use crate::error::{CoreError, Result};

/// Migrations in order; migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: records, their incremental chunks, the outbox and settings.
    "
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;

    -- One row per record: its metadata as columns (for listing by kind and scope), the
    -- last compacted save of its document, and its current fields as JSON.
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
        snapshot      BLOB NOT NULL,
        chunk_count   INTEGER NOT NULL DEFAULT 0,
        fields        TEXT NOT NULL,
        has_conflicts INTEGER NOT NULL DEFAULT 0
    ); -- a rowid table: a ~2 KB row fits in its page (WITHOUT ROWID rows over ~1 KB
       -- spill into overflow pages, one wasted page per record)
    CREATE INDEX records_by_kind ON records (kind, partnership, id);
    CREATE INDEX records_by_family ON records (family, kind) WHERE family IS NOT NULL;

    -- Changes saved since the snapshot, in order; folded into it now and then.
    CREATE TABLE record_chunks (
        record_id TEXT NOT NULL,
        seq       INTEGER NOT NULL,
        bytes     BLOB NOT NULL,
        PRIMARY KEY (record_id, seq)
    ) WITHOUT ROWID;

    -- Changes made on this device that the server has not acknowledged, in order.
    CREATE TABLE outbox (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        hash       BLOB NOT NULL UNIQUE,
        record_id  TEXT NOT NULL,
        bytes      BLOB NOT NULL,
        created_at INTEGER NOT NULL
    );
    ",
    // 2: changes the server refused, kept for a person to look at.
    "
    CREATE TABLE quarantine (
        hash           BLOB PRIMARY KEY,
        record_id      TEXT NOT NULL,
        bytes          BLOB NOT NULL,
        reason         TEXT NOT NULL,
        quarantined_at INTEGER NOT NULL
    ) WITHOUT ROWID;
    ",
    // 3: attachments (a consent signature, a photo) by the SHA-256 of their bytes,
    // kept in the store itself so that an encrypted store encrypts them too; `uploaded`
    // once the server holds them whole.
    "
    CREATE TABLE attachments (
        sha256     TEXT PRIMARY KEY,
        name       TEXT NOT NULL,
        size       INTEGER NOT NULL,
        bytes      BLOB NOT NULL,
        record_id  TEXT NOT NULL,
        uploaded   INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE INDEX attachments_pending ON attachments (created_at) WHERE uploaded = 0;
    ",
    // 4: form versions published on the server since the app was built, fetched on
    // sync; a response keeps the version it was started on, so none is ever removed.
    "
    CREATE TABLE forms (
        id          TEXT NOT NULL,
        version     INTEGER NOT NULL,
        definition  TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (id, version)
    ) WITHOUT ROWID;
    ",
];

/// The newest schema version this code knows.
pub const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Bring the schema up to [`CURRENT_VERSION`].
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > CURRENT_VERSION {
        return Err(CoreError::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "device store migrated");
    }
    Ok(())
}
