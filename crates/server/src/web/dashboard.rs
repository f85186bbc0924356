//! `GET /dashboard` (every indicator: its latest value, n, baseline, target and change
//! since the period before) and `GET /indicators/{id}` (one indicator by every
//! disaggregation, as tables and charts).
//!
//! Survey indicators count the in-memory digest of the finalized responses the user may
//! see (`Storage::survey_facts`); administrative ones read the uploaded rows. A period
//! is a calendar year: a survey response counts in the year it was started.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use indicators::aggregate::{aggregate_overall, aggregate_tables};
use indicators::{
    facts_estimate, facts_table, shown, survey_indicators, AggregateRow, Cell, Dimension, Estimate,
    Hidden, Shown, ADMIN_INDICATORS,
};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::csrf_field;
use super::session::error_page;
use super::{chart, storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::storage::{SurveyFacts, Targets};

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

/// An estimate as shown: "no data" rather than "suppressed" when nobody counts.
fn shown_or_empty(e: Estimate, min_cell: u64) -> Shown {
    if e.denominator == 0 {
        Shown::Value(e)
    } else {
        shown(e, min_cell)
    }
}

/// An indicator's estimate in each year it has data.
struct Series {
    by_year: Vec<(i32, Estimate)>,
}

impl Series {
    fn survey(index: usize, facts: &SurveyFacts) -> Series {
        Series {
            by_year: facts
                .years()
                .into_iter()
                .map(|y| (y, facts_estimate(index, facts.children_in(y))))
                .filter(|(_, e)| e.denominator > 0)
                .collect(),
        }
    }

    fn admin(rows: &[AggregateRow]) -> Series {
        let mut years: Vec<i32> = rows.iter().map(|r| r.year).collect();
        years.dedup();
        Series {
            by_year: years
                .into_iter()
                .filter_map(|y| {
                    let rows: Vec<AggregateRow> =
                        rows.iter().filter(|r| r.year == y).cloned().collect();
                    let e = aggregate_overall(&rows, 0)?.value()?;
                    Some((y, e))
                })
                .collect(),
        }
    }

    /// The overview's cells: year, value, n, baseline, target, change.
    fn cells(&self, targets: Option<&Targets>, min_cell: u64) -> Markup {
        let latest = self.by_year.last();
        let previous = self.by_year.len().checked_sub(2).map(|i| self.by_year[i]);
        let year = latest.map_or("—".to_string(), |(y, _)| y.to_string());
        let value = value_cells(
            shown_or_empty(latest.map(|l| l.1).unwrap_or_default(), min_cell),
            min_cell,
        );
        let baseline = targets
            .and_then(|t| t.baseline)
            .map_or("—".into(), |(y, v)| format!("{v:.1}% ({y})"));
        let target = match (targets, latest) {
            (Some(t), Some((y, _))) => t.for_year(*y),
            (Some(t), None) => t.by_year.iter().next().map(|(y, v)| (*y, *v)),
            _ => None,
        };
        let target_text = target.map_or("—".into(), |(y, v)| format!("{v:.1}% ({y})"));
        let change = match (latest, previous) {
            (Some((_, now)), Some((then_year, then)))
                if now.denominator >= min_cell && then.denominator >= min_cell =>
            {
                match (now.percent(), then.percent()) {
                    (Some(a), Some(b)) => {
                        let delta = a - b;
                        let direction = target.map(|(_, goal)| {
                            if (goal - b) * delta > 0.0 {
                                " (toward target)"
                            } else if delta == 0.0 {
                                ""
                            } else {
                                " (away from target)"
                            }
                        });
                        format!(
                            "{delta:+.1} points since {then_year}{}",
                            direction.unwrap_or("")
                        )
                    }
                    _ => "—".into(),
                }
            }
            (Some(_), Some(_)) => "suppressed".into(),
            (Some(_), None) => "no earlier period".into(),
            (None, _) => "—".into(),
        };
        html! {
            td class="year" { (year) }
            (value)
            td class="baseline" { (baseline) }
            td class="target" { (target_text) }
            td class="change" { (change) }
        }
    }
}

/// Everything the overview reads, in one storage call.
struct Overview {
    facts: SurveyFacts,
    targets: HashMap<String, Targets>,
    aggregates: Vec<Vec<AggregateRow>>,
    min_cell: u64,
}

/// `GET /dashboard`.
pub async fn dashboard(State(state): State<AppState>, staff: Staff) -> Response {
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    let overview = storage_call(move || {
        Ok(Overview {
            facts: storage.survey_facts(scope.as_ref())?,
            targets: storage.targets()?,
            aggregates: ADMIN_INDICATORS
                .iter()
                .map(|a| storage.aggregate_rows(a.id))
                .collect::<Result<_, _>>()?,
            min_cell: storage.min_cell()?,
        })
    })
    .await;
    let o = match overview {
        Ok(o) => o,
        Err(page) => return page,
    };
    let survey = survey_indicators();
    let rows = survey
        .iter()
        .enumerate()
        .map(|(i, indicator)| {
            let cells = Series::survey(i, &o.facts).cells(o.targets.get(indicator.id), o.min_cell);
            (indicator.id, indicator.title, cells)
        })
        .chain(
            ADMIN_INDICATORS
                .iter()
                .zip(&o.aggregates)
                .map(|(admin, rows)| {
                    let cells = Series::admin(rows).cells(o.targets.get(admin.id), o.min_cell);
                    (admin.id, admin.title, cells)
                }),
        );
    let body = html! {
        h1 { "Indicators" }
        p {
            "Survey indicators count the finalized household-survey responses you may see, \
             unweighted, in the latest year with data; administrative indicators come from \
             uploaded files."
        }
        div.scroll {
            table id="indicators" {
                thead {
                    tr {
                        @for h in ["Indicator", "What it measures", "Year", "Value", "n", "Baseline", "Target", "Change"] {
                            th { (h) }
                        }
                    }
                }
                tbody {
                    @for (id, title, cells) in rows {
                        tr data-indicator=(id) {
                            td { a href={ "/indicators/" (id) } { (id) } }
                            td { (title) }
                            (cells)
                        }
                    }
                }
            }
        }
        p {
            "Cells with fewer than " (o.min_cell) " people are suppressed, and so is any cell \
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
                    input name="min_cell" type="number" min="1" max="100" value=(o.min_cell);
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

/// `?year=` on an indicator's page.
#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

fn table_html(title: &str, total: Shown, cells: &[Cell], min_cell: u64) -> Markup {
    html! {
        h2 { (title) }
        div.scroll {
            table {
                thead { tr { th { "Group" } th { "Value" } th { "n" } } }
                tbody {
                    @for cell in cells {
                        tr { td { (cell.category) } (value_cells(cell.shown, min_cell)) }
                    }
                    tr { th { "Total" } (value_cells(total, min_cell)) }
                }
            }
        }
        (chart::bars(title, cells))
    }
}

fn year_links(id: &str, years: &[i32], chosen: i32) -> Markup {
    html! {
        @if years.len() >= 2 {
            p {
                "Year: "
                @for (i, y) in years.iter().enumerate() {
                    @if i > 0 { " · " }
                    @if *y == chosen {
                        strong { (y) }
                    } @else {
                        a href={ "/indicators/" (id) "?year=" (y) } { (y) }
                    }
                }
            }
        }
    }
}

/// `GET /indicators/{id}`.
pub async fn indicator(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(query): Query<YearQuery>,
) -> Response {
    let survey = indicators::survey_index(&id);
    let admin = ADMIN_INDICATORS.iter().find(|a| a.id == id);
    let title = match (survey, admin) {
        (Some(i), _) => survey_indicators()[i].title,
        (None, Some(a)) => a.title,
        (None, None) => return error_page(StatusCode::NOT_FOUND, "No such indicator."),
    };
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    let key = id.clone();
    let read = storage_call(move || {
        let facts = match survey {
            Some(_) => storage.survey_facts(scope.as_ref())?,
            None => SurveyFacts::default(),
        };
        let rows = match survey {
            Some(_) => Vec::new(),
            None => storage.aggregate_rows(&key)?,
        };
        Ok((facts, rows, storage.targets()?, storage.min_cell()?))
    })
    .await;
    let (facts, rows, targets, min_cell) = match read {
        Ok(read) => read,
        Err(page) => return page,
    };
    let (series, years) = match survey {
        Some(i) => (Series::survey(i, &facts), facts.years()),
        None => {
            let mut years: Vec<i32> = rows.iter().map(|r| r.year).collect();
            years.dedup();
            (Series::admin(&rows), years)
        }
    };
    let latest = series.by_year.last().map(|(y, _)| *y);
    let year = query.year.or(latest).unwrap_or(0);
    let tables = match survey {
        Some(i) => {
            let children: Vec<_> = facts.children_in(year).collect();
            Dimension::ALL
                .into_iter()
                .map(|dimension| {
                    let t = facts_table(i, children.iter().copied(), dimension, min_cell);
                    table_html(dimension.title(), t.total, &t.cells, min_cell)
                })
                .collect()
        }
        None => {
            let of_year: Vec<AggregateRow> =
                rows.iter().filter(|r| r.year == year).cloned().collect();
            aggregate_tables(&of_year, min_cell)
                .into_iter()
                .map(|(group, total, cells)| table_html(&group, total, &cells, min_cell))
                .collect::<Vec<_>>()
        }
    };
    let body = html! {
        h1 { (id) " " small { (title) } }
        table id="summary" {
            thead {
                tr {
                    @for h in ["Year", "Value", "n", "Baseline", "Target", "Change"] { th { (h) } }
                }
            }
            tbody { tr { (series.cells(targets.get(&id), min_cell)) } }
        }
        @if staff.require(BACKBONE_ROLES).is_ok() {
            p { a href={ "/indicators/" (id) "/targets" } { "Edit baseline and targets" } }
        }
        (year_links(&id, &years, year))
        @if survey.is_none() && tables.is_empty() {
            p { "No disaggregated rows uploaded for this year." }
        }
        @for table in tables { (table) }
    };
    staff.page(&id, body)
}
