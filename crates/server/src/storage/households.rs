//! Reads for a household's page: its members and every record about it, within the
//! caller's scope.
//!
//! The field app links them by answers, not by scope: a person holds its household's
//! id in `household`, a response started from a household holds it in `_household`, a
//! check-in names its child in `child` and a case note its participant in
//! `participant` (person ids). A record whose scope's `family` is the household's id
//! belongs to it too (a parent's records are scoped to their family).

use sync_core::Scope;

use super::selection::scope_conditions;
use super::sql::Value;
use super::{Storage, StorageError};

/// The most records a household's page lists.
pub const HOUSEHOLD_RECORDS: usize = 500;

/// A member of a household, or a record about it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkedRecord {
    /// The record's id.
    pub id: String,
    /// Its kind (`person`, `response`, `checkin`, `case_note`).
    pub kind: String,
    /// Its form, for responses, check-ins and case notes.
    pub form_id: Option<String>,
    /// When it was created, unix seconds.
    pub created_at: i64,
    /// Who created it (user id).
    pub created_by: String,
    /// Its answers.
    pub answers: forms::Answers,
}

/// What a household's page lists.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HouseholdLinks {
    /// Its members (people), oldest first.
    pub members: Vec<LinkedRecord>,
    /// Responses, check-ins and case notes about it or its members, newest first (at
    /// most [`HOUSEHOLD_RECORDS`]).
    pub records: Vec<LinkedRecord>,
}

impl Storage {
    /// The members of the household `id` and the records about it, within `scope`.
    ///
    /// The database is asked only for records whose scope's family is the household
    /// or whose answers' text holds its id (or a member's): a plain text match, no
    /// JSON read per record; which answer holds it is checked here.
    pub fn household_links(
        &self,
        id: &str,
        scope: Option<&Scope>,
    ) -> Result<HouseholdLinks, StorageError> {
        let text = |a: &forms::Answers, key: &str| a.value(key).map(|v| v.as_text());
        let members: Vec<LinkedRecord> = self
            .linked("kind = 'person'", id, &[id], scope, "created_at, id", None)?
            .into_iter()
            .filter(|(family, r)| {
                family.as_deref() == Some(id)
                    || text(&r.answers, "household").as_deref() == Some(id)
            })
            .map(|(_, r)| r)
            .collect();
        let mut ids: Vec<&str> = vec![id];
        ids.extend(members.iter().map(|m| m.id.as_str()));
        let records = self
            .linked(
                "kind IN ('response', 'checkin', 'case_note')",
                id,
                &ids,
                scope,
                "created_at DESC, id DESC",
                Some(HOUSEHOLD_RECORDS),
            )?
            .into_iter()
            .filter(|(family, r)| {
                family.as_deref() == Some(id)
                    || text(&r.answers, "_household").as_deref() == Some(id)
                    || ["child", "participant"].iter().any(|key| {
                        text(&r.answers, key).is_some_and(|v| ids[1..].contains(&v.as_str()))
                    })
            })
            .map(|(_, r)| r)
            .collect();
        Ok(HouseholdLinks { members, records })
    }

    /// Records of `kinds` (a condition) within `scope` whose family is `family` or
    /// whose answers' text holds one of `ids`, with their family, in `order`.
    fn linked(
        &self,
        kinds: &str,
        family: &str,
        ids: &[&str],
        scope: Option<&Scope>,
        order: &str,
        limit: Option<usize>,
    ) -> Result<Vec<(Option<String>, LinkedRecord)>, StorageError> {
        let mut args: Vec<Value> = vec![family.into()];
        let mut about = String::from("family = ?1");
        for id in ids {
            // Ids are UUIDs (checked by the page): no LIKE wildcards in them.
            args.push(format!("%{id}%").into());
            about.push_str(&format!(" OR fields LIKE ?{}", args.len()));
        }
        let scope_sql = scope_conditions(scope, &mut args);
        let limit = limit.map_or(String::new(), |n| format!(" LIMIT {n}"));
        let sql = format!(
            "SELECT id, kind, form_id, created_at, created_by, fields, family FROM records
             WHERE {kinds} AND ({about}){scope_sql} ORDER BY {order}{limit}"
        );
        self.with_sql(|c| {
            c.rows(&sql, &args)?
                .iter()
                .map(|r| {
                    let fields: String = r.get(5)?;
                    let record = LinkedRecord {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        form_id: r.get(2)?,
                        created_at: r.get(3)?,
                        created_by: r.get(4)?,
                        answers: serde_json::from_str(&fields).unwrap_or_default(),
                    };
                    Ok((r.get(6)?, record))
                })
                .collect()
        })
    }
}

impl Storage {}
