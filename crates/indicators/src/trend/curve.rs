//! Series and curves: an indicator's values checked on the way in, then suppressed by
//! the crate's small-cell rule before anything reads them.

use std::collections::{BTreeMap, BTreeSet};

use super::{Measure, Point, Scale, Source, FIRST_YEAR, LAST_YEAR, MAX_PLAIN_VALUE};
use crate::table::{shown, suppress, Estimate, Hidden, Shown};

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
