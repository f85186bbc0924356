//! The users pages: `GET /users` (every user the staff member manages, and the
//! form that makes one), `POST /users` (make a user: no password is ever shown; a
//! web role gets a one-time link to set one, a phone role an enrollment code),
//! `GET /users/{id}` (role, scope, language, devices, buttons), `POST /users/{id}`
//! (edit), `POST /users/{id}/active` (deactivate or reactivate) and
//! `POST /users/{id}/reset` (a one-time password-reset link).
//!
//! Every act checks [`Caller::may_act_for`](crate::auth::Caller::may_act_for) twice
//! over when it changes a user: for the user as they are, and as they would be. A
//! scope's organization, neighborhood and program come from the managed lists
//! ([`super::lists`]), its partnership is the staff member's own (an unscoped admin
//! names it), and its family is a household id checked to exist in that scope.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;
use sync_core::Scope;

use super::accounts::{managed_users, scope_text, server_url, OwnedAct};
use super::layout::when;
use super::layout::{csrf_field, post_button};
use super::session::error_page;
use super::{may_use_web, storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::auth::Role;
use crate::storage::{Account, ListEntry, ListKind, StorageError, UserSummary, LANGUAGES};

/// The user form's fields (create and edit).
#[derive(Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    partnership: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    neighborhood: String,
    #[serde(default)]
    program: String,
    #[serde(default)]
    family: String,
    #[serde(default)]
    language: String,
}

/// A form of one choice: deactivate (`active=0`) or reactivate (`active=1`).
#[derive(Deserialize)]
pub struct ActiveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    active: String,
}

/// The roles `staff` may give: lower than theirs, or any for an admin.
fn roles_for(staff: &Staff) -> Vec<Role> {
    let mine = staff.caller.role;
    Role::ALL
        .into_iter()
        .filter(|r| mine == Role::Admin || r.rank() < mine.rank())
        .collect()
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Admin => "Admin",
        Role::BackboneStaff => "Backbone staff",
        Role::PartnerStaff => "Partner staff",
        Role::OutreachWorker => "Outreach worker",
        Role::Parent => "Parent",
        Role::ReportsOnly => "Reports only",
    }
}

/// A stored role's label (its name, for a role this server does not know).
fn role_text(role: &str) -> &str {
    match role.parse() {
        Ok(known) => role_label(known),
        Err(_) => role,
    }
}

fn language_label(code: &str) -> &str {
    LANGUAGES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(code, |(_, label)| label)
}

/// The managed lists a scope chooses from, in [`ListKind::ALL`]'s order.
type Lists = Vec<(ListKind, Vec<ListEntry>)>;

async fn lists(state: &AppState) -> Result<Lists, Response> {
    let storage = state.storage.clone();
    storage_call(move || {
        ListKind::ALL
            .into_iter()
            .map(|kind| Ok((kind, storage.list_entries(kind)?)))
            .collect()
    })
    .await
}

/// The scope's level a list fills.
fn level(scope: Option<&Scope>, kind: ListKind) -> Option<&str> {
    let scope = scope?;
    match kind {
        ListKind::Organization => scope.organization.as_deref(),
        ListKind::Neighborhood => scope.neighborhood.as_deref(),
        ListKind::Program => scope.program.as_deref(),
    }
}

/// The role, scope and language fields, filled with `current` (a user's, or for a new
/// user the staff member's own scope levels).
fn account_fields(staff: &Staff, lists: &Lists, current: Option<&UserSummary>) -> Markup {
    let scope = current.map_or(staff.caller.scope.as_ref(), |u| u.scope.as_ref());
    let role = current.and_then(|u| u.role.parse::<Role>().ok());
    let language = current.map_or("en", |u| u.language.as_str());
    html! {
        label { "Role "
            select id="role" name="role" required {
                @for r in roles_for(staff) {
                    option value=(r.as_str()) selected[role == Some(r)] { (role_label(r)) }
                }
            }
        }
        @match &staff.caller.scope {
            Some(mine) => p { "Partnership: " strong { (mine.partnership) } },
            None => label { "Partnership (empty only for an admin over everything) "
                input id="partnership" name="partnership"
                    value=(scope.map_or("", |s| s.partnership.as_str()));
            },
        }
        @for (kind, entries) in lists {
            @let chosen = level(scope, *kind);
            label { (kind.plural_label().trim_end_matches('s')) " "
                select id=(kind.as_str()) name=(kind.as_str()) {
                    option value="" { "— any —" }
                    @for e in entries.iter().filter(|e| e.active || chosen == Some(e.code.as_str())) {
                        option value=(e.code) selected[chosen == Some(e.code.as_str())] {
                            (e.label)
                            @if e.confidential { " (confidential)" }
                            @if !e.active { " (inactive)" }
                        }
                    }
                }
            }
        }
        label { "Family (a household's id, for a parent) "
            input id="family" name="family"
                value=(scope.and_then(|s| s.family.as_deref()).unwrap_or(""));
        }
        label { "Language "
            select id="language" name="language" {
                @for (code, label) in LANGUAGES {
                    option value=(code) selected[*code == language] { (label) }
                }
            }
        }
    }
}

/// The role, scope and language a form asks for, if `staff` may give them.
fn chosen_account(staff: &Staff, form: &UserForm) -> Result<Account, Response> {
    let bad = |message: &str| error_page(StatusCode::BAD_REQUEST, message);
    let role: Role = form.role.parse().map_err(|_| bad("Choose a role."))?;
    let text = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
    let partnership = match &staff.caller.scope {
        Some(mine) => mine.partnership.clone(),
        None => form.partnership.trim().to_string(),
    };
    let scope = if partnership.is_empty() {
        if role != Role::Admin {
            return Err(bad("Name the partnership."));
        }
        None
    } else {
        Some(Scope {
            partnership,
            organization: text(&form.organization),
            neighborhood: text(&form.neighborhood),
            family: text(&form.family),
            program: text(&form.program),
        })
    };
    if !roles_for(staff).contains(&role) || !staff.caller.may_act_for(role, scope.as_ref()) {
        return Err(error_page(
            StatusCode::FORBIDDEN,
            "You may not give this role or this scope: it is not below yours.",
        ));
    }
    let language = match form.language.as_str() {
        "" => "en".to_string(),
        l => l.to_string(),
    };
    Ok(Account {
        role,
        scope,
        language,
    })
}

fn describe(account: &Account) -> String {
    format!(
        "role {}, scope {}, language {}",
        account.role,
        scope_text(account.scope.as_ref()),
        account.language
    )
}

/// `GET /users`.
pub async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    let users = match managed_users(&state, &staff).await {
        Ok(users) => users,
        Err(page) => return page,
    };
    let lists = match lists(&state).await {
        Ok(lists) => lists,
        Err(page) => return page,
    };
    let body = html! {
        h1 { "Users" }
        p { "Open a user to change their role, scope or language, deactivate them, see \
             their devices, or make a password-reset link. Enroll a phone with a one-time \
             code: it works once, for a day." }
        div.scroll { table id="users" {
            thead { tr { th { "User" } th { "Role" } th { "Scope" } th { "Language" }
                th { "Status" } th { "Active devices" } th {} } }
            tbody { @for u in &users {
                tr data-user=(u.username) {
                    td { a href={ "/users/" (u.id) } { (u.username) } }
                    td { (role_text(&u.role)) }
                    td { (scope_text(u.scope.as_ref())) }
                    td { (language_label(&u.language)) }
                    td.status { @match u.deactivated_at {
                        Some(t) => { "deactivated " (when(t)) },
                        None => "active",
                    } }
                    td.num { (u.active_devices) }
                    td { @if u.deactivated_at.is_none() {
                        (post_button(&format!("/users/{}/enroll", u.id), &staff.csrf, &[], "Enroll a device"))
                    } }
                }
            } }
        } }
        h2 { "Create a user" }
        p { "No password is shown: staff who use these pages get a one-time link to set \
             their own; outreach workers and parents get an enrollment code for their phone." }
        form id="create-user" method="post" action="/users" {
            (csrf_field(&staff.csrf))
            label { "User name " input id="username" name="username" required maxlength="200"; }
            (account_fields(&staff, &lists, None))
            button id="create-user-submit" type="submit" { "Create user" }
        }
        p { a href="/devices" { "Devices" } " · " a href="/lists" { "Lists" } }
    };
    staff.page("Users", body)
}

/// `POST /users`: make a user, then show how they get in.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Form(form): Form<UserForm>,
) -> Response {
    if let Err(page) = staff
        .check_csrf(&form.csrf)
        .and_then(|()| staff.require(BACKBONE_ROLES))
    {
        return page;
    }
    let account = match chosen_account(&staff, &form) {
        Ok(account) => account,
        Err(page) => return page,
    };
    let username = form.username.trim().to_string();
    let storage = state.storage.clone();
    let act = OwnedAct::new(&staff, "user.create", &username, describe(&account));
    let (name, role) = (username.clone(), account.role);
    let made = storage_call(move || {
        storage
            .invite_user(&name, &account, &act.act())
            .map_err(|e| match e {
                StorageError::AlreadyExists(m) => StorageError::Invalid(m),
                e => e,
            })
    });
    let user_id = match made.await {
        Ok(id) => id,
        Err(page) => return page,
    };
    tracing::info!(user = %user_id, by = %staff.caller.user_id, "user created on the web");
    let next = if may_use_web(role) {
        match reset_link(&state, &staff, &headers, &user_id, &username).await {
            Ok(link) => link,
            Err(page) => return page,
        }
    } else {
        html! {
            p { "Make an enrollment code for their phone: the page shows it as a link, a \
                 QR code and letters to type." }
            form id="make-enrollment" method="post" action={ "/users/" (user_id) "/enroll" } {
                (csrf_field(&staff.csrf))
                button id="make-enrollment-submit" type="submit" { "Make an enrollment link" }
            }
        }
    };
    let body = html! {
        h1 { "User " (username) " created" }
        p.ok id="created-user" data-user-id=(user_id) { (role_label(role)) }
        (next)
        p { a href={ "/users/" (user_id) } { "Their page" } " · " a href="/users" { "All users" } }
    };
    staff.page("User created", body)
}

/// Make a one-time password-reset code for a user and show it as a link.
async fn reset_link(
    state: &AppState,
    staff: &Staff,
    headers: &HeaderMap,
    user_id: &str,
    username: &str,
) -> Result<Markup, Response> {
    let storage = state.storage.clone();
    let act = OwnedAct::new(staff, "password.reset_code", username, String::new());
    let id = user_id.to_string();
    let reset = storage_call(move || storage.create_password_reset(&id, &act.act())).await?;
    let link = format!("{}/reset/{}", server_url(headers), reset.code);
    Ok(html! {
        p { "Send " (username) " this link to set their password. It works once, until "
            (when(reset.expires_at)) ", and this page is the only time it is shown." }
        p { a id="reset-link" href=(link) { (link) } }
    })
}

/// The user `id` if `staff` manages them, else the 404 page.
async fn managed_user(state: &AppState, staff: &Staff, id: &str) -> Result<UserSummary, Response> {
    let users = managed_users(state, staff).await?;
    users
        .into_iter()
        .find(|u| u.id == id)
        .ok_or_else(|| error_page(StatusCode::NOT_FOUND, "No such user."))
}

/// `GET /users/{id}`.
pub async fn page(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Response {
    let user = match managed_user(&state, &staff, &id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let lists = match lists(&state).await {
        Ok(lists) => lists,
        Err(page) => return page,
    };
    let storage = state.storage.clone();
    let devices = match storage_call(move || storage.devices()).await {
        Ok(devices) => devices,
        Err(page) => return page,
    };
    let action = format!("/users/{}", user.id);
    let back = action.clone();
    let body = html! {
        h1 { (user.username) }
        p id="user-status" { @match user.deactivated_at {
            Some(t) => span.error { "Deactivated " (when(t)) ": signs in nowhere." },
            None => span.ok { "Active" },
        } }
        h2 { "Role, scope and language" }
        form id="edit-user" method="post" action=(action) {
            (csrf_field(&staff.csrf))
            (account_fields(&staff, &lists, Some(&user)))
            button id="edit-user-submit" type="submit" { "Save" }
        }
        h2 { "Access" }
        @if user.deactivated_at.is_none() {
            p { (post_button(&format!("{action}/reset"), &staff.csrf, &[], "Make a password-reset link")) " "
                (post_button(&format!("{action}/enroll"), &staff.csrf, &[], "Enroll a device")) }
            p { "Deactivating revokes every device of theirs at once." }
            (post_button(&format!("{action}/active"), &staff.csrf, &[("active", "0")], "Deactivate"))
        } @else {
            p { "Reactivated, they need a new enrollment code or password-reset link: their old devices stay revoked." }
            (post_button(&format!("{action}/active"), &staff.csrf, &[("active", "1")], "Reactivate"))
        }
        h2 { "Devices" }
        div.scroll { table id="devices" {
            thead { tr { th { "Device" } th { "Enrolled" } th { "Status" } th {} } }
            tbody { @for d in devices.iter().filter(|d| d.user_id == user.id) {
                tr data-device=(d.id) {
                    td { (d.name) }
                    td { (when(d.created_at)) }
                    @match d.revoked_at {
                        Some(t) => { td.status { "revoked " (when(t)) } td {} },
                        None => {
                            td.status { "active" }
                            td { (post_button(&format!("/devices/{}/revoke", d.id), &staff.csrf,
                                &[("back", back.as_str())], "Revoke")) }
                        },
                    }
                }
            } }
        } }
        p { a href="/users" { "All users" } }
    };
    staff.page(&user.username, body)
}

/// `POST /users/{id}`: change role, scope and language.
pub async fn edit(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<UserForm>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let user = match managed_user(&state, &staff, &id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let account = match chosen_account(&staff, &form) {
        Ok(account) => account,
        Err(page) => return page,
    };
    let storage = state.storage.clone();
    let act = OwnedAct::new(&staff, "user.edit", &user.username, describe(&account));
    let current = user.scope.clone();
    let saved =
        storage_call(move || storage.update_user(&user.id, &account, current.as_ref(), &act.act()));
    match saved.await {
        Ok(()) => Redirect::to(&format!("/users/{id}")).into_response(),
        Err(page) => page,
    }
}

/// `POST /users/{id}/active`: deactivate (`active=0`) or reactivate (`active=1`).
pub async fn set_active(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ActiveForm>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let active = match form.active.as_str() {
        "1" => true,
        "0" => false,
        _ => return error_page(StatusCode::BAD_REQUEST, "Deactivate or reactivate?"),
    };
    let user = match managed_user(&state, &staff, &id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    if user.id == staff.caller.user_id {
        return error_page(StatusCode::BAD_REQUEST, "You cannot deactivate yourself.");
    }
    let action = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    let storage = state.storage.clone();
    let act = OwnedAct::new(&staff, action, &user.username, String::new());
    match storage_call(move || storage.set_user_active(&user.id, active, &act.act())).await {
        Ok(_) => Redirect::to(&format!("/users/{id}")).into_response(),
        Err(page) => page,
    }
}

/// `POST /users/{id}/reset`: a one-time password-reset link, shown once.
pub async fn reset(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<super::session::CsrfOnly>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let user = match managed_user(&state, &staff, &id).await {
        Ok(user) => user,
        Err(page) => return page,
    };
    let link = match reset_link(&state, &staff, &headers, &user.id, &user.username).await {
        Ok(link) => link,
        Err(page) => return page,
    };
    let body = html! {
        h1 { "Password reset for " (user.username) }
        (link)
        p { a href={ "/users/" (user.id) } { "Back to " (user.username) } }
    };
    staff.page("Password reset", body)
}
