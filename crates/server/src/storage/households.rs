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

const COLUMNS: &str = "SELECT id, kind, form_id, created_at, created_by, fields FROM records";

impl Storage {
    /// The members of the household `id` and the records about it, within `scope`.
    pub fn household_links(
        &self,
        id: &str,
        scope: Option<&Scope>,
    ) -> Result<HouseholdLinks, StorageError> {
        self.with_sql(|c| {
            let dialect = c.dialect();
            let read = |sql: &str, args: &[Value]| -> Result<Vec<LinkedRecord>, StorageError> {
                c.rows(sql, args)?
                    .iter()
                    .map(|r| {
                        let fields: String = r.get(5)?;
                        Ok(LinkedRecord {
                            id: r.get(0)?,
                            kind: r.get(1)?,
                            form_id: r.get(2)?,
                            created_at: r.get(3)?,
                            created_by: r.get(4)?,
                            answers: serde_json::from_str(&fields).unwrap_or_default(),
                        })
                    })
                    .collect()
            };
            let mut args: Vec<Value> = vec![id.into()];
            let scope_sql = scope_conditions(scope, &mut args);
            let members = read(
                &format!(
                    "{COLUMNS} WHERE kind = 'person' AND (family = ?1 OR {} = ?1){scope_sql}
                     ORDER BY created_at, id",
                    dialect.json_text("fields", "household")
                ),
                &args,
            )?;

            let mut args: Vec<Value> = vec![id.into()];
            let mut about = format!(
                "family = ?1 OR {} = ?1",
                dialect.json_text("fields", "_household")
            );
            if !members.is_empty() {
                let first = args.len() + 1;
                args.extend(members.iter().map(|m| Value::from(&m.id)));
                let list: Vec<String> = (first..=args.len()).map(|i| format!("?{i}")).collect();
                let list = list.join(", ");
                for key in ["child", "participant"] {
                    about.push_str(&format!(
                        " OR {} IN ({list})",
                        dialect.json_text("fields", key)
                    ));
                }
            }
            let scope_sql = scope_conditions(scope, &mut args);
            let records = read(
                &format!(
                    "{COLUMNS} WHERE kind IN ('response', 'checkin', 'case_note')
                     AND ({about}){scope_sql}
                     ORDER BY created_at DESC, id DESC LIMIT {HOUSEHOLD_RECORDS}"
                ),
                &args,
            )?;
            Ok(HouseholdLinks { members, records })
        })
    }
}

impl Storage {
    /// The neighborhoods of the households within `scope`, for the list's filter.
    pub fn household_neighborhoods(
        &self,
        scope: Option<&Scope>,
    ) -> Result<Vec<String>, StorageError> {
        let mut args: Vec<Value> = Vec::new();
        let scope_sql = scope_conditions(scope, &mut args);
        let sql = format!(
            "SELECT DISTINCT neighborhood FROM records
             WHERE kind = 'household' AND neighborhood IS NOT NULL{scope_sql} ORDER BY neighborhood"
        );
        self.with_sql(|c| c.rows(&sql, &args)?.iter().map(|r| r.get(0)).collect())
    }
}
