//! The staff web pages: sign-in with a session cookie, CSRF protection on every form,
//! the indicator dashboard, an indicator's disaggregated tables, and CSV exports of a
//! form's responses. Server-rendered, no JavaScript.
//!
//! A web session is a device of the signed-in user (named "web session"), so it is
//! authenticated, listed and revoked like any other: the cookie holds the device's
//! token (HttpOnly, SameSite=Strict), the server only its hash. A form's CSRF token is
//! derived from the session's token (a hash no other site can compute); the sign-in
//! form, before any session, uses a double-submit cookie.

mod chart;
mod downloads;
mod html;
mod pages;

use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::storage::TokenCheck;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "c2c_session";
/// The sign-in form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "c2c_login";
/// The most a page's form body may hold.
const FORM_LIMIT: usize = 16 * 1024;

/// The staff pages, to merge into the application's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/sign-in", get(pages::sign_in_page).post(pages::sign_in))
        .route("/sign-out", axum::routing::post(pages::sign_out))
        .route("/dashboard", get(pages::dashboard))
        .route("/indicators/{id}", get(pages::indicator))
        .route("/exports/{form}", get(downloads::responses))
        .route("/exports/{form}/{repeat}", get(downloads::repeat))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(middleware::from_fn(security_headers))
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
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let to_sign_in = || Redirect::to("/sign-in").into_response();
        let Some(token) = pages::cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty())
        else {
            return Err(to_sign_in());
        };
        let storage = state.storage.clone();
        let check = {
            let token = token.clone();
            tokio::task::spawn_blocking(move || storage.authenticate(&token)).await
        };
        match check {
            Ok(Ok(TokenCheck::Valid(caller))) if may_use_web(caller.role) => Ok(Staff {
                csrf: csrf_for(&token),
                caller,
                token,
            }),
            Ok(Ok(_)) => Err(to_sign_in()),
            _ => Err(pages::error_page(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not check your session. Try again in a moment.",
            )),
        }
    }
}

/// Headers every page carries: no framing, no sniffing, no referrer, no caching of
/// pages with records on them, and a content policy that allows nothing but the page
/// itself (inline style, no script).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    let set = |h: &mut axum::http::HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    set(h, header::CACHE_CONTROL, "no-store");
    response
}
