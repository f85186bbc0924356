//! The log's statements on SQLite, behind `LogTx` (`super::log_tx`): the change log,
//! the records' rows as a push writes them, and the feed as a pull reads it, prepared
//! and cached on the connection (the push path's speed lives here). Functions take a
//! connection (or a transaction, which derefs to one).

use rusqlite::{params, Connection, OptionalExtension};
use sync_core::Scope;

use super::StorageError;

/// The record a logged change belongs to, if the change is in the log.
pub fn change_record(conn: &Connection, hash: &[u8]) -> Result<Option<String>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT record_id FROM changes WHERE hash = ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?)
}

/// A change to append to the log.
pub struct LoggedChange<'a> {
    /// Its hash.
    pub hash: &'a [u8],
    /// Its record.
    pub record_id: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// Its Automerge actor.
    pub actor: &'a [u8],
}

/// Append a change to the log; its sequence number.
pub fn append_change(
    conn: &Connection,
    change: LoggedChange<'_>,
    user_id: &str,
    device_id: &str,
    now: i64,
) -> Result<i64, StorageError> {
    conn.prepare_cached(
        "INSERT INTO changes (hash, record_id, bytes, user_id, device_id, received_at, actor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        change.hash,
        change.record_id,
        change.bytes,
        user_id,
        device_id,
        now,
        change.actor
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Where a record's document is kept: its snapshot (if any), the last sequence the
/// snapshot covers, and how many logged changes came since.
pub struct DocState {
    /// The compacted document, if one was saved.
    pub snapshot: Option<Vec<u8>>,
    /// The last log sequence folded into the snapshot (0: none).
    pub snapshot_seq: i64,
    /// Changes logged after the snapshot.
    pub pending: i64,
}

/// The document state of a record, if the record exists.
pub fn doc_state(conn: &Connection, id: &str) -> Result<Option<DocState>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT snapshot, snapshot_seq, pending FROM records WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(DocState {
                snapshot: r.get(0)?,
                snapshot_seq: r.get(1)?,
                pending: r.get(2)?,
            })
        })
        .optional()?)
}

/// The bytes of a record's logged changes after `seq`, in log order.
pub fn record_changes_after(
    conn: &Connection,
    id: &str,
    seq: i64,
) -> Result<Vec<Vec<u8>>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT bytes FROM changes WHERE record_id = ?1 AND seq > ?2 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![id, seq], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A record's row as the push writes it: fields, issues and heads already JSON text
/// (serialized ahead of the write transaction, on every core).
#[derive(Debug, Clone)]
pub struct RowWrite {
    /// Record id.
    pub id: String,
    /// Kind name.
    pub kind: &'static str,
    /// Scope.
    pub scope: Scope,
    /// Form id and version.
    pub form: Option<(String, u32)>,
    /// Creator.
    pub created_by: String,
    /// Creation time (record metadata), unix seconds.
    pub created_at: i64,
    /// Last change received, unix seconds.
    pub updated_at: i64,
    /// Heads, a JSON array of hex strings.
    pub heads: String,
    /// The current fields, JSON.
    pub fields: String,
    /// Whether a field holds concurrent values.
    pub has_conflicts: bool,
    /// Soft validation issues, JSON.
    pub issues: String,
    /// The record's follow-ups, flat JSON (see `storage::followups::row_json`).
    pub followups: String,
}

/// Insert or replace a record's row; `snapshot` is `None` to keep the stored one.
pub fn upsert_record(
    conn: &Connection,
    row: &RowWrite,
    snapshot: Option<(&[u8], i64)>,
    pending: i64,
) -> Result<(), StorageError> {
    let (form_id, form_version) = match &row.form {
        Some((id, v)) => (Some(id.as_str()), Some(*v)),
        None => (None, None),
    };
    let (snap, snap_seq) = match snapshot {
        Some((bytes, seq)) => (Some(bytes), Some(seq)),
        None => (None, None),
    };
    conn.prepare_cached(
        "INSERT INTO records (id, kind, partnership, organization, neighborhood, family, program,
             form_id, form_version, created_by, created_at, updated_at, heads, fields,
             has_conflicts, issues, snapshot, snapshot_seq, pending, followups)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
             COALESCE(?18, 0), ?19, ?20)
         ON CONFLICT (id) DO UPDATE SET
             updated_at = excluded.updated_at, heads = excluded.heads,
             fields = excluded.fields, has_conflicts = excluded.has_conflicts,
             issues = excluded.issues, followups = excluded.followups,
             snapshot = COALESCE(excluded.snapshot, records.snapshot),
             snapshot_seq = COALESCE(?18, records.snapshot_seq),
             pending = excluded.pending",
    )?
    .execute(params![
        row.id,
        row.kind,
        row.scope.partnership,
        row.scope.organization,
        row.scope.neighborhood,
        row.scope.family,
        row.scope.program,
        form_id,
        form_version,
        row.created_by,
        row.created_at,
        row.updated_at,
        row.heads,
        row.fields,
        row.has_conflicts,
        row.issues,
        snap,
        snap_seq,
        pending,
        row.followups,
    ])?;
    Ok(())
}

/// The feed's high-water mark (0 when empty); see [`super::sql::Dialect::high_water_sql`].
pub fn max_seq(conn: &Connection) -> Result<i64, StorageError> {
    Ok(conn
        .prepare_cached(super::sql::Dialect::Sqlite.high_water_sql())?
        .query_row([], |r| r.get(0))?)
}

/// One row of the feed.
pub struct FeedRow {
    /// Sequence number.
    pub seq: i64,
    /// Record id.
    pub record_id: String,
    /// Change bytes.
    pub bytes: Vec<u8>,
}

/// A scope as the five optional columns it filters on.
#[allow(clippy::type_complexity)]
pub(super) fn scope_params(
    scope: Option<&Scope>,
) -> (
    Option<&str>,
    Option<&str>,
    Option<&str>,
    Option<&str>,
    Option<&str>,
) {
    match scope {
        None => (None, None, None, None, None),
        Some(s) => (
            Some(s.partnership.as_str()),
            s.organization.as_deref(),
            s.neighborhood.as_deref(),
            s.family.as_deref(),
            s.program.as_deref(),
        ),
    }
}

/// Log rows with `after < seq <= upto` whose record lies within `scope` (every record
/// for `None`), in order, at most `limit`. `visit` gets each row and returns whether to
/// go on.
/// Changes made by `exclude_actor` are left out.
pub fn feed(
    conn: &Connection,
    scope: Option<&Scope>,
    exclude_actor: Option<&[u8]>,
    after: i64,
    upto: i64,
    limit: i64,
    mut visit: impl FnMut(FeedRow) -> bool,
) -> Result<(), StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.seq, c.record_id, c.bytes FROM changes c JOIN records r ON r.id = c.record_id
         WHERE c.seq > ?1 AND c.seq <= ?2
           AND (?3 IS NULL OR r.partnership = ?3)
           AND (?4 IS NULL OR r.organization = ?4)
           AND (?5 IS NULL OR r.neighborhood = ?5)
           AND (?6 IS NULL OR r.family = ?6)
           AND (?3 IS NULL OR r.program IS ?7)
           AND (?9 IS NULL OR c.actor IS NULL OR c.actor != ?9)
         ORDER BY c.seq LIMIT ?8",
    )?;
    let (p, o, n, f, g) = scope_params(scope);
    let mut rows = stmt.query(params![after, upto, p, o, n, f, g, limit, exclude_actor])?;
    while let Some(row) = rows.next()? {
        let item = FeedRow {
            seq: row.get(0)?,
            record_id: row.get(1)?,
            bytes: row.get(2)?,
        };
        if !visit(item) {
            break;
        }
    }
    Ok(())
}
