//! What the two databases spell differently, asked of [`Dialect`] so that every other
//! module's SQL is written once: this is the only place that tells SQLite from
//! PostgreSQL above the seam (`super::database`).

use super::sql::{args, Sql};
use super::StorageError;

/// Which database a query runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

impl Dialect {
    /// An expression for the text of the top-level field `key` of the JSON held in
    /// `column` (NULL when absent). `key` must be a plain identifier.
    pub fn json_text(self, column: &str, key: &str) -> String {
        debug_assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        match self {
            Dialect::Sqlite => format!("json_extract({column}, '$.{key}')"),
            Dialect::Postgres => format!("(({column})::jsonb ->> '{key}')"),
        }
    }

    /// The query for the feed's high-water mark: the last sequence number handed out
    /// to a change or a tombstone (not `MAX(seq)`: a purge may delete the newest
    /// changes without moving cursors back).
    pub fn high_water_sql(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), 0)"
            }
            Dialect::Postgres => "SELECT last_seq FROM feed_sequence",
        }
    }

    /// `sql` (a SELECT) with its rows locked to the end of the transaction where
    /// writers overlap (PostgreSQL, across nodes); SQLite's one writer takes turns
    /// already.
    pub fn for_update(self, sql: &str) -> String {
        match self {
            Dialect::Sqlite => sql.to_string(),
            Dialect::Postgres => format!("{sql} FOR UPDATE"),
        }
    }

    /// A condition that the boolean `column` is true, spelled as each database's
    /// partial index on it is (`WHERE has_conflicts = 1` on SQLite, `WHERE
    /// has_conflicts` on PostgreSQL): the planners use a partial index only for a
    /// condition written like its own, and SQLite does not see `= TRUE` as `= 1`.
    pub fn is_true(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("{column} = 1"),
            Dialect::Postgres => column.to_string(),
        }
    }

    /// What goes before a column in a comparison so that the planner walks the
    /// ordered index instead of filtering by that column's own index: SQLite's unary
    /// `+`; PostgreSQL's planner needs no hint.
    pub fn walk_ordered_index(self) -> &'static str {
        match self {
            Dialect::Sqlite => "+",
            Dialect::Postgres => "",
        }
    }
}

/// Take the lock on `key` (in the named `space`: "form", "attachment") to the end of
/// the transaction, so that writers deciding on the same key take turns. Only
/// PostgreSQL needs it (nodes write at once); SQLite's one writer takes turns already.
pub(crate) fn take_turns(conn: &dyn Sql, space: &str, key: &str) -> Result<(), StorageError> {
    match conn.dialect() {
        Dialect::Sqlite => Ok(()),
        Dialect::Postgres => {
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(?1))",
                &args![format!("{space}:{key}")],
            )?;
            Ok(())
        }
    }
}

/// A new number from the feed's sequence, so tombstones and changes share one feed
/// order: on SQLite the change log's AUTOINCREMENT (kept in `sqlite_sequence`), on
/// PostgreSQL the counter row the feed's write turn has locked.
pub(crate) fn next_feed_seq(conn: &dyn Sql) -> Result<i64, StorageError> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => {
            conn.execute(
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'changes', 0
                 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'changes')",
                &[],
            )?;
            "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'changes' RETURNING seq"
        }
        Dialect::Postgres => "UPDATE feed_sequence SET last_seq = last_seq + 1 RETURNING last_seq",
    };
    conn.row(sql, &[])?
        .ok_or_else(|| StorageError::Corrupt("the feed's sequence is missing".into()))?
        .get(0)
}
