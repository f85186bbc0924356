//! The indicators a partnership reports (`../shared/domain/indicators.md`), computed
//! from household-survey responses: what share of the children in an indicator's
//! universe meet its condition, overall and disaggregated (race and ethnicity,
//! home language, neighborhood, age band), with small cells suppressed so that no
//! hidden cell can be recomputed from the others and the total.
//!
//! - [`child`]: one row per child of a response, with the household's answers;
//! - [`definition`]: indicators as data (a universe and a numerator, each a
//!   [`Condition`]), and the six the household survey feeds (G1, G3, G12-G15);
//! - [`dimension`]: the disaggregations and their categories;
//! - [`table`](mod@table): estimates and disaggregated tables, with suppression;
//! - [`facts`]: each child digested once (universe and numerator bits, categories),
//!   for a server that keeps every stored response's children in memory;
//! - [`aggregate`]: the administrative indicators, from uploaded CSV rows;
//! - [`performance`]: partner programs' performance measures (how much, how well, is
//!   anyone better off), by period, with the same suppression;
//! - [`trend`]: turn the curve: each indicator's yearly series, suppressed, with its
//!   forecast, trend verdicts and the dashboard's count of indicators trending right.
//!
//! The types of [`trend`] and [`performance`] are used by their module path
//! (`indicators::trend::Series`), as their names (`Targets`, `Record`, `Date`) are
//! common ones.
//!
//! Values are unweighted shares with their n beside them; weighting to census counts
//! is a later step.

pub mod aggregate;
pub mod child;
pub mod definition;
pub mod dimension;
pub mod facts;
pub mod performance;
pub mod table;
pub mod trend;

pub use aggregate::{parse_csv, AdminIndicator, AggregateRow, CsvError, ADMIN_INDICATORS};
pub use child::{children, ChildRow};
pub use definition::{survey_indicators, Condition, Indicator};
pub use dimension::Dimension;
pub use facts::{facts_estimate, facts_overall, facts_table, survey_index, ChildFacts, Digester};
pub use table::{
    estimate, overall, shown, suppress, table, tabulate, Cell, Estimate, Hidden, Shown, Table,
};
