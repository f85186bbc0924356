//! What backbone staff set: an indicator's baseline and yearly targets
//! (`/indicators/{id}/targets`), the administrative indicators' CSV upload
//! (`POST /indicators/upload`) and the smallest cell the pages show
//! (`POST /settings/min-cell`).

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use indicators::{parse_csv, survey_indicators, ADMIN_INDICATORS};
use maud::{html, Markup};

use super::layout::csrf_field;
use super::session::error_page;
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::storage::Targets;

/// Target rows the form offers.
const TARGET_ROWS: usize = 6;

fn title_of(id: &str) -> Option<&'static str> {
    survey_indicators()
        .into_iter()
        .find(|i| i.id == id)
        .map(|i| i.title)
        .or_else(|| {
            ADMIN_INDICATORS
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.title)
        })
}

fn form_html(id: &str, targets: &Targets, csrf: &str, error: Option<&str>) -> Markup {
    let (baseline_year, baseline_value) = targets
        .baseline
        .map_or((String::new(), String::new()), |(y, v)| {
            (y.to_string(), v.to_string())
        });
    let mut rows: Vec<(String, String)> = targets
        .by_year
        .iter()
        .map(|(y, v)| (y.to_string(), v.to_string()))
        .collect();
    rows.resize(TARGET_ROWS.max(rows.len()), (String::new(), String::new()));
    html! {
        @if let Some(error) = error {
            p.error role="alert" { (error) }
        }
        form method="post" action={ "/indicators/" (id) "/targets" } {
            (csrf_field(csrf))
            fieldset {
                legend { "Baseline" }
                label { "Year " input name="baseline_year" inputmode="numeric" value=(baseline_year); }
                label { "Value (%) " input name="baseline_value" inputmode="decimal" value=(baseline_value); }
            }
            fieldset {
                legend { "Targets" }
                @for (i, (year, value)) in rows.iter().enumerate() {
                    label { "Year " input name={ "target_year_" (i) } inputmode="numeric" value=(year); }
                    label { "Target (%) " input name={ "target_value_" (i) } inputmode="decimal" value=(value); }
                }
            }
            button type="submit" { "Save" }
        }
    }
}

/// `GET /indicators/{id}/targets`.
pub async fn targets_page(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let Some(title) = title_of(&id) else {
        return error_page(StatusCode::NOT_FOUND, "No such indicator.");
    };
    let storage = state.storage.clone();
    let targets = match storage_call(move || storage.targets()).await {
        Ok(mut all) => all.remove(&id).unwrap_or_default(),
        Err(page) => return page,
    };
    let body = html! {
        h1 { (id) ": baseline and targets" }
        p { (title) }
        (form_html(&id, &targets, &staff.csrf, None))
    };
    staff.page(&format!("{id} targets"), body)
}

/// Read the targets form: a baseline (both or neither) and any number of target rows.
fn parse_targets(form: &HashMap<String, String>) -> Result<Targets, String> {
    let field = |name: &str| form.get(name).map(|v| v.trim()).unwrap_or("");
    let year = |text: &str| {
        text.parse::<i32>()
            .ok()
            .filter(|y| (1990..=2100).contains(y))
            .ok_or_else(|| format!("`{text}` is not a year"))
    };
    let percent = |text: &str| {
        text.parse::<f64>()
            .ok()
            .filter(|v| (0.0..=100.0).contains(v))
            .ok_or_else(|| format!("`{text}` is not a percentage from 0 to 100"))
    };
    let baseline = match (field("baseline_year"), field("baseline_value")) {
        ("", "") => None,
        (y, v) if !y.is_empty() && !v.is_empty() => Some((year(y)?, percent(v)?)),
        _ => return Err("a baseline needs both its year and its value".into()),
    };
    let mut by_year = BTreeMap::new();
    for i in 0..TARGET_ROWS * 2 {
        match (
            field(&format!("target_year_{i}")),
            field(&format!("target_value_{i}")),
        ) {
            ("", "") => {}
            (y, v) if !y.is_empty() && !v.is_empty() => {
                if by_year.insert(year(y)?, percent(v)?).is_some() {
                    return Err(format!("the year {y} has two targets"));
                }
            }
            _ => return Err("each target needs both its year and its value".into()),
        }
    }
    Ok(Targets {
        baseline,
        by_year,
        ..Targets::default()
    })
}

/// `POST /indicators/{id}/targets`.
pub async fn save_targets(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = staff
        .require(BACKBONE_ROLES)
        .and_then(|()| staff.check_csrf(form.get("csrf").map_or("", String::as_str)))
    {
        return page;
    }
    if title_of(&id).is_none() {
        return error_page(StatusCode::NOT_FOUND, "No such indicator.");
    }
    let targets = match parse_targets(&form) {
        Ok(t) => t,
        Err(message) => {
            let partial = Targets::default();
            let body = html! {
                h1 { (id) ": baseline and targets" }
                (form_html(&id, &partial, &staff.csrf, Some(&message)))
            };
            let mut page = staff.page(&format!("{id} targets"), body);
            *page.status_mut() = StatusCode::BAD_REQUEST;
            return page;
        }
    };
    let storage = state.storage.clone();
    let by = staff.caller.username.clone();
    let key = id.clone();
    match storage_call(move || storage.set_targets(&key, &targets, &by)).await {
        Ok(()) => {
            state.scorecard.invalidate();
            Redirect::to(&format!("/indicators/{id}")).into_response()
        }
        Err(page) => page,
    }
}

/// `POST /indicators/upload`: a CSV file of administrative indicators' aggregate rows.
/// Any error refuses the whole file, and the page lists them by line and column.
pub async fn upload(State(state): State<AppState>, staff: Staff, form: Multipart) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let (csrf, file) = match super::upload::read_upload(form).await {
        Ok(upload) => (upload.csrf, upload.file),
        Err(page) => return page,
    };
    if let Err(page) = staff.check_csrf(&csrf) {
        return page;
    }
    let rows = match parse_csv(&file) {
        Ok(rows) if rows.is_empty() => {
            return error_page(StatusCode::BAD_REQUEST, "The file holds no rows.")
        }
        Ok(rows) => rows,
        Err(errors) => {
            let body = html! {
                h1 { "The file was not taken" }
                p { "Nothing was changed. Fix these and upload it again:" }
                ul class="error" id="upload-errors" {
                    @for e in &errors { li { (e.to_string()) } }
                }
                p { a href="/dashboard" { "Back" } }
            };
            let mut page = staff.page("Upload refused", body);
            *page.status_mut() = StatusCode::BAD_REQUEST;
            return page;
        }
    };
    let count = rows.len();
    let storage = state.storage.clone();
    let by = staff.caller.username.clone();
    match storage_call(move || storage.replace_aggregates(&rows, &by)).await {
        Ok(periods) => {
            state.scorecard.invalidate();
            staff.page(
                "Uploaded",
                html! {
                    h1 { "Uploaded" }
                    p id="upload-result" {
                        (count) " rows taken; they replace the stored rows of " (periods)
                        " indicator-years."
                    }
                    p { a href="/dashboard" { "Back to the indicators" } }
                },
            )
        }
        Err(page) => page,
    }
}

/// `POST /settings/min-cell`.
pub async fn save_min_cell(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if let Err(page) = staff
        .require(BACKBONE_ROLES)
        .and_then(|()| staff.check_csrf(form.get("csrf").map_or("", String::as_str)))
    {
        return page;
    }
    let Some(n) = form
        .get("min_cell")
        .and_then(|v| v.trim().parse::<u64>().ok())
    else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "The smallest cell is a whole number.",
        );
    };
    let storage = state.storage.clone();
    match storage_call(move || storage.set_min_cell(n)).await {
        Ok(()) => {
            state.scorecard.invalidate();
            Redirect::to("/dashboard").into_response()
        }
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn targets_read_from_the_form() {
        let t = parse_targets(&form(&[
            ("baseline_year", "2024"),
            ("baseline_value", "41.5"),
            ("target_year_0", "2026"),
            ("target_value_0", "50"),
            ("target_year_3", " 2028 "),
            ("target_value_3", "60"),
        ]))
        .unwrap();
        assert_eq!(t.baseline, Some((2024, 41.5)));
        assert_eq!(
            t.by_year.into_iter().collect::<Vec<_>>(),
            [(2026, 50.0), (2028, 60.0)]
        );
        assert!(parse_targets(&form(&[("baseline_year", "2024")])).is_err());
        assert!(parse_targets(&form(&[
            ("target_year_0", "2026"),
            ("target_value_0", "101")
        ]))
        .is_err());
        assert!(parse_targets(&form(&[
            ("target_year_0", "2026"),
            ("target_value_0", "1"),
            ("target_year_1", "2026"),
            ("target_value_1", "2")
        ]))
        .is_err());
        assert_eq!(parse_targets(&form(&[])).unwrap(), Targets::default());
    }
}
