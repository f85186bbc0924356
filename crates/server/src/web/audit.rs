//! `GET /audit`: the audit log, newest first, a page at a time (`?before=` the last
//! line's number). Admins only: it names every staff member and what they did. An
//! admin scoped to a partnership reads the acts of that partnership's users only.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::layout::when;
use super::layout::{data_table, pager};
use super::{storage_call, Staff};
use crate::app::AppState;
use crate::auth::Role;
use crate::storage::AUDIT_PAGE;

/// The page's query: where the page starts.
#[derive(Deserialize)]
pub struct AuditQuery {
    /// Lines numbered below this one (none: the newest).
    #[serde(default)]
    before: Option<i64>,
}

/// `GET /audit`.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<AuditQuery>,
) -> Response {
    if let Err(page) = staff.require(&[Role::Admin]) {
        return page;
    }
    let storage = state.storage.clone();
    let before = query.before;
    // An admin of one partnership reads its users' acts; a server-wide admin all.
    let partnership = staff.caller.scope.as_ref().map(|s| s.partnership.clone());
    let lines =
        match storage_call(move || storage.audit_log_of(partnership.as_deref(), before)).await {
            Ok(lines) => lines,
            Err(page) => return page,
        };
    let next = (lines.len() == AUDIT_PAGE)
        .then(|| lines.last().map(|l| format!("/audit?before={}", l.id)))
        .flatten();
    let rows = lines.iter().map(|l| {
        vec![
            html! { time data-audit=(l.id) { (when(l.at)) } },
            html! { (l.actor) },
            html! { code { (l.action) } },
            html! { (l.subject) },
            html! { (l.detail) },
            html! { (l.address) },
        ]
    });
    let body = html! {
        h1 { "Audit log" }
        p { "Every act of staff on users, devices, lists and records: who, what, to whom, \
             when and from where, newest first." }
        @if lines.is_empty() { p { "Nothing logged yet." } }
        div id="audit" {
            (data_table(None, &["When", "Who", "What", "Subject", "Detail", "From"], rows))
        }
        (pager("/audit", before.is_none(), next.as_deref()))
    };
    staff.page("Audit log", body)
}
