//! Turn the curve: an indicator's yearly series, as Results-Based Accountability charts
//! it (`../shared/domain/indicators.md`). Each year's value with its source, the
//! baseline and the targets; which way is better; each point suppressed by the crate's
//! small-cell rule; a forecast "if nothing changes" ([`forecast()`]); whether the curve
//! is turning the right way each year ([`verdicts`]); and the dashboard's count of
//! indicators trending the right way ([`summarize`]).
//!
//! Series come from the digested survey children or the uploaded rows
//! ([`survey_series`], [`admin_series`] and their `_groups` splits), or are built point
//! by point ([`Series::new`]). Forecasts and verdicts read a [`Curve`], never a
//! [`Series`]: a curve is the series after suppression, so a hidden point cannot reach
//! either of them by construction.
//! `docs/indicators.md` explains every method in words staff can check by hand.

mod curve;
mod forecast;
mod sources;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::table::Estimate;

pub use curve::{curve, disaggregated_curves, Curve, CurvePoint, Series, SeriesError, Status};
pub use forecast::{
    forecast, t_quantile_80, Band, Fit, Forecast, ForecastOptions, Projected, DEFAULT_FIT_YEARS,
    MAX_YEARS_AHEAD,
};
pub use sources::{admin_groups, admin_series, survey_groups, survey_series};
pub use verdict::{
    summarize, verdict, verdicts, Summary, Trend, VerdictOptions, YearCount, YearVerdict,
    DEFAULT_MAX_GAP_YEARS, DEFAULT_TOLERANCE,
};

/// The earliest year a series may hold.
pub const FIRST_YEAR: i32 = 1900;
/// The latest year a series may hold.
pub const LAST_YEAR: i32 = 2200;
/// The largest plain value (in size) a series may hold: far above any indicator, and
/// small enough that squaring it in the forecast stays exact enough.
pub const MAX_PLAIN_VALUE: f64 = 1e9;

/// The indicators for which a lower value is better: student mobility (G11). Chronic
/// absence is "lower is better" too, once it is tracked as its own indicator; average
/// daily attendance (G5) is "higher is better".
pub const LOWER_IS_BETTER: &[&str] = &["G11"];

/// Where a year's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The household (neighborhood) survey or a school climate survey.
    Survey,
    /// A partner's administrative data (an uploaded file).
    Administrative,
}

/// A year's value as it was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A share: how many meet the indicator out of how many count. Its value is the
    /// percent; its n is the denominator.
    Rate(Estimate),
    /// A value published as is (average daily attendance, say), with the number of
    /// people behind it when known: with an n it is suppressed like a rate, without one
    /// it is taken to be already fit to publish.
    Plain {
        /// The value.
        value: f64,
        /// The people it is computed over, when known.
        n: Option<u64>,
    },
}

/// One year of an indicator.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// The year the value is for.
    pub year: i32,
    /// The value.
    pub measure: Measure,
    /// Where it comes from.
    pub source: Source,
}

impl Point {
    /// A share of `numerator` out of `denominator`.
    pub fn rate(year: i32, numerator: u64, denominator: u64, source: Source) -> Point {
        Point {
            year,
            measure: Measure::Rate(Estimate {
                numerator,
                denominator,
            }),
            source,
        }
    }

    /// A plain value, with its n when known.
    pub fn plain(year: i32, value: f64, n: Option<u64>, source: Source) -> Point {
        Point {
            year,
            measure: Measure::Plain { value, n },
            source,
        }
    }
}

/// What the values measure, which bounds the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Percentages: values, forecasts and bands stay within 0 to 100, and changes are
    /// in percentage points.
    Percent,
    /// Any other number (a count, a mean): nothing is clamped.
    Number,
}

impl Scale {
    /// A value as every page writes it: one decimal, with `%` for percentages
    /// (`42.0%`, `3.5`).
    pub fn format(self, value: f64) -> String {
        match self {
            Scale::Percent => format!("{value:.1}%"),
            Scale::Number => format!("{value:.1}"),
        }
    }
}

/// Which way an indicator gets better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// A higher value is better (most indicators).
    HigherIsBetter,
    /// A lower value is better (mobility, chronic absence).
    LowerIsBetter,
}

impl Direction {
    /// The direction for an indicator id: lower is better for [`LOWER_IS_BETTER`],
    /// higher for every other.
    pub fn of(indicator: &str) -> Direction {
        if LOWER_IS_BETTER
            .iter()
            .any(|id| id.eq_ignore_ascii_case(indicator))
        {
            Direction::LowerIsBetter
        } else {
            Direction::HigherIsBetter
        }
    }

    /// +1 when up is better, -1 when down is.
    pub(crate) fn sign(self) -> f64 {
        match self {
            Direction::HigherIsBetter => 1.0,
            Direction::LowerIsBetter => -1.0,
        }
    }

    /// Whether `value` is at `target` or beyond it on the better side.
    pub(crate) fn meets(self, value: f64, target: f64) -> bool {
        match self {
            Direction::HigherIsBetter => value >= target,
            Direction::LowerIsBetter => value <= target,
        }
    }
}

/// The value an indicator started from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Its year.
    pub year: i32,
    /// Its value.
    pub value: f64,
}

/// An indicator's baseline and its target for each year of the grant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Targets {
    /// Where it started, if set.
    pub baseline: Option<Baseline>,
    /// The target for each year that has one.
    pub by_year: BTreeMap<i32, f64>,
}

impl Targets {
    /// The target that holds for `year`: that year's own; else the latest one set for
    /// an earlier year (it still stands); else the first one set for a later year (the
    /// one being worked toward). None when no target is set. A target that is not a
    /// finite number is skipped, as if unset.
    pub fn for_year(&self, year: i32) -> Option<(i32, f64)> {
        let finite = |(y, v): (&i32, &f64)| v.is_finite().then_some((*y, *v));
        self.by_year
            .range(..=year)
            .rev()
            .find_map(finite)
            .or_else(|| self.by_year.range(year..).find_map(finite))
    }
}
