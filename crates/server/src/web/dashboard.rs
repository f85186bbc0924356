//! `GET /dashboard`: every indicator's latest value, n, baseline, target and trend
//! verdict, and the count of indicators trending the right way this year against last
//! year; with the follow-up counts, the upload of administrative rows and the smallest
//! cell shown. The cells here are shared with the indicator page ([`super::indicator`]).
//!
//! Survey indicators count the in-memory digest of the finalized responses the user may
//! see (`Storage::survey_facts`); administrative ones read the uploaded rows. A period
//! is a calendar year: a survey response counts in the year it was started.

use axum::extract::State;
use axum::response::Response;
use indicators::trend::{CurvePoint, Scale, Status, Summary, YearCount, YearVerdict};
use indicators::{Estimate, Hidden, Shown};
use maud::{html, Markup};

use super::layout::csrf_field;
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::curves::{self, CurveInputs, IndicatorCurve};

/// A value with its n, as two table cells: `td.value` (the share, or why it is
/// hidden: then also `.hidden`) and `td.n`.
pub fn value_cells(shown: Shown, min_cell: u64) -> Markup {
    html! {
        @match shown {
            Shown::Value(e) => @match e.percent() {
                Some(p) => {
                    td class="value num" { (format!("{p:.1}%")) }
                    td class="n num" { (e.numerator) " of " (e.denominator) }
                }
                None => {
                    td class="value hidden" { "no data" }
                    td class="n" { "0" }
                }
            },
            Shown::Hidden(Hidden::Small) => {
                td class="value hidden" { "suppressed (fewer than " (min_cell) ")" }
                td class="n hidden" { "fewer than " (min_cell) }
            }
            Shown::Hidden(Hidden::Complementary) => {
                td class="value hidden" { "suppressed (would reveal a small cell)" }
                td class="n hidden" { "hidden" }
            }
        }
    }
}

/// A curve point's value and n as two table cells (see [`value_cells`]); "no data"
/// for a year the curve does not reach.
pub fn point_cells(point: Option<&CurvePoint>, scale: Scale, min_cell: u64) -> Markup {
    let Some(p) = point else {
        return value_cells(Shown::Value(Estimate::default()), min_cell);
    };
    match (p.status, p.counts, p.value) {
        (Status::Shown, Some(e), _) => value_cells(Shown::Value(e), min_cell),
        (Status::Shown, None, Some(v)) => html! {
            td class="value num" { (scale.format(v)) }
            td class="n" { "—" }
        },
        (Status::Suppressed(h), _, _) => value_cells(Shown::Hidden(h), min_cell),
        _ => value_cells(Shown::Value(Estimate::default()), min_cell),
    }
}

/// A verdict as a table cell: its words, with the reason as the cell's title and a
/// class per verdict (`trend right`...).
pub fn verdict_cell(verdict: Option<&YearVerdict>) -> Markup {
    let class = curves::trend_class(verdict.map(|v| v.trend));
    let (words, reason) = match verdict {
        Some(v) => (curves::trend_text(v.trend), v.reason.as_str()),
        None => ("no data", ""),
    };
    html! { td class=(class) title=(reason) { (words) } }
}

/// An indicator's cells on the overview and atop its page: its latest year, value, n,
/// baseline, the target for that year, and that year's trend.
pub fn summary_cells(c: &IndicatorCurve, min_cell: u64) -> Markup {
    let latest = c.curve.points().last();
    let year = latest.map(|p| p.year);
    let baseline = c
        .targets
        .baseline
        .map_or("—".into(), |b| format!("{:.1}% ({})", b.value, b.year));
    let target = c.target_in(year);
    html! {
        td class="year" { (year.map_or("—".to_string(), |y| y.to_string())) }
        (point_cells(latest, c.curve.scale(), min_cell))
        td class="baseline" { (baseline) }
        td class="target" { (target.map_or("—".into(), |(y, v)| format!("{v:.1}% ({y})"))) }
        (verdict_cell(year.and_then(|y| c.verdict_in(y))))
    }
}

/// One year's count, in words: "3 of 5 indicators with a verdict (60.0%)".
fn year_count_words(c: &YearCount) -> String {
    match c.percent_right() {
        Some(p) => format!(
            "{} of {} indicators with a verdict ({p:.1}%)",
            c.right,
            c.with_data()
        ),
        None => "no indicator had a verdict".into(),
    }
}

/// The dashboard's line on turning the curve: this year's count against last year's.
pub fn summary_html(summary: Option<Summary>) -> Markup {
    html! {
        @match summary {
            Some(s) => p id="trend-summary" data-year=(s.this_year.year)
                data-right=(s.this_year.right) data-with-verdict=(s.this_year.with_data())
                data-right-before=(s.year_before.right)
                data-with-verdict-before=(s.year_before.with_data()) {
                strong { "Trending the right way in " (s.this_year.year) ": " }
                (year_count_words(&s.this_year))
                "; in " (s.year_before.year) ": " (year_count_words(&s.year_before)) ". "
                (s.this_year.flat) " flat, " (s.this_year.wrong) " the wrong way, "
                (s.this_year.no_data) " with no verdict in " (s.this_year.year)
                " (no value, suppressed, or nothing in the two years before to compare with)."
            },
            None => p id="trend-summary" { "No indicator has a value yet." },
        }
    }
}

/// `GET /dashboard`.
pub async fn dashboard(State(state): State<AppState>, staff: Staff) -> Response {
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    let inputs = match storage_call(move || CurveInputs::read(&storage, scope.as_ref())).await {
        Ok(inputs) => inputs,
        Err(page) => return page,
    };
    let followups = super::followups::dashboard_counts(&state, &staff).await;
    let all = inputs.all_curves();
    let min_cell = inputs.min_cell;
    let body = html! {
        h1 { "Indicators" }
        p {
            "Survey indicators count the finalized household-survey responses you may see, \
             unweighted, by the year each was started; administrative indicators come from \
             uploaded files. The trend compares each year with the one before it (or two \
             before, for the every-other-year survey), toward its target."
        }
        (summary_html(curves::summary(&all)))
        (super::followups::dashboard_fragment(followups))
        div.scroll {
            table id="indicators" {
                thead {
                    tr {
                        @for h in ["Indicator", "What it measures", "Year", "Value", "n", "Baseline", "Target", "Trend"] {
                            th { (h) }
                        }
                    }
                }
                tbody {
                    @for c in &all {
                        tr data-indicator=(c.info.id) {
                            td { a href={ "/indicators/" (c.info.id) } { (c.info.id) } }
                            td { (c.info.title) }
                            (summary_cells(c, min_cell))
                        }
                    }
                }
            }
        }
        p {
            "Cells with fewer than " (min_cell) " people are suppressed, and so is any cell \
             that would let one be worked out from the total."
        }
        @if staff.require(BACKBONE_ROLES).is_ok() {
            h2 { "Administrative data" }
            form method="post" action="/indicators/upload" enctype="multipart/form-data" {
                (csrf_field(&staff.csrf))
                label {
                    "CSV file (indicator,year,group,category,numerator,denominator) "
                    input type="file" name="file" accept=".csv,text/csv" required;
                }
                button type="submit" { "Upload" }
            }
            h2 { "Suppression" }
            form method="post" action="/settings/min-cell" {
                (csrf_field(&staff.csrf))
                label {
                    "Smallest cell shown "
                    input name="min_cell" type="number" min="1" max="100" value=(min_cell);
                }
                button type="submit" { "Save" }
            }
        }
        @if staff.require(super::RECORD_ROLES).is_ok() {
            h2 { "Exports" }
            p {
                "Household survey responses as CSV, within what you may see: "
                a id="export-household_survey" href="/exports/household_survey" { "responses" }
                ", "
                a id="export-household_survey-child" href="/exports/household_survey/child" { "children" }
                " (joined by " code { "_parent_id" } ")."
            }
        }
    };
    staff.page("Indicators", body)
}
