//! Server-side SVG charts: a horizontal bar per category, hidden cells drawn as an
//! empty row with the reason, so a chart never shows what the table suppresses.

use indicators::{Cell, Shown};
use maud::{html, Markup};

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
