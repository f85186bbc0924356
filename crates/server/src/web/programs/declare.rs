//! `GET/POST /programs/{code}/declare`: the form of a program's declaration (what its
//! measures are computed from), for backbone staff; a bad field answers 400 with the
//! form again and the reason, and changes nothing; a saved one is in the audit log.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::how_well_label_short;
use crate::app::AppState;
use crate::storage::{
    Better, Declaration, HowWell, ListEntry, ListKind, PeriodChoice, StorageError,
    StoredDeclaration,
};
use crate::web::accounts::OwnedAct;
use crate::web::layout::{csrf_field, when};
use crate::web::session::error_page;
use crate::web::{storage_call, Staff, BACKBONE_ROLES};

/// The declaration form's fields.
#[derive(Deserialize, Default)]
pub struct DeclareForm {
    #[serde(default)]
    csrf: String,
    /// Form ids, separated by commas or spaces.
    #[serde(default)]
    forms: String,
    #[serde(default)]
    organization: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    person_question: String,
    #[serde(default)]
    date_question: String,
    #[serde(default)]
    better_off_question: String,
    #[serde(default)]
    better: String,
    #[serde(default)]
    weeks_running: String,
    /// Indicator ids, separated by commas or spaces.
    #[serde(default)]
    indicators: String,
    #[serde(default)]
    on_time: Option<String>,
    #[serde(default)]
    follow_up: Option<String>,
    #[serde(default)]
    check_ins: Option<String>,
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}

impl DeclareForm {
    /// The declaration the form says, or why it does not say one.
    fn declaration(&self) -> Result<Declaration, String> {
        let period = match self.period.trim() {
            "" => PeriodChoice::default(),
            p => PeriodChoice::parse(p).ok_or("the period is month, quarter or year")?,
        };
        let better = match self.better.trim() {
            "" | "higher" => Better::Higher,
            "lower" => Better::Lower,
            _ => return Err("better is higher or lower".into()),
        };
        let weeks_running = match self.weeks_running.trim() {
            "" => 4,
            w => w
                .parse()
                .map_err(|_| "weeks running is a number from 1 to 52")?,
        };
        let ticked = |f: &Option<String>| f.as_deref().is_some_and(|v| !v.is_empty() && v != "0");
        let how_well = [
            (HowWell::OnTime, &self.on_time),
            (HowWell::FollowUp, &self.follow_up),
            (HowWell::CheckIns, &self.check_ins),
        ]
        .into_iter()
        .filter(|(_, f)| ticked(f))
        .map(|(m, _)| m)
        .collect();
        Ok(Declaration {
            forms: words(&self.forms),
            organization: optional(&self.organization),
            period,
            person_question: optional(&self.person_question),
            date_question: optional(&self.date_question),
            better_off_question: optional(&self.better_off_question),
            better,
            weeks_running,
            indicators: words(&self.indicators),
            how_well,
        })
    }
}

fn declare_page(
    staff: &Staff,
    entry: &ListEntry,
    d: &Declaration,
    known_forms: &[String],
    error: Option<&str>,
) -> Markup {
    html! {
        h1 { "Measures of " (entry.label) }
        @if let Some(error) = error { p.error role="alert" { (error) } }
        form method="post" action={ "/programs/" (entry.code) "/declare" } {
            (csrf_field(&staff.csrf))
            label { "Forms whose records are the program's contacts (separated by commas) "
                input name="forms" required value=(d.forms.join(", ")); }
            p { small { "Forms on this server: " (known_forms.join(", ")) } }
            label { "Only the records of organization (code, optional) "
                input name="organization" value=(d.organization.as_deref().unwrap_or_default()); }
            label { "Period "
                select name="period" { @for p in PeriodChoice::ALL {
                    option value=(p.as_str()) selected[p == d.period] { (p.as_str()) }
                } } }
            label { "Question naming the person served (optional; else the household, else the author) "
                input name="person_question" value=(d.person_question.as_deref().unwrap_or_default()); }
            label { "Question giving the day of the contact (optional; else the day the record was started) "
                input name="date_question" value=(d.date_question.as_deref().unwrap_or_default()); }
            label { "Numeric question for \"better off\" (optional) "
                input name="better_off_question" value=(d.better_off_question.as_deref().unwrap_or_default()); }
            label { "Which way is better "
                select name="better" {
                    option value="higher" selected[d.better == Better::Higher] { "higher" }
                    option value="lower" selected[d.better == Better::Lower] { "lower" }
                } }
            label { "Check-ins: weeks running "
                input name="weeks_running" inputmode="numeric" value=(d.weeks_running); }
            label { "Indicators it contributes to (ids, separated by commas) "
                input name="indicators" value=(d.indicators.join(", ")); }
            fieldset {
                legend { "How well: measures shown" }
                @for m in HowWell::ALL {
                    label { input type="checkbox" name=(m.as_str()) value="1" checked[d.shows(m)]; " " (how_well_label_short(m)) }
                }
            }
            button type="submit" { "Save" }
        }
        p { a href={ "/programs/" (entry.code) } { "Back to the program" } }
    }
}

/// The program entry and the stored forms, for the declaration pages (404 page when
/// there is no such program).
async fn declare_context(
    state: &AppState,
    code: String,
) -> Result<(ListEntry, Option<StoredDeclaration>, Vec<String>), Response> {
    let storage = state.storage.clone();
    let (entry, stored, forms) = storage_call(move || {
        let entry = storage
            .list_entries(ListKind::Program)?
            .into_iter()
            .find(|e| e.code == code);
        let mut forms: Vec<String> = storage.form_ids()?.into_iter().map(|f| f.0).collect();
        forms.sort();
        forms.dedup();
        Ok((entry, storage.program_declaration(&code)?, forms))
    })
    .await?;
    let Some(entry) = entry else {
        return Err(error_page(StatusCode::NOT_FOUND, "No such program."));
    };
    Ok((entry, stored, forms))
}

/// `GET /programs/{code}/declare`.
pub async fn declare_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let (entry, stored, forms) = match declare_context(&state, code).await {
        Ok(context) => context,
        Err(page) => return page,
    };
    let declaration = stored
        .as_ref()
        .map_or_else(starting_declaration, |s| s.declaration.clone());
    let mut body = declare_page(&staff, &entry, &declaration, &forms, None);
    if let Some(s) = &stored {
        body = html! { (body) p.hidden { "Last saved " (when(s.updated_at)) "." } };
    }
    staff.page("Declare measures", body)
}

/// An empty declaration with every measure shown (the form's starting point).
fn starting_declaration() -> Declaration {
    Declaration {
        forms: Vec::new(),
        organization: None,
        period: PeriodChoice::default(),
        person_question: None,
        date_question: None,
        better_off_question: None,
        better: Better::Higher,
        weeks_running: 4,
        indicators: Vec::new(),
        how_well: HowWell::ALL.to_vec(),
    }
}

/// `POST /programs/{code}/declare`: save, or the form again with the reason (400).
pub async fn declare(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Form(form): Form<DeclareForm>,
) -> Response {
    if let Err(page) = staff
        .check_csrf(&form.csrf)
        .and_then(|()| staff.require(BACKBONE_ROLES))
    {
        return page;
    }
    let (entry, _, forms) = match declare_context(&state, code).await {
        Ok(context) => context,
        Err(page) => return page,
    };
    let refuse = |declaration: &Declaration, reason: &str| {
        let body = declare_page(&staff, &entry, declaration, &forms, Some(reason));
        (
            StatusCode::BAD_REQUEST,
            staff.page("Declare measures", body),
        )
            .into_response()
    };
    let declaration = match form.declaration() {
        Ok(d) => d,
        Err(reason) => {
            let typed = Declaration {
                forms: words(&form.forms),
                indicators: words(&form.indicators),
                ..starting_declaration()
            };
            return refuse(&typed, &reason);
        }
    };
    let detail = serde_json::to_string(&declaration).unwrap_or_default();
    let act = OwnedAct::new(&staff, "program.declare", &entry.code, detail);
    let storage = state.storage.clone();
    let (code, saving) = (entry.code.clone(), declaration.clone());
    let saved = storage_call(move || {
        Ok::<_, StorageError>(storage.declare_program(&code, &saving, &act.act()))
    })
    .await;
    match saved {
        Ok(Ok(())) => Redirect::to(&format!("/programs/{}", entry.code)).into_response(),
        Ok(Err(StorageError::Invalid(reason))) => refuse(&declaration, &reason),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "saving a program's declaration failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not do this just now; try again in a moment.",
            )
        }
        Err(page) => page,
    }
}
