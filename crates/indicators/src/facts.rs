//! What the survey indicators need to know of one child, worked out once: for each of
//! [`survey_indicators`] whether the child is in its universe and meets it, and the
//! child's category in each [`Dimension`]. A server keeps these for every stored
//! response so that a page counts bits instead of reading answers again.

use std::collections::HashSet;
use std::sync::Arc;

use crate::table::{shown, tabulate, Estimate, Shown, Table};
use crate::{survey_indicators, ChildRow, Dimension, Indicator};

/// One child, digested for the survey indicators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildFacts {
    /// Bit `i`: in the universe of the `i`th survey indicator.
    universe: u64,
    /// Bit `i`: meets the `i`th survey indicator.
    meets: u64,
    /// The category in each of [`Dimension::ALL`], in that order.
    categories: [Arc<str>; 5],
}

/// Builds [`ChildFacts`], sharing equal category names among children.
#[derive(Debug)]
pub struct Digester {
    indicators: Vec<Indicator>,
    names: HashSet<Arc<str>>,
}

impl Default for Digester {
    fn default() -> Self {
        Digester::new()
    }
}

impl Digester {
    /// A digester for the survey indicators.
    pub fn new() -> Self {
        Digester {
            indicators: survey_indicators(),
            names: HashSet::new(),
        }
    }

    /// The facts of one child.
    pub fn digest(&mut self, row: &ChildRow) -> ChildFacts {
        let mut universe = 0;
        let mut meets = 0;
        for (i, indicator) in self.indicators.iter().enumerate() {
            if indicator.universe.holds(row) {
                universe |= 1 << i;
                if indicator.numerator.holds(row) {
                    meets |= 1 << i;
                }
            }
        }
        let categories = Dimension::ALL.map(|d| self.name(d.category(row)));
        ChildFacts {
            universe,
            meets,
            categories,
        }
    }

    fn name(&mut self, name: String) -> Arc<str> {
        if let Some(shared) = self.names.get(name.as_str()) {
            return shared.clone();
        }
        let shared: Arc<str> = name.into();
        self.names.insert(shared.clone());
        shared
    }
}

/// The position of a survey indicator in [`survey_indicators`], by its id.
pub fn survey_index(id: &str) -> Option<usize> {
    survey_indicators().iter().position(|i| i.id == id)
}

fn dimension_index(dimension: Dimension) -> usize {
    Dimension::ALL
        .iter()
        .position(|d| *d == dimension)
        .unwrap_or(0)
}

/// The `index`th survey indicator over these children, unsuppressed.
pub fn facts_estimate<'a>(
    index: usize,
    children: impl IntoIterator<Item = &'a ChildFacts>,
) -> Estimate {
    let bit = 1u64 << index;
    let mut e = Estimate::default();
    for child in children.into_iter().filter(|c| c.universe & bit != 0) {
        e.denominator += 1;
        e.numerator += u64::from(child.meets & bit != 0);
    }
    e
}

/// The `index`th survey indicator over these children, hidden under `min_cell`.
pub fn facts_overall<'a>(
    index: usize,
    children: impl IntoIterator<Item = &'a ChildFacts>,
    min_cell: u64,
) -> Shown {
    shown(facts_estimate(index, children), min_cell)
}

/// The `index`th survey indicator split by `dimension`, suppressed with `min_cell`:
/// the same table [`crate::table()`] makes from the children's answers.
pub fn facts_table<'a>(
    index: usize,
    children: impl IntoIterator<Item = &'a ChildFacts>,
    dimension: Dimension,
    min_cell: u64,
) -> Table {
    let bit = 1u64 << index;
    let d = dimension_index(dimension);
    let members = children
        .into_iter()
        .filter(|c| c.universe & bit != 0)
        .map(|c| (c.meets & bit != 0, c.categories[d].clone()));
    let (total, cells) = tabulate(members, min_cell);
    Table {
        dimension,
        total,
        cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{overall, table};

    #[test]
    fn facts_give_the_tables_the_answers_give() {
        let mut rows = Vec::new();
        for i in 0..60 {
            let grade = ["prek", "none", "3", "10"][i % 4];
            let age = ["4", "1", "8", "15"][i % 4];
            let read = ["daily", "never", "three_plus"][i % 3];
            let language = if i % 7 == 0 { "so" } else { "en" };
            let mut row = ChildRow::from_pairs(&[
                ("grade", grade),
                ("age_years", age),
                ("read_times", read),
                ("home_language", language),
                ("college_talk", if i % 2 == 0 { "yes" } else { "no" }),
                ("usual_place", "yes"),
                ("place_type", if i % 5 == 0 { "er" } else { "clinic" }),
            ]);
            row.neighborhood = Some(if i % 3 == 0 { "east" } else { "west" }.into());
            rows.push(row);
        }
        let mut digester = Digester::new();
        let facts: Vec<ChildFacts> = rows.iter().map(|r| digester.digest(r)).collect();
        for (i, indicator) in survey_indicators().iter().enumerate() {
            assert_eq!(survey_index(indicator.id), Some(i));
            assert_eq!(
                facts_overall(i, &facts, 5),
                overall(indicator, &rows, 5),
                "{}",
                indicator.id
            );
            for d in Dimension::ALL {
                assert_eq!(
                    facts_table(i, &facts, d, 5),
                    table(indicator, &rows, d, 5),
                    "{} by {d:?}",
                    indicator.id
                );
            }
        }
        assert!(facts_estimate(0, &facts).denominator > 0);
        assert_eq!(survey_index("G99"), None);
    }
}
