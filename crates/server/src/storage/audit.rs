//! The audit log: every act of staff on the partnership's people, places and
//! records (who, what, to whom, when, from where), written in the same transaction
//! as the act itself, so that no act is without its line and no line without its act.
//! Admins read it newest first.

use super::sql::{args, Sql};
use super::{Storage, StorageError};
use crate::auth::Caller;

/// One act, to log.
#[derive(Debug, Clone)]
pub struct Act<'a> {
    /// Who did it.
    pub actor: &'a Caller,
    /// Where the request came from (the client's address, or `unknown`).
    pub address: &'a str,
    /// What was done, as `noun.verb`: `user.create`, `user.deactivate`,
    /// `password.reset_code`, `list.add`, `followup.done`, `export.download`...
    pub action: &'a str,
    /// What it was done to: a user name, a record id, a list entry.
    pub subject: &'a str,
    /// Anything else worth knowing (the new role, a reason), short plain text.
    pub detail: String,
}

/// A line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Its number, in the order acts were logged.
    pub id: i64,
    /// When, unix seconds.
    pub at: i64,
    /// The actor's user name (their id when the user is gone).
    pub actor: String,
    /// What was done (`noun.verb`).
    pub action: String,
    /// What it was done to.
    pub subject: String,
    /// Details.
    pub detail: String,
    /// From where.
    pub address: String,
}

/// The most one page of the audit log shows.
pub const AUDIT_PAGE: usize = 100;

/// Log `act` on `sql`, inside the transaction that does it.
pub(crate) fn log(sql: &dyn Sql, act: &Act<'_>, at: i64) -> Result<(), StorageError> {
    let detail: String = act.detail.chars().take(1_000).collect();
    sql.execute(
        "INSERT INTO audit_log (at, actor, action, subject, detail, address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &args![
            at,
            act.actor.user_id.as_str(),
            act.action,
            act.subject,
            detail,
            act.address
        ],
    )?;
    Ok(())
}

impl Storage {
    /// Log an act that has no transaction of its own (a download, say).
    pub fn audit(&self, act: &Act<'_>) -> Result<(), StorageError> {
        let at = self.clock().now();
        self.transact(|sql| log(sql, act, at))
    }

    /// A page of the whole audit log, newest first: the lines numbered below `before`
    /// (all, when `None`), at most [`AUDIT_PAGE`].
    pub fn audit_log(&self, before: Option<i64>) -> Result<Vec<AuditEntry>, StorageError> {
        self.audit_log_of(None, before)
    }

    /// [`Storage::audit_log`] as an admin of `partnership` may read it (all of it for
    /// `None`, a server-wide admin): the acts of users of that partnership only. Acts
    /// of server-wide admins and of other partnerships' users are not theirs to see.
    pub fn audit_log_of(
        &self,
        partnership: Option<&str>,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StorageError> {
        self.with_sql(|sql| {
            let actors_partnership = sql.dialect().json_text("u.scope", "partnership");
            sql.rows(
                &format!(
                    "SELECT a.id, a.at, COALESCE(u.username, a.actor), a.action, a.subject,
                            a.detail, a.address
                     FROM audit_log a LEFT JOIN users u ON u.id = a.actor
                     WHERE a.id < ?1
                       AND (CAST(?3 AS TEXT) IS NULL OR {actors_partnership} = ?3)
                     ORDER BY a.id DESC LIMIT ?2"
                ),
                &args![before.unwrap_or(i64::MAX), AUDIT_PAGE as i64, partnership],
            )?
            .iter()
            .map(|r| {
                Ok(AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    subject: r.get(4)?,
                    detail: r.get(5)?,
                    address: r.get(6)?,
                })
            })
            .collect()
        })
    }
}
