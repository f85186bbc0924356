//! The managed lists: `GET /lists` (organizations, neighborhoods, programs, each
//! with its add form), `POST /lists` (add an entry) and `POST /lists/{kind}/{code}`
//! (relabel, or with `active`, deactivate or reactivate). Admins and backbone staff.
//! Scopes on the users pages choose from these lists; entries are never deleted.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::accounts::OwnedAct;
use super::layout::{csrf_field, post_button};
use super::session::error_page;
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::storage::ListKind;

/// The add and relabel forms.
#[derive(Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    label: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    confidential: Option<String>,
    /// `0` or `1` to deactivate or reactivate instead of relabelling.
    #[serde(default)]
    active: Option<String>,
}

/// `GET /lists`.
pub async fn page(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let storage = state.storage.clone();
    let lists = storage_call(move || {
        ListKind::ALL
            .into_iter()
            .map(|kind| Ok((kind, storage.list_entries(kind)?)))
            .collect::<Result<Vec<_>, _>>()
    })
    .await;
    let lists = match lists {
        Ok(lists) => lists,
        Err(page) => return page,
    };
    let body = html! {
        h1 { "Lists" }
        p { "The partnership's organizations, neighborhoods and programs: a user's scope \
             chooses from them. A code is short and never changes (scopes and records name \
             it); the label is what people read. Deactivated entries stay on the records \
             and users that name them, but new scopes cannot choose them." }
        @for (kind, entries) in &lists {
            h2 { (kind.plural_label()) }
            div.scroll { table id={ "list-" (kind.as_str()) } {
                thead { tr { th { "Code" } th { "Label" } th { "Status" } th {} } }
                tbody { @for e in entries {
                    @let action = format!("/lists/{}/{}", kind.as_str(), e.code);
                    tr data-entry=(e.code) {
                        td { code { (e.code) } }
                        td { form.inline method="post" action=(action) {
                            (csrf_field(&staff.csrf))
                            input name="label" value=(e.label) required maxlength="200" aria-label="Label";
                            @if *kind == ListKind::Program {
                                label.inline { input type="checkbox" name="confidential" value="1" checked[e.confidential]; " confidential" }
                            }
                            " " button type="submit" { "Save" }
                        } }
                        td.status { @if e.active { "active" } @else { "inactive" } }
                        td { @if e.active {
                            (post_button(&action, &staff.csrf, &[("active", "0")], "Deactivate"))
                        } @else {
                            (post_button(&action, &staff.csrf, &[("active", "1")], "Reactivate"))
                        } }
                    }
                } }
            } }
            form.filters id={ "add-" (kind.as_str()) } method="post" action="/lists" {
                (csrf_field(&staff.csrf))
                input type="hidden" name="kind" value=(kind.as_str());
                label { "Code " input name="code" required maxlength="40" pattern="[a-z0-9_-]+"; }
                label { "Label " input name="label" required maxlength="200"; }
                @if *kind == ListKind::Program {
                    label { input type="checkbox" name="confidential" value="1"; " confidential" }
                }
                button type="submit" { "Add" }
            }
        }
    };
    staff.page("Lists", body)
}

fn checked(field: &Option<String>) -> bool {
    field.as_deref().is_some_and(|v| !v.is_empty() && v != "0")
}

/// `POST /lists`: add an entry.
pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<EntryForm>,
) -> Response {
    if let Err(page) = staff
        .check_csrf(&form.csrf)
        .and_then(|()| staff.require(BACKBONE_ROLES))
    {
        return page;
    }
    let Some(kind) = ListKind::parse(&form.kind) else {
        return error_page(StatusCode::BAD_REQUEST, "No such list.");
    };
    let code = form.code.trim().to_string();
    let confidential = checked(&form.confidential);
    let act = OwnedAct::new(
        &staff,
        "list.add",
        &format!("{}/{code}", kind.as_str()),
        format!(
            "{}{}",
            form.label.trim(),
            if confidential { " (confidential)" } else { "" }
        ),
    );
    let storage = state.storage.clone();
    let added = storage_call(move || {
        storage.add_list_entry(kind, &code, &form.label, confidential, &act.act())
    });
    match added.await {
        Ok(()) => Redirect::to("/lists").into_response(),
        Err(page) => page,
    }
}

/// `POST /lists/{kind}/{code}`: relabel, or deactivate / reactivate.
pub async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path((kind, code)): Path<(String, String)>,
    Form(form): Form<EntryForm>,
) -> Response {
    if let Err(page) = staff
        .check_csrf(&form.csrf)
        .and_then(|()| staff.require(BACKBONE_ROLES))
    {
        return page;
    }
    let Some(kind) = ListKind::parse(&kind) else {
        return error_page(StatusCode::NOT_FOUND, "No such list.");
    };
    let subject = format!("{}/{code}", kind.as_str());
    let storage = state.storage.clone();
    let done = match form.active.as_deref() {
        Some(active @ ("0" | "1")) => {
            let active = active == "1";
            let action = if active {
                "list.activate"
            } else {
                "list.deactivate"
            };
            let act = OwnedAct::new(&staff, action, &subject, String::new());
            storage_call(move || storage.set_list_entry_active(kind, &code, active, &act.act()))
                .await
        }
        Some(_) => return error_page(StatusCode::BAD_REQUEST, "Deactivate or reactivate?"),
        None => {
            let confidential = checked(&form.confidential);
            let act = OwnedAct::new(&staff, "list.edit", &subject, form.label.trim().to_string());
            storage_call(move || {
                storage.relabel_list_entry(kind, &code, &form.label, confidential, &act.act())
            })
            .await
        }
    };
    match done {
        Ok(true) => Redirect::to("/lists").into_response(),
        Ok(false) => error_page(StatusCode::NOT_FOUND, "No such list entry."),
        Err(page) => page,
    }
}
