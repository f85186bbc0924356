//! Server-side SVG charts, drawn from suppressed values only, so that a chart never
//! shows what its table hides:
//!
//! - [`bars`]: a horizontal bar per category of one year's table;
//! - [`curve_chart`]: an indicator's curve over the years, with its baseline, targets
//!   and forecast band ("turn the curve");
//! - [`group_lines`]: the disaggregated curves of one breakdown, a line per group.
//!
//! Every mark carries a `<title>` (read by screen readers, shown on hover) and the
//! pages put the same numbers in a table beside the chart.

use std::collections::BTreeMap;

use indicators::trend::{Curve, Scale, Status};
use indicators::{Cell, Shown};
use maud::{html, Markup};

use crate::curves::IndicatorCurve;

const ROW: u32 = 26;
const LABEL: u32 = 230;
const BAR: u32 = 320;

/// A bar chart of a table's shown cells (percentages, 0 to 100), labelled `title`.
pub fn bars(title: &str, cells: &[Cell]) -> Markup {
    let height = ROW * cells.len().max(1) as u32 + 8;
    let width = LABEL + BAR + 90;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" role="img" width=(width) height=(height)
            viewBox={ "0 0 " (width) " " (height) } aria-label=(title) {
            @for (i, cell) in cells.iter().enumerate() {
                @let y = ROW * i as u32 + 4;
                text x=(LABEL - 8) y=(y + 16) text-anchor="end" font-size="13" { (cell.category) }
                @match cell.shown.value().and_then(|e| e.percent()) {
                    Some(pct) => {
                        @let w = (pct / 100.0 * f64::from(BAR)).round() as u32;
                        rect x=(LABEL) y=(y) width=(w) height=(ROW - 8) fill="#457b9d" {}
                        text x=(LABEL + w + 6) y=(y + 16) font-size="13" { (format!("{pct:.1}%")) }
                    }
                    None => {
                        text x=(LABEL) y=(y + 16) font-size="13" fill="#666" font-style="italic" {
                            @if matches!(cell.shown, Shown::Hidden(_)) { "suppressed" } @else { "no data" }
                        }
                    }
                }
            }
        }
    }
}

/// The words a curve chart writes, in the page's language.
#[derive(Debug, Clone, Copy)]
pub struct ChartWords {
    /// "Value".
    pub value: &'static str,
    /// "Baseline".
    pub baseline: &'static str,
    /// "Target".
    pub target: &'static str,
    /// "Forecast if nothing changes (80% range)".
    pub forecast: &'static str,
    /// "suppressed".
    pub suppressed: &'static str,
    /// "No data yet".
    pub no_data: &'static str,
}

/// The staff pages' words.
pub const ENGLISH: ChartWords = ChartWords {
    value: "Value",
    baseline: "Baseline",
    target: "Target",
    forecast: "Forecast if nothing changes (80% range)",
    suppressed: "suppressed",
    no_data: "No data yet",
};

/// The public scorecard's Spanish words.
pub const SPANISH: ChartWords = ChartWords {
    value: "Valor",
    baseline: "Línea de base",
    target: "Meta",
    forecast: "Pronóstico si nada cambia (rango del 80%)",
    suppressed: "suprimido",
    no_data: "Aún no hay datos",
};

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 18.0;
const BOTTOM: f64 = 34.0;
/// Colours a reader with colour blindness can tell apart (Okabe and Ito).
const PALETTE: [&str; 8] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999",
];

/// The plot's axes: years across, values up.
struct Frame {
    first: i32,
    last: i32,
    low: f64,
    high: f64,
    scale: Scale,
}

impl Frame {
    /// Axes that hold every year and value given, values padded and rounded to a
    /// readable step (and kept within 0-100 for percentages).
    fn around(years: &[i32], values: &[f64], scale: Scale) -> Option<Frame> {
        let first = *years.iter().min()?;
        let last = *years.iter().max()?;
        let (mut low, mut high) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                (l.min(*v), h.max(*v))
            });
        if !low.is_finite() {
            (low, high) = (0.0, 100.0);
        }
        let step = Self::step(high - low);
        low = ((low - step / 2.0) / step).floor() * step;
        high = ((high + step / 2.0) / step).ceil() * step;
        if scale == Scale::Percent {
            low = low.max(0.0);
            high = high.min(100.0);
        }
        if high <= low {
            high = low + step;
        }
        Some(Frame {
            first,
            last,
            low,
            high,
            scale,
        })
    }

    /// A step of 1, 2, 5 or 10 times a power of ten giving about five ticks.
    fn step(span: f64) -> f64 {
        let raw = (span / 5.0).max(1e-9);
        let power = 10f64.powf(raw.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * power)
            .max(if span < 1.0 { 0.1 } else { 1.0 })
    }

    fn x(&self, year: i32) -> f64 {
        let width = WIDTH - LEFT - RIGHT;
        if self.last == self.first {
            LEFT + width / 2.0
        } else {
            LEFT + width * f64::from(year - self.first) / f64::from(self.last - self.first)
        }
    }

    fn y(&self, value: f64) -> f64 {
        let height = HEIGHT - TOP - BOTTOM;
        TOP + height * (1.0 - (value - self.low) / (self.high - self.low))
    }

    fn label(&self, value: f64) -> String {
        self.scale.format(value)
    }

    /// Gridlines with their values, and the years along the bottom.
    fn axes(&self) -> Markup {
        let step = Self::step(self.high - self.low);
        let ticks: Vec<f64> = (0..=50)
            .map(|i| self.low + step * f64::from(i))
            .take_while(|v| *v <= self.high + step / 1000.0)
            .collect();
        let every = (((self.last - self.first) / 12) + 1).max(1);
        html! {
            @for v in &ticks {
                line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(fmt(self.y(*v))) y2=(fmt(self.y(*v)))
                    stroke="#ddd" stroke-width="1" {}
                text x=(LEFT - 6.0) y=(fmt(self.y(*v) + 4.0)) text-anchor="end" font-size="11"
                    fill="#444" {
                    @if self.scale == Scale::Percent { (format!("{v:.0}%")) } @else { (format!("{v}")) }
                }
            }
            @for year in (self.first..=self.last).step_by(every as usize) {
                text x=(fmt(self.x(year))) y=(fmt(HEIGHT - BOTTOM + 18.0)) text-anchor="middle"
                    font-size="11" fill="#444" { (year) }
            }
        }
    }
}

/// A coordinate, to one decimal.
fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// The polyline points joining a curve's consecutive shown values (a hidden year
/// between two shown ones breaks the line; a year nobody was counted in does not).
fn segments(frame: &Frame, curve: &Curve) -> Vec<String> {
    let mut lines: Vec<Vec<String>> = vec![Vec::new()];
    for p in curve.points() {
        match (p.value, p.status) {
            (Some(v), _) => {
                let point = format!("{},{}", fmt(frame.x(p.year)), fmt(frame.y(v)));
                lines.last_mut().expect("never empty").push(point);
            }
            (None, Status::NoData) => {}
            (None, _) => lines.push(Vec::new()),
        }
    }
    lines
        .into_iter()
        .filter(|points| points.len() >= 2)
        .map(|points| points.join(" "))
        .collect()
}

/// An indicator's curve: each shown year's value (labelled), a gray mark at each
/// suppressed year, the baseline as a dashed line, each year's target as a diamond,
/// and the forecast as a dashed line with its 80% band. `title` labels it for screen
/// readers.
pub fn curve_chart(title: &str, c: &IndicatorCurve, words: &ChartWords) -> Markup {
    let scale = c.curve.scale();
    let mut years: Vec<i32> = c.curve.points().iter().map(|p| p.year).collect();
    let mut values: Vec<f64> = c.curve.shown().map(|(_, v)| v).collect();
    if let Some(b) = c.targets.baseline {
        years.push(b.year);
        values.push(b.value);
    }
    for (y, v) in &c.targets.by_year {
        years.push(*y);
        values.push(*v);
    }
    for p in &c.forecast.points {
        years.push(p.year);
        values.push(p.value);
        if let Some(b) = p.band {
            values.extend([b.low, b.high]);
        }
    }
    let Some(frame) = Frame::around(&years, &values, scale) else {
        return html! { p.hidden { (words.no_data) } };
    };
    let last_shown = c.latest_shown();
    // The band runs from the last shown value out along the upper bounds and back
    // along the lower ones; a line fitted to two points has none.
    let band: Vec<String> = match last_shown {
        Some((year, value))
            if !c.forecast.points.is_empty()
                && c.forecast.points.iter().all(|p| p.band.is_some()) =>
        {
            let at = |y: i32, v: f64| format!("{},{}", fmt(frame.x(y)), fmt(frame.y(v)));
            let bands = || {
                c.forecast
                    .points
                    .iter()
                    .filter_map(|p| Some((p.year, p.band?)))
            };
            std::iter::once(at(year, value))
                .chain(bands().map(|(y, b)| at(y, b.high)))
                .chain(bands().rev().map(|(y, b)| at(y, b.low)))
                .chain(std::iter::once(at(year, value)))
                .collect()
        }
        _ => Vec::new(),
    };
    let forecast_line: Vec<String> = last_shown
        .into_iter()
        .chain(c.forecast.points.iter().map(|p| (p.year, p.value)))
        .map(|(y, v)| format!("{},{}", fmt(frame.x(y)), fmt(frame.y(v))))
        .collect();
    let legend_y = HEIGHT - 4.0;
    html! {
        svg.curve xmlns="http://www.w3.org/2000/svg" role="img" width="100%"
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 22.0) } preserveAspectRatio="xMinYMin meet"
            aria-label=(title) style="max-width:40rem;height:auto" {
            title { (title) }
            (frame.axes())
            @if !band.is_empty() {
                polygon.band points=(band.join(" ")) fill="#a8dadc" fill-opacity="0.5" stroke="none" {
                    title { (words.forecast) }
                }
            }
            @if forecast_line.len() >= 2 {
                polyline.forecast points=(forecast_line.join(" ")) fill="none" stroke="#457b9d"
                    stroke-width="2" stroke-dasharray="6 4" {}
                @for p in &c.forecast.points {
                    circle cx=(fmt(frame.x(p.year))) cy=(fmt(frame.y(p.value))) r="3"
                        fill="#fff" stroke="#457b9d" data-forecast-year=(p.year) {
                        title { (words.forecast) " " (p.year) ": " (frame.label(p.value)) }
                    }
                }
            }
            @if let Some(b) = c.targets.baseline {
                line.baseline x1=(LEFT) x2=(WIDTH - RIGHT) y1=(fmt(frame.y(b.value)))
                    y2=(fmt(frame.y(b.value))) stroke="#777" stroke-width="1.5"
                    stroke-dasharray="2 3" {
                    title { (words.baseline) " " (b.year) ": " (frame.label(b.value)) }
                }
                // At the right end: the curve starts near the baseline on the left.
                text x=(WIDTH - RIGHT) y=(fmt(frame.y(b.value) + 13.0)) text-anchor="end"
                    font-size="11" fill="#555" {
                    (words.baseline) " " (b.year) ": " (frame.label(b.value))
                }
            }
            @for (year, value) in &c.targets.by_year {
                @let (x, y) = (frame.x(*year), frame.y(*value));
                path.target d={ "M" (fmt(x)) "," (fmt(y - 6.0)) " l6,6 l-6,6 l-6,-6 z" }
                    fill="#e76f51" data-target-year=(year) {
                    title { (words.target) " " (year) ": " (frame.label(*value)) }
                }
            }
            @for line in segments(&frame, &c.curve) {
                polyline.value points=(line) fill="none" stroke="#1d3557" stroke-width="2.5" {}
            }
            @for p in c.curve.points() {
                @let x = frame.x(p.year);
                @match p.value {
                    Some(v) => {
                        circle cx=(fmt(x)) cy=(fmt(frame.y(v))) r="4.5" fill="#1d3557"
                            data-year=(p.year) data-value=(format!("{v:.1}")) {
                            title { (p.year) ": " (frame.label(v)) }
                        }
                        text x=(fmt(x)) y=(fmt(frame.y(v) - 9.0)) text-anchor="middle"
                            font-size="11" font-weight="600" fill="#1d3557" { (frame.label(v)) }
                    }
                    None if p.status != Status::NoData => {
                        text x=(fmt(x)) y=(fmt(HEIGHT - BOTTOM - 6.0)) text-anchor="middle"
                            font-size="10" fill="#666" font-style="italic"
                            data-suppressed-year=(p.year) {
                            (words.suppressed)
                            title { (p.year) ": " (words.suppressed) }
                        }
                    }
                    None => {}
                }
            }
            // The legend, along the bottom.
            line x1=(LEFT) x2=(LEFT + 18.0) y1=(legend_y) y2=(legend_y) stroke="#1d3557" stroke-width="2.5" {}
            text x=(LEFT + 22.0) y=(legend_y + 4.0) font-size="11" { (words.value) }
            path d={ "M" (fmt(LEFT + 80.0)) "," (fmt(legend_y - 5.0)) " l5,5 l-5,5 l-5,-5 z" } fill="#e76f51" {}
            text x=(LEFT + 90.0) y=(legend_y + 4.0) font-size="11" { (words.target) }
            line x1=(LEFT + 150.0) x2=(LEFT + 168.0) y1=(legend_y) y2=(legend_y) stroke="#777" stroke-dasharray="2 3" stroke-width="1.5" {}
            text x=(LEFT + 172.0) y=(legend_y + 4.0) font-size="11" { (words.baseline) }
            line x1=(LEFT + 260.0) x2=(LEFT + 278.0) y1=(legend_y) y2=(legend_y) stroke="#457b9d" stroke-dasharray="6 4" stroke-width="2" {}
            text x=(LEFT + 282.0) y=(legend_y + 4.0) font-size="11" { (words.forecast) }
        }
    }
}

/// One breakdown's curves, a coloured line per group (hidden years are gaps), with a
/// legend. `title` labels it for screen readers.
pub fn group_lines(title: &str, groups: &BTreeMap<String, Curve>, words: &ChartWords) -> Markup {
    let scale = groups.values().next().map_or(Scale::Percent, Curve::scale);
    let years: Vec<i32> = groups
        .values()
        .flat_map(|c| c.points().iter().map(|p| p.year))
        .collect();
    let values: Vec<f64> = groups
        .values()
        .flat_map(|c| c.shown().map(|(_, v)| v))
        .collect();
    let Some(frame) = Frame::around(&years, &values, scale) else {
        return html! { p.hidden { (words.no_data) } };
    };
    let legend_top = HEIGHT + 4.0;
    let legend_rows = groups.len().div_ceil(2) as f64;
    html! {
        svg.groups xmlns="http://www.w3.org/2000/svg" role="img" width="100%"
            viewBox={ "0 0 " (WIDTH) " " (fmt(legend_top + 18.0 * legend_rows + 4.0)) }
            preserveAspectRatio="xMinYMin meet" aria-label=(title)
            style="max-width:40rem;height:auto" {
            title { (title) }
            (frame.axes())
            @for (i, (name, curve)) in groups.iter().enumerate() {
                @let colour = PALETTE[i % PALETTE.len()];
                @for line in segments(&frame, curve) {
                    polyline points=(line) fill="none" stroke=(colour) stroke-width="2" {}
                }
                @for (year, v) in curve.shown() {
                    circle cx=(fmt(frame.x(year))) cy=(fmt(frame.y(v))) r="3.5" fill=(colour)
                        data-group=(name) data-year=(year) data-value=(format!("{v:.1}")) {
                        title { (name) ", " (year) ": " (frame.label(v)) }
                    }
                }
                @let lx = if i % 2 == 0 { LEFT } else { LEFT + (WIDTH - LEFT) / 2.0 };
                @let ly = legend_top + 18.0 * (i / 2) as f64 + 10.0;
                rect x=(fmt(lx)) y=(fmt(ly - 8.0)) width="14" height="10" fill=(colour) {}
                text x=(fmt(lx + 18.0)) y=(fmt(ly + 1.0)) font-size="11" { (name) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_give_about_five_ticks() {
        assert_eq!(Frame::step(100.0), 20.0);
        assert_eq!(Frame::step(12.0), 5.0);
        assert_eq!(Frame::step(3.0), 1.0);
    }

    #[test]
    fn frames_stay_within_percentages_and_hold_every_value() {
        let f = Frame::around(&[2020, 2025], &[3.0, 97.0], Scale::Percent).unwrap();
        assert!(f.low >= 0.0 && f.high <= 100.0);
        assert!(f.low <= 3.0 && f.high >= 97.0);
        let f = Frame::around(&[2020], &[42.0], Scale::Percent).unwrap();
        assert!(f.low < 42.0 && f.high > 42.0);
        assert_eq!(f.x(2020), LEFT + (WIDTH - LEFT - RIGHT) / 2.0);
        assert!(Frame::around(&[], &[], Scale::Percent).is_none());
    }
}
