//! The page handlers: thin, as the storage and the indicators crate do the work.

use axum::extract::{Path, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use indicators::{overall, survey_indicators, table, Dimension, Hidden, Shown};
use serde::Deserialize;

use super::html::{escape, page};
use super::{chart, csrf_for, may_use_web, Staff, LOGIN_COOKIE, SESSION_COOKIE};
use crate::app::AppState;
use crate::auth;
use crate::handlers::blocking;

/// Cells with fewer children than this are hidden (the common state rule).
pub const MIN_CELL: u64 = 10;

/// A page with a status and a message, for errors.
pub fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<p class=\"error\">{}</p><p><a href=\"/dashboard\">Back</a></p>",
        escape(message)
    );
    (status, Html(page("Error", None, &body))).into_response()
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
    let error = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>{error}<form method=\"post\" action=\"/sign-in\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>User name <input name=\"username\" autocomplete=\"username\" required></label>\
         <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\" required></label>\
         <button type=\"submit\">Sign in</button></form>"
    );
    let status = if message.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    with_cookie(
        (status, Html(page("Sign in", None, &body))).into_response(),
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
    let storage = state.storage.clone();
    let SignIn {
        username, password, ..
    } = form;
    let session = match blocking(move || storage.sign_in(&username, &password, "web session")).await
    {
        Ok(Some(session)) => session,
        Ok(None) => return sign_in_form(Some("Wrong user name or password.")),
        Err(_) => {
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
            "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200",
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
    #[serde(default)]
    csrf: String,
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

fn show(shown: Shown) -> String {
    match shown {
        Shown::Value(e) => match e.percent() {
            Some(p) => format!(
                "<td class=\"num\">{p:.1}%</td><td class=\"num\">{} of {}</td>",
                e.numerator, e.denominator
            ),
            None => "<td class=\"hidden\" colspan=\"2\">no data</td>".into(),
        },
        Shown::Hidden(Hidden::Small) => {
            format!("<td class=\"hidden\" colspan=\"2\">suppressed (fewer than {MIN_CELL})</td>")
        }
        Shown::Hidden(Hidden::Complementary) => {
            "<td class=\"hidden\" colspan=\"2\">suppressed (would reveal a small cell)</td>".into()
        }
    }
}

async fn children(state: &AppState, staff: &Staff) -> Result<Vec<indicators::ChildRow>, Response> {
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    blocking(move || storage.survey_children(scope.as_ref()))
        .await
        .map_err(|_| {
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The responses could not be read; try again.",
            )
        })
}

/// `GET /dashboard`: every survey indicator with its value and n.
pub async fn dashboard(State(state): State<AppState>, staff: Staff) -> Response {
    let rows = match children(&state, &staff).await {
        Ok(rows) => rows,
        Err(page) => return page,
    };
    let mut body = String::from(
        "<h1>Indicators</h1><p>From finalized household-survey responses you may see; \
         unweighted, n beside each value.</p><table><thead><tr><th>Indicator</th>\
         <th>What it measures</th><th>Value</th><th>n</th></tr></thead><tbody>",
    );
    for indicator in survey_indicators() {
        body.push_str(&format!(
            "<tr><td><a href=\"/indicators/{id}\">{id}</a></td><td>{}</td>{}</tr>",
            escape(indicator.title),
            show(overall(&indicator, &rows, MIN_CELL)),
            id = indicator.id,
        ));
    }
    body.push_str(
        "</tbody></table><h2>Exports</h2><p>Household survey responses as CSV, within \
         what you may see: <a href=\"/exports/household_survey\">responses</a>, \
         <a href=\"/exports/household_survey/child\">children</a> (joined by \
         <code>_parent_id</code>).</p>",
    );
    let user = (staff.caller.username.as_str(), staff.csrf.as_str());
    Html(page("Indicators", Some(user), &body)).into_response()
}

/// `GET /indicators/{id}`: the indicator by every dimension, as tables and charts.
pub async fn indicator(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let Some(indicator) = survey_indicators().into_iter().find(|i| i.id == id) else {
        return error_page(StatusCode::NOT_FOUND, "No such indicator.");
    };
    let rows = match children(&state, &staff).await {
        Ok(rows) => rows,
        Err(page) => return page,
    };
    let mut body = format!(
        "<h1>{} <small>{}</small></h1><table><tbody><tr><th>All</th>{}</tr></tbody></table>",
        indicator.id,
        escape(indicator.title),
        show(overall(&indicator, &rows, MIN_CELL))
    );
    for dimension in Dimension::ALL {
        let t = table(&indicator, &rows, dimension, MIN_CELL);
        body.push_str(&format!(
            "<h2>{}</h2><table><thead><tr><th>Group</th><th>Value</th><th>n</th></tr></thead><tbody>",
            escape(dimension.title())
        ));
        for cell in &t.cells {
            body.push_str(&format!(
                "<tr><td>{}</td>{}</tr>",
                escape(&cell.category),
                show(cell.shown)
            ));
        }
        body.push_str(&format!(
            "<tr><th>Total</th>{}</tr></tbody></table>{}",
            show(t.total),
            chart::bars(&t)
        ));
    }
    let user = (staff.caller.username.as_str(), staff.csrf.as_str());
    Html(page(indicator.id, Some(user), &body)).into_response()
}
