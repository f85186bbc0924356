//! `GET /reset/{code}` and `POST /reset/{code}`: set a password with a one-time link
//! staff made (no sign-in: the code is the proof, and no other site can know it, so
//! the form needs no CSRF token). The code works once, for a day; an unknown, used or
//! expired one gets the same page. Lookups are rate-limited per client address like
//! sign-ins ([`crate::limits::Attempts`]), and the new password is hashed in the
//! bounded password pool.

use axum::extract::{Path, State};
use axum::http::{Extensions, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::page;
use super::session::error_page;
use super::storage_call;
use crate::app::AppState;
use crate::storage::check_password;

/// The form: the new password twice.
#[derive(Deserialize)]
pub struct NewPassword {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

fn address(extensions: &Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.ip().to_string())
}

fn gone() -> Response {
    error_page(
        StatusCode::GONE,
        "This password link has been used already, has expired, or is not one of ours. \
         Ask your administrator for a new one.",
    )
}

fn form(code: &str, username: &str, message: Option<&str>) -> Markup {
    html! {
        h1 { "Set your password" }
        p { "For " strong id="reset-user" { (username) } ". At least 8 characters; a few \
             words you will remember make a good one." }
        @if let Some(message) = message { p.error role="alert" { (message) } }
        form id="reset-form" method="post" action={ "/reset/" (code) } {
            label { "New password "
                input id="new-password" name="password" type="password"
                    autocomplete="new-password" required minlength="8"; }
            label { "Again "
                input id="confirm-password" name="confirm" type="password"
                    autocomplete="new-password" required minlength="8"; }
            button id="set-password" type="submit" { "Set password" }
        }
    }
}

/// Count a lookup of `address` before it happens; the 429 page when it has used up
/// its attempts.
fn begin(state: &AppState, key: &str) -> Result<(), Response> {
    state
        .attempts
        .begin(key, state.clock().now_ms())
        .map_err(|wait| {
            error_page(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many tries from here. Try again in {} minutes.",
                    wait.div_ceil(60)
                ),
            )
        })
}

/// The user a working code is for, counting the attempt (refunded when it works:
/// many people may share one address).
async fn lookup(state: &AppState, key: &str, code: &str) -> Result<String, Response> {
    begin(state, key)?;
    let storage = state.storage.clone();
    let code = code.to_string();
    match storage_call(move || storage.password_reset_user(&code)).await? {
        Some(username) => {
            state.attempts.refund(key);
            Ok(username)
        }
        None => Err(gone()),
    }
}

/// `GET /reset/{code}`.
pub async fn show(
    State(state): State<AppState>,
    extensions: Extensions,
    Path(code): Path<String>,
) -> Response {
    let key = format!("reset:{}", address(&extensions));
    match lookup(&state, &key, &code).await {
        Ok(username) => {
            page("Set your password", None, form(&code, &username, None)).into_response()
        }
        Err(page) => page,
    }
}

/// `POST /reset/{code}`: check, hash, then redeem the code and set the password in
/// one transaction.
pub async fn set(
    State(state): State<AppState>,
    extensions: Extensions,
    Path(code): Path<String>,
    Form(new): Form<NewPassword>,
) -> Response {
    let from = address(&extensions);
    let key = format!("reset:{from}");
    let username = match lookup(&state, &key, &code).await {
        Ok(username) => username,
        Err(page) => return page,
    };
    let refused = if new.password != new.confirm {
        Some("The two passwords differ.".to_string())
    } else {
        check_password(&new.password).err().map(|e| e.to_string())
    };
    if let Some(message) = refused {
        let body = form(&code, &username, Some(&message));
        return (
            StatusCode::BAD_REQUEST,
            page("Set your password", None, body),
        )
            .into_response();
    }
    let password = new.password;
    let hash = match state
        .passwords
        .run(move || crate::auth::hash_password(&password))
        .await
    {
        Ok(Ok(hash)) => hash,
        Ok(Err(_)) => return error_page(StatusCode::BAD_REQUEST, "This password cannot be used."),
        Err(_) => {
            return error_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy checking passwords. Try again in a moment.",
            )
        }
    };
    let storage = state.storage.clone();
    match storage_call(move || storage.reset_password(&code, &hash, &from)).await {
        Ok(Some(username)) => {
            tracing::info!(user = %username, "password set through a reset link");
            // A failed sign-in count for this name no longer means anything.
            state.attempts.succeed(&crate::limits::user_key(&username));
            let body = html! {
                h1 { "Password set" }
                p.ok id="reset-done" { "Your password is set, " (username) "." }
                p { a id="sign-in-link" href="/sign-in" { "Sign in" } }
            };
            page("Password set", None, body).into_response()
        }
        Ok(None) => gone(),
        Err(page) => page,
    }
}
