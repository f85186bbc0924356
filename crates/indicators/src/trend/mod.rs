//! Turn the curve: an indicator's yearly series, as Results-Based Accountability charts
//! it (`../shared/domain/indicators.md`). Each year's value with its source, the
//! baseline and the targets; which way is better; each point suppressed by the crate's
//! small-cell rule; a forecast "if nothing changes" ([`forecast()`]); whether the curve
//! is turning the right way each year ([`verdicts`]); and the dashboard's count of
//! indicators trending the right way ([`summarize`]).
//!
//! Series come from the digested survey children or the uploaded rows
//! ([`survey_series`], [`admin_series`] and their `_groups` splits), or are built point
//! by point ([`Series::new`]). Forecasts and verdicts read a [`Curve`], never a [`Series`]: a curve is the series
//! after suppression, so a hidden point cannot reach either of them by construction.
//! `docs/indicators.md` explains every method in words staff can check by hand.

mod forecast;
mod sources;
mod verdict;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::table::{shown, suppress, Estimate, Hidden, Shown};

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

/// Why a series is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    /// Two points for one year: which one counts is the caller's choice to make.
    #[error("two values for {0}; a series holds one value a year")]
    DuplicateYear(i32),
    /// A year outside [`FIRST_YEAR`]..=[`LAST_YEAR`].
    #[error("{0} is not a year between {FIRST_YEAR} and {LAST_YEAR}")]
    YearOutOfRange(i32),
    /// A rate with more meeting the indicator than counting.
    #[error("{year}: {numerator} is more than the denominator {denominator}")]
    NumeratorOverDenominator {
        /// The year.
        year: i32,
        /// The numerator given.
        numerator: u64,
        /// The denominator given.
        denominator: u64,
    },
    /// A plain value that is not a number, too large, or (for percentages) outside 0
    /// to 100.
    #[error("{year}: {value} is not a value this series can hold")]
    BadValue {
        /// The year.
        year: i32,
        /// The value given.
        value: f64,
    },
}

/// An indicator's values, one per year, in year order, unsuppressed. Build it with
/// [`Series::new`]; show it only through [`curve`] or [`disaggregated_curves`].
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    scale: Scale,
    points: Vec<Point>,
}

impl Series {
    /// A series from points in any order. Refused: two points for one year, a year out
    /// of range, a numerator over its denominator, a plain value that is not finite,
    /// over [`MAX_PLAIN_VALUE`] in size, or outside 0 to 100 on the percent scale.
    pub fn new(scale: Scale, mut points: Vec<Point>) -> Result<Series, SeriesError> {
        points.sort_by_key(|p| p.year);
        for (i, p) in points.iter().enumerate() {
            if !(FIRST_YEAR..=LAST_YEAR).contains(&p.year) {
                return Err(SeriesError::YearOutOfRange(p.year));
            }
            if i > 0 && points[i - 1].year == p.year {
                return Err(SeriesError::DuplicateYear(p.year));
            }
            match p.measure {
                Measure::Rate(e) if e.numerator > e.denominator => {
                    return Err(SeriesError::NumeratorOverDenominator {
                        year: p.year,
                        numerator: e.numerator,
                        denominator: e.denominator,
                    })
                }
                Measure::Plain { value, .. }
                    if !value.is_finite()
                        || value.abs() > MAX_PLAIN_VALUE
                        || (scale == Scale::Percent && !(0.0..=100.0).contains(&value)) =>
                {
                    return Err(SeriesError::BadValue {
                        year: p.year,
                        value,
                    })
                }
                _ => {}
            }
        }
        Ok(Series { scale, points })
    }

    /// The scale of its values.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// Its points, in year order.
    pub fn points(&self) -> &[Point] {
        &self.points
    }
}

/// What a curve shows of one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The value is shown.
    Shown,
    /// Nobody was counted (a zero denominator or n).
    NoData,
    /// Hidden by suppression, and why.
    Suppressed(Hidden),
}

/// One year of a curve, as a page may show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurvePoint {
    /// The year.
    pub year: i32,
    /// Where the value comes from.
    pub source: Source,
    /// Shown, empty or hidden.
    pub status: Status,
    /// The value, only when shown (a percent for rates).
    pub value: Option<f64>,
    /// A shown rate's counts (numerator and n); none for plain values and hidden points.
    pub counts: Option<Estimate>,
}

impl CurvePoint {
    fn from_shown(point: &Point, shown_as: Shown) -> CurvePoint {
        let (status, value, counts) = match shown_as {
            Shown::Value(e) => match e.percent() {
                Some(p) => (Status::Shown, Some(p), Some(e)),
                None => (Status::NoData, None, None),
            },
            Shown::Hidden(h) => (Status::Suppressed(h), None, None),
        };
        CurvePoint {
            year: point.year,
            source: point.source,
            status,
            value,
            counts,
        }
    }
}

/// A series after suppression: what pages, forecasts and verdicts may read.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    scale: Scale,
    min_cell: u64,
    points: Vec<CurvePoint>,
}

impl Curve {
    /// The scale of its values.
    pub fn scale(&self) -> Scale {
        self.scale
    }

    /// The threshold it was suppressed with (the smallest n shown).
    pub fn min_cell(&self) -> u64 {
        self.min_cell
    }

    /// Every year of the series, in order, shown or not.
    pub fn points(&self) -> &[CurvePoint] {
        &self.points
    }

    /// The point for `year`, if the series has one.
    pub fn at(&self, year: i32) -> Option<&CurvePoint> {
        self.points
            .binary_search_by_key(&year, |p| p.year)
            .ok()
            .map(|i| &self.points[i])
    }

    /// The shown points as (year, value), in year order.
    pub fn shown(&self) -> impl Iterator<Item = (i32, f64)> + '_ {
        self.points.iter().filter_map(|p| Some((p.year, p.value?)))
    }
}

/// Primary suppression of one point, as [`crate::table::shown`] does it: hidden when
/// its n is under `min_cell`; no data when its n is zero.
fn primary(point: &Point, min_cell: u64) -> CurvePoint {
    let shown_as = match point.measure {
        Measure::Rate(e) if e.denominator == 0 => Shown::Value(e),
        Measure::Rate(e) => shown(e, min_cell),
        Measure::Plain { value, n } => {
            return match n {
                Some(0) => CurvePoint {
                    year: point.year,
                    source: point.source,
                    status: Status::NoData,
                    value: None,
                    counts: None,
                },
                Some(n) if n < min_cell => CurvePoint {
                    year: point.year,
                    source: point.source,
                    status: Status::Suppressed(Hidden::Small),
                    value: None,
                    counts: None,
                },
                _ => CurvePoint {
                    year: point.year,
                    source: point.source,
                    status: Status::Shown,
                    value: Some(value),
                    counts: None,
                },
            }
        }
    };
    CurvePoint::from_shown(point, shown_as)
}

/// An indicator's overall curve: each point hidden when its n is under `min_cell`
/// (the crate's smallest-cell rule).
pub fn curve(series: &Series, min_cell: u64) -> Curve {
    Curve {
        scale: series.scale,
        min_cell,
        points: series.points.iter().map(|p| primary(p, min_cell)).collect(),
    }
}

/// The overall curve and one curve per group (a category of one disaggregation),
/// suppressed year by year as the crate's tables are ([`crate::table::suppress`]):
/// each group's rate under `min_cell` is hidden, and when a shown total would let one
/// hidden group be recomputed, the smallest other group of that year is hidden too. The
/// total of a year is the overall series' rate when it has one, else the sum of the
/// groups. Plain values are suppressed on their own n only. A group with nobody in a
/// year shows no data.
pub fn disaggregated_curves(
    total: &Series,
    groups: &BTreeMap<String, Series>,
    min_cell: u64,
) -> (Curve, BTreeMap<String, Curve>) {
    let overall = curve(total, min_cell);
    let mut curves: BTreeMap<String, Curve> = groups
        .iter()
        .map(|(name, s)| (name.clone(), curve(s, min_cell)))
        .collect();
    let years: BTreeSet<i32> = groups
        .values()
        .flat_map(|s| s.points.iter().map(|p| p.year))
        .collect();
    for year in years {
        let cells: BTreeMap<String, Estimate> = groups
            .iter()
            .filter_map(|(name, s)| {
                let p = s.points.iter().find(|p| p.year == year)?;
                match p.measure {
                    Measure::Rate(e) if e.denominator > 0 => Some((name.clone(), e)),
                    _ => None,
                }
            })
            .collect();
        if cells.is_empty() {
            continue;
        }
        let year_total = total
            .points
            .iter()
            .find(|p| p.year == year)
            .and_then(|p| match p.measure {
                Measure::Rate(e) => Some(e),
                Measure::Plain { .. } => None,
            })
            .unwrap_or_else(|| {
                cells.values().fold(Estimate::default(), |t, e| Estimate {
                    numerator: t.numerator.saturating_add(e.numerator),
                    denominator: t.denominator.saturating_add(e.denominator),
                })
            });
        let (_, shown_cells) = suppress(cells, year_total, min_cell);
        for cell in shown_cells {
            let Some(c) = curves.get_mut(&cell.category) else {
                continue;
            };
            if let Some(point) = c.points.iter_mut().find(|p| p.year == year) {
                let source = point.source;
                *point = CurvePoint::from_shown(
                    &Point {
                        year,
                        measure: Measure::Rate(Estimate::default()),
                        source,
                    },
                    cell.shown,
                );
            }
        }
    }
    (overall, curves)
}
