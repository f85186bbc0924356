//! Whether the curve is turning: each year's value against the one before, toward the
//! target (or the better way when there is none), and the dashboard's count.

use super::{Curve, Direction, Scale, Status, Targets};
use crate::table::Hidden;

/// A change smaller than this (in the value's unit: percentage points for percentages)
/// counts as flat, by default: survey shares move by about that much from sampling alone.
pub const DEFAULT_TOLERANCE: f64 = 0.5;
/// How many years back a value may be compared with, by default: the household survey
/// runs every two years, so its "year before" is two years back.
pub const DEFAULT_MAX_GAP_YEARS: i32 = 2;

/// How verdicts are judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VerdictOptions {
    /// A change whose size is under this is flat (a negative value counts as 0).
    pub tolerance: f64,
    /// The most years between a value and the earlier one it is compared with.
    pub max_gap_years: i32,
}

impl Default for VerdictOptions {
    fn default() -> Self {
        VerdictOptions {
            tolerance: DEFAULT_TOLERANCE,
            max_gap_years: DEFAULT_MAX_GAP_YEARS,
        }
    }
}

/// The verdict on one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trend {
    /// Moved toward the target (or the better way, with no target or the target met).
    RightDirection,
    /// Moved the other way.
    WrongDirection,
    /// Moved less than the tolerance.
    Flat,
    /// No shown value this year, or none close enough before it to compare with.
    NoData,
}

/// One year's verdict, with what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct YearVerdict {
    /// The year judged.
    pub year: i32,
    /// The verdict.
    pub trend: Trend,
    /// The earlier year compared with, when there was one.
    pub compared_with: Option<i32>,
    /// This year's value minus that year's.
    pub change: Option<f64>,
    /// The target that held (its year and value), if any.
    pub target: Option<(i32, f64)>,
    /// Why, in words staff can read.
    pub reason: String,
}

fn amount(scale: Scale, v: f64) -> String {
    match scale {
        Scale::Percent => format!("{v:.1} points"),
        Scale::Number => format!("{v:.1}"),
    }
}

fn no_data(year: i32, target: Option<(i32, f64)>, reason: String) -> YearVerdict {
    YearVerdict {
        year,
        trend: Trend::NoData,
        compared_with: None,
        change: None,
        target,
        reason,
    }
}

/// The verdict on `year`: its shown value against the latest shown value in the
/// `max_gap_years` before it. A change under the tolerance is flat. Otherwise it is the
/// right direction when it goes toward the target that holds for the year
/// ([`Targets::for_year`]), and, when there is no target or the earlier value already
/// met it, when it goes the better way; the wrong direction else. Hidden points are
/// never compared: a hidden year has no data, and a year after it compares with the
/// shown one before.
pub fn verdict(
    curve: &Curve,
    targets: &Targets,
    direction: Direction,
    year: i32,
    options: &VerdictOptions,
) -> YearVerdict {
    let scale = curve.scale();
    let target = targets.for_year(year);
    let now = match curve.at(year) {
        None => return no_data(year, target, format!("No value for {year}.")),
        Some(p) => match (p.status, p.value) {
            (Status::Shown, Some(v)) => v,
            (Status::Suppressed(Hidden::Small), _) => {
                return no_data(
                    year,
                    target,
                    format!(
                        "{year} is suppressed (fewer than {} people), so it is not judged.",
                        curve.min_cell()
                    ),
                )
            }
            (Status::Suppressed(Hidden::Complementary), _) => {
                return no_data(
                    year,
                    target,
                    format!(
                    "{year} is suppressed (it would reveal a small group), so it is not judged."
                ),
                )
            }
            _ => return no_data(year, target, format!("Nobody was counted in {year}.")),
        },
    };
    let gap = options.max_gap_years.max(1);
    let before = curve
        .shown()
        .filter(|(y, _)| *y < year && year - *y <= gap)
        .last();
    let Some((then_year, then)) = before else {
        let span = if gap == 1 {
            "the year".to_string()
        } else {
            format!("the {gap} years")
        };
        return no_data(
            year,
            target,
            format!("No shown value in {span} before {year} to compare with."),
        );
    };
    let change = now - then;
    let tolerance = options.tolerance.max(0.0);
    let moved = format!(
        "{} {} since {then_year} (from {} to {})",
        if change >= 0.0 { "Up" } else { "Down" },
        amount(scale, change.abs()),
        scale.format(then),
        scale.format(now)
    );
    let (trend, reason) = if change == 0.0 || change.abs() < tolerance {
        (
            Trend::Flat,
            format!(
                "{moved}: less than the {} tolerance, so flat.",
                amount(scale, tolerance)
            ),
        )
    } else {
        let better_way = change * direction.sign() > 0.0;
        let better = match direction {
            Direction::HigherIsBetter => "higher is better",
            Direction::LowerIsBetter => "lower is better",
        };
        match target {
            Some((target_year, goal)) if !direction.meets(then, goal) => {
                let toward = (goal - then) * change > 0.0;
                let trend = if toward {
                    Trend::RightDirection
                } else {
                    Trend::WrongDirection
                };
                let word = if toward { "toward" } else { "away from" };
                (
                    trend,
                    format!(
                        "{moved}, {word} the target of {} ({target_year}).",
                        scale.format(goal)
                    ),
                )
            }
            Some((target_year, goal)) => (
                if better_way {
                    Trend::RightDirection
                } else {
                    Trend::WrongDirection
                },
                format!(
                    "{moved}; {then_year} already met the target of {} ({target_year}) and {better}.",
                    scale.format(goal)
                ),
            ),
            None => (
                if better_way {
                    Trend::RightDirection
                } else {
                    Trend::WrongDirection
                },
                format!("{moved}; no target is set and {better}."),
            ),
        }
    };
    YearVerdict {
        year,
        trend,
        compared_with: Some(then_year),
        change: Some(change),
        target,
        reason,
    }
}

/// The verdict on every year from the curve's first to its last, gaps included (as
/// no data). An empty curve has none.
pub fn verdicts(
    curve: &Curve,
    targets: &Targets,
    direction: Direction,
    options: &VerdictOptions,
) -> Vec<YearVerdict> {
    let (Some(first), Some(last)) = (curve.points().first(), curve.points().last()) else {
        return Vec::new();
    };
    (first.year..=last.year)
        .map(|y| verdict(curve, targets, direction, y, options))
        .collect()
}

/// How a set of indicators fared in one year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct YearCount {
    /// The year.
    pub year: i32,
    /// Indicators trending the right way.
    pub right: u32,
    /// Indicators flat.
    pub flat: u32,
    /// Indicators trending the wrong way.
    pub wrong: u32,
    /// Indicators with no verdict that year.
    pub no_data: u32,
}

impl YearCount {
    /// Indicators with a verdict (right, flat or wrong): the measures counted.
    pub fn with_data(&self) -> u32 {
        self.right + self.flat + self.wrong
    }

    /// Every indicator in the set.
    pub fn total(&self) -> u32 {
        self.with_data() + self.no_data
    }

    /// The percent of measures with a verdict that trend the right way; none when no
    /// indicator has one.
    pub fn percent_right(&self) -> Option<f64> {
        let n = self.with_data();
        (n > 0).then(|| 100.0 * f64::from(self.right) / f64::from(n))
    }
}

/// The dashboard's line: this year against the year before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// The year asked for.
    pub this_year: YearCount,
    /// The calendar year before it.
    pub year_before: YearCount,
}

/// Count, for `year` and the year before it, how many indicators trend the right way,
/// flat, the wrong way, or have no verdict. Each item is one indicator's verdicts (from
/// [`verdicts`]); a year missing from an indicator's verdicts counts as no data.
pub fn summarize<'a>(
    indicators: impl IntoIterator<Item = &'a [YearVerdict]>,
    year: i32,
) -> Summary {
    let all: Vec<&[YearVerdict]> = indicators.into_iter().collect();
    let count = |year: i32| {
        let mut c = YearCount {
            year,
            ..YearCount::default()
        };
        for verdicts in &all {
            match verdicts.iter().find(|v| v.year == year).map(|v| v.trend) {
                Some(Trend::RightDirection) => c.right += 1,
                Some(Trend::WrongDirection) => c.wrong += 1,
                Some(Trend::Flat) => c.flat += 1,
                Some(Trend::NoData) | None => c.no_data += 1,
            }
        }
        c
    };
    Summary {
        this_year: count(year),
        year_before: count(year.saturating_sub(1)),
    }
}
