//! One indicator, turning the curve: `GET /indicators/{id}` charts every year's value
//! with the baseline, each year's target and the forecast "if nothing changes", says
//! year by year whether it is trending toward the target, shows the disaggregated
//! curves beside it, and one year's tables in detail; `GET /indicators/{id}/numbers.csv`
//! is every number of those charts; `GET /indicators/{id}/report` the same as a
//! printable page. All of it within what the viewer may see, suppressed
//! ([`crate::curves`]).

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use indicators::aggregate::aggregate_tables;
use indicators::trend::{Scale, Source};
use indicators::{facts_table, AggregateRow, Cell, Dimension, Shown};
use maud::{html, Markup};
use serde::Deserialize;

use super::chart::{self, ENGLISH};
use super::dashboard::{point_cells, summary_cells, value_cells, verdict_cell};
use super::layout::{self, when};
use super::session::error_page;
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::curves::{self, Breakdown, CurveInputs, IndicatorCurve, IndicatorInfo, Origin};
use crate::storage::ListKind;

/// `?year=` on an indicator's page: the year its detailed tables are for.
#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

/// The indicator named in the path and everything its pages show, within the
/// viewer's scope; a 404 page for an unknown id.
async fn read(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<(IndicatorInfo, CurveInputs), Response> {
    let Some(info) = curves::find_indicator(id) else {
        return Err(error_page(StatusCode::NOT_FOUND, "No such indicator."));
    };
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    let inputs = storage_call(move || CurveInputs::read(&storage, scope.as_ref())).await?;
    Ok((info, inputs))
}

/// The programs that declare they contribute to `id` and that the viewer may see,
/// as (code, label), by label.
async fn contributing_programs(
    state: &AppState,
    staff: &Staff,
    id: &'static str,
) -> Result<Vec<(String, String)>, Response> {
    let storage = state.storage.clone();
    let (declared, entries) = storage_call(move || {
        Ok((
            storage.program_declarations()?,
            storage.list_entries(ListKind::Program)?,
        ))
    })
    .await?;
    let mut programs: Vec<(String, String)> = declared
        .into_iter()
        .filter(|d| d.declaration.indicators.iter().any(|i| i == id))
        .filter(|d| super::programs::may_see(&staff.caller, &d.program, Some(&d.declaration)))
        .map(|d| {
            let label = entries
                .iter()
                .find(|e| e.code == d.program)
                .map_or_else(|| d.program.clone(), |e| e.label.clone());
            (d.program, label)
        })
        .collect();
    programs.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(programs)
}

/// The chart, the year-by-year table, the forecast and the disaggregated curves: what
/// the page and the printable report both show.
fn curve_sections(c: &IndicatorCurve, breakdowns: &[Breakdown], min_cell: u64) -> Markup {
    let scale = c.curve.scale();
    let direction = match c.direction {
        indicators::trend::Direction::HigherIsBetter => "higher is better",
        indicators::trend::Direction::LowerIsBetter => "lower is better",
    };
    html! {
        h2 { "The curve" }
        p {
            "Every year with data (" (direction) "), the baseline, each year's target, and \
             where the curve goes if nothing changes."
        }
        (chart::curve_chart(&format!("{} by year", c.info.id), c, &ENGLISH))
        h2 { "Year by year" }
        div.scroll {
            table id="years" {
                thead {
                    tr {
                        @for h in ["Year", "Source", "Value", "n", "Target", "Change", "Trend", "Why"] {
                            th { (h) }
                        }
                    }
                }
                tbody {
                    @for p in c.curve.points() {
                        @let v = c.verdict_in(p.year);
                        tr data-year=(p.year) {
                            td { (p.year) }
                            td { @match p.source { Source::Survey => "survey", Source::Administrative => "administrative" } }
                            (point_cells(Some(p), scale, min_cell))
                            td.num { (c.targets.for_year(p.year).map_or("—".into(), |(y, t)| format!("{} ({y})", scale.format(t)))) }
                            td.num { (v.and_then(|v| v.change).map_or("—".into(), |d| format!("{d:+.1}"))) }
                            (verdict_cell(v))
                            td { (v.map_or("", |v| v.reason.as_str())) }
                        }
                    }
                }
            }
        }
        h2 { "If nothing changes" }
        p id="forecast-note" { (c.forecast.note) }
        @if !c.forecast.points.is_empty() {
            div.scroll {
                table id="forecast" {
                    thead { tr { th { "Year" } th { "Forecast" } th { "80% range" } } }
                    tbody {
                        @for p in &c.forecast.points {
                            tr data-year=(p.year) {
                                td { (p.year) }
                                td.num { (scale.format(p.value)) }
                                td.num {
                                    @match p.band {
                                        Some(b) => { (scale.format(b.low)) " to " (scale.format(b.high)) }
                                        None => "— (two years fitted)",
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Disaggregated curves" }
        @if breakdowns.is_empty() {
            p { "No disaggregated values." }
        }
        @for b in breakdowns {
            (breakdown_html(b, scale, min_cell))
        }
    }
}

/// One breakdown: its groups' curves as a chart and as a table (a row per group, a
/// column per year).
fn breakdown_html(b: &Breakdown, scale: Scale, min_cell: u64) -> Markup {
    let mut years: Vec<i32> = b
        .groups
        .values()
        .flat_map(|c| c.points().iter().map(|p| p.year))
        .collect();
    years.sort_unstable();
    years.dedup();
    html! {
        section.breakdown data-breakdown=(b.title) {
            h3 { (b.title) }
            @if b.groups.is_empty() {
                p { "No values." }
            } @else {
                (chart::group_lines(&b.title, &b.groups, &ENGLISH))
                div.scroll {
                    table {
                        thead {
                            tr {
                                th { "Group" }
                                @for y in &years { th colspan="2" { (y) } }
                            }
                        }
                        tbody {
                            @for (group, curve) in &b.groups {
                                tr data-group=(group) {
                                    td { (group) }
                                    @for y in &years { (point_cells(curve.at(*y), scale, min_cell)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn table_html(title: &str, total: Shown, cells: &[Cell], min_cell: u64) -> Markup {
    html! {
        h3 { (title) }
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

/// One year's tables by every disaggregation, with bars.
fn year_tables(info: &IndicatorInfo, inputs: &CurveInputs, year: i32) -> Vec<Markup> {
    let min_cell = inputs.min_cell;
    match info.origin {
        Origin::Survey(i) => {
            let children: Vec<_> = inputs.facts.children_in(year).collect();
            Dimension::ALL
                .into_iter()
                .map(|dimension| {
                    let t = facts_table(i, children.iter().copied(), dimension, min_cell);
                    table_html(
                        &format!("{} in {year}", dimension.title()),
                        t.total,
                        &t.cells,
                        min_cell,
                    )
                })
                .collect()
        }
        Origin::Administrative => {
            let of_year: Vec<AggregateRow> = inputs
                .rows
                .get(info.id)
                .into_iter()
                .flatten()
                .filter(|r| r.year == year)
                .cloned()
                .collect();
            aggregate_tables(&of_year, min_cell)
                .into_iter()
                .map(|(group, total, cells)| {
                    table_html(&format!("{group} in {year}"), total, &cells, min_cell)
                })
                .collect()
        }
    }
}

/// The summary table every page of an indicator opens with.
fn summary_table(c: &IndicatorCurve, min_cell: u64) -> Markup {
    html! {
        div.scroll {
            table id="summary" {
                thead {
                    tr {
                        @for h in ["Year", "Value", "n", "Baseline", "Target", "Trend"] { th { (h) } }
                    }
                }
                tbody { tr { (summary_cells(c, min_cell)) } }
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
    let (info, inputs) = match read(&state, &staff, &id).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let c = inputs.curve(info);
    let breakdowns = inputs.breakdowns(&c);
    let years: Vec<i32> = c.curve.points().iter().map(|p| p.year).collect();
    let year = query
        .year
        .or_else(|| years.last().copied())
        .unwrap_or_default();
    let tables = year_tables(&info, &inputs, year);
    let min_cell = inputs.min_cell;
    let programs = match contributing_programs(&state, &staff, info.id).await {
        Ok(programs) => programs,
        Err(page) => return page,
    };
    let body = html! {
        h1 { (info.id) " " small { (info.title) } }
        (summary_table(&c, min_cell))
        p.links {
            a id="numbers-csv" href={ "/indicators/" (info.id) "/numbers.csv" } { "The numbers (CSV)" }
            " · "
            a id="report" href={ "/indicators/" (info.id) "/report" } { "Printable report" }
            @if staff.require(BACKBONE_ROLES).is_ok() {
                " · "
                a href={ "/indicators/" (info.id) "/targets" } { "Edit baseline and targets" }
            }
        }
        (curve_sections(&c, &breakdowns, min_cell))
        h2 { "Programs contributing" }
        @if programs.is_empty() {
            p id="programs-contributing" { "No program you may see declares that it contributes to " (info.id) "." }
        } @else {
            ul id="programs-contributing" {
                @for (code, label) in &programs {
                    li { a href={ "/programs/" (code) } { (label) } " — its performance measures" }
                }
            }
        }
        h2 { "One year in detail" }
        (year_links(info.id, &years, year))
        @if tables.is_empty() {
            p { "No disaggregated values for " (year) "." }
        }
        @for table in tables { (table) }
        p {
            "Values with fewer than " (min_cell) " people are suppressed, and so is any value \
             that would let one be worked out from the total. How each number is computed: "
            code { "docs/indicators.md" } "."
        }
    };
    staff.page(info.id, body)
}

/// `GET /indicators/{id}/numbers.csv`: every number the indicator's charts draw.
pub async fn numbers(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let (info, inputs) = match read(&state, &staff, &id).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let c = inputs.curve(info);
    let csv = curves::numbers_csv(&c, &inputs.breakdowns(&c));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}-numbers.csv\"", info.id),
            ),
        ],
        csv,
    )
        .into_response()
}

/// `GET /indicators/{id}/report`: the indicator as a page to print or save as PDF
/// (no navigation; the browser's print puts one section after another).
pub async fn report(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    let (info, inputs) = match read(&state, &staff, &id).await {
        Ok(read) => read,
        Err(page) => return page,
    };
    let c = inputs.curve(info);
    let breakdowns = inputs.breakdowns(&c);
    let min_cell = inputs.min_cell;
    let now = state.clock().now();
    let body = html! {
        p.no-print { a href={ "/indicators/" (info.id) } { "Back to the indicator" } " · Print this page from the browser's menu." }
        h1 { (info.id) ": " (info.title) }
        p { "Report made " (when(now)) " by " (staff.caller.username) ", from the records they may see." }
        (summary_table(&c, min_cell))
        (curve_sections(&c, &breakdowns, min_cell))
        h2 { "How these numbers are made" }
        ul {
            li { "Values with fewer than " (min_cell) " people are suppressed, and so is any value that would let one be worked out from the total." }
            li { "A year is trending the right way when it moved toward its target (or, with no target or the target met, the better way) by more than 0.5 points since the latest shown value in the two years before it; less is flat." }
            li { "The forecast is the straight line that best fits the last five years with a shown value (ordinary least squares), carried two years ahead, with the range where 4 values in 5 would fall if nothing changes." }
        }
    };
    layout::page(&format!("{} report", info.id), None, body).into_response()
}
