//! The data, per form: `GET /responses` (every published form with its number of
//! records in the caller's scope, in all and per month over the last year),
//! `GET /responses/{form}` (the form's records as a table, a column per question in
//! the viewer's language, with filters, keyset pages and export links for the same
//! selection) and `GET /responses/{form}/{id}` (one record's answers as the form
//! shows them).
//!
//! Every list selects through [`Selection`], so the table, its export links and the
//! scope rule agree. A record outside the caller's scope answers exactly as a missing
//! one does.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Datelike, NaiveDate, Utc};
use forms::CompiledForm;
use maud::{html, Markup};
use uuid::Uuid;

use super::answers::{columns, record_answers, Labeler};
use super::layout::{filter_bar, pager, when, Filter};
use super::session::error_page;
use super::{storage_call, url_encode, Staff, RECORD_ROLES};
use crate::app::AppState;
use crate::storage::{FilterChoices, FormCounts, RecordRow, ResponsePage, Selection};

/// Records on one page of the table.
pub const PAGE: usize = 50;
/// Months the overview counts.
const MONTHS: usize = 12;

/// The first day of each of the last [`MONTHS`] months and of the next one, as unix
/// seconds (UTC): the bounds of the overview's periods, oldest first.
fn month_bounds(today: NaiveDate) -> Vec<(NaiveDate, i64)> {
    let first = today.with_day(1).unwrap_or(today);
    (0..=MONTHS)
        .rev()
        .filter_map(|back| {
            let back = back as i32 - 1;
            let months = first.year() * 12 + first.month0() as i32 - back;
            let day = NaiveDate::from_ymd_opt(
                months.div_euclid(12),
                months.rem_euclid(12) as u32 + 1,
                1,
            )?;
            Some((day, day.and_hms_opt(0, 0, 0)?.and_utc().timestamp()))
        })
        .collect()
}

fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "No such form or record.")
}

/// `GET /responses`: every published form with its records' counts.
pub async fn overview(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let bounds = month_bounds(Utc::now().date_naive());
    let at: Vec<i64> = bounds.iter().map(|(_, t)| *t).collect();
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let read = storage_call(move || {
        let lang = storage.user_language(&caller.user_id)?;
        let counts = storage.form_counts(caller.scope.as_ref(), &at)?;
        let mut ids: Vec<String> = storage.form_ids()?.into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids.dedup();
        let forms = ids
            .iter()
            .filter_map(|id| storage.latest_form(id).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        Ok((lang, counts, forms))
    })
    .await;
    let (lang, counts, forms) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let months: Vec<String> = bounds[..MONTHS]
        .iter()
        .map(|(d, _)| d.format("%b %Y").to_string())
        .collect();
    let count_of = |id: &str| counts.iter().find(|c| c.form_id == id);
    let body = html! {
        h1 { "Responses" }
        p { "Every published form, with the records you may see: in all, and created in each of the last twelve months." }
        div.scroll {
            table id="forms" {
                thead { tr {
                    th scope="col" { "Form" }
                    th scope="col" { "Records" }
                    @for m in &months { th scope="col" { (m) } }
                } }
                tbody {
                    @for form in &forms {
                        @let f = form.form();
                        @let labeler = Labeler { form: f, lang: &lang };
                        @let c = count_of(&f.id);
                        tr data-form=(f.id) {
                            td { a href=(format!("/responses/{}", url_encode(&f.id))) { (labeler.title()) } }
                            td.num.total { (c.map_or(0, |c| c.total)) }
                            @for i in 0..MONTHS {
                                td.num { (c.and_then(|c: &FormCounts| c.per_period.get(i).copied()).unwrap_or(0)) }
                            }
                        }
                    }
                }
            }
        }
    };
    staff.page("Responses", body)
}

/// The form `id`'s newest version, if it is a form's id and published.
async fn latest(state: &AppState, id: &str) -> Result<Arc<CompiledForm>, Response> {
    if !forms::is_form_id(id) {
        return Err(not_found());
    }
    let storage = state.storage.clone();
    let id = id.to_string();
    storage_call(move || storage.latest_form(&id))
        .await?
        .ok_or_else(not_found)
}

/// `GET /responses/{form}`: the form's records as a table, with filters and pages.
pub async fn table(
    State(state): State<AppState>,
    staff: Staff,
    Path(form_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let form = match latest(&state, &form_id).await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let mut selection = match Selection::from_query(&query) {
        Ok(s) => s,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    selection.form_id = Some(form_id.clone());
    let after = query
        .get("after")
        .and_then(|a| a.split_once(':'))
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.chars().take(64).collect())));
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let read_selection = selection.clone();
    let first_page = after.is_none();
    let read = storage_call(move || {
        let scope = caller.scope.as_ref();
        let lang = storage.user_language(&caller.user_id)?;
        let page = storage.response_page(&read_selection, scope, after.as_ref(), PAGE)?;
        let choices = storage.filter_choices(&caller)?;
        Ok((lang, page, choices, storage.usernames()?))
    })
    .await;
    let (lang, page, choices, names) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let labeler = Labeler {
        form: form.form(),
        lang: &lang,
    };
    let body = table_body(&labeler, &selection, &page, &choices, &names, first_page);
    staff.page(labeler.title(), body)
}

fn table_body(
    labeler: &Labeler<'_>,
    selection: &Selection,
    page: &ResponsePage,
    choices: &FilterChoices,
    names: &HashMap<String, String>,
    first_page: bool,
) -> Markup {
    let form_id = &labeler.form.id;
    let base = format!("/responses/{}", url_encode(form_id));
    let query = selection.to_query();
    let any = || ("".to_string(), "Any".to_string());
    let hoods: Vec<(String, String)> = std::iter::once(any())
        .chain(choices.neighborhoods.iter().cloned())
        .collect();
    let workers: Vec<(String, String)> = std::iter::once(any())
        .chain(choices.workers.iter().cloned())
        .collect();
    let statuses = vec![
        any(),
        ("draft".into(), "Draft".into()),
        ("final".into(), "Final".into()),
    ];
    let since = selection.since.map(|d| d.to_string()).unwrap_or_default();
    let until = selection.until.map(|d| d.to_string()).unwrap_or_default();
    let filters = [
        Filter::Choice(
            "status",
            "Status",
            statuses,
            selection.status.as_deref().unwrap_or(""),
        ),
        Filter::Date("since", "Since", &since),
        Filter::Date("until", "Until", &until),
        Filter::choice_or_text(
            "neighborhood",
            "Neighborhood",
            hoods,
            selection.neighborhood.as_deref().unwrap_or(""),
        ),
        Filter::Choice(
            "worker",
            "Worker",
            workers,
            selection.worker.as_deref().unwrap_or(""),
        ),
        Filter::Text("q", "Search", selection.search.as_deref().unwrap_or("")),
    ];
    let with_query = |path: String| {
        if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        }
    };
    let next = page.next.as_ref().map(|(at, id)| {
        let sep = if query.is_empty() { "" } else { "&" };
        format!("{base}?{query}{sep}after={at}:{}", url_encode(id))
    });
    let cols = columns(labeler.form);
    html! {
        h1 { (labeler.title()) }
        p { a href="/responses" { "« All forms" } }
        (filter_bar(&base, &filters))
        p.exports {
            a href=(with_query(format!("/exports/{}.csv", url_encode(form_id)))) { "Export CSV" } " "
            a href=(with_query(format!("/exports/{}.xlsx", url_encode(form_id)))) { "Export .xlsx" }
        }
        @if page.rows.is_empty() && page.next.is_some() {
            p id="no-responses" { "No matches among the records searched so far: the next page searches on." }
        } @else if page.rows.is_empty() {
            p id="no-responses" { "No records match." }
        } @else {
            div.scroll {
                table id="responses" {
                    thead { tr {
                        th scope="col" { "Record" }
                        th scope="col" { "Created at" }
                        th scope="col" { "Worker" }
                        th scope="col" { "Neighborhood" }
                        th scope="col" { "Status" }
                        // A question's label can be a paragraph: the header shows its
                        // start, the whole label on hover.
                        @for c in &cols {
                            @let label = c.label(labeler);
                            th scope="col" title=(label) { (short_label(label)) }
                        }
                    } }
                    tbody {
                        @for r in &page.rows {
                            tr data-record=(r.id) {
                                td { a href=(format!("{base}/{}", r.id)) { (r.id.get(..8).unwrap_or(&r.id)) } }
                                td { (when(r.created_at)) }
                                td { (names.get(&r.created_by).unwrap_or(&r.created_by)) }
                                td { (r.neighborhood.as_deref().unwrap_or("")) }
                                td { (r.answers.value("_status").map(|v| v.as_text()).unwrap_or_default()) }
                                @for c in &cols { td { (c.cell(labeler, &r.answers)) } }
                            }
                        }
                    }
                }
            }
        }
        (pager(&with_query(base.clone()), first_page, next.as_deref()))
    }
}

/// `GET /responses/{form}/{id}`: one record with every answer as its form shows it.
pub async fn response(
    State(state): State<AppState>,
    staff: Staff,
    Path((form_id, id)): Path<(String, String)>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let Ok(uuid) = id.parse::<Uuid>() else {
        return not_found();
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let read = storage_call(move || {
        let Some(row) = storage.record_seen_by(&caller, uuid)? else {
            return Ok(None);
        };
        let Some((form, version)) = row.form.clone() else {
            return Ok(None);
        };
        if form != form_id {
            return Ok(None);
        }
        // The version it was entered with, else the newest.
        let compiled = match storage.form(&form, version)? {
            Some(f) => Some(f),
            None => storage.latest_form(&form)?,
        };
        let Some(compiled) = compiled else {
            return Ok(None);
        };
        let lang = storage.user_language(&caller.user_id)?;
        let creator = storage.usernames()?.remove(&row.created_by);
        Ok(Some((row, compiled, lang, creator)))
    })
    .await;
    let (row, form, lang, creator) = match read {
        Ok(Some(read)) => read,
        Ok(None) => return not_found(),
        Err(page) => return page,
    };
    let labeler = Labeler {
        form: form.form(),
        lang: &lang,
    };
    let body = response_body(&labeler, &row, creator.as_deref());
    staff.page(labeler.title(), body)
}

fn response_body(labeler: &Labeler<'_>, row: &RecordRow, creator: Option<&str>) -> Markup {
    let answers: forms::Answers = serde_json::from_value(row.fields.clone()).unwrap_or_default();
    let status = answers
        .value("_status")
        .map(|v| v.as_text())
        .unwrap_or_default();
    let list = format!("/responses/{}", url_encode(&labeler.form.id));
    html! {
        h1 { (labeler.title()) }
        p { a href=(list) { "« All records of this form" } }
        dl id="metadata" {
            dt { "Record" } dd { (row.id) }
            dt { "Kind" } dd { (row.kind) }
            dt { "Form version" } dd { (row.form.as_ref().map_or(0, |f| f.1)) }
            dt { "Created by" } dd { (creator.unwrap_or(&row.created_by)) }
            dt { "Created at" } dd { (when(row.created_at)) }
            dt { "Last change" } dd { (when(row.updated_at)) }
            dt { "Neighborhood" } dd { (row.scope.neighborhood.as_deref().unwrap_or("")) }
            dt { "Status" } dd id="status" { (status) }
        }
        p { a id="history" href=(format!("/records/{}", row.id)) { "History and conflicts" } }
        @if row.has_conflicts {
            p.due { "Some answers hold values sent at once from two phones; resolve them on the history page." }
        }
        section id="answers" {
            h2 { "Answers" }
            (record_answers(labeler, &row.id, &answers))
        }
    }
}

/// The start of a column's label, at most 40 characters, cut at a word.
fn short_label(label: &str) -> String {
    const MOST: usize = 40;
    if label.chars().count() <= MOST {
        return label.to_string();
    }
    let cut: String = label.chars().take(MOST).collect();
    let at = cut
        .rfind(' ')
        .filter(|&i| i > MOST / 2)
        .unwrap_or(cut.len());
    format!("{}…", cut[..at].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_are_cut_at_a_word() {
        assert_eq!(short_label("Status"), "Status");
        let cut =
            short_label("Do any children or young people from birth to 18 years old live here?");
        assert_eq!(cut, "Do any children or young people from…");
    }

    #[test]
    fn the_last_twelve_months_end_with_this_one() {
        let bounds = month_bounds(NaiveDate::from_ymd_opt(2026, 2, 17).unwrap());
        assert_eq!(bounds.len(), MONTHS + 1);
        assert_eq!(bounds[0].0, NaiveDate::from_ymd_opt(2025, 3, 1).unwrap());
        assert_eq!(bounds[11].0, NaiveDate::from_ymd_opt(2026, 2, 1).unwrap());
        assert_eq!(bounds[12].0, NaiveDate::from_ymd_opt(2026, 3, 1).unwrap());
    }
}
