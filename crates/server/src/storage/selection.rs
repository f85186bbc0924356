//! Which records a staff list or an export is about: one kind (and form), the
//! filters staff choose (status, dates, neighborhood, worker, a search), and always
//! the caller's scope. The responses table, the exports and the follow-ups worklist
//! all select through [`Selection::conditions`], so an export holds exactly what the
//! table showed, and nobody reads past their scope.

use std::collections::HashMap;

use chrono::NaiveDate;
use sync_core::Scope;

use super::dialect::Dialect;
use super::sql::{scope_args, scope_filter, Value};

/// What to select. Built from a page's query string by [`Selection::from_query`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// One record kind (`household`, `person`, `response`, `checkin`, `case_note`).
    pub kind: Option<String>,
    /// One form's records.
    pub form_id: Option<String>,
    /// The answer `_status` (`draft`, `final`).
    pub status: Option<String>,
    /// Created on or after this day (UTC).
    pub since: Option<NaiveDate>,
    /// Created on or before this day (UTC).
    pub until: Option<NaiveDate>,
    /// One neighborhood.
    pub neighborhood: Option<String>,
    /// Created by this user (id).
    pub worker: Option<String>,
    /// Text the answers hold (case-insensitive), or the id starts with.
    pub search: Option<String>,
}

/// The query parameters a selection reads, so that a page's links and forms use the
/// same names: `status`, `since`, `until`, `neighborhood`, `worker`, `q`.
pub const QUERY_KEYS: [&str; 6] = ["status", "since", "until", "neighborhood", "worker", "q"];

impl Selection {
    /// The filters in a query string (the kind and form come from the path). Empty
    /// values mean "any"; a date that is not `YYYY-MM-DD` is an error that says so.
    pub fn from_query(query: &HashMap<String, String>) -> Result<Selection, String> {
        let text = |key: &str| query_value(query, key);
        let date = |key: &str| -> Result<Option<NaiveDate>, String> {
            text(key)
                .map(|v| {
                    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                        .map_err(|_| format!("`{v}` is not a date (YYYY-MM-DD)"))
                })
                .transpose()
        };
        Ok(Selection {
            kind: None,
            form_id: None,
            status: text("status"),
            since: date("since")?,
            until: date("until")?,
            neighborhood: text("neighborhood"),
            worker: text("worker"),
            search: text("q").map(|s| s.to_lowercase()),
        })
    }

    /// The filters as a query string (without `?`), for links to the next page or an
    /// export of the same selection.
    pub fn to_query(&self) -> String {
        let since = self.since.map(|d| d.to_string());
        let until = self.until.map(|d| d.to_string());
        [
            ("status", self.status.as_deref()),
            ("since", since.as_deref()),
            ("until", until.as_deref()),
            ("neighborhood", self.neighborhood.as_deref()),
            ("worker", self.worker.as_deref()),
            ("q", self.search.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", crate::web::url_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
    }

    /// `AND ...` conditions over the `records` table (no alias) for this selection
    /// within `scope` (`None`: everything, admins only), numbering arguments after
    /// the `args` already there.
    pub(crate) fn conditions(
        &self,
        dialect: Dialect,
        scope: Option<&Scope>,
        args: &mut Vec<Value>,
    ) -> String {
        let mut sql = String::new();
        let mut arg = |sql: &mut String, clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(kind) = &self.kind {
            arg(&mut sql, " AND kind = ?", kind.into());
        }
        if let Some(form) = &self.form_id {
            arg(&mut sql, " AND form_id = ?", form.into());
        }
        if let Some(status) = &self.status {
            let field = dialect.json_text("fields", "_status");
            arg(&mut sql, &format!(" AND {field} = ?"), status.into());
        }
        if let Some(day) = self.since {
            let at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
            arg(&mut sql, " AND created_at >= ?", at.unwrap_or(0).into());
        }
        if let Some(day) = self.until {
            let at = day.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp());
            arg(
                &mut sql,
                " AND created_at < ?",
                (at.unwrap_or(0) + 86_400).into(),
            );
        }
        if let Some(hood) = &self.neighborhood {
            arg(&mut sql, " AND neighborhood = ?", hood.into());
        }
        if let Some(worker) = &self.worker {
            arg(&mut sql, " AND created_by = ?", worker.into());
        }
        if let Some(needle) = &self.search {
            let pattern = format!("%{}%", like_escape(needle));
            let id_prefix = format!("{}%", like_escape(needle));
            args.push(pattern.into());
            args.push(id_prefix.into());
            sql.push_str(&format!(
                " AND (LOWER(fields) LIKE ?{} ESCAPE '\\' OR id LIKE ?{} ESCAPE '\\')",
                args.len() - 1,
                args.len()
            ));
        }
        sql.push_str(&scope_conditions(scope, args));
        sql
    }
}

/// A query parameter's value, trimmed and at most 200 characters; `None` when absent
/// or empty (every list reads "empty" as "any").
pub fn query_value(query: &HashMap<String, String>, key: &str) -> Option<String> {
    query
        .get(key)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().take(200).collect())
}

/// `AND ...` conditions that keep only records within `scope` (`None`: no limit), with
/// their arguments appended to `args`: the scope filter every query shares
/// ([`super::sql::scope_filter`], the same rule as [`crate::auth::Caller::may_see`]).
pub(crate) fn scope_conditions(scope: Option<&Scope>, args: &mut Vec<Value>) -> String {
    let first = args.len() + 1;
    args.extend(scope_args(scope));
    scope_filter("", first)
}

/// `text` with LIKE's wildcards (and the escape character) escaped by `\`.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_query_string_round_trips_and_bad_dates_are_named() {
        let s = Selection::from_query(&query(&[
            ("status", "final"),
            ("since", "2024-01-31"),
            ("q", " Elm St "),
            ("worker", ""),
        ]))
        .unwrap();
        assert_eq!(s.status.as_deref(), Some("final"));
        assert_eq!(s.since, NaiveDate::from_ymd_opt(2024, 1, 31));
        assert_eq!(s.search.as_deref(), Some("elm st"));
        assert_eq!(s.worker, None);
        assert_eq!(s.to_query(), "status=final&since=2024-01-31&q=elm%20st");
        let err = Selection::from_query(&query(&[("until", "31/01/2024")])).unwrap_err();
        assert!(err.contains("31/01/2024"), "{err}");
    }

    #[test]
    fn conditions_number_their_arguments_after_those_before() {
        let s = Selection {
            kind: Some("checkin".into()),
            search: Some("50%".into()),
            ..Selection::default()
        };
        let mut args = vec![Value::from(1i64)];
        let scope = Scope {
            partnership: "p".into(),
            neighborhood: Some("east".into()),
            ..Scope::default()
        };
        let sql = s.conditions(Dialect::Sqlite, Some(&scope), &mut args);
        assert!(sql.starts_with(" AND kind = ?2"), "{sql}");
        assert!(sql.contains("LIKE ?3") && sql.contains("LIKE ?4"), "{sql}");
        assert!(sql.contains("partnership = ?5") && sql.contains("neighborhood = ?7"));
        assert!(sql.contains("CAST(?9 AS TEXT)"), "{sql}");
        assert_eq!(args.len(), 9);
        assert_eq!(args[2], Value::from("%50\\%%".to_string()));
    }
}
