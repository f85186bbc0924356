//! `GET /users` (with an enrollment form per user), `POST /users/{id}/enroll` (a
//! one-time code as text and as a QR code), `GET /devices` and
//! `POST /devices/{id}/revoke`.
//!
//! Who manages whom follows [`Caller::may_act_for`](crate::auth::Caller::may_act_for):
//! users within the staff member's scope and of a lower role; admins also other
//! admins within their scope.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use qrcode::render::svg;
use qrcode::QrCode;
use sync_core::Scope;

use super::html::escape;
use super::session::{error_page, CsrfOnly};
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::auth::Role;
use crate::storage::{UserSummary, ENROLLMENT_TTL};

fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// Whether `staff` manages this user (a role this server does not know: nobody).
fn manages(staff: &Staff, user: &UserSummary) -> bool {
    user.role
        .parse::<Role>()
        .is_ok_and(|role| staff.caller.may_act_for(role, user.scope.as_ref()))
}

fn scope_text(scope: Option<&Scope>) -> String {
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

async fn managed_users(state: &AppState, staff: &Staff) -> Result<Vec<UserSummary>, Response> {
    staff.require(BACKBONE_ROLES)?;
    let storage = state.storage.clone();
    let users = storage_call(move || storage.users()).await?;
    Ok(users.into_iter().filter(|u| manages(staff, u)).collect())
}

/// `GET /users`.
pub async fn users(State(state): State<AppState>, staff: Staff) -> Response {
    let users = match managed_users(&state, &staff).await {
        Ok(users) => users,
        Err(page) => return page,
    };
    let mut body = String::from(
        "<h1>Users</h1><p>Enroll a phone for a user with a one-time code: the phone's \
         camera opens the field app from its QR code (or send the link), or the user types \
         the code in an installed app. It works once, for a day.</p>\
         <table id=\"users\"><thead><tr><th>User</th><th>Role</th><th>Scope</th>\
         <th>Active devices</th><th></th></tr></thead><tbody>",
    );
    for u in &users {
        body.push_str(&format!(
            "<tr data-user=\"{name}\"><td>{name}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td>\
             <td><form method=\"post\" action=\"/users/{}/enroll\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Enroll a device</button></form></td></tr>",
            escape(&u.role),
            escape(&scope_text(u.scope.as_ref())),
            u.active_devices,
            escape(&u.id),
            staff.csrf,
            name = escape(&u.username),
        ));
    }
    body.push_str("</tbody></table><p><a href=\"/devices\">Devices</a></p>");
    staff.page("Users", maud::PreEscaped(body))
}

/// The server's own address for the QR code: its public URL (`--public-url`) when it
/// was given one, else as the browser reached it.
fn server_url(headers: &HeaderMap) -> String {
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
    let storage = state.storage.clone();
    let by = staff.caller.username.clone();
    let id = user.id.clone();
    let enrollment = match storage_call(move || storage.create_enrollment(&id, &by)).await {
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
    let body = format!(
        "<h1>Enroll a device for {}</h1><p>On the phone, scan this code with the camera, \
         or open the link below: the field app opens in the browser and enrolls the phone. \
         In an installed app, scan it or type the code. It works once, until {} ({} hours).</p>\
         <div id=\"enrollment-qr\">{qr}</div>\
         <p>Link: <a id=\"enrollment-link\" href=\"{}\">{}</a></p>\
         <p>Code: <strong id=\"enrollment-code\" style=\"font-size:1.6rem;letter-spacing:.1em\">{}</strong></p>\
         <p>Server: <code>{}</code></p><p><a href=\"/users\">Back to users</a></p>",
        escape(&user.username),
        when(enrollment.expires_at),
        ENROLLMENT_TTL / 3600,
        escape(&link),
        escape(&link),
        escape(&enrollment.code),
        escape(&server_url(&headers)),
    );
    staff.page("Enrollment code", maud::PreEscaped(body))
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
    let mut body = String::from(
        "<h1>Devices</h1><p>Revoke a lost phone: its next sync fails and tells the app to \
         wipe its store.</p><table id=\"devices\"><thead><tr><th>Device</th><th>User</th>\
         <th>Enrolled</th><th>Status</th><th></th></tr></thead><tbody>",
    );
    for d in devices
        .iter()
        .filter(|d| managed.contains_key(d.user_id.as_str()))
    {
        let (status, action) = match d.revoked_at {
            Some(t) => (format!("revoked {}", when(t)), String::new()),
            None => (
                "active".to_string(),
                format!(
                    "<form method=\"post\" action=\"/devices/{}/revoke\">\
                     <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
                     <button type=\"submit\">Revoke</button></form>",
                    escape(&d.id),
                    staff.csrf
                ),
            ),
        };
        body.push_str(&format!(
            "<tr data-device=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"status\">{status}</td>\
             <td>{action}</td></tr>",
            escape(&d.id),
            escape(&d.name),
            escape(&d.username),
            when(d.created_at),
        ));
    }
    body.push_str("</tbody></table>");
    staff.page("Devices", maud::PreEscaped(body))
}

/// `POST /devices/{id}/revoke`.
pub async fn revoke(
    State(state): State<AppState>,
    staff: Staff,
    Path(device_id): Path<String>,
    Form(form): Form<CsrfOnly>,
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
    match storage_call(move || storage.revoke_device(&id)).await {
        Ok(_) => {
            tracing::info!(device = %device.id, by = %staff.caller.user_id, "device revoked on the web");
            Redirect::to("/devices").into_response()
        }
        Err(page) => page,
    }
}
