//! A record's page (its fields, conflicts and history), choosing a conflicting
//! field's value, and deleting a household or person whose consent is withdrawn.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use forms::{Answers, Value};
use maud::{html, Markup};
use serde::Deserialize;
use sync_core::protocol::PushStatus;
use sync_core::{Conflict, HistoryEntry};
use uuid::Uuid;

use super::super::layout::csrf_field;
use super::super::layout::when;
use super::super::session::error_page;
use super::super::{storage_call, Staff, BACKBONE_ROLES, RECORD_ROLES};
use super::{flatten, text_of};
use crate::app::AppState;
use crate::storage::{ChangeOrigin, RecordRow, UploadState};

/// What a record's page shows.
struct Review {
    row: RecordRow,
    history: Vec<HistoryEntry>,
    conflicts: Vec<Conflict>,
    origins: Vec<ChangeOrigin>,
    names: HashMap<String, String>,
    /// How far each attachment its answers name is uploaded.
    attachments: HashMap<String, UploadState>,
}

fn conflicts_html(
    id: &str,
    conflicts: &[Conflict],
    names: &HashMap<String, String>,
    csrf: &str,
) -> Markup {
    html! {
        section id="conflicts" {
            h2 { "Conflicts" }
            @if conflicts.is_empty() {
                p id="no-conflicts" { "No field holds conflicting values." }
            } @else {
                p {
                    "These fields were changed on two devices at once. Choose the value to \
                     keep; the others stay in the history."
                }
            }
            @for c in conflicts {
                form.resolve method="post" action={ "/records/" (id) "/resolve" } {
                    (csrf_field(csrf))
                    input type="hidden" name="path" value=(c.path);
                    fieldset {
                        legend { (c.path) }
                        @for v in &c.values {
                            label {
                                input type="radio" name="choice"
                                    value=(serde_json::to_string(&v.value).unwrap_or_default())
                                    required checked[v.shown];
                                " " strong { (text_of(&v.value)) }
                                " by " (names.get(&v.author).unwrap_or(&v.author))
                                " at " (when(v.time))
                                @if v.shown { " (shown now)" }
                            }
                        }
                        label { "Note " input name="note" maxlength="500"; }
                        button type="submit" { "Keep this value" }
                    }
                }
            }
        }
    }
}

fn history_html(review: &Review) -> Markup {
    let origins: HashMap<&str, &ChangeOrigin> = review
        .origins
        .iter()
        .map(|o| (o.hash.as_str(), o))
        .collect();
    html! {
        section id="history" {
            h2 { "History" }
            div.scroll {
                table {
                    thead {
                        tr {
                            @for h in ["When", "Who", "What", "Fields", "Received from"] { th { (h) } }
                        }
                    }
                    tbody {
                        @for h in &review.history {
                            tr.change {
                                td { (when(h.time)) }
                                td { (review.names.get(&h.author).unwrap_or(&h.author)) }
                                td { (h.message) }
                                td { (h.fields.join(", ")) }
                                td {
                                    @if let Some(o) = origins.get(h.hash.as_str()) {
                                        (o.device) " (" (o.username) "), " (when(o.received_at))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /records/{id}`.
pub async fn record(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let not_found = || error_page(StatusCode::NOT_FOUND, "No such record.");
    let Ok(uuid) = id.parse::<Uuid>() else {
        return not_found();
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let review = storage_call(move || {
        let Some(row) = storage.record_seen_by(&caller, uuid)? else {
            return Ok(None);
        };
        let Some(mut doc) = storage.record_doc(uuid)? else {
            return Ok(None);
        };
        let named = super::super::attachments::names_in(&row.fields);
        let shas: Vec<&str> = named
            .iter()
            .filter_map(|n| sync_core::protocol::attachment_sha256(n))
            .collect();
        Ok(Some(Review {
            attachments: storage.attachment_states(&row.id, &shas)?,
            history: doc.history(),
            conflicts: doc.conflicts(),
            origins: storage.change_origins(&row.id)?,
            names: storage.usernames()?,
            row,
        }))
    })
    .await;
    let review = match review {
        Ok(Some(review)) => review,
        Ok(None) => return not_found(),
        Err(page) => return page,
    };
    let row = &review.row;
    let mut fields = Vec::new();
    let answers: Answers = serde_json::from_value(row.fields.clone()).unwrap_or_default();
    flatten(&answers, "", &mut fields);
    let created_by = review.names.get(&row.created_by).unwrap_or(&row.created_by);
    let scope = [
        Some(format!("partnership {}", row.scope.partnership)),
        row.scope
            .organization
            .as_ref()
            .map(|v| format!("organization {v}")),
        row.scope
            .neighborhood
            .as_ref()
            .map(|v| format!("neighborhood {v}")),
        row.scope.family.as_ref().map(|v| format!("family {v}")),
        row.scope.program.as_ref().map(|v| format!("program {v}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let form = row
        .form
        .as_ref()
        .map_or(String::new(), |(f, v)| format!("{f} version {v}"));
    let purgeable = matches!(row.kind.as_str(), "household" | "person")
        && staff.require(BACKBONE_ROLES).is_ok();
    let body = html! {
        h1 { (row.kind) " " small { (row.id) } }
        table id="meta" {
            tbody {
                tr { th { "Form" } td { (form) } }
                tr { th { "Scope" } td { (scope) } }
                tr { th { "Created" } td { (when(row.created_at)) " by " (created_by) } }
                tr { th { "Last change" } td { (when(row.updated_at)) } }
            }
        }
        (conflicts_html(&row.id, &review.conflicts, &review.names, &staff.csrf))
        h2 { "Fields" }
        table id="fields" {
            tbody {
                @for (path, value) in &fields {
                    tr data-field=(path) {
                        th { (path) }
                        td.value {
                            @if let Some(cell) = super::super::attachments::cell(&row.id, value, &review.attachments) {
                                (cell)
                            } @else {
                                (value)
                            }
                        }
                    }
                }
            }
        }
        (history_html(&review))
        @if purgeable {
            section id="purge" {
                h2 { "Withdraw consent" }
                p {
                    "Deletes this " (row.kind) ", "
                    @if row.kind == "household" { "its members " }
                    "and every record about them, with their history, from the server and \
                     from every phone at its next sync. Only an audit entry (who, which \
                     records, when, why) remains. This cannot be undone."
                }
                form method="post" action={ "/records/" (row.id) "/purge" } {
                    (csrf_field(&staff.csrf))
                    label { "Why " input name="reason" required maxlength="500"; }
                    button type="submit" { "Delete everything about this " (row.kind) }
                }
            }
        }
    };
    staff.page(
        &format!("{} {}", row.kind, row.id.get(..8).unwrap_or("")),
        body,
    )
}

/// The resolve form.
#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    path: String,
    /// The chosen value as JSON (as the radio button carried it).
    choice: String,
    #[serde(default)]
    note: String,
}

/// `POST /records/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Response {
    if let Err(page) = staff
        .require(RECORD_ROLES)
        .and_then(|()| staff.check_csrf(&form.csrf))
    {
        return page;
    }
    let Ok(uuid) = id.parse::<Uuid>() else {
        return error_page(StatusCode::NOT_FOUND, "No such record.");
    };
    let Ok(chosen) = serde_json::from_str::<Value>(&form.choice) else {
        return error_page(StatusCode::BAD_REQUEST, "Choose one of the values.");
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let note: String = form.note.chars().take(500).collect();
    let path = form.path.clone();
    let result =
        storage_call(move || storage.resolve_conflict(&caller, uuid, &path, chosen, &note)).await;
    match result {
        Ok(Some(r)) if r.status != PushStatus::Rejected => {
            tracing::info!(record = %uuid, path = %form.path, "conflict resolved on the web");
            Redirect::to(&format!("/records/{uuid}")).into_response()
        }
        Ok(Some(r)) => error_page(
            StatusCode::FORBIDDEN,
            &format!(
                "The choice was refused: {}",
                r.reason.unwrap_or_else(|| "no reason given".into())
            ),
        ),
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such record."),
        Err(page) => page,
    }
}

/// The purge form.
#[derive(Deserialize)]
pub struct PurgeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /records/{id}/purge`: consent withdrawn.
pub async fn purge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PurgeForm>,
) -> Response {
    if let Err(page) = staff
        .require(BACKBONE_ROLES)
        .and_then(|()| staff.check_csrf(&form.csrf))
    {
        return page;
    }
    let Ok(uuid) = id.parse::<Uuid>() else {
        return error_page(StatusCode::NOT_FOUND, "No such record.");
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let reason = form.reason.clone();
    match storage_call(move || storage.purge(&caller, uuid, &reason)).await {
        Ok(Some(report)) => {
            let body = html! {
                h1 { "Deleted" }
                p id="purged" {
                    (report.records.len()) " records and " (report.changes)
                    " changes were deleted; phones delete their copies at their next sync."
                }
                ul { @for r in &report.records { li { code { (r) } } } }
                p { a href="/records" { "Back to the records" } }
            };
            staff.page("Purged", body)
        }
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such household or person."),
        Err(page) => page,
    }
}
