//! `POST /users/{id}/enroll` (a one-time code as text and as a QR code),
//! `GET /devices` and `POST /devices/{id}/revoke`, and what the user pages share
//! ([`managed_users`], [`OwnedAct`]). The users pages are in [`super::users`].
//!
//! Who manages whom follows [`Caller::may_act_for`](crate::auth::Caller::may_act_for):
//! users within the staff member's scope and of a lower role; admins also other
//! admins within their scope.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, PreEscaped};
use qrcode::render::svg;
use qrcode::QrCode;
use sync_core::Scope;

use super::layout::{csrf_field, when};
use super::session::{error_page, CsrfOnly};
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::auth::Caller;
use crate::auth::Role;
use crate::storage::{Act, UserSummary, ENROLLMENT_TTL};

/// An act for the audit log that owns its parts, to move into blocking storage work.
pub(super) struct OwnedAct {
    caller: Caller,
    address: String,
    action: &'static str,
    subject: String,
    detail: String,
}

impl OwnedAct {
    /// `staff`'s act.
    pub(super) fn new(staff: &Staff, action: &'static str, subject: &str, detail: String) -> Self {
        OwnedAct {
            caller: staff.caller.clone(),
            address: staff.address.clone(),
            action,
            subject: subject.to_string(),
            detail,
        }
    }

    /// The act, as storage logs it.
    pub(super) fn act(&self) -> Act<'_> {
        Act {
            actor: &self.caller,
            address: &self.address,
            action: self.action,
            subject: &self.subject,
            detail: self.detail.clone(),
        }
    }
}

/// Whether `staff` manages this user (a role this server does not know: nobody).
pub(super) fn manages(staff: &Staff, user: &UserSummary) -> bool {
    user.role
        .parse::<Role>()
        .is_ok_and(|role| staff.caller.may_act_for(role, user.scope.as_ref()))
}

/// A scope as one line (`p1 / east`), or `everything`.
pub(super) fn scope_text(scope: Option<&Scope>) -> String {
    scope.map_or("everything".into(), |s| {
        [
            Some(s.partnership.as_str()),
            s.organization.as_deref(),
            s.neighborhood.as_deref(),
            s.family.as_deref(),
            s.program.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" / ")
    })
}

/// The users `staff` manages (backbone roles only; others get the 403 page).
pub(super) async fn managed_users(
    state: &AppState,
    staff: &Staff,
) -> Result<Vec<UserSummary>, Response> {
    staff.require(BACKBONE_ROLES)?;
    let storage = state.storage.clone();
    let users = storage_call(move || storage.users()).await?;
    Ok(users.into_iter().filter(|u| manages(staff, u)).collect())
}

/// The server's own address for the QR code: its public URL (`--public-url`) when it
/// was given one, else as the browser reached it.
pub(super) fn server_url(headers: &HeaderMap) -> String {
    if let Some(url) = crate::public_url() {
        return url;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    let forwarded_https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p == "https");
    let scheme = if crate::serving_https() || forwarded_https {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}")
}

/// `POST /users/{id}/enroll`.
pub async fn enroll(
    State(state): State<AppState>,
    staff: Staff,
    headers: HeaderMap,
    Path(user_id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let users = match managed_users(&state, &staff).await {
        Ok(users) => users,
        Err(page) => return page,
    };
    let Some(user) = users.into_iter().find(|u| u.id == user_id) else {
        return error_page(StatusCode::NOT_FOUND, "No such user.");
    };
    if user.deactivated_at.is_some() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This user is deactivated: reactivate them first.",
        );
    }
    let storage = state.storage.clone();
    let by = staff.caller.username.clone();
    let id = user.id.clone();
    let act = OwnedAct::new(&staff, "enrollment.create", &user.username, String::new());
    let made = storage_call(move || storage.create_enrollment_logged(&id, &by, Some(&act.act())));
    let enrollment = match made.await {
        Ok(e) => e,
        Err(page) => return page,
    };
    tracing::info!(user = %user.id, by = %staff.caller.user_id, "enrollment code created");
    // The link opens the field app in the phone's browser and enrolls it (the native
    // apps read the same link). The code travels in the fragment, which browsers never
    // send, so it reaches no server log.
    let link = format!("{}/app/#enroll={}", server_url(&headers), enrollment.code);
    let qr = QrCode::new(link.as_bytes())
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(220, 220)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default();
    // The renderer starts with an XML declaration, which has no place inside HTML.
    let qr = qr.find("<svg").map_or("", |i| &qr[i..]);
    let server = server_url(&headers);
    let body = html! {
        h1 { "Enroll a device for " (user.username) }
        p {
            "On the phone, scan this code with the camera, or open the link below: the field \
             app opens in the browser and enrolls the phone. In an installed app, scan it or \
             type the code. It works once, until " (when(enrollment.expires_at)) " ("
            (ENROLLMENT_TTL / 3600) " hours)."
        }
        // The QR renderer's SVG, made here from the link: no outside text in it.
        div id="enrollment-qr" { (PreEscaped(qr)) }
        p { "Link: " a id="enrollment-link" href=(link) { (link) } }
        p {
            "Code: "
            strong id="enrollment-code" style="font-size:1.6rem;letter-spacing:.1em" {
                (enrollment.code)
            }
        }
        p { "Server: " code { (server) } }
        p { a href={ "/users/" (user.id) } { "Back to " (user.username) } }
    };
    staff.page("Enrollment code", body)
}

/// `GET /devices`.
pub async fn devices(State(state): State<AppState>, staff: Staff) -> Response {
    let users = match managed_users(&state, &staff).await {
        Ok(users) => users,
        Err(page) => return page,
    };
    let managed: HashMap<&str, &UserSummary> = users.iter().map(|u| (u.id.as_str(), u)).collect();
    let storage = state.storage.clone();
    let devices = match storage_call(move || storage.devices()).await {
        Ok(devices) => devices,
        Err(page) => return page,
    };
    let shown = devices
        .iter()
        .filter(|d| managed.contains_key(d.user_id.as_str()));
    let body = html! {
        h1 { "Devices" }
        p { "Revoke a lost phone: its next sync fails and tells the app to wipe its store." }
        div.scroll {
            table id="devices" {
                thead { tr { th { "Device" } th { "User" } th { "Enrolled" } th { "Status" } th {} } }
                tbody {
                    @for d in shown {
                        tr data-device=(d.id) {
                            td { (d.name) }
                            td { (d.username) }
                            td { (when(d.created_at)) }
                            @match d.revoked_at {
                                Some(t) => { td.status { "revoked " (when(t)) } td {} }
                                None => {
                                    td.status { "active" }
                                    td {
                                        form method="post" action={ "/devices/" (d.id) "/revoke" } {
                                            (csrf_field(&staff.csrf))
                                            button type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    staff.page("Devices", body)
}

/// The revoke button's form: its CSRF token, and the page to go back to.
#[derive(serde::Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    /// `/users/{id}` when the button was on a user's page.
    #[serde(default)]
    back: String,
}

/// `POST /devices/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(device_id): Path<String>,
    Form(form): Form<RevokeForm>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let users = match managed_users(&state, &staff).await {
        Ok(users) => users,
        Err(page) => return page,
    };
    let storage = state.storage.clone();
    let devices = match storage_call(move || storage.devices()).await {
        Ok(devices) => devices,
        Err(page) => return page,
    };
    let Some(device) = devices
        .into_iter()
        .find(|d| d.id == device_id && users.iter().any(|u| u.id == d.user_id))
    else {
        return error_page(StatusCode::NOT_FOUND, "No such device.");
    };
    let storage = state.storage.clone();
    let id = device.id.clone();
    let act = OwnedAct::new(
        &staff,
        "device.revoke",
        &device.username,
        format!("device {} ({})", device.id, device.name),
    );
    match storage_call(move || storage.revoke_device_logged(&id, Some(&act.act()))).await {
        Ok(_) => {
            tracing::info!(device = %device.id, by = %staff.caller.user_id, "device revoked on the web");
            // Back to the user's page when the button was there (a path of ours only).
            let back = match form.back.strip_prefix("/users/") {
                Some(id)
                    if !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') =>
                {
                    form.back.as_str()
                }
                _ => "/devices",
            };
            Redirect::to(back).into_response()
        }
        Err(page) => page,
    }
}
