//! The schema and its migrations (the `user_version` pragma counts them).

use rusqlite::Connection;

use super::StorageError;

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = 7;

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

/// Version 6, attachments bound to who uploaded them (issue 18): an upload is a row of
/// its own per device (`id`; one unfinished upload per hash and device, one stored copy
/// per hash), its chunks keyed by that row, and `attachment_grants`: which record a
/// device proved it holds the bytes for (the hash checked at the end of its upload),
/// the only way a record shows them. `touched_at` (the last chunk) and `referenced`
/// (the record names the hash) are what the quota and the sweep read.
const SCHEMA_V6: &str = "
CREATE TABLE attachments_v6 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    received     INTEGER NOT NULL DEFAULT 0,
    complete     INTEGER NOT NULL DEFAULT 0,
    record_id    TEXT NOT NULL,
    name         TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER,
    touched_at   INTEGER NOT NULL
);
INSERT INTO attachments_v6 (sha256, size, received, complete, record_id, name, uploaded_by,
    created_at, completed_at, touched_at)
SELECT sha256, size, received, complete, record_id, name, uploaded_by, created_at,
    completed_at, COALESCE(completed_at, created_at)
FROM attachments;
CREATE TABLE attachment_chunks_v6 (
    upload_id INTEGER NOT NULL,
    \"offset\"  INTEGER NOT NULL,
    sha256    TEXT NOT NULL,
    bytes     BLOB NOT NULL,
    PRIMARY KEY (upload_id, \"offset\")
);
INSERT INTO attachment_chunks_v6 (upload_id, \"offset\", sha256, bytes)
SELECT a.id, c.\"offset\", c.sha256, c.bytes
FROM attachment_chunks c JOIN attachments_v6 a ON a.sha256 = c.sha256;
DROP TABLE attachment_chunks;
DROP TABLE attachments;
ALTER TABLE attachments_v6 RENAME TO attachments;
ALTER TABLE attachment_chunks_v6 RENAME TO attachment_chunks;
CREATE UNIQUE INDEX attachments_open ON attachments (sha256, uploaded_by) WHERE NOT complete;
CREATE UNIQUE INDEX attachments_stored ON attachments (sha256) WHERE complete;
CREATE INDEX attachments_idle ON attachments (touched_at) WHERE NOT complete;
CREATE INDEX attachments_by_device ON attachments (uploaded_by) WHERE NOT complete;
CREATE INDEX attachments_by_record ON attachments (record_id);
CREATE TABLE attachment_grants (
    sha256     TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    referenced INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (sha256, record_id, device_id)
);
CREATE INDEX attachment_grants_by_record ON attachment_grants (record_id);
CREATE INDEX attachment_grants_unnamed ON attachment_grants (device_id) WHERE NOT referenced;
CREATE INDEX attachment_grants_unnamed_since ON attachment_grants (created_at) WHERE NOT referenced;
INSERT INTO attachment_grants (sha256, record_id, device_id, name, size, referenced, created_at)
SELECT a.sha256, a.record_id, a.uploaded_by, a.name, a.size,
    EXISTS (SELECT 1 FROM records r WHERE r.id = a.record_id
            AND r.fields LIKE '%' || a.sha256 || '%'),
    COALESCE(a.completed_at, a.created_at)
FROM attachments a WHERE a.complete;
";

/// Version 7, the files of a form version (issue 19): the XLSForm workbook it was
/// published from and the CSV files attached to it, by (form id, version, file name),
/// written in the publication's transaction and never changed after.
const SCHEMA_V7: &str = "
CREATE TABLE form_files (
    form_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    bytes      BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (form_id, version, name)
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
    if version < 6 {
        tx.execute_batch(SCHEMA_V6)?;
    }
    if version < 7 {
        tx.execute_batch(SCHEMA_V7)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database at version 5 with a complete attachment (two chunks) named by its
    /// record, and an unfinished one: version 6 keeps both, the complete one granted to
    /// its record and readable chunk by chunk.
    #[test]
    fn version_6_keeps_the_attachments_of_version_5() {
        let mut conn = Connection::open_in_memory().unwrap();
        for batch in [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5] {
            conn.execute_batch(batch).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        let (done, open) = ("a".repeat(64), "b".repeat(64));
        conn.execute_batch(&format!(
            "INSERT INTO records (id, kind, partnership, created_by, created_at, updated_at,
                 heads, fields, has_conflicts, issues)
             VALUES ('r1', 'household', 'p1', 'u1', 1, 1, '[]',
                 '{{\"signature\":\"{done}.png\"}}', 0, '[]');
             INSERT INTO attachments (sha256, size, received, complete, record_id, name,
                 uploaded_by, created_at, completed_at)
             VALUES ('{done}', 6, 6, 1, 'r1', '{done}.png', 'd1', 10, 20),
                    ('{open}', 9, 4, 0, 'r2', '{open}.png', 'd2', 30, NULL);
             INSERT INTO attachment_chunks (sha256, offset, bytes)
             VALUES ('{done}', 0, X'010203'), ('{done}', 3, X'040506'),
                    ('{open}', 0, X'07080900');"
        ))
        .unwrap();
        migrate(&mut conn, "epoch").unwrap();

        let chunks: Vec<(String, i64, Vec<u8>)> = conn
            .prepare(
                "SELECT a.sha256, c.\"offset\", c.bytes FROM attachment_chunks c
                 JOIN attachments a ON a.id = c.upload_id ORDER BY a.sha256, c.\"offset\"",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            chunks,
            [
                (done.clone(), 0, vec![1, 2, 3]),
                (done.clone(), 3, vec![4, 5, 6]),
                (open.clone(), 0, vec![7, 8, 9, 0]),
            ]
        );
        let grants: Vec<(String, String, String, bool)> = conn
            .prepare("SELECT sha256, record_id, device_id, referenced FROM attachment_grants")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(grants, [(done, "r1".into(), "d1".into(), true)]);
        let touched: i64 = conn
            .query_row(
                "SELECT touched_at FROM attachments WHERE NOT complete",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(touched, 30);
    }
}
