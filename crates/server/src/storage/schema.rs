//! The schema and its migrations (the `user_version` pragma counts them), and the
//! one rule both databases migrate by ([`pending`]).
//!
//! Why not a migration crate (refinery has rusqlite and tokio-postgres drivers): it
//! keeps its own history table with a checksum of each migration's text, so every
//! existing database (SQLite counting in `user_version`, PostgreSQL in
//! `schema_migrations`) would first need its history faked in, and an edit to an old
//! migration's comment would stop the server at start; it takes no lock of its own
//! across PostgreSQL nodes, so ours would stay around it; and it needs Rust 1.92
//! where the workspace promises 1.85. What it would bring is the loop below.

use rusqlite::Connection;

use super::StorageError;

/// SQLite's migrations in order: migration `i` takes the schema from version `i` to
/// `i + 1`.
const MIGRATIONS: &[&str] = &[
    SCHEMA_V1, SCHEMA_V2, SCHEMA_V3, SCHEMA_V4, SCHEMA_V5, SCHEMA_V6, SCHEMA_V7, SCHEMA_V8,
    SCHEMA_V9,
];

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A database's schema is newer than the code reading it (a newer server migrated
/// it): refused, never written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooNew {
    /// The version found.
    pub found: i64,
    /// The newest the code knows.
    pub supported: i64,
}

/// The migrations a database found at version `found` still needs, each with the
/// version it brings the schema to, in order: the rule SQLite's [`migrate`] and
/// PostgreSQL's (`pg::schema::migrate`) share. Each runs them in one transaction of
/// its own and records the version its own way (`user_version`, `schema_migrations`),
/// as their databases already count.
pub fn pending<'a>(
    found: i64,
    migrations: &'a [&'a str],
) -> Result<impl Iterator<Item = (i64, &'a str)> + 'a, TooNew> {
    let supported = migrations.len() as i64;
    if found > supported {
        return Err(TooNew { found, supported });
    }
    Ok(migrations
        .iter()
        .enumerate()
        .skip(found.max(0) as usize)
        .map(|(i, sql)| (i as i64 + 1, *sql)))
}

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

/// Version 8, running the partnership from the browser (issue 22): a user's language
/// and deactivation; the managed lists scopes choose from (organizations,
/// neighborhoods, programs, with a program's confidentiality); the audit log of staff
/// acts (who, what, to whom, when, from where); one-time password-reset codes (stored
/// as hashes); and each record's follow-up marks (assigned to, done), materialized
/// from its document like its fields.
const SCHEMA_V8: &str = "
ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
ALTER TABLE records ADD COLUMN followups TEXT NOT NULL DEFAULT '{}';
CREATE TABLE managed_lists (
    kind         TEXT NOT NULL,
    code         TEXT NOT NULL,
    label        TEXT NOT NULL,
    confidential INTEGER NOT NULL DEFAULT 0,
    active       INTEGER NOT NULL DEFAULT 1,
    created_by   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (kind, code)
);
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail  TEXT NOT NULL,
    address TEXT NOT NULL
);
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX records_by_form ON records (form_id, created_at, id, partnership, organization,
    neighborhood, family, program, created_by) WHERE form_id IS NOT NULL;
CREATE TABLE password_resets (
    code_hash  BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
";

/// Version 9, Results-Based Accountability: the indicators an administrator put on the
/// public community scorecard, and each program's declared performance measures (a JSON
/// declaration: its forms, period, measures and the indicators it contributes to).
const SCHEMA_V9: &str = "
CREATE TABLE public_indicators (
    indicator  TEXT PRIMARY KEY,
    enabled_by TEXT NOT NULL,
    enabled_at INTEGER NOT NULL
);
CREATE TABLE program_measures (
    program     TEXT PRIMARY KEY,
    declaration TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
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

/// Bring the schema up to [`SCHEMA_VERSION`], every pending migration in one
/// transaction; returns whether the database was new (it then gets `new_epoch`, in the
/// same transaction).
pub fn migrate(conn: &mut Connection, new_epoch: &str) -> Result<bool, StorageError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut todo = pending(found, MIGRATIONS)
        .map_err(|TooNew { found, supported }| StorageError::SchemaTooNew { found, supported })?
        .peekable();
    if todo.peek().is_none() {
        return Ok(false);
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for (version, sql) in todo {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
    }
    let new = found == 0;
    if new {
        tx.execute(
            "INSERT INTO settings (key, value) VALUES ('epoch', ?1)",
            [new_epoch],
        )?;
    }
    tx.commit()?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database as the migration code before the shared runner left it at
    /// `version`: the first `version` batches in order, the epoch written after the
    /// first, `user_version` set once at the end.
    fn made_by_the_old_ladder(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for (i, batch) in MIGRATIONS[..version].iter().enumerate() {
            conn.execute_batch(batch).unwrap();
            if i == 0 {
                conn.execute(
                    "INSERT INTO settings (key, value) VALUES ('epoch', 'old-epoch')",
                    [],
                )
                .unwrap();
            }
        }
        conn.pragma_update(None, "user_version", version as i64)
            .unwrap();
        conn
    }

    /// Every table and index as SQLite keeps its definition.
    fn definitions(conn: &Connection) -> Vec<(String, String, Option<String>)> {
        conn.prepare(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'
             ORDER BY type, name",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
    }

    fn epoch(conn: &Connection) -> String {
        conn.query_row("SELECT value FROM settings WHERE key = 'epoch'", [], |r| {
            r.get(0)
        })
        .unwrap()
    }

    #[test]
    fn pending_runs_what_a_database_lacks_and_refuses_a_newer_one() {
        let list = ["a", "b", "c"];
        let all: Vec<_> = pending(0, &list).unwrap().collect();
        assert_eq!(all, [(1, "a"), (2, "b"), (3, "c")]);
        let rest: Vec<_> = pending(2, &list).unwrap().collect();
        assert_eq!(rest, [(3, "c")]);
        assert_eq!(pending(3, &list).unwrap().count(), 0);
        assert_eq!(
            pending(4, &list).err(),
            Some(TooNew {
                found: 4,
                supported: 3
            })
        );
    }

    /// A file at the current version (made by the migrations one by one) opens as it
    /// is: nothing runs again, its rows and its epoch stay.
    #[test]
    fn a_file_at_the_current_version_opens_unchanged() {
        let mut conn = made_by_the_old_ladder(SCHEMA_VERSION as usize);
        conn.execute(
            "INSERT INTO form_files (form_id, version, name, kind, size, bytes, created_at)
             VALUES ('f', 1, 'f.xlsx', 'xlsx', 3, X'010203', 5)",
            [],
        )
        .unwrap();
        let before = definitions(&conn);
        assert!(
            !migrate(&mut conn, "new-epoch").unwrap(),
            "not a new database"
        );
        assert_eq!(definitions(&conn), before);
        assert_eq!(epoch(&conn), "old-epoch");
        let kept: i64 = conn
            .query_row("SELECT count(*) FROM form_files", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1);
    }

    /// From every older version, the same schema as a new database's, with the epoch
    /// it had; a new database gets the epoch it is given.
    #[test]
    fn every_older_version_migrates_to_the_new_schema() {
        let mut fresh = Connection::open_in_memory().unwrap();
        assert!(
            migrate(&mut fresh, "fresh-epoch").unwrap(),
            "a new database"
        );
        assert_eq!(epoch(&fresh), "fresh-epoch");
        let version: i64 = fresh
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let target = definitions(&fresh);
        for version in 1..SCHEMA_VERSION as usize {
            let mut conn = made_by_the_old_ladder(version);
            assert!(!migrate(&mut conn, "new-epoch").unwrap(), "from {version}");
            assert_eq!(definitions(&conn), target, "from {version}");
            assert_eq!(epoch(&conn), "old-epoch", "from {version}");
            let now: i64 = conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .unwrap();
            assert_eq!(now, SCHEMA_VERSION, "from {version}");
        }
    }

    #[test]
    fn a_newer_file_is_refused() {
        let mut conn = made_by_the_old_ladder(7);
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn, "e"),
            Err(StorageError::SchemaTooNew { found, supported })
                if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
        ));
    }

    /// A database at version 5 with a complete attachment (two chunks) named by its
    /// record, and an unfinished one: version 6 keeps both, the complete one granted to
    /// its record and readable chunk by chunk.
    #[test]
    fn version_6_keeps_the_attachments_of_version_5() {
        let mut conn = Connection::open_in_memory().unwrap();
        for batch in &MIGRATIONS[..5] {
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
