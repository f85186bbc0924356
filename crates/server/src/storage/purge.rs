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
//! Their attachments go with them: the uploads begun for them, and the bytes that no
//! other record's device uploaded (see `attachments::purge_records`).
//!
//! On SQLite the connection runs with `secure_delete` (deleted content is overwritten),
//! and the write-ahead log is checkpointed and truncated afterwards, so the answers are
//! gone from the database files, not merely unreachable. On PostgreSQL the rows are
//! gone from every query at commit; their bytes stay in the table files as dead tuples
//! until a vacuum reclaims the space (the README says how to make sure).

use sync_core::{RecordKind, Scope};
use uuid::Uuid;

use super::dialect::next_feed_seq;
use super::sql::{args, scope_args, scope_filter, Sql};
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
        let purge = Purge {
            caller,
            subject: subject.to_string(),
            reason,
            time: now(),
        };
        let report = self.write_feed(
            || (),
            |tx, ()| {
                let report = purge.run(tx.sql)?;
                // The push's document cache must not bring a purged record back.
                for id in report.iter().flat_map(|r| &r.records) {
                    if let Ok(uuid) = id.parse::<Uuid>() {
                        tx.docs.pop(&uuid);
                    }
                }
                Ok((report, Vec::new()))
            },
        )?;
        if report.is_some() {
            // The tombstones moved the feed (announced by the write turn): waiting
            // pulls pass them on, and every node's indicator cache drops the records
            // (it reads tombstones).
            self.db().after_purge();
            tracing::info!(subject = %subject, by = %caller.user_id, "records purged");
        }
        Ok(report)
    }
}

/// One purge to run inside a transaction.
struct Purge<'a> {
    caller: &'a Caller,
    subject: String,
    reason: &'a str,
    time: i64,
}

impl Purge<'_> {
    /// Delete the subject and every record about it, leaving tombstones and audit
    /// rows; `None` when the subject is not a household or person the caller sees.
    fn run(&self, tx: &dyn Sql) -> Result<Option<PurgeReport>, StorageError> {
        let Some((kind, scope)) = kind_and_scope(tx, &self.subject)? else {
            return Ok(None);
        };
        let purgeable = matches!(kind.parse(), Ok(RecordKind::Household | RecordKind::Person));
        if !purgeable || !self.caller.may_see(&scope) {
            return Ok(None);
        }
        let ids = about(tx, &self.subject)?;
        let mut changes = 0;
        for id in &ids {
            let Some((kind, scope)) = kind_and_scope(tx, id)? else {
                continue;
            };
            changes += tx.execute("DELETE FROM changes WHERE record_id = ?1", &args![id])?;
            tx.execute("DELETE FROM records WHERE id = ?1", &args![id])?;
            let seq = next_feed_seq(tx)?;
            tx.execute(
                "INSERT INTO tombstones (seq, record_id, partnership, organization,
                     neighborhood, family, program, reason, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'consent_withdrawn', ?8)",
                &args![
                    seq,
                    id,
                    &scope.partnership,
                    scope.organization.as_deref(),
                    scope.neighborhood.as_deref(),
                    scope.family.as_deref(),
                    scope.program.as_deref(),
                    self.time
                ],
            )?;
            tx.execute(
                "INSERT INTO purges (subject_id, record_id, kind, purged_by, purged_at, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                &args![
                    &self.subject,
                    id,
                    kind,
                    self.caller.user_id.as_str(),
                    self.time,
                    self.reason
                ],
            )?;
        }
        // Their photos and signatures go too, unless another record's device uploaded
        // the same bytes for it (a record merely naming the hash keeps nothing).
        super::attachments::purge_records(tx, &ids)?;
        Ok(Some(PurgeReport {
            records: ids,
            changes: changes as usize,
        }))
    }
}

fn kind_and_scope(conn: &dyn Sql, id: &str) -> Result<Option<(String, Scope)>, StorageError> {
    let Some(r) = conn.row(
        "SELECT kind, partnership, organization, neighborhood, family, program
         FROM records WHERE id = ?1",
        &args![id],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((r.get(0)?, r.scope(1)?)))
}

/// The subject and every record about it, the members of a household included (and
/// the records about them), subject first.
fn about(conn: &dyn Sql, subject: &str) -> Result<Vec<String>, StorageError> {
    let linked = LINKS
        .iter()
        .map(|f| format!("{} = ?1", conn.dialect().json_text("fields", f)))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!("SELECT id FROM records WHERE {linked}");
    let mut ids = vec![subject.to_string()];
    let mut next = 0;
    while next < ids.len() && ids.len() < MAX_RECORDS {
        let at = ids[next].clone();
        next += 1;
        // Only the subject and people reach further: a response names nobody below it.
        if next > 1 && kind_and_scope(conn, &at)?.is_none_or(|(k, _)| k != "person") {
            continue;
        }
        for row in conn.rows(&sql, &args![at.as_str()])? {
            let id: String = row.get(0)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    Ok(ids)
}

/// Tombstones with `after < seq <= upto` whose record was within `scope` (all for
/// `None`): (record id, reason).
pub(super) fn tombstones(
    conn: &dyn Sql,
    scope: Option<&Scope>,
    after: i64,
    upto: i64,
) -> Result<Vec<(String, String)>, StorageError> {
    let sql = format!(
        "SELECT record_id, reason FROM tombstones WHERE seq > ?1 AND seq <= ?2{} ORDER BY seq",
        scope_filter("", 3)
    );
    let [p, o, n, f, g] = scope_args(scope);
    conn.rows(&sql, &[after.into(), upto.into(), p, o, n, f, g])?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}
