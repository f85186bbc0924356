//! `GET /records` (the records the user may see, newest change first, with filters,
//! search and keyset pages), `GET /records/{id}` (a record's fields, conflicts and
//! history) and `POST /records/{id}/resolve` (choose a conflicting field's value).
//!
//! A record outside the user's scope answers exactly as a missing one does.
//!
//! - this module: the list, and what the record's page shares with it;
//! - [`page`]: a record's page, resolving a conflict, purging on withdrawn consent.

mod page;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use forms::{Answer, Answers, Value};
use maud::html;
use serde::Deserialize;
use sync_core::RecordKind;

use super::html::url_encode;
use super::layout::{filter_bar, when, Filter};
use super::session::error_page;
use super::{storage_call, Staff, RECORD_ROLES};
use crate::app::AppState;
use crate::storage::{ListCursor, RecordFilter};

pub use page::{purge, record, resolve};

/// Records on one page of the list.
const PAGE: usize = 50;

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    conflicts: Option<String>,
    #[serde(default)]
    neighborhood: String,
    #[serde(default)]
    q: String,
    /// `<updated_at>:<id>` of the last record of the page before.
    #[serde(default)]
    after: String,
}

fn nonempty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(200).collect())
}

/// Whether the list shows only records with conflicts (`conflicts=1`; the filter's
/// "any" choice sends it empty).
fn only_conflicts(q: &ListQuery) -> bool {
    q.conflicts.as_deref().is_some_and(|v| !v.is_empty())
}

fn query_string(q: &ListQuery, after: Option<&ListCursor>) -> String {
    let mut pairs = vec![
        ("kind", q.kind.clone()),
        ("neighborhood", q.neighborhood.clone()),
        ("q", q.q.clone()),
    ];
    if only_conflicts(q) {
        pairs.push(("conflicts", "1".into()));
    }
    if let Some((at, id)) = after {
        pairs.push(("after", format!("{at}:{id}")));
    }
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /records`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let kind = nonempty(&q.kind);
    if let Some(k) = &kind {
        if k.parse::<RecordKind>().is_err() {
            return error_page(StatusCode::BAD_REQUEST, "No such kind of record.");
        }
    }
    let filter = RecordFilter {
        kind,
        conflicts: only_conflicts(&q),
        neighborhood: nonempty(&q.neighborhood),
        search: nonempty(&q.q),
    };
    let after = q
        .after
        .split_once(':')
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())));
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    let read_filter = filter.clone();
    let list = storage_call(move || {
        storage.list_records(scope.as_ref(), &read_filter, after.as_ref(), PAGE)
    })
    .await;
    let list = match list {
        Ok(list) => list,
        Err(page) => return page,
    };
    let kinds = std::iter::once(("".to_string(), "any kind".to_string()))
        .chain(
            RecordKind::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), k.as_str().to_string())),
        )
        .collect();
    let conflicts = vec![
        (String::new(), "all records".to_string()),
        ("1".to_string(), "only records with conflicts".to_string()),
    ];
    let filters = [
        Filter::Choice("kind", "Kind", kinds, &q.kind),
        Filter::Text("neighborhood", "Neighborhood", &q.neighborhood),
        Filter::Text("q", "Search (id or answer text)", &q.q),
        Filter::Choice(
            "conflicts",
            "Conflicts",
            conflicts,
            if filter.conflicts { "1" } else { "" },
        ),
    ];
    let more = if filter.search.is_some() {
        "Search further"
    } else {
        "Next page"
    };
    let body = html! {
        h1 { "Records" }
        (filter_bar("/records", &filters))
        @if list.records.is_empty() {
            p id="no-records" { "No records on this page." }
        } @else {
            div.scroll {
                table id="records" {
                    thead {
                        tr {
                            @for h in ["Record", "Kind", "Form", "Neighborhood", "Summary", "Last change", "Conflicts"] {
                                th { (h) }
                            }
                        }
                    }
                    tbody {
                        @for r in &list.records {
                            tr {
                                td { a.record href={ "/records/" (r.id) } { (r.id.get(..8).unwrap_or(&r.id)) } }
                                td { (r.kind) }
                                td { (r.form_id.as_deref().unwrap_or("")) }
                                td { (r.neighborhood.as_deref().unwrap_or("")) }
                                td { (r.summary) }
                                td { (when(r.updated_at)) }
                                td { @if r.has_conflicts { "yes" } }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(next) = &list.next {
            p { a id="next" href={ "/records?" (query_string(&q, Some(next))) } { (more) } }
        }
    };
    staff.page("Records", body)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Text(t) => t.clone(),
    }
}

/// Every scalar answer with its path (`child[2]/age_years`, as conflicts name them).
pub(super) fn flatten(answers: &Answers, prefix: &str, out: &mut Vec<(String, String)>) {
    for (name, answer) in answers.iter() {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match answer {
            Answer::Value(v) => out.push((path, text_of(v))),
            Answer::Repeat(items) => {
                for (i, item) in items.iter().enumerate() {
                    flatten(item, &format!("{path}[{}]", i + 1), out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_flatten_to_the_paths_conflicts_use() {
        let mut kid = Answers::new();
        kid.set("age_years", 4i64);
        let mut a = Answers::new();
        a.set("consent", "yes")
            .set_repeat("child", vec![Answers::new(), kid]);
        let mut out = Vec::new();
        flatten(&a, "", &mut out);
        assert_eq!(
            out,
            [
                ("child[2]/age_years".to_string(), "4".to_string()),
                ("consent".to_string(), "yes".to_string())
            ]
        );
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }
}
