//! Partner programs' performance measures (Results-Based Accountability's three
//! questions: how much did we do, how well, is anyone better off):
//!
//! - `GET /programs`: the programs the viewer may see, each with its declared
//!   measures (or "no measures declared") and the indicators it contributes to;
//! - `GET /programs/{code}?period=month|quarter|year`: a row per period, the shares
//!   and the better-off figures suppressed under the pages' smallest cell;
//! - `GET /programs/{code}/measures.csv`: the same numbers as CSV;
//! - `GET/POST /programs/{code}/declare`: the declaration (backbone staff, audited).
//!
//! Who sees what: admins and backbone staff every program; partner staff and
//! reports-only users the program their scope names, or a program whose declaration
//! names their scope's organization; records are counted within the viewer's
//! partnership. The arithmetic is `indicators::performance`, the records it reads
//! `storage::programs` (`docs/indicators.md` section 5).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use indicators::performance::{measures, BetterOff, Measures};
use indicators::Shown;
use maud::{html, Markup};
use serde::Deserialize;

use super::session::error_page;
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::auth::{Caller, Role};
use crate::curves::find_indicator;
use crate::storage::{
    Better, Declaration, HowWell, ListEntry, ListKind, PeriodChoice, StoredDeclaration,
    MAX_PROGRAM_RECORDS,
};

mod declare;
pub use declare::{declare, declare_form};

/// The roles that may read programs' measures (each within its own programs).
const PROGRAM_ROLES: &[Role] = &[
    Role::Admin,
    Role::BackboneStaff,
    Role::PartnerStaff,
    Role::ReportsOnly,
];

/// Whether `caller` may see program `code`'s measures.
pub(super) fn may_see(caller: &Caller, code: &str, declaration: Option<&Declaration>) -> bool {
    match caller.role {
        Role::Admin | Role::BackboneStaff => true,
        Role::PartnerStaff | Role::ReportsOnly => caller.scope.as_ref().is_some_and(|s| {
            s.program.as_deref() == Some(code)
                || s.organization.as_ref().is_some_and(|org| {
                    declaration.and_then(|d| d.organization.as_ref()) == Some(org)
                })
        }),
        _ => false,
    }
}

fn forbidden() -> Response {
    error_page(StatusCode::FORBIDDEN, "Your role does not allow this page.")
}

/// The declared measures in one line, for the list.
fn summary(d: &Declaration) -> String {
    let mut parts = vec![format!("forms {}", d.forms.join(", "))];
    if let Some(org) = &d.organization {
        parts.push(format!("organization {org}"));
    }
    parts.push(format!("by {}", d.period.as_str()));
    let how_well: Vec<&str> = HowWell::ALL
        .into_iter()
        .filter(|m| d.shows(*m))
        .map(how_well_label_short)
        .collect();
    if !how_well.is_empty() {
        parts.push(format!("how well: {}", how_well.join(", ")));
    }
    if let Some(q) = &d.better_off_question {
        let way = match d.better {
            Better::Higher => "higher",
            Better::Lower => "lower",
        };
        parts.push(format!("better off: {q} ({way} is better)"));
    }
    parts.join("; ")
}

fn how_well_label_short(m: HowWell) -> &'static str {
    match m {
        HowWell::OnTime => "served on time",
        HowWell::FollowUp => "follow-up completed",
        HowWell::CheckIns => "check-ins running",
    }
}

fn indicator_links(ids: &[String]) -> Markup {
    html! {
        @for (i, id) in ids.iter().enumerate() {
            @if i > 0 { ", " }
            @let title = find_indicator(id).map_or("", |info| info.title);
            a href={ "/indicators/" (id) } title=(title) data-indicator=(id) { (id) }
        }
    }
}

/// `GET /programs`.
pub async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(page) = staff.require(PROGRAM_ROLES) {
        return page;
    }
    let storage = state.storage.clone();
    let read = storage_call(move || {
        Ok((
            storage.list_entries(ListKind::Program)?,
            storage.program_declarations()?,
        ))
    })
    .await;
    let (entries, declarations) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let declared = |code: &str| declarations.iter().find(|d| d.program == code);
    let visible: Vec<(&ListEntry, Option<&StoredDeclaration>)> = entries
        .iter()
        .map(|e| (e, declared(&e.code)))
        .filter(|(e, d)| may_see(&staff.caller, &e.code, d.map(|d| &d.declaration)))
        .collect();
    let backbone = BACKBONE_ROLES.contains(&staff.caller.role);
    let body = html! {
        h1 { "Programs" }
        p { "Each program's performance measures: how much it did, how well, and whether \
             anyone is better off, by period, from the records of the forms it declares. \
             Shares and better-off figures under the smallest cell shown are suppressed." }
        @if visible.is_empty() {
            p { "No program for your scope." }
        } @else {
            div.scroll { table id="programs" {
                thead { tr { th { "Program" } th { "Code" } th { "Measures" } th { "Contributes to" } } }
                tbody { @for (e, d) in &visible {
                    tr data-program=(e.code) {
                        td { a href={ "/programs/" (e.code) } { (e.label) }
                             @if e.confidential { " (confidential)" }
                             @if !e.active { " (inactive)" } }
                        td { code { (e.code) } }
                        td { @match d {
                            Some(d) => { (summary(&d.declaration)) }
                            None => { span.hidden { "no measures declared" } }
                        }
                        @if backbone { " " a href={ "/programs/" (e.code) "/declare" } { "Declare" } } }
                        td { @if let Some(d) = d { (indicator_links(&d.declaration.indicators)) } }
                    }
                } }
            } }
        }
    };
    staff.page("Programs", body)
}

/// `?period=` on a program's page and CSV.
#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    #[serde(default)]
    period: String,
}

/// What a program's page and CSV show.
struct ProgramView {
    entry: ListEntry,
    declaration: Option<Declaration>,
    period: PeriodChoice,
    min_cell: u64,
    measures: Vec<Measures>,
    records: usize,
}

/// Read program `code` for `staff`: a 403 page when they may not see it (before
/// saying whether it exists), a 404 page when it does not exist.
async fn read(
    state: &AppState,
    staff: &Staff,
    code: String,
    period: &str,
) -> Result<ProgramView, Response> {
    staff.require(PROGRAM_ROLES)?;
    let storage = state.storage.clone();
    let lookup = code.clone();
    let (entry, stored) = storage_call(move || {
        let entry = storage
            .list_entries(ListKind::Program)?
            .into_iter()
            .find(|e| e.code == lookup);
        Ok((entry, storage.program_declaration(&lookup)?))
    })
    .await?;
    let declaration = stored.map(|s| s.declaration);
    if !may_see(&staff.caller, &code, declaration.as_ref()) {
        return Err(forbidden());
    }
    let Some(entry) = entry else {
        return Err(error_page(StatusCode::NOT_FOUND, "No such program."));
    };
    let period = PeriodChoice::parse(period)
        .or(declaration.as_ref().map(|d| d.period))
        .unwrap_or_default();
    let Some(d) = declaration.clone() else {
        return Ok(ProgramView {
            entry,
            declaration,
            period,
            min_cell: 0,
            measures: Vec::new(),
            records: 0,
        });
    };
    let storage = state.storage.clone();
    let partnership = staff.caller.scope.as_ref().map(|s| s.partnership.clone());
    let (min_cell, records) = storage_call(move || {
        let today = storage.today();
        let records = storage.program_records(&code, &d, partnership.as_deref(), today)?;
        Ok((storage.min_cell()?, records))
    })
    .await?;
    let options = declaration
        .as_ref()
        .map(|d| d.options(period, min_cell))
        .unwrap_or_default();
    Ok(ProgramView {
        measures: measures(&records, &options),
        records: records.len(),
        entry,
        declaration,
        period,
        min_cell,
    })
}

/// A share's cell text: `67% (2 of 3)`, `no data`, or suppressed.
fn share_text(s: &Shown, min_cell: u64) -> String {
    match s {
        Shown::Value(e) => match e.percent() {
            Some(p) => format!("{p:.0}% ({} of {})", e.numerator, e.denominator),
            None => "no data".into(),
        },
        Shown::Hidden(_) => format!("suppressed (fewer than {min_cell})"),
    }
}

/// The better-off cells: improved (of n), percent improved, mean change.
fn better_off_texts(b: &BetterOff, min_cell: u64) -> [String; 3] {
    match b {
        BetterOff::NoData => ["no data".into(), "no data".into(), "no data".into()],
        BetterOff::Suppressed(_) => {
            let s = format!("suppressed (fewer than {min_cell})");
            [s.clone(), s.clone(), s]
        }
        BetterOff::Shown {
            people,
            improved,
            mean_change,
        } => [
            format!("{improved} of {people}"),
            b.percent_improved()
                .map_or_else(String::new, |p| format!("{p:.0}%")),
            format!("{mean_change:+.2}"),
        ],
    }
}

/// `GET /programs/{code}`.
pub async fn program(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let view = match read(&state, &staff, code, &q.period).await {
        Ok(view) => view,
        Err(page) => return page,
    };
    let code = &view.entry.code;
    let backbone = BACKBONE_ROLES.contains(&staff.caller.role);
    let body = html! {
        h1 { (view.entry.label) @if view.entry.confidential { " (confidential)" } }
        @match &view.declaration {
            None => {
                p.hidden { "No measures declared." }
                @if backbone { p { a href={ "/programs/" (code) "/declare" } { "Declare this program's measures" } } }
            }
            Some(d) => { (measures_table(&view, d, backbone)) }
        }
        p { a href="/programs" { "All programs" } }
    };
    staff.page(&view.entry.label, body)
}

fn measures_table(view: &ProgramView, d: &Declaration, backbone: bool) -> Markup {
    let code = &view.entry.code;
    let min_cell = view.min_cell;
    let how_well: Vec<HowWell> = HowWell::ALL.into_iter().filter(|m| d.shows(*m)).collect();
    let header = |m: HowWell| match m {
        HowWell::OnTime => "Served on time".to_string(),
        HowWell::FollowUp => "Follow-up completed".to_string(),
        HowWell::CheckIns => format!("Check-ins {} weeks running", d.weeks_running),
    };
    let better_off = d.better_off_question.is_some();
    html! {
        p { (summary(d)) "." }
        @if !d.indicators.is_empty() {
            p id="contributes" { "Contributes to: " (indicator_links(&d.indicators)) }
        }
        p.filters {
            "By: "
            @for p in PeriodChoice::ALL {
                @if p == view.period { strong { (p.as_str()) } }
                @else { a href={ "/programs/" (code) "?period=" (p.as_str()) } { (p.as_str()) } }
                " "
            }
        }
        p { "Shares and better-off figures of fewer than " (min_cell) " people are suppressed; "
            "counts of people served and contacts are shown as they are." }
        @if view.records >= MAX_PROGRAM_RECORDS {
            p.error { "This program reached " (MAX_PROGRAM_RECORDS) " records, the most counted: the measures are of each declared form's newest records only (docs/indicators.md, section 5)." }
        }
        @if view.measures.is_empty() {
            p.hidden { "No records of this program yet." }
        } @else {
            div.scroll { table id="measures" {
                thead {
                    tr {
                        th rowspan="2" { "Period" }
                        th colspan="2" { "How much" }
                        @if !how_well.is_empty() { th colspan=(how_well.len()) { "How well" } }
                        @if better_off { th colspan="3" { "Better off: " (d.better_off_question.as_deref().unwrap_or_default()) } }
                    }
                    tr {
                        th { "People served" } th { "Contacts" }
                        @for m in &how_well { th { (header(*m)) } }
                        @if better_off { th { "Improved" } th { "% improved" } th { "Mean change" } }
                    }
                }
                tbody { @for m in &view.measures {
                    tr data-period=(m.period.to_string()) {
                        th scope="row" { (m.period.to_string()) }
                        td.num data-measure="people_served" { (m.people_served) }
                        td.num data-measure="contacts" { (m.contacts) }
                        @for hw in &how_well {
                            @let s = match hw { HowWell::OnTime => &m.on_time, HowWell::FollowUp => &m.follow_up, HowWell::CheckIns => &m.check_ins_running };
                            td.num data-measure=(hw.as_str()) { (share_text(s, min_cell)) }
                        }
                        @if better_off {
                            @let [improved, percent, mean] = better_off_texts(&m.better_off, min_cell);
                            td.num data-measure="improved" { (improved) }
                            td.num data-measure="percent_improved" { (percent) }
                            td.num data-measure="mean_change" { (mean) }
                        }
                    }
                } }
            } }
        }
        p {
            a href={ "/programs/" (code) "/measures.csv?period=" (view.period.as_str()) } { "These numbers as CSV" }
            @if backbone { " · " a href={ "/programs/" (code) "/declare" } { "Change the declaration" } }
        }
    }
}

/// A CSV cell of a share: numerator and n, or `suppressed` twice.
fn share_csv(s: &Shown) -> String {
    match s {
        Shown::Value(e) => format!("{},{}", e.numerator, e.denominator),
        Shown::Hidden(_) => "suppressed,suppressed".into(),
    }
}

/// `GET /programs/{code}/measures.csv`: a line per period; suppressed cells say so.
pub async fn measures_csv(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let view = match read(&state, &staff, code, &q.period).await {
        Ok(view) => view,
        Err(page) => return page,
    };
    let mut csv = String::from(
        "period,people_served,contacts,on_time_met,on_time_n,follow_up_met,follow_up_n,\
         check_ins_met,check_ins_n,better_off_n,improved,percent_improved,mean_change\r\n",
    );
    for m in &view.measures {
        let better = match &m.better_off {
            BetterOff::NoData => "0,,,".to_string(),
            BetterOff::Suppressed(_) => "suppressed,suppressed,suppressed,suppressed".into(),
            BetterOff::Shown {
                people,
                improved,
                mean_change,
            } => format!(
                "{people},{improved},{:.1},{mean_change:.2}",
                m.better_off.percent_improved().unwrap_or_default()
            ),
        };
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\r\n",
            m.period,
            m.people_served,
            m.contacts,
            share_csv(&m.on_time),
            share_csv(&m.follow_up),
            share_csv(&m.check_ins_running),
            better
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}-measures-{}.csv\"",
                    view.entry.code,
                    view.period.as_str()
                ),
            ),
        ],
        csv,
    )
        .into_response()
}
