//! Consent withdrawal: purging a household or a person removes every record about
//! them (the household or person itself, its members, and every record whose answers
//! name one of them: `household`, `_household`, `person`, `_person`) with all of their
//! change history, in one transaction. Each removed record leaves:
//!
//! - a tombstone in the feed, with a `seq` drawn from the change log's own sequence,
//!   so every device that may see the record receives it in feed order and deletes
//!   its copy;
//! - an audit row: who purged what id, when and why, and nothing of the data.
//!
//! The connection runs with `secure_delete` (deleted content is overwritten), and the
//! write-ahead log is checkpointed and truncated afterwards, so the answers are gone
//! from the database files, not merely unreachable.

use rusqlite::{params, Connection, OptionalExtension};
use sync_core::{RecordKind, Scope};
use uuid::Uuid;

use super::{now, Storage, StorageError};
use crate::auth::Caller;

/// The most records one purge removes (a household with its members and their
/// responses is a few dozen).
const MAX_RECORDS: usize = 10_000;

/// What a purge removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PurgeReport {
    /// Every record removed, the subject first.
    pub records: Vec<String>,
    /// Logged changes deleted.
    pub changes: usize,
}

/// Fields whose answer names the household or person a record is about.
const LINKS: [&str; 4] = ["household", "_household", "person", "_person"];

impl Storage {
    /// Purge `subject` (a household or a person) and every record about it, as
    /// `caller`, for `reason`. `Ok(None)` when there is no such household or person
    /// within the caller's scope (the same answer for both).
    pub fn purge(
        &self,
        caller: &Caller,
        subject: Uuid,
        reason: &str,
    ) -> Result<Option<PurgeReport>, StorageError> {
        let reason = reason.trim();
        if reason.is_empty() || reason.len() > 500 {
            return Err(StorageError::Invalid(
                "say why the records are purged (1 to 500 characters)".into(),
            ));
        }
        let time = now();
        let report = self.write(|w| {
            let tx = w.conn.transaction()?;
            let Some((kind, scope)) = kind_and_scope(&tx, &subject.to_string())? else {
                return Ok(None);
            };
            let purgeable = matches!(kind.parse(), Ok(RecordKind::Household | RecordKind::Person));
            if !purgeable || !caller.may_see(&scope) {
                return Ok(None);
            }
            let ids = about(&tx, &subject.to_string())?;
            let mut changes = 0;
            let mut attachments = Vec::new();
            for id in &ids {
                let Some((kind, scope)) = kind_and_scope(&tx, id)? else {
                    continue;
                };
                attachments.extend(super::attachments::of_record(&tx, id)?);
                changes += tx.execute("DELETE FROM changes WHERE record_id = ?1", [id])?;
                tx.execute("DELETE FROM records WHERE id = ?1", [id])?;
                let seq = next_seq(&tx)?;
                tx.execute(
                    "INSERT INTO tombstones (seq, record_id, partnership, organization,
                         neighborhood, family, program, reason, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'consent_withdrawn', ?8)",
                    params![
                        seq,
                        id,
                        scope.partnership,
                        scope.organization,
                        scope.neighborhood,
                        scope.family,
                        scope.program,
                        time
                    ],
                )?;
                tx.execute(
                    "INSERT INTO purges (subject_id, record_id, kind, purged_by, purged_at, reason)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![subject.to_string(), id, kind, caller.user_id, time, reason],
                )?;
                if let Ok(uuid) = id.parse::<Uuid>() {
                    w.docs.pop(&uuid);
                }
            }
            // Their photos and signatures go too, unless another record names them.
            super::attachments::purge_unnamed(&tx, &attachments)?;
            tx.commit()?;
            truncate_wal(&w.conn);
            Ok(Some(PurgeReport {
                records: ids,
                changes,
            }))
        })?;
        if report.is_some() {
            self.forget_survey_cache();
            // The tombstones moved the feed: waiting pulls pass them on.
            self.announce()?;
            tracing::info!(subject = %subject, by = %caller.user_id, "records purged");
        }
        Ok(report)
    }
}

fn kind_and_scope(conn: &Connection, id: &str) -> Result<Option<(String, Scope)>, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT kind, partnership, organization, neighborhood, family, program
             FROM records WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get(0)?,
                Scope {
                    partnership: r.get(1)?,
                    organization: r.get(2)?,
                    neighborhood: r.get(3)?,
                    family: r.get(4)?,
                    program: r.get(5)?,
                },
            ))
        })
        .optional()?)
}

/// The subject and every record about it, the members of a household included (and
/// the records about them), subject first.
fn about(conn: &Connection, subject: &str) -> Result<Vec<String>, StorageError> {
    let linked = LINKS
        .iter()
        .map(|f| format!("json_extract(fields, '$.{f}') = ?1"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let mut stmt = conn.prepare_cached(&format!("SELECT id, kind FROM records WHERE {linked}"))?;
    let mut ids = vec![subject.to_string()];
    let mut next = 0;
    while next < ids.len() && ids.len() < MAX_RECORDS {
        let at = ids[next].clone();
        next += 1;
        // Only the subject and people reach further: a response names nobody below it.
        if next > 1 && kind_and_scope(conn, &at)?.is_none_or(|(k, _)| k != "person") {
            continue;
        }
        let found = stmt
            .query_map([&at], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        for id in found {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// A new number from the change log's sequence (AUTOINCREMENT keeps it in
/// `sqlite_sequence`), so tombstones and changes share one feed order.
fn next_seq(conn: &Connection) -> Result<i64, StorageError> {
    conn.execute(
        "INSERT INTO sqlite_sequence (name, seq) SELECT 'changes', 0
         WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'changes')",
        [],
    )?;
    Ok(conn.query_row(
        "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'changes' RETURNING seq",
        [],
        |r| r.get(0),
    )?)
}

/// Copy the write-ahead log into the database and cut it to nothing, so the old pages
/// it held (with the purged answers) leave the disk. A reader in the middle of a
/// transaction holds the log; wait for it a little.
fn truncate_wal(conn: &Connection) {
    for _ in 0..50 {
        let busy: Result<i64, _> =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
        match busy {
            Ok(0) => return,
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => {
                tracing::warn!(error = %e, "checkpoint after a purge failed");
                return;
            }
        }
    }
    tracing::warn!(
        "the write-ahead log stayed busy after a purge; it is truncated at the next checkpoint"
    );
}

/// Tombstones with `after < seq <= upto` whose record was within `scope` (all for
/// `None`): (record id, reason).
pub(super) fn tombstones(
    conn: &Connection,
    scope: Option<&Scope>,
    after: i64,
    upto: i64,
) -> Result<Vec<(String, String)>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT record_id, reason FROM tombstones
         WHERE seq > ?1 AND seq <= ?2
           AND (?3 IS NULL OR partnership = ?3)
           AND (?4 IS NULL OR organization = ?4)
           AND (?5 IS NULL OR neighborhood = ?5)
           AND (?6 IS NULL OR family = ?6)
           AND (?3 IS NULL OR program IS ?7)
         ORDER BY seq",
    )?;
    let (p, o, n, f, g) = super::sqlite::scope_params(scope);
    let rows = stmt
        .query_map(params![after, upto, p, o, n, f, g], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
