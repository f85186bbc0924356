//! Signing in and out, and the helpers every page shares (cookies, the error page).

use axum::extract::State;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use maud::html;

use super::layout::{csrf_field, page};
use super::{csrf_for, may_use_web, Staff, LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECS};
use crate::app::AppState;
use crate::auth;
use crate::handlers::blocking;

/// A page with a status and a message, for errors.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = html! {
        p.error { (message) }
        p { a href="/dashboard" { "Back" } }
    };
    (status, page("Error", None, body)).into_response()
}

/// A cookie's value from the request's `Cookie` headers.
pub(super) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn with_cookie(mut response: Response, cookie: String) -> Response {
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn sign_in_form(message: Option<&str>) -> Response {
    let csrf = auth::new_token()[..32].to_string();
    let body = html! {
        h1 { "Sign in" }
        @if let Some(message) = message {
            p.error role="alert" { (message) }
        }
        form method="post" action="/sign-in" {
            (csrf_field(&csrf))
            label { "User name " input name="username" autocomplete="username" required; }
            label {
                "Password "
                input name="password" type="password" autocomplete="current-password" required;
            }
            button type="submit" { "Sign in" }
        }
    };
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    with_cookie(
        (status, page("Sign in", None, body)).into_response(),
        format!("{LOGIN_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/sign-in; Max-Age=3600"),
    )
}

/// `GET /sign-in`.
pub async fn sign_in_page() -> Response {
    sign_in_form(None)
}

/// The sign-in form.
#[derive(Deserialize)]
pub struct SignIn {
    username: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /sign-in`: check the double-submit token and the password, open a session.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    if form.csrf.is_empty() || cookie(&headers, LOGIN_COOKIE).as_deref() != Some(&form.csrf) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form has expired or did not come from this site. Open the sign-in page again.",
        );
    }
    let key = crate::limits::user_key(&form.username);
    if let Err(wait) = state.attempts.begin(&key, state.clock().now_ms()) {
        let mut page = sign_in_form(Some(&format!(
            "Too many failed attempts for this user name. Try again in {} minutes.",
            wait.div_ceil(60)
        )));
        *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        return page;
    }
    let storage = state.storage.clone();
    let SignIn {
        username, password, ..
    } = form;
    let checked = state
        .passwords
        .run(move || storage.sign_in(&username, &password, crate::storage::WEB_SESSION_DEVICE))
        .await;
    let session = match checked {
        Ok(Ok(Some(session))) => {
            state.attempts.succeed(&key);
            session
        }
        Ok(Ok(None)) => {
            return sign_in_form(Some("Wrong user name or password."));
        }
        Err(busy) if busy.code == "busy" => {
            let mut page = sign_in_form(Some(
                "The server is busy checking sign-ins. Try again in a moment.",
            ));
            *page.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            return page;
        }
        Ok(Err(_)) | Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Sign-in failed; try again.",
            )
        }
    };
    let allowed = session.role.parse().map(may_use_web).unwrap_or(false);
    if !allowed {
        let storage = state.storage.clone();
        let device = session.device_id.clone();
        let _ = blocking(move || storage.revoke_device(&device)).await;
        return error_page(
            StatusCode::FORBIDDEN,
            "Your account works in the phone app, not on these pages.",
        );
    }
    let response = with_cookie(
        Redirect::to("/dashboard").into_response(),
        format!(
            "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={SESSION_SECS}",
            session.token
        ),
    );
    with_cookie(
        response,
        format!("{LOGIN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/sign-in; Max-Age=0"),
    )
}

/// A form that carries only its CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    /// The form's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /sign-out`: end the session (its device is revoked).
pub async fn sign_out(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if form.csrf != csrf_for(&staff.token) {
        return error_page(
            StatusCode::FORBIDDEN,
            "This form did not come from this site.",
        );
    }
    let storage = state.storage.clone();
    let device = staff.caller.device_id.clone();
    if blocking(move || storage.revoke_device(&device))
        .await
        .is_err()
    {
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Sign-out failed; try again.",
        );
    }
    with_cookie(
        Redirect::to("/sign-in").into_response(),
        format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    )
}
