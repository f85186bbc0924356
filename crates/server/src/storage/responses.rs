//! Reads for the responses pages: each form's record counts (in all and per month)
//! within a scope, a keyset page of a form's records for the responses table, and
//! the choices its filters offer.
//!
//! A page is `WHERE form_id = ? AND (created_at, id) < cursor ORDER BY created_at
//! DESC, id DESC LIMIT n` over `records_by_form (form_id, created_at, id)`, so page
//! 2,000 costs what page 1 does. The rest of the selection is one term behind SQLite's
//! unary `+` (as in `exports`), so that the planner walks that ordered index instead
//! of the scope or kind index followed by a sort of every row.

use sync_core::Scope;

use super::selection::scope_conditions;
use super::sql::{Dialect, Value};
use super::{ListCursor, ListKind, Selection, Storage, StorageError};
use crate::auth::{Caller, Role};

/// How many records of one form a caller may see: in all, and created in each period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormCounts {
    /// The form's id.
    pub form_id: String,
    /// Its records within the scope.
    pub total: i64,
    /// Its records created in each period asked for, in the same order.
    pub per_period: Vec<i64>,
}

/// One row of the responses table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseRow {
    /// The record's id.
    pub id: String,
    /// When it was created, unix seconds.
    pub created_at: i64,
    /// Who created it (user id).
    pub created_by: String,
    /// Its neighborhood.
    pub neighborhood: Option<String>,
    /// The form version it was entered with.
    pub form_version: Option<i64>,
    /// Its answers.
    pub answers: forms::Answers,
}

/// A page of the responses table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResponsePage {
    /// The records, newest first.
    pub rows: Vec<ResponseRow>,
    /// Where the next page starts (created at, id), if there is one.
    pub next: Option<ListCursor>,
}

/// What a list's neighborhood and worker filters offer ([`Storage::filter_choices`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FilterChoices {
    /// Neighborhoods (code, label), by label; empty when the lists have none.
    pub neighborhoods: Vec<(String, String)>,
    /// Users who may have written records the caller sees (id, name), by name.
    pub workers: Vec<(String, String)>,
}

/// The page's conditions: `form_id` plainly, so the planner walks
/// `records_by_form`, and the rest of the selection as one term behind the dialect's
/// hint (SQLite's unary `+`, as in `exports`), checked on the rows that index yields
/// instead of leading the planner to the scope or kind index and a sort of every row.
fn ordered_conditions(
    selection: &Selection,
    dialect: Dialect,
    scope: Option<&Scope>,
    args: &mut Vec<Value>,
) -> String {
    let mut sql = String::new();
    if let Some(form) = &selection.form_id {
        args.push(form.into());
        sql.push_str(&format!(" AND form_id = ?{}", args.len()));
    }
    let rest = selection.conditions(dialect, scope, args);
    let hint = dialect.walk_ordered_index();
    sql.push_str(&format!(" AND {hint}(TRUE{rest})"));
    sql
}

impl Storage {
    /// Each form's record count within `scope`, in all and created in each period
    /// `[bounds[i], bounds[i + 1])` (unix seconds). Forms without records are left out.
    pub fn form_counts(
        &self,
        scope: Option<&Scope>,
        bounds: &[i64],
    ) -> Result<Vec<FormCounts>, StorageError> {
        let mut args: Vec<Value> = bounds.iter().map(|b| Value::from(*b)).collect();
        let periods: String = (1..bounds.len())
            .map(|i| {
                format!(
                    ", SUM(CASE WHEN created_at >= ?{i} AND created_at < ?{} THEN 1 ELSE 0 END)",
                    i + 1
                )
            })
            .collect();
        let scope_sql = scope_conditions(scope, &mut args);
        let sql = format!(
            "SELECT form_id, COUNT(*){periods} FROM records
             WHERE form_id IS NOT NULL{scope_sql} GROUP BY form_id ORDER BY form_id"
        );
        let n = bounds.len().saturating_sub(1);
        self.with_sql(|c| {
            c.rows(&sql, &args)?
                .iter()
                .map(|r| {
                    Ok(FormCounts {
                        form_id: r.get(0)?,
                        total: r.get(1)?,
                        per_period: (0..n)
                            .map(|i| r.get::<Option<i64>>(i + 2).map(Option::unwrap_or_default))
                            .collect::<Result<_, _>>()?,
                    })
                })
                .collect()
        })
    }

    /// One page of the records `selection` picks (its `form_id` set) within `scope`,
    /// newest first, after `after`, at most `limit`. A search reads at most
    /// [`super::SEARCH_SCAN`] records per page (a rare word must not read every
    /// record in one request): when fewer match, the page ends there and `next` goes
    /// on from the last record read.
    pub fn response_page(
        &self,
        selection: &Selection,
        scope: Option<&Scope>,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<ResponsePage, StorageError> {
        let window = match selection.search {
            Some(_) => {
                let unsearched = Selection {
                    search: None,
                    ..selection.clone()
                };
                let last = format!(" LIMIT 1 OFFSET {}", super::SEARCH_SCAN - 1);
                self.with_sql(|c| {
                    let (sql, args) = page_sql(
                        c.dialect(),
                        "created_at, id",
                        &unsearched,
                        scope,
                        after,
                        None,
                    );
                    c.row(&format!("{sql}{last}"), &args)?
                        .map(|r| Ok::<_, StorageError>((r.get(0)?, r.get(1)?)))
                        .transpose()
                })?
            }
            None => None,
        };
        let mut rows = self.with_sql(|c| {
            let (sql, args) = page_sql(
                c.dialect(),
                COLUMNS,
                selection,
                scope,
                after,
                window.as_ref(),
            );
            c.rows(&format!("{sql} LIMIT {}", limit + 1), &args)?
                .iter()
                .map(|r| {
                    let fields: String = r.get(5)?;
                    Ok(ResponseRow {
                        id: r.get(0)?,
                        created_at: r.get(1)?,
                        created_by: r.get(2)?,
                        neighborhood: r.get(3)?,
                        form_version: r.get(4)?,
                        // Damaged answers show as none, as the record pages show them.
                        answers: serde_json::from_str(&fields).unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>, StorageError>>()
        })?;
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| (r.created_at, r.id.clone()))
        } else {
            window
        };
        Ok(ResponsePage { rows, next })
    }

    /// The choices of a list's neighborhood and worker filters for `caller`: the
    /// managed list's neighborhoods (only the caller's own when their scope names
    /// one), and the users within the caller's scope who write records. Read from
    /// the lists and the users, never from the records, so a filter costs the same
    /// at a million records as at ten.
    pub fn filter_choices(&self, caller: &Caller) -> Result<FilterChoices, StorageError> {
        let own = caller.scope.as_ref().and_then(|s| s.neighborhood.clone());
        let neighborhoods = self
            .list_entries(ListKind::Neighborhood)?
            .into_iter()
            .filter(|e| own.as_ref().is_none_or(|own| *own == e.code))
            .map(|e| (e.code, e.label))
            .collect();
        let mut workers: Vec<(String, String)> = self
            .users()?
            .into_iter()
            .filter(|u| u.role != Role::ReportsOnly.as_str())
            .filter(|u| match &u.scope {
                Some(scope) => caller.may_see(scope),
                None => caller.scope.is_none(),
            })
            .map(|u| (u.id, u.username))
            .collect();
        workers.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(FilterChoices {
            neighborhoods,
            workers,
        })
    }
}

/// The columns of a [`ResponseRow`], in the order it reads them.
const COLUMNS: &str = "id, created_at, created_by, neighborhood, form_version, fields";

/// A page's query (of `columns`), newest first, without its LIMIT: the records `selection` picks
/// within `scope`, after `after`, and down to `until` (a search's last record read).
fn page_sql(
    dialect: Dialect,
    columns: &str,
    selection: &Selection,
    scope: Option<&Scope>,
    after: Option<&ListCursor>,
    until: Option<&ListCursor>,
) -> (String, Vec<Value>) {
    let mut args = Vec::new();
    let mut sql = format!(
        "SELECT {columns} FROM records WHERE TRUE{}",
        ordered_conditions(selection, dialect, scope, &mut args)
    );
    for (bound, op) in [(after, "<"), (until, ">=")] {
        if let Some((at, id)) = bound {
            args.push((*at).into());
            args.push(id.into());
            sql.push_str(&format!(
                " AND (created_at, id) {op} (?{}, ?{})",
                args.len() - 1,
                args.len()
            ));
        }
    }
    sql.push_str(" ORDER BY created_at DESC, id DESC");
    (sql, args)
}
