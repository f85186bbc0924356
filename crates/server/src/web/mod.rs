//! The staff web pages: the partnership run from the browser. Server-rendered maud
//! templates on one layout ([`layout`]), no JavaScript; sign-in with a session cookie,
//! CSRF protection on every form, every changing act in the audit log.
//!
//! - [`session`]: sign-in and sign-out, cookies, the error page;
//! - [`dashboard`]: the indicators with baselines, targets and trend verdicts, the
//!   count trending the right way, the follow-up counts; [`indicator`]: one
//!   indicator's curve, forecast, verdicts and disaggregated curves, its numbers as CSV
//!   and a printable report; [`targets`]: baselines and targets, the CSV upload of
//!   administrative rows, the smallest cell shown; [`chart`]: SVG bars and curves;
//! - [`responses`]: each form's records as a filtered table, a response's page;
//!   [`households`]: households with their members and records; [`answers`]: a
//!   record's answers as its form shows them;
//! - [`records`]: every record (filters, search), a record's history, resolving a
//!   conflict, purging a household; [`attachments`]: a record's photos and signatures;
//! - [`followups`]: the worklist (follow-ups due, referrals, call-backs, households
//!   not visited), marking done and assigning through the push path;
//! - [`downloads`]: the exports page and every export (CSV, `.xlsx`);
//! - [`users`], [`accounts`], [`password_reset`]: users, their devices, enrollment
//!   codes (with a QR code), one-time password links; [`lists`]: organizations,
//!   neighborhoods and programs that scopes choose from; [`audit`]: the audit log;
//! - [`programs`]: partner programs' performance measures (how much, how well, better
//!   off) by period, their CSV, and the declaration of what each program measures;
//! - [`forms`]: the published forms; upload, check, preview and publish a version;
//!   [`upload`]: reading an uploaded file within bounds;
//! - [`scorecard`]: the public community scorecard (no sign-in, its own headers:
//!   [`public_routes`]) and its settings;
//! - [`layout`]: the page frame and shared components; [`html`]: URL encoding.
//!
//! A web session is a device of the signed-in user (named "web session"), so it is
//! authenticated, listed and revoked like any other: the cookie holds the device's
//! token (HttpOnly, SameSite=Strict), the server only its hash. A form's CSRF token is
//! derived from the session's token (a hash no other site can compute); the sign-in
//! form and the password-reset form, before any session, use a double-submit cookie
//! or the one-time code itself.

// A page's early exit is the response to send (a redirect, a 403 page): handlers
// return it at once, so its size on the stack does not matter.
#![allow(clippy::result_large_err)]

mod accounts;
mod answers;
mod attachments;
mod audit;
mod chart;
mod dashboard;
mod downloads;
pub mod followups;
mod forms;
mod households;
mod html;
mod indicator;
mod layout;
mod lists;
mod password_reset;
mod programs;
mod records;
mod responses;
mod scorecard;
mod session;
mod targets;
mod upload;
mod users;

use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use sha2::{Digest, Sha256};
use tower_http::set_header::SetResponseHeaderLayer;

use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::storage::{Act, TokenCheck};

pub use html::url_encode;
pub use scorecard::{public_routes, render as render_scorecard};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "c2c_session";
/// How long a web session lasts, in seconds (the cookie's Max-Age, and enforced on
/// the server).
pub const SESSION_SECS: i64 = crate::storage::WEB_SESSION_SECS;
/// The sign-in form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "c2c_login";
/// The most a page's form body may hold (an uploaded CSV file of aggregate rows is the
/// largest).
const FORM_LIMIT: usize = 4 * 1024 * 1024;

/// The staff pages, to merge into the application's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route(
            "/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/sign-out", post(session::sign_out))
        .route("/dashboard", get(dashboard::dashboard))
        .route("/indicators/{id}", get(indicator::indicator))
        .route("/indicators/{id}/numbers.csv", get(indicator::numbers))
        .route("/indicators/{id}/report", get(indicator::report))
        .route(
            "/indicators/{id}/targets",
            get(targets::targets_page).post(targets::save_targets),
        )
        .route("/indicators/upload", post(targets::upload))
        .route("/settings/min-cell", post(targets::save_min_cell))
        .route(
            "/scorecard/settings",
            get(scorecard::settings_page).post(scorecard::save_settings),
        )
        .route("/records", get(records::list))
        .route("/records/{id}", get(records::record))
        .route("/records/{id}/resolve", post(records::resolve))
        .route("/records/{id}/purge", post(records::purge))
        .route(
            "/records/{id}/attachments/{name}",
            get(attachments::attachment),
        )
        .route("/responses", get(responses::overview))
        .route("/responses/{form}", get(responses::table))
        .route("/responses/{form}/{id}", get(responses::response))
        .route("/households", get(households::list))
        .route("/households/{id}", get(households::household))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::page).post(users::edit))
        .route("/users/{id}/active", post(users::set_active))
        .route("/users/{id}/reset", post(users::reset))
        .route(
            "/reset/{code}",
            get(password_reset::show).post(password_reset::set),
        )
        .route("/lists", get(lists::page).post(lists::add))
        .route("/lists/{kind}/{code}", post(lists::edit))
        .route("/programs", get(programs::list))
        .route("/programs/{code}", get(programs::program))
        .route("/programs/{code}/measures.csv", get(programs::measures_csv))
        .route(
            "/programs/{code}/declare",
            get(programs::declare_form).post(programs::declare),
        )
        .route("/audit", get(audit::page))
        .route("/follow-ups", get(followups::worklist))
        .route("/follow-ups/{id}/{kind}/done", post(followups::done))
        .route("/follow-ups/{id}/{kind}/assign", post(followups::assign))
        .route("/users/{id}/enroll", post(accounts::enroll))
        .route("/devices", get(accounts::devices))
        .route("/devices/{id}/revoke", post(accounts::revoke))
        .route("/forms", get(forms::list))
        .route(
            "/forms/preview",
            post(forms::preview).layer(DefaultBodyLimit::max(forms::PREVIEW_LIMIT)),
        )
        .route(
            "/forms/publish",
            post(forms::publish).layer(DefaultBodyLimit::max(forms::PUBLISH_LIMIT)),
        )
        .route("/forms/{id}/{version}/files/{name}", get(forms::download))
        .route("/exports", get(downloads::page))
        .route("/exports/{file}", get(downloads::records))
        .route("/exports/{form}/{file}", get(downloads::repeat))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(security_header(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_POLICY,
        ))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(security_header(header::CACHE_CONTROL, "no-store"))
}

/// Whether a role may use the staff pages. Outreach workers and parents work on their
/// phones.
pub fn may_use_web(role: Role) -> bool {
    matches!(
        role,
        Role::Admin | Role::BackboneStaff | Role::PartnerStaff | Role::ReportsOnly
    )
}

/// The CSRF token of a session: a hash of its secret token.
pub fn csrf_for(session_token: &str) -> String {
    let digest = Sha256::digest(format!("csrf\0{session_token}").as_bytes());
    hex::encode(&digest[..16])
}

/// A signed-in staff member, from the session cookie. Without a valid session a page
/// answers with a redirect to the sign-in page.
pub struct Staff {
    /// Who it is.
    pub caller: Caller,
    /// The CSRF token their forms carry.
    pub csrf: String,
    /// The session's token (the cookie).
    pub token: String,
    /// Where the request came from (the client's address), for the audit log.
    pub address: String,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/sign-in").into_response();
        let address = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string());
        let Some(token) = session::cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty())
        else {
            return Err(to_sign_in());
        };
        let storage = state.storage.clone();
        let check = {
            let token = token.clone();
            tokio::task::spawn_blocking(move || storage.authenticate(&token)).await
        };
        match check {
            Ok(Ok(TokenCheck::Valid(caller))) if may_use_web(caller.role) => {
                // The request log names who called, as for the sync endpoints.
                if let Some(log) = parts.extensions.get::<crate::app::RequestLog>() {
                    log.set(&caller.user_id, &caller.device_id);
                }
                Ok(Staff {
                    csrf: csrf_for(&token),
                    caller,
                    token,
                    address,
                })
            }
            Ok(Ok(_)) => Err(to_sign_in()),
            _ => Err(session::error_page(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not check your session. Try again in a moment.",
            )),
        }
    }
}

impl Staff {
    /// An act of this staff member, for the audit log.
    pub fn act<'a>(&'a self, action: &'a str, subject: &'a str, detail: String) -> Act<'a> {
        Act {
            actor: &self.caller,
            address: &self.address,
            action,
            subject,
            detail,
        }
    }

    /// Go on only for these roles; others get a page that says why.
    pub fn require(&self, roles: &[Role]) -> Result<(), Response> {
        if roles.contains(&self.caller.role) {
            Ok(())
        } else {
            Err(session::error_page(
                axum::http::StatusCode::FORBIDDEN,
                "Your role does not allow this page.",
            ))
        }
    }

    /// Go on only when a posted form carries this session's CSRF token.
    pub fn check_csrf(&self, token: &str) -> Result<(), Response> {
        if token == self.csrf {
            Ok(())
        } else {
            Err(session::error_page(
                axum::http::StatusCode::FORBIDDEN,
                "This form did not come from this site, or your session changed. Open the page again.",
            ))
        }
    }

    /// A whole page for this staff member: the header with their name and the
    /// sign-out form, then `body`.
    pub fn page(&self, title: &str, body: maud::Markup) -> Response {
        let viewer = layout::Viewer {
            username: &self.caller.username,
            csrf: &self.csrf,
        };
        layout::page(title, Some(viewer), body).into_response()
    }
}

/// Roles that may read records (reports-only sees aggregates only).
pub const RECORD_ROLES: &[Role] = &[Role::Admin, Role::BackboneStaff, Role::PartnerStaff];
/// Roles that manage the partnership's settings, targets, users and devices.
pub const BACKBONE_ROLES: &[Role] = &[Role::Admin, Role::BackboneStaff];

/// Run blocking storage work for a page; a failure becomes an error page.
pub async fn storage_call<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::storage::StorageError> + Send + 'static,
) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(crate::storage::StorageError::Invalid(message))) => Err(session::error_page(
            axum::http::StatusCode::BAD_REQUEST,
            &message,
        )),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "a page's storage call failed");
            Err(session::error_page(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not do this just now; try again in a moment.",
            ))
        }
        Err(e) => {
            tracing::error!(error = %e, "a page's storage task failed");
            Err(session::error_page(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not do this just now; try again in a moment.",
            ))
        }
    }
}

/// The content policy of every page: nothing but the page itself (inline style, no
/// script, images from this site or inline).
const CONTENT_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A header every page carries, whatever the handler set: no framing, no sniffing, no
/// referrer, no caching of pages with records on them, and [`CONTENT_POLICY`].
fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}
