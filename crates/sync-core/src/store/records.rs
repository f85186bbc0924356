//! SQL for record rows, their chunks and the outbox.

use automerge::{ActorId, Change, ChangeHash};
use forms::Answers;
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::OutboxItem;
use crate::error::{CoreError, Result};
use crate::record::{FormRef, RecordDoc, RecordKind, RecordMeta, Scope};

/// A record as listed: metadata and current fields, read without loading its document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// The record's metadata.
    pub meta: RecordMeta,
    /// Its current fields.
    pub fields: Answers,
    /// Last written on this device, unix seconds.
    pub updated_at: i64,
    /// Whether some field holds concurrent values.
    pub has_conflicts: bool,
}

/// Which records to list. Pages are keyed by id: pass the last id seen as `after`.
#[derive(Debug, Clone, Default)]
pub struct RecordFilter {
    /// Only this kind.
    pub kind: Option<RecordKind>,
    /// Only records within this scope (see [`Scope::contains`]).
    pub scope: Option<Scope>,
    /// Only records answering this form.
    pub form_id: Option<String>,
    /// Only records whose id sorts after this one.
    pub after: Option<Uuid>,
    /// At most this many (0 means 100).
    pub limit: usize,
}

/// What a new record's row stores besides its metadata: computed apart from the
/// insert, so a page's new records can be prepared on every core.
pub(crate) struct NewRow {
    snapshot: Vec<u8>,
    fields: String,
    conflicts: bool,
}

/// Prepare a new record's row. Its first snapshot is the record's changes as they are
/// (`raw`: a document loads from concatenated changes), which spares a full save per
/// new record; compaction writes a real snapshot later. When some changes still wait
/// for their dependencies, a full save is stored instead. `changes` is how many changes
/// the record was built from: one change alone cannot hold concurrent values, which
/// spares the walk looking for them.
pub(crate) fn prepare(doc: &mut RecordDoc, raw: Vec<u8>, changes: usize) -> NewRow {
    let snapshot = if doc.automerge().get_missing_deps(&[]).is_empty() {
        raw
    } else {
        doc.save()
    };
    NewRow {
        snapshot,
        fields: serde_json::to_string(&doc.fields()).unwrap_or_else(|_| "{}".into()),
        conflicts: changes > 1 && doc.has_conflicts(),
    }
}

/// Insert a new record's row.
pub(crate) fn insert(conn: &Connection, meta: &RecordMeta, row: NewRow, now: i64) -> Result<()> {
    let NewRow {
        snapshot,
        fields,
        conflicts,
    } = row;
    conn.prepare_cached(
        "INSERT INTO records (id, kind, partnership, organization, neighborhood, family, program,
            form_id, form_version, created_by, created_at, updated_at, snapshot, chunk_count,
            fields, has_conflicts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, ?15)",
    )?
    .execute(params![
        meta.id.to_string(),
        meta.kind.as_str(),
        meta.scope.partnership,
        meta.scope.organization,
        meta.scope.neighborhood,
        meta.scope.family,
        meta.scope.program,
        meta.form.as_ref().map(|f| f.id.as_str()),
        meta.form.as_ref().map(|f| f.version),
        meta.created_by,
        meta.created_at,
        now,
        snapshot,
        fields,
        conflicts,
    ])?;
    Ok(())
}

/// Save `changes` (already applied to `doc`) as chunks after the record's snapshot;
/// fold everything into a fresh snapshot once `compact_after` chunks have piled up.
pub(crate) fn append_chunks(
    conn: &Connection,
    doc: &mut RecordDoc,
    changes: &[Change],
    now: i64,
    compact_after: u32,
) -> Result<()> {
    let id = doc.id().to_string();
    let chunk_count: u32 = conn
        .prepare_cached("SELECT chunk_count FROM records WHERE id = ?1")?
        .query_row([&id], |r| r.get(0))?;
    let fields = serde_json::to_string(&doc.fields()).unwrap_or_else(|_| "{}".into());
    let conflicts = doc.has_conflicts();
    let total = chunk_count + changes.len() as u32;
    // Changes still waiting for their dependencies live only in the chunks: keep them.
    let complete = doc.automerge().get_missing_deps(&[]).is_empty();
    if total >= compact_after && complete {
        let snapshot = doc.save();
        conn.prepare_cached("DELETE FROM record_chunks WHERE record_id = ?1")?
            .execute([&id])?;
        conn.prepare_cached(
            "UPDATE records SET snapshot = ?2, chunk_count = 0, fields = ?3, has_conflicts = ?4,
                updated_at = ?5 WHERE id = ?1",
        )?
        .execute(params![id, snapshot, fields, conflicts, now])?;
        return Ok(());
    }
    let mut insert = conn
        .prepare_cached("INSERT INTO record_chunks (record_id, seq, bytes) VALUES (?1, ?2, ?3)")?;
    for (i, change) in changes.iter().enumerate() {
        insert.execute(params![id, chunk_count + i as u32, change.raw_bytes()])?;
    }
    conn.prepare_cached(
        "UPDATE records SET chunk_count = ?2, fields = ?3, has_conflicts = ?4, updated_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![id, total, fields, conflicts, now])?;
    Ok(())
}

/// Queue a locally made change for the server.
pub(crate) fn push_outbox(conn: &Connection, id: Uuid, change: &Change, now: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO outbox (hash, record_id, bytes, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        change.hash().as_ref(),
        id.to_string(),
        change.raw_bytes(),
        now
    ])?;
    Ok(())
}

/// Whether a record row exists.
pub(crate) fn exists(conn: &Connection, id: Uuid) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM records WHERE id = ?1")?
        .query_row([id.to_string()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Remove a record and everything about it (a tombstone from the server).
pub(crate) fn remove(conn: &Connection, id: Uuid) -> Result<()> {
    let key = id.to_string();
    for sql in [
        "DELETE FROM records WHERE id = ?1",
        "DELETE FROM record_chunks WHERE record_id = ?1",
        "DELETE FROM outbox WHERE record_id = ?1",
        "DELETE FROM quarantine WHERE record_id = ?1",
    ] {
        conn.prepare_cached(sql)?.execute([&key])?;
    }
    Ok(())
}

/// Load a record's document: snapshot, then its chunks in order.
pub(crate) fn load(conn: &Connection, id: Uuid, actor: &ActorId) -> Result<Option<RecordDoc>> {
    let key = id.to_string();
    let snapshot: Option<Vec<u8>> = conn
        .prepare_cached("SELECT snapshot FROM records WHERE id = ?1")?
        .query_row([&key], |r| r.get(0))
        .optional()?;
    let Some(snapshot) = snapshot else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare_cached("SELECT bytes FROM record_chunks WHERE record_id = ?1 ORDER BY seq")?;
    let chunks = stmt
        .query_map([&key], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let doc = RecordDoc::load(
        &snapshot,
        chunks.iter().map(Vec::as_slice),
        Some(actor.clone()),
    )
    .map_err(|e| CoreError::Malformed {
        id: key.clone(),
        reason: format!("stored document does not load: {e}"),
    })?;
    Ok(Some(doc))
}

/// The oldest outbox entries.
pub(crate) fn outbox(conn: &Connection, limit: usize) -> Result<Vec<OutboxItem>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, hash, record_id, bytes FROM outbox ORDER BY seq LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Vec<u8>>(3)?,
        ))
    })?;
    let mut items = Vec::new();
    for row in rows {
        let (seq, hash, record_id, bytes) = row?;
        let malformed = |reason: &str| CoreError::Malformed {
            id: record_id.clone(),
            reason: reason.into(),
        };
        items.push(OutboxItem {
            seq,
            hash: ChangeHash::try_from(hash.as_slice())
                .map_err(|_| malformed("bad change hash in outbox"))?,
            record_id: Uuid::parse_str(&record_id).map_err(|_| malformed("bad id in outbox"))?,
            bytes,
        });
    }
    Ok(items)
}

/// List records matching a filter, by id.
pub(crate) fn list(conn: &Connection, filter: &RecordFilter) -> Result<Vec<RecordSummary>> {
    let mut sql = String::from(
        "SELECT id, kind, partnership, organization, neighborhood, family, program, form_id,
                form_version, created_by, created_at, updated_at, fields, has_conflicts
         FROM records WHERE 1 = 1",
    );
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut add = |clause: &str, value: Box<dyn rusqlite::ToSql>| {
        args.push(value);
        sql.push_str(&format!(" AND {clause} = ?{}", args.len()));
    };
    if let Some(kind) = filter.kind {
        add("kind", Box::new(kind.as_str()));
    }
    if let Some(scope) = &filter.scope {
        add("partnership", Box::new(scope.partnership.clone()));
        let levels = [
            ("organization", &scope.organization),
            ("neighborhood", &scope.neighborhood),
            ("family", &scope.family),
            ("program", &scope.program),
        ];
        for (column, value) in levels {
            if let Some(value) = value {
                add(column, Box::new(value.clone()));
            }
        }
    }
    if let Some(form) = &filter.form_id {
        add("form_id", Box::new(form.clone()));
    }
    if let Some(after) = filter.after {
        args.push(Box::new(after.to_string()));
        sql.push_str(&format!(" AND id > ?{}", args.len()));
    }
    let limit = if filter.limit == 0 { 100 } else { filter.limit };
    sql.push_str(&format!(" ORDER BY id LIMIT {limit}"));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), summary)?;
    rows.map(|r| r.map_err(CoreError::from).and_then(|r| r))
        .collect()
}

fn summary(r: &Row<'_>) -> rusqlite::Result<Result<RecordSummary>> {
    let id: String = r.get(0)?;
    let kind: String = r.get(1)?;
    let fields: String = r.get(12)?;
    let form = match (r.get::<_, Option<String>>(7)?, r.get::<_, Option<u32>>(8)?) {
        (Some(id), Some(version)) => Some(FormRef { id, version }),
        _ => None,
    };
    let malformed = |reason: String| CoreError::Malformed {
        id: id.clone(),
        reason,
    };
    let parsed = (|| {
        Ok(RecordSummary {
            meta: RecordMeta {
                kind: kind
                    .parse()
                    .map_err(|e: crate::record::UnknownKind| malformed(e.to_string()))?,
                id: Uuid::parse_str(&id).map_err(|_| malformed("id is not a UUID".into()))?,
                scope: Scope {
                    partnership: r.get(2)?,
                    organization: r.get(3)?,
                    neighborhood: r.get(4)?,
                    family: r.get(5)?,
                    program: r.get(6)?,
                },
                form,
                created_by: r.get(9)?,
                created_at: r.get(10)?,
            },
            fields: serde_json::from_str(&fields).map_err(|e| malformed(e.to_string()))?,
            updated_at: r.get(11)?,
            has_conflicts: r.get(13)?,
        })
    })();
    Ok(parsed)
}
