//! The follow-ups worklist: case notes whose follow-up date has come, referrals made,
//! parents who asked for a call back, households nobody has visited lately; and the
//! marks staff make on them (done, assigned), each an Automerge change made here and
//! taken through the same push path as a phone's (see `review.rs`), so that the phones
//! holding the record see it.
//!
//! The state lives in the record's document (`sync_core::record::Followup`); each
//! write of a record's row materializes it into `records.followups` as flat JSON,
//! `{"<kind>_<field>": value}` (`referral_done_at`, `callback_assigned_to`...), so that
//! the worklist reads rows with [`Dialect::json_text`](super::dialect::Dialect), never
//! documents. Every list starts from one record kind (the `records_by_kind` index)
//! and goes through [`Selection::conditions`], so nobody reads past their scope.

use automerge::ActorId;
use chrono::{Duration, NaiveDate};
use sync_core::protocol::{Bytes, PushResult, PushStatus, PushedChange};
use sync_core::record::FollowupMark;
use sync_core::{Commit, RecordDoc, Scope};
use uuid::Uuid;

use super::sql::{Row, Sql, Value};
use super::{Act, Selection, Storage, StorageError};
use crate::auth::{Caller, Role};

/// The most rows one section of the worklist shows.
pub const SECTION_ROWS: usize = 200;

/// The follow-up kinds, the record kind each lives on, and what staff call them.
pub const KINDS: [(&str, &str, &str); 4] = [
    ("followup", "case_note", "Case-note follow-up"),
    ("referral", "case_note", "Referral"),
    ("callback", "checkin", "Call back"),
    ("visit", "household", "Household visit"),
];

/// The record kind a follow-up kind lives on; `None` for an unknown follow-up kind.
pub fn record_kind_of(kind: &str) -> Option<&'static str> {
    KINDS.iter().find(|k| k.0 == kind).map(|k| k.1)
}

/// A record's follow-ups as its row stores them (flat JSON, see the module docs).
pub(crate) fn row_json(doc: &RecordDoc) -> String {
    let mut flat = serde_json::Map::new();
    for (kind, f) in doc.followups() {
        let mut put = |field: &str, value: serde_json::Value| {
            flat.insert(format!("{kind}_{field}"), value);
        };
        if let Some(v) = f.assigned_to {
            put("assigned_to", v.into());
        }
        if let Some(v) = f.done_at {
            put("done_at", v.into());
        }
        if let Some(v) = f.done_by {
            put("done_by", v.into());
        }
        if let Some(v) = f.note {
            put("note", v.into());
        }
    }
    serde_json::Value::Object(flat).to_string()
}

/// Whose follow-ups a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Assigned {
    /// Everyone's, assigned or not.
    #[default]
    Anyone,
    /// The caller's.
    ToMe,
    /// Nobody's yet.
    Nobody,
}

impl Assigned {
    /// From the query parameter `assigned` (`me`, `nobody`; anything else is anyone).
    pub fn parse(text: &str) -> Assigned {
        match text {
            "me" => Assigned::ToMe,
            "nobody" => Assigned::Nobody,
            _ => Assigned::Anyone,
        }
    }

    /// The query parameter's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Assigned::Anyone => "",
            Assigned::ToMe => "me",
            Assigned::Nobody => "nobody",
        }
    }
}

/// What the worklist shows: the day it is, the day visits count from, whose
/// follow-ups, and the staff's filters (neighborhood).
#[derive(Debug, Clone)]
pub struct WorklistQuery {
    /// Today (from the storage's clock: [`Storage::today`]).
    pub today: NaiveDate,
    /// Households not visited since this day.
    pub since: NaiveDate,
    /// Whose follow-ups.
    pub assigned: Assigned,
    /// Further filters (a neighborhood).
    pub selection: Selection,
}

/// One row of the worklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowupItem {
    /// The record it lives on.
    pub record_id: String,
    /// The follow-up kind (`followup`, `referral`, `callback`, `visit`).
    pub kind: &'static str,
    /// Whom it is about: the participant, the child, the household's address.
    pub whom: String,
    /// The household (family id), if the record names one.
    pub family: Option<String>,
    /// The neighborhood.
    pub neighborhood: Option<String>,
    /// When it is due (`YYYY-MM-DD`): the follow-up date; for other kinds the day the
    /// record was made.
    pub due: String,
    /// Whether it is past due (case-note follow-ups only).
    pub overdue: bool,
    /// Who it is assigned to (a user id).
    pub assigned_to: Option<String>,
}

/// The worklist's sections.
#[derive(Debug, Clone, Default)]
pub struct Worklist {
    /// Case-note follow-ups due today or before, not done, oldest first.
    pub due: Vec<FollowupItem>,
    /// Referrals made, not done.
    pub referrals: Vec<FollowupItem>,
    /// Call backs asked for, not done.
    pub callbacks: Vec<FollowupItem>,
    /// Households nobody has visited since the chosen day.
    pub visits: Vec<FollowupItem>,
}

/// The dashboard's follow-up counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowupCounts {
    /// Case-note follow-ups due today.
    pub due_today: i64,
    /// Case-note follow-ups past due.
    pub overdue: i64,
    /// Referrals made and not done.
    pub referrals_open: i64,
    /// Call backs asked for and not done.
    pub callbacks_open: i64,
}

/// A user a follow-up may be assigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignee {
    /// User id.
    pub id: String,
    /// User name.
    pub username: String,
    /// What they may see (`None`: everything).
    pub scope: Option<Scope>,
}

/// `AND ...` for one section: records of `record_kind` within the selection and
/// scope, whose follow-up of `kind` is not done, and the assignment filter.
fn section_conditions(
    sql: &dyn Sql,
    caller: &Caller,
    selection: &Selection,
    record_kind: &str,
    kind: &str,
    assigned: Assigned,
    args: &mut Vec<Value>,
) -> String {
    let dialect = sql.dialect();
    let selection = Selection {
        kind: Some(record_kind.to_string()),
        ..selection.clone()
    };
    let mut conditions = selection.conditions(dialect, caller.scope.as_ref(), args);
    let done_at = dialect.json_text("followups", &format!("{kind}_done_at"));
    let assignee = dialect.json_text("followups", &format!("{kind}_assigned_to"));
    conditions.push_str(&format!(" AND {done_at} IS NULL"));
    match assigned {
        Assigned::Anyone => {}
        Assigned::Nobody => conditions.push_str(&format!(" AND {assignee} IS NULL")),
        Assigned::ToMe => {
            args.push(caller.user_id.as_str().into());
            conditions.push_str(&format!(" AND {assignee} = ?{}", args.len()));
        }
    }
    conditions
}

/// The columns every section reads, in the order [`item`] takes them.
const COLUMNS: &str = "id, fields, followups, family, neighborhood, created_at";

/// A worklist row from [`COLUMNS`].
fn item(r: &Row, kind: &'static str, today: &str) -> Result<FollowupItem, StorageError> {
    let fields: serde_json::Value = serde_json::from_str(&r.get::<String>(1)?).unwrap_or_default();
    let followups: serde_json::Value =
        serde_json::from_str(&r.get::<String>(2)?).unwrap_or_default();
    let text = |v: &serde_json::Value, key: &str| {
        v.get(key)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let whom = ["participant", "child", "name", "household_name", "address"]
        .iter()
        .find_map(|k| text(&fields, k))
        .unwrap_or_default();
    let created: i64 = r.get(5)?;
    let made = chrono::DateTime::from_timestamp(created, 0)
        .map(|t| t.date_naive().to_string())
        .unwrap_or_default();
    let due = match kind {
        "followup" => text(&fields, "followup_date").unwrap_or(made),
        _ => made,
    };
    Ok(FollowupItem {
        record_id: r.get(0)?,
        kind,
        whom,
        family: r.get(3)?,
        neighborhood: r.get(4)?,
        overdue: kind == "followup" && due.as_str() < today,
        due,
        assigned_to: text(&followups, &format!("{kind}_assigned_to")),
    })
}

impl Storage {
    /// Today, by the storage's clock (UTC), so that tests can move it.
    pub fn today(&self) -> NaiveDate {
        chrono::DateTime::from_timestamp(self.clock().now(), 0)
            .map(|t| t.date_naive())
            .unwrap_or_default()
    }

    /// The worklist of `caller` (within their scope): each section at most
    /// [`SECTION_ROWS`] rows.
    pub fn followup_worklist(
        &self,
        caller: &Caller,
        query: &WorklistQuery,
    ) -> Result<Worklist, StorageError> {
        let today = query.today.to_string();
        let since_at = query
            .since
            .and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp());
        self.with_sql(|sql| {
            let dialect = sql.dialect();
            let section = |record_kind: &str,
                           kind: &'static str,
                           extra: &dyn Fn(&mut Vec<Value>) -> (String, String)|
             -> Result<Vec<FollowupItem>, StorageError> {
                let mut args = Vec::new();
                let conditions = section_conditions(
                    sql,
                    caller,
                    &query.selection,
                    record_kind,
                    kind,
                    query.assigned,
                    &mut args,
                );
                let (more, order) = extra(&mut args);
                let text = format!(
                    "SELECT {COLUMNS} FROM records WHERE 1 = 1{conditions}{more}
                     ORDER BY {order} LIMIT {SECTION_ROWS}"
                );
                sql.rows(&text, &args)?
                    .iter()
                    .map(|r| item(r, kind, &today))
                    .collect()
            };
            let followup_date = dialect.json_text("fields", "followup_date");
            let due = section("case_note", "followup", &|args| {
                args.push(today.as_str().into());
                (
                    format!(
                        " AND {followup_date} IS NOT NULL AND {followup_date} <= ?{}",
                        args.len()
                    ),
                    format!("{followup_date}, id"),
                )
            })?;
            let status = dialect.json_text("fields", "referral_status");
            let referrals = section("case_note", "referral", &|args| {
                args.push("made".into());
                (
                    format!(" AND {status} = ?{}", args.len()),
                    "created_at, id".into(),
                )
            })?;
            let callback = dialect.json_text("fields", "want_callback");
            let callbacks = section("checkin", "callback", &|args| {
                args.push("yes".into());
                (
                    format!(" AND {callback} = ?{}", args.len()),
                    "created_at, id".into(),
                )
            })?;
            // A visit counts when a response, check-in or case note of the household
            // was made since the day; a household made since then was just visited.
            // Longest untouched first: the order of `records_by_kind`, so that a
            // million households are walked in index order and the first rows
            // found end the query, instead of all of them sorted by creation.
            let visits = section("household", "visit", &|args| {
                args.push(since_at.into());
                let n = args.len();
                (
                    format!(
                        " AND created_at < ?{n} AND id NOT IN (SELECT family FROM records
                           WHERE kind IN ('response', 'checkin', 'case_note')
                             AND family IS NOT NULL AND created_at >= ?{n})"
                    ),
                    "updated_at, id".into(),
                )
            })?;
            Ok(Worklist {
                due,
                referrals,
                callbacks,
                visits,
            })
        })
    }

    /// The dashboard's counts within `scope` (`None`: everything) on `today`.
    pub fn followup_counts(
        &self,
        scope: Option<&Scope>,
        today: NaiveDate,
    ) -> Result<FollowupCounts, StorageError> {
        let today = today.to_string();
        self.with_sql(|sql| {
            let dialect = sql.dialect();
            let count = |record_kind: &str, kind: &str, field: &str, test: &str, value: &str| {
                let mut args: Vec<Value> = Vec::new();
                let selection = Selection {
                    kind: Some(record_kind.to_string()),
                    ..Selection::default()
                };
                let conditions = selection.conditions(dialect, scope, &mut args);
                args.push(value.into());
                let text = format!(
                    "SELECT COUNT(*) FROM records WHERE 1 = 1{conditions}
                       AND {} IS NULL AND {} {test} ?{}",
                    dialect.json_text("followups", &format!("{kind}_done_at")),
                    dialect.json_text("fields", field),
                    args.len()
                );
                sql.row(&text, &args)?.map_or(Ok(0), |r| r.get::<i64>(0))
            };
            Ok(FollowupCounts {
                due_today: count("case_note", "followup", "followup_date", "=", &today)?,
                overdue: count("case_note", "followup", "followup_date", "<", &today)?,
                referrals_open: count("case_note", "referral", "referral_status", "=", "made")?,
                callbacks_open: count("checkin", "callback", "want_callback", "=", "yes")?,
            })
        })
    }

    /// The users `caller` may assign follow-ups to: active staff and outreach workers
    /// within the caller's scope, by name.
    pub fn followup_assignees(&self, caller: &Caller) -> Result<Vec<Assignee>, StorageError> {
        let rows = self.with_sql(|sql| {
            sql.rows(
                "SELECT id, username, role, scope FROM users
                  WHERE deactivated_at IS NULL ORDER BY username",
                &[],
            )
        })?;
        let mut out = Vec::new();
        for r in rows {
            let role: String = r.get(2)?;
            let works = matches!(
                role.parse::<Role>(),
                Ok(Role::Admin | Role::BackboneStaff | Role::PartnerStaff | Role::OutreachWorker)
            );
            let scope: Option<String> = r.get(3)?;
            let scope = scope.and_then(|s| serde_json::from_str::<Scope>(&s).ok());
            let within = match (&caller.scope, &scope) {
                (None, _) => true,
                (Some(mine), Some(theirs)) => mine.contains(theirs),
                (Some(_), None) => false,
            };
            if works && within {
                out.push(Assignee {
                    id: r.get(0)?,
                    username: r.get(1)?,
                    scope,
                });
            }
        }
        Ok(out)
    }

    /// Mark the follow-up of `kind` on record `id` as `act.actor`: the mark becomes a
    /// change made with a fresh actor and pushed as theirs (scope, kind and shape
    /// checks, the log, the feed), then `act` is logged. `Ok(None)` when the record
    /// does not exist or is outside the caller's scope (the same answer, so that a
    /// denied mark reveals nothing).
    pub fn mark_followup(
        &self,
        act: &Act<'_>,
        id: Uuid,
        kind: &str,
        mark: FollowupMark,
    ) -> Result<Option<PushResult>, StorageError> {
        let caller = act.actor;
        let Some(record_kind) = record_kind_of(kind) else {
            return Err(StorageError::Invalid(format!(
                "`{}` is not a follow-up kind",
                kind.escape_debug()
            )));
        };
        let Some(row) = self.record_seen_by(caller, id)? else {
            return Ok(None);
        };
        if row.kind != record_kind {
            return Err(StorageError::Invalid(format!(
                "a {} has no {kind} follow-up",
                row.kind
            )));
        }
        // The assignee works within the caller's scope, and sees the record: its
        // phone then receives the assignment with the record.
        if let FollowupMark::Assign(Some(user)) = &mark {
            let assignees = self.followup_assignees(caller)?;
            let Some(assignee) = assignees.iter().find(|a| &a.id == user) else {
                return Err(StorageError::Invalid(
                    "That user cannot be assigned follow-ups in your scope.".into(),
                ));
            };
            if !assignee
                .scope
                .as_ref()
                .is_none_or(|s| s.contains(&row.scope))
            {
                return Err(StorageError::Invalid(format!(
                    "{} does not see this record, so cannot be assigned its follow-up.",
                    assignee.username
                )));
            }
        }
        let Some(mut doc) = self.record_doc(id)? else {
            return Ok(None);
        };
        // A new actor per mark, as for a resolved conflict: the server never edits
        // concurrently with itself under one actor.
        doc.set_actor(ActorId::random());
        let message = match &mark {
            FollowupMark::Done(_) => format!("Marked the {kind} follow-up done"),
            FollowupMark::Assign(Some(user)) => format!("Assigned the {kind} follow-up to {user}"),
            FollowupMark::Assign(None) => format!("Took the {kind} follow-up's assignment away"),
        };
        let commit = Commit::new(&caller.user_id, message).at(self.clock().now());
        let change = doc
            .mark_followup(kind, &mark, &commit)
            .map_err(|e| StorageError::Invalid(format!("cannot mark the follow-up: {e}")))?;
        let Some(change) = change else {
            return Err(StorageError::Invalid("Nothing changed.".into()));
        };
        let result = self
            .push(
                caller,
                vec![PushedChange {
                    record: id,
                    change: Bytes(change.raw_bytes().to_vec()),
                }],
            )?
            .into_iter()
            .next();
        if let Some(r) = &result {
            if r.status != PushStatus::Rejected {
                self.audit(act)?;
            }
        }
        Ok(result)
    }
}

/// The default day visits count from: 30 days before `today`.
pub fn default_since(today: NaiveDate) -> NaiveDate {
    today - Duration::days(30)
}
