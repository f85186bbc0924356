//! Server-side SVG charts: a horizontal bar per category, hidden cells drawn as an
//! empty row with the reason, so a chart never shows what the table suppresses.

use indicators::{Cell, Shown};

use super::html::escape;

const ROW: u32 = 26;
const LABEL: u32 = 230;
const BAR: u32 = 320;

/// A bar chart of a table's shown cells (percentages, 0 to 100), labelled `title`.
pub fn bars(title: &str, cells: &[Cell]) -> String {
    let height = ROW * cells.len().max(1) as u32 + 8;
    let width = LABEL + BAR + 90;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" aria-label=\"{}\">",
        escape(title)
    );
    for (i, cell) in cells.iter().enumerate() {
        let y = ROW * i as u32 + 4;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"13\">{}</text>",
            LABEL - 8,
            y + 16,
            escape(&cell.category)
        ));
        match cell.shown.value().and_then(|e| e.percent()) {
            Some(pct) => {
                let w = (pct / 100.0 * f64::from(BAR)).round() as u32;
                svg.push_str(&format!(
                    "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"#457b9d\"/>\
                     <text x=\"{}\" y=\"{}\" font-size=\"13\">{pct:.1}%</text>",
                    ROW - 8,
                    LABEL + w + 6,
                    y + 16
                ));
            }
            None => {
                let why = match cell.shown {
                    Shown::Hidden(_) => "suppressed",
                    Shown::Value(_) => "no data",
                };
                svg.push_str(&format!(
                    "<text x=\"{LABEL}\" y=\"{}\" font-size=\"13\" fill=\"#666\" font-style=\"italic\">{why}</text>",
                    y + 16
                ));
            }
        }
    }
    svg.push_str("</svg>");
    svg
}
