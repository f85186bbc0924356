//! `GET /households` (the households in the caller's scope, with a search, a
//! neighborhood filter and keyset pages) and `GET /households/{id}` (a household with
//! its members and every record about it, newest first).
//!
//! A household outside the caller's scope answers exactly as a missing one does, and
//! its members and records are read within the caller's scope too.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::when;
use super::layout::{filter_bar, pager, Filter};
use super::session::error_page;
use super::{storage_call, url_encode, Staff, RECORD_ROLES};
use crate::app::AppState;
use crate::storage::{
    query_value, HouseholdLinks, LinkedRecord, RecordFilter, RecordList, RecordRow,
};

/// Households on one page of the list.
const PAGE: usize = 50;

/// An answer's text, or nothing.
fn answer(answers: &forms::Answers, key: &str) -> String {
    answers.value(key).map(|v| v.as_text()).unwrap_or_default()
}

/// `GET /households`: the households in scope, newest change first.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let filter = RecordFilter {
        kind: Some("household".into()),
        conflicts: false,
        neighborhood: query_value(&q, "neighborhood"),
        search: query_value(&q, "q"),
    };
    let after = query_value(&q, "after")
        .and_then(|a| {
            a.split_once(':')
                .map(|(at, id)| (at.to_string(), id.to_string()))
        })
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id)));
    let first_page = after.is_none();
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let read_filter = filter.clone();
    let read = storage_call(move || {
        let scope = caller.scope.as_ref();
        let list = storage.list_records(scope, &read_filter, after.as_ref(), PAGE)?;
        Ok((list, storage.filter_choices(&caller)?.neighborhoods))
    })
    .await;
    let (list, hoods) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    staff.page("Households", list_body(&filter, &list, hoods, first_page))
}

fn list_body(
    filter: &RecordFilter,
    list: &RecordList,
    hoods: Vec<(String, String)>,
    first: bool,
) -> Markup {
    let options: Vec<(String, String)> = std::iter::once((String::new(), "Any".to_string()))
        .chain(hoods)
        .collect();
    let hood = filter.neighborhood.as_deref().unwrap_or("");
    let search = filter.search.as_deref().unwrap_or("");
    let query = [("neighborhood", hood), ("q", search)]
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let base = if query.is_empty() {
        "/households".to_string()
    } else {
        format!("/households?{query}")
    };
    let next = list.next.as_ref().map(|(at, id)| {
        let sep = if query.is_empty() { "?" } else { "&" };
        format!("{base}{sep}after={at}:{}", url_encode(id))
    });
    html! {
        h1 { "Households" }
        (filter_bar("/households", &[
            Filter::choice_or_text("neighborhood", "Neighborhood", options, hood),
            Filter::Text("q", "Search", search),
        ]))
        @if list.records.is_empty() {
            p id="no-households" { "No households on this page." }
        } @else {
            div.scroll {
                table id="households" {
                    thead { tr {
                        th scope="col" { "Household" }
                        th scope="col" { "Neighborhood" }
                        th scope="col" { "Last change" }
                    } }
                    tbody {
                        @for h in &list.records {
                            tr data-record=(h.id) {
                                td { a href=(format!("/households/{}", h.id)) {
                                    @if h.summary.is_empty() { (h.id.get(..8).unwrap_or(&h.id)) } @else { (h.summary) }
                                } }
                                td { (h.neighborhood.as_deref().unwrap_or("")) }
                                td { (when(h.updated_at)) }
                            }
                        }
                    }
                }
            }
        }
        (pager(&base, first, next.as_deref()))
    }
}

/// `GET /households/{id}`: the household, its members and the records about it.
pub async fn household(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let not_found = || error_page(StatusCode::NOT_FOUND, "No such household.");
    let Ok(uuid) = id.parse::<Uuid>() else {
        return not_found();
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let read = storage_call(move || {
        let Some(row) = storage.record_seen_by(&caller, uuid)? else {
            return Ok(None);
        };
        if row.kind != "household" {
            return Ok(None);
        }
        let links = storage.household_links(&row.id, caller.scope.as_ref())?;
        Ok(Some((row, links, storage.usernames()?)))
    })
    .await;
    match read {
        Ok(Some((row, links, names))) => {
            staff.page("Household", household_body(&row, &links, &names))
        }
        Ok(None) => not_found(),
        Err(page) => page,
    }
}

fn record_link(r: &LinkedRecord) -> String {
    match &r.form_id {
        Some(form) => format!("/responses/{}/{}", url_encode(form), r.id),
        None => format!("/records/{}", r.id),
    }
}

fn household_body(
    row: &RecordRow,
    links: &HouseholdLinks,
    names: &HashMap<String, String>,
) -> Markup {
    let fields: forms::Answers = serde_json::from_value(row.fields.clone()).unwrap_or_default();
    let name = answer(&fields, "name");
    let who = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    html! {
        h1 { @if name.is_empty() { "Household" } @else { (name) } }
        p { a href="/households" { "« All households" } }
        dl id="household" {
            dt { "Address" } dd data-field="address" { (answer(&fields, "address")) }
            dt { "Neighborhood" } dd { (row.scope.neighborhood.as_deref().unwrap_or("")) }
            dt { "Enrolled by" } dd { (who(&row.created_by)) }
            dt { "Enrolled at" } dd { (when(row.created_at)) }
        }
        p { a href=(format!("/records/{}", row.id)) { "History and conflicts" } }
        section id="members" {
            h2 { "Members (" (links.members.len()) ")" }
            @if links.members.is_empty() {
                p.hidden { "No members recorded." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Name" }
                        th scope="col" { "Relationship" }
                        th scope="col" { "Birth date" }
                    } }
                    tbody {
                        @for m in &links.members {
                            tr data-record=(m.id) {
                                td { a href=(record_link(m)) {
                                    @let n = answer(&m.answers, "name");
                                    @if n.is_empty() { (m.id.get(..8).unwrap_or(&m.id)) } @else { (n) }
                                } }
                                td { (answer(&m.answers, "relationship")) }
                                td { (answer(&m.answers, "birth_date")) }
                            }
                        }
                    }
                }
            }
        }
        section id="records" {
            h2 { "Records (" (links.records.len()) ")" }
            @if links.records.is_empty() {
                p.hidden { "No responses, check-ins or case notes yet." }
            } @else {
                table {
                    thead { tr {
                        th scope="col" { "Created at" }
                        th scope="col" { "Kind" }
                        th scope="col" { "Form" }
                        th scope="col" { "Worker" }
                        th scope="col" { "Status" }
                    } }
                    tbody {
                        @for r in &links.records {
                            tr data-record=(r.id) {
                                td { a href=(record_link(r)) { (when(r.created_at)) } }
                                td { (r.kind) }
                                td { (r.form_id.as_deref().unwrap_or("")) }
                                td { (who(&r.created_by)) }
                                td { (answer(&r.answers, "_status")) }
                            }
                        }
                    }
                }
            }
        }
    }
}
