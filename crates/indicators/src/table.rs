//! Estimates and disaggregated tables, with small-cell suppression.
//!
//! Suppression, as state education agencies practise it: a cell whose n (its
//! denominator) is below the threshold is hidden (primary); and when a table would
//! show its total with exactly one cell hidden, that cell could be recomputed from the
//! total and the others, so the smallest other cell is hidden too (complementary).
//! A total below the threshold hides the whole table.

use std::collections::BTreeMap;

use crate::{ChildRow, Dimension, Indicator};

/// The count behind a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Estimate {
    /// Children in the universe who meet the indicator.
    pub numerator: u64,
    /// Children in the universe: the n.
    pub denominator: u64,
}

impl Estimate {
    /// The share in percent, if there is anyone to share.
    pub fn percent(&self) -> Option<f64> {
        (self.denominator > 0).then(|| 100.0 * self.numerator as f64 / self.denominator as f64)
    }
}

/// Why a value is hidden.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hidden {
    /// Its n is below the threshold.
    Small,
    /// It would let a small cell be recomputed from the total.
    Complementary,
}

/// What a page may show of an estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// The value and its counts.
    Value(Estimate),
    /// Nothing but the reason.
    Hidden(Hidden),
}

impl Shown {
    /// The estimate, when it may be shown.
    pub fn value(&self) -> Option<Estimate> {
        match self {
            Shown::Value(e) => Some(*e),
            Shown::Hidden(_) => None,
        }
    }
}

/// One category of a disaggregated table.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// The category.
    pub category: String,
    /// What may be shown of it.
    pub shown: Shown,
}

/// An indicator split by one dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// The dimension.
    pub dimension: Dimension,
    /// The whole universe.
    pub total: Shown,
    /// Each category with anyone in it, by name.
    pub cells: Vec<Cell>,
}

/// The indicator over these children, unsuppressed.
pub fn estimate(indicator: &Indicator, rows: &[ChildRow]) -> Estimate {
    let mut e = Estimate::default();
    for row in rows.iter().filter(|r| indicator.universe.holds(r)) {
        e.denominator += 1;
        if indicator.numerator.holds(row) {
            e.numerator += 1;
        }
    }
    e
}

/// The indicator over these children, hidden when its n is below `min_cell`.
pub fn overall(indicator: &Indicator, rows: &[ChildRow], min_cell: u64) -> Shown {
    shown(estimate(indicator, rows), min_cell)
}

/// The indicator split by `dimension`, suppressed with `min_cell` (the smallest n
/// shown; 10 is common, states use 5 to 30).
pub fn table(
    indicator: &Indicator,
    rows: &[ChildRow],
    dimension: Dimension,
    min_cell: u64,
) -> Table {
    let members = rows
        .iter()
        .filter(|r| indicator.universe.holds(r))
        .map(|r| (indicator.numerator.holds(r), dimension.category(r)));
    let (total, cells) = tabulate(members, min_cell);
    Table {
        dimension,
        total,
        cells,
    }
}

/// Count the universe's members, each given as (meets the indicator, its category),
/// into suppressed cells and a total.
pub fn tabulate<S: AsRef<str>>(
    members: impl IntoIterator<Item = (bool, S)>,
    min_cell: u64,
) -> (Shown, Vec<Cell>) {
    let mut by_category: BTreeMap<String, Estimate> = BTreeMap::new();
    let mut total = Estimate::default();
    for (meets, category) in members {
        let category = category.as_ref();
        let cell = match by_category.get_mut(category) {
            Some(cell) => cell,
            None => by_category.entry(category.to_string()).or_default(),
        };
        for e in [cell, &mut total] {
            e.denominator += 1;
            e.numerator += u64::from(meets);
        }
    }
    suppress(by_category, total, min_cell)
}

/// Suppress a table given as counts by category and their total: cells under
/// `min_cell` hidden, then, while exactly one cell is hidden beside a shown total,
/// the smallest other cell too. A total under `min_cell` hides everything.
pub fn suppress(
    by_category: BTreeMap<String, Estimate>,
    total: Estimate,
    min_cell: u64,
) -> (Shown, Vec<Cell>) {
    let mut cells: Vec<(String, Estimate, Option<Hidden>)> = by_category
        .into_iter()
        .map(|(category, e)| {
            let hidden = (e.denominator < min_cell).then_some(Hidden::Small);
            (category, e, hidden)
        })
        .collect();
    let total_shown = if total.denominator < min_cell {
        for cell in &mut cells {
            cell.2.get_or_insert(Hidden::Small);
        }
        Shown::Hidden(Hidden::Small)
    } else {
        // One hidden cell next to a shown total can be recomputed: hide the smallest
        // other cell as well.
        while cells.iter().filter(|c| c.2.is_some()).count() == 1 {
            let Some(smallest) = cells
                .iter_mut()
                .filter(|c| c.2.is_none())
                .min_by(|a, b| a.1.denominator.cmp(&b.1.denominator).then(a.0.cmp(&b.0)))
            else {
                break;
            };
            smallest.2 = Some(Hidden::Complementary);
        }
        Shown::Value(total)
    };
    let cells = cells
        .into_iter()
        .map(|(category, e, hidden)| Cell {
            category,
            shown: hidden.map_or(Shown::Value(e), Shown::Hidden),
        })
        .collect();
    (total_shown, cells)
}

/// An estimate as a page may show it: hidden when its n is under `min_cell`.
pub fn shown(e: Estimate, min_cell: u64) -> Shown {
    if e.denominator < min_cell {
        Shown::Hidden(Hidden::Small)
    } else {
        Shown::Value(e)
    }
}
