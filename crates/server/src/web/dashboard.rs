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
use serde::Deserialize;

use super::html::escape;
use super::session::error_page;
use super::{chart, storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::storage::{SurveyFacts, Targets};

/// A value with its n, as two table cells: `td.value` (the share, or why it is
/// hidden: then also `.hidden`) and `td.n`.
pub fn value_cells(shown: Shown, min_cell: u64) -> String {
    match shown {
        Shown::Value(e) => match e.percent() {
            Some(p) => format!(
                "<td class=\"value num\">{p:.1}%</td><td class=\"n num\">{} of {}</td>",
                e.numerator, e.denominator
            ),
            None => "<td class=\"value hidden\">no data</td><td class=\"n\">0</td>".into(),
        },
        Shown::Hidden(Hidden::Small) => format!(
            "<td class=\"value hidden\">suppressed (fewer than {min_cell})</td>\
             <td class=\"n hidden\">fewer than {min_cell}</td>"
        ),
        Shown::Hidden(Hidden::Complementary) => {
            "<td class=\"value hidden\">suppressed (would reveal a small cell)</td>\
             <td class=\"n hidden\">hidden</td>"
                .into()
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
    fn cells(&self, targets: Option<&Targets>, min_cell: u64) -> String {
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
        format!(
            "<td class=\"year\">{year}</td>{value}<td class=\"baseline\">{baseline}</td>\
             <td class=\"target\">{target_text}</td><td class=\"change\">{}</td>",
            escape(&change)
        )
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
    let mut body = String::from(
        "<h1>Indicators</h1><p>Survey indicators count the finalized household-survey \
         responses you may see, unweighted, in the latest year with data; administrative \
         indicators come from uploaded files.</p>\
         <table id=\"indicators\"><thead><tr><th>Indicator</th><th>What it measures</th>\
         <th>Year</th><th>Value</th><th>n</th><th>Baseline</th><th>Target</th>\
         <th>Change</th></tr></thead><tbody>",
    );
    let row = |id: &str, title: &str, cells: String| {
        format!(
            "<tr data-indicator=\"{id}\"><td><a href=\"/indicators/{id}\">{id}</a></td>\
             <td>{}</td>{cells}</tr>",
            escape(title)
        )
    };
    for (i, indicator) in survey_indicators().iter().enumerate() {
        let cells = Series::survey(i, &o.facts).cells(o.targets.get(indicator.id), o.min_cell);
        body.push_str(&row(indicator.id, indicator.title, cells));
    }
    for (admin, rows) in ADMIN_INDICATORS.iter().zip(&o.aggregates) {
        let cells = Series::admin(rows).cells(o.targets.get(admin.id), o.min_cell);
        body.push_str(&row(admin.id, admin.title, cells));
    }
    body.push_str(&format!(
        "</tbody></table><p>Cells with fewer than {} people are suppressed, and so is \
         any cell that would let one be worked out from the total.</p>",
        o.min_cell
    ));
    if staff.require(BACKBONE_ROLES).is_ok() {
        body.push_str(&format!(
            "<h2>Administrative data</h2><form method=\"post\" action=\"/indicators/upload\" \
             enctype=\"multipart/form-data\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label>CSV file (indicator,year,group,category,numerator,denominator) \
             <input type=\"file\" name=\"file\" accept=\".csv,text/csv\" required></label>\
             <button type=\"submit\">Upload</button></form>\
             <h2>Suppression</h2><form method=\"post\" action=\"/settings/min-cell\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label>Smallest cell shown <input name=\"min_cell\" type=\"number\" min=\"1\" max=\"100\" value=\"{}\"></label>\
             <button type=\"submit\">Save</button></form>",
            o.min_cell,
            csrf = staff.csrf
        ));
    }
    if staff.require(super::RECORD_ROLES).is_ok() {
        body.push_str(
            "<h2>Exports</h2><p>Household survey responses as CSV, within what you may \
             see: <a id=\"export-household_survey\" href=\"/exports/household_survey\">responses</a>, \
             <a id=\"export-household_survey-child\" href=\"/exports/household_survey/child\">children</a> \
             (joined by <code>_parent_id</code>).</p>",
        );
    }
    staff.page("Indicators", maud::PreEscaped(body))
}

/// `?year=` on an indicator's page.
#[derive(Deserialize)]
pub struct YearQuery {
    year: Option<i32>,
}

fn table_html(title: &str, total: Shown, cells: &[Cell], min_cell: u64) -> String {
    let mut html = format!(
        "<h2>{}</h2><table><thead><tr><th>Group</th><th>Value</th><th>n</th></tr></thead><tbody>",
        escape(title)
    );
    for cell in cells {
        html.push_str(&format!(
            "<tr><td>{}</td>{}</tr>",
            escape(&cell.category),
            value_cells(cell.shown, min_cell)
        ));
    }
    html.push_str(&format!(
        "<tr><th>Total</th>{}</tr></tbody></table>{}",
        value_cells(total, min_cell),
        chart::bars(title, cells)
    ));
    html
}

fn year_links(id: &str, years: &[i32], chosen: i32) -> String {
    if years.len() < 2 {
        return String::new();
    }
    let links: Vec<String> = years
        .iter()
        .map(|y| {
            if *y == chosen {
                format!("<strong>{y}</strong>")
            } else {
                format!("<a href=\"/indicators/{id}?year={y}\">{y}</a>")
            }
        })
        .collect();
    format!("<p>Year: {}</p>", links.join(" · "))
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
    let mut body = format!(
        "<h1>{id} <small>{}</small></h1><table id=\"summary\"><thead><tr><th>Year</th>\
         <th>Value</th><th>n</th><th>Baseline</th><th>Target</th><th>Change</th></tr></thead>\
         <tbody><tr>{}</tr></tbody></table>",
        escape(title),
        series.cells(targets.get(&id), min_cell)
    );
    if staff.require(BACKBONE_ROLES).is_ok() {
        body.push_str(&format!(
            "<p><a href=\"/indicators/{id}/targets\">Edit baseline and targets</a></p>"
        ));
    }
    body.push_str(&year_links(&id, &years, year));
    match survey {
        Some(i) => {
            let children: Vec<_> = facts.children_in(year).collect();
            for dimension in Dimension::ALL {
                let t = facts_table(i, children.iter().copied(), dimension, min_cell);
                body.push_str(&table_html(dimension.title(), t.total, &t.cells, min_cell));
            }
        }
        None => {
            let of_year: Vec<AggregateRow> =
                rows.iter().filter(|r| r.year == year).cloned().collect();
            let tables = aggregate_tables(&of_year, min_cell);
            if tables.is_empty() {
                body.push_str("<p>No disaggregated rows uploaded for this year.</p>");
            }
            for (group, total, cells) in tables {
                body.push_str(&table_html(&group, total, &cells, min_cell));
            }
        }
    }
    staff.page(&id, maud::PreEscaped(body))
}
