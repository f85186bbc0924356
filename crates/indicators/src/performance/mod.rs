//! Partner performance measures, the three questions of Results-Based Accountability
//! every program answers, by period (month, quarter or year):
//!
//! - how much did we do: people served (distinct) and contacts (records);
//! - how well did we do it: the share of people served on time, the share with a
//!   follow-up completed, the share of parents with check-ins four weeks running;
//! - is anyone better off: the change in one chosen answer between a person's first and
//!   latest record of the period: how many improved, their share, the mean change.
//!
//! Pure functions over [`Record`]s, which a server fills from the records in a
//! program's scope. Shares and means are suppressed as the indicators are: a
//! denominator under the threshold hides them ([`crate::table::shown`]). Counts are
//! shown as they are: they are for the program's own staff and the backbone.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::table::{shown, Estimate, Hidden, Shown};
use crate::trend::{Direction, MAX_PLAIN_VALUE};

/// A calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u32,
    day: u32,
}

impl Date {
    /// The day, if it exists in the calendar (years 1 to 9999).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        ((1..=9999).contains(&year) && (1..=days_in_month).contains(&day)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// Its year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// Its month, 1 to 12.
    pub fn month(self) -> u32 {
        self.month
    }

    /// Its day of the month.
    pub fn day(self) -> u32 {
        self.day
    }

    /// Days since 1970-01-01 (negative before), by the proleptic Gregorian calendar.
    pub fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil: years counted from March, so the leap day
        // falls at the end of the counted year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The calendar week it falls in, weeks starting on Monday, counted from the week
    /// of 1970-01-01 (a Thursday).
    pub fn week(self) -> i64 {
        (self.days() + 3).div_euclid(7)
    }
}

/// How records are grouped in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// Calendar months.
    Month,
    /// Calendar quarters (January-March is the first).
    Quarter,
    /// Calendar years.
    Year,
}

/// One period: a month, a quarter or a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeriodKey {
    /// Its year.
    pub year: i32,
    /// Its month (1-12) or quarter (1-4); 0 for a year.
    pub part: u32,
    /// The kind of period.
    pub period: Period,
}

impl PeriodKey {
    /// The period of `period`'s kind that `date` falls in.
    pub fn of(period: Period, date: Date) -> PeriodKey {
        let part = match period {
            Period::Month => date.month,
            Period::Quarter => (date.month - 1) / 3 + 1,
            Period::Year => 0,
        };
        PeriodKey {
            year: date.year,
            part,
            period,
        }
    }
}

impl fmt::Display for PeriodKey {
    /// `2025-03`, `2025 Q1` or `2025`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period {
            Period::Month => write!(f, "{}-{:02}", self.year, self.part),
            Period::Quarter => write!(f, "{} Q{}", self.year, self.part),
            Period::Year => write!(f, "{}", self.year),
        }
    }
}

/// One record of a program (a session, a contact, a check-in), with what the measures
/// need of it. `P` identifies the person it is about (a record id of the person, a
/// pseudonymous key): only compared, never shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Record<P> {
    /// The person served.
    pub person: P,
    /// The day of the contact.
    pub date: Date,
    /// Whether the service came on time (by the program's rule, a referral answered
    /// within its days, say); none when the record does not say.
    pub on_time: Option<bool>,
    /// Whether the follow-up this record called for was completed; none when it called
    /// for none.
    pub follow_up_completed: Option<bool>,
    /// Whether the record is a parent's check-in.
    pub check_in: bool,
    /// The chosen answer for "better off" (reading days per week, say), when given. An
    /// answer that is not a finite number within ±[`MAX_PLAIN_VALUE`] counts as not
    /// given.
    pub answer: Option<f64>,
}

/// How the measures are computed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerformanceOptions {
    /// Months, quarters or years.
    pub period: Period,
    /// The smallest denominator a share or a mean is shown for.
    pub min_cell: u64,
    /// Which way of the chosen answer is better (more reading days: higher).
    pub better: Direction,
    /// How many calendar weeks running a parent must check in (4 by default; at least 1).
    pub weeks_running: u32,
}

impl Default for PerformanceOptions {
    fn default() -> Self {
        PerformanceOptions {
            period: Period::Month,
            min_cell: 10,
            better: Direction::HigherIsBetter,
            weeks_running: 4,
        }
    }
}

/// Is anyone better off, as a page may show it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BetterOff {
    /// Nobody has two records with the answer in the period.
    NoData,
    /// Fewer people than the threshold compared: nothing but that is shown.
    Suppressed(Hidden),
    /// The comparison.
    Shown {
        /// People with the answer in two records or more of the period: the n.
        people: u64,
        /// Of them, those whose latest answer is better than their first.
        improved: u64,
        /// The mean of (latest − first) over the n people.
        mean_change: f64,
    },
}

impl BetterOff {
    /// The percent of people compared who improved, when shown.
    pub fn percent_improved(&self) -> Option<f64> {
        match self {
            BetterOff::Shown {
                people, improved, ..
            } if *people > 0 => Some(100.0 * *improved as f64 / *people as f64),
            _ => None,
        }
    }
}

/// A program's measures for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Measures {
    /// The period.
    pub period: PeriodKey,
    /// How much: distinct people with a record in the period.
    pub people_served: u64,
    /// How much: records (sessions, contacts) in the period.
    pub contacts: u64,
    /// How well: people served on time, of those whose records say (a person counts
    /// when at least one record says and none says late).
    pub on_time: Shown,
    /// How well: people with a follow-up completed, of those with a follow-up.
    pub follow_up: Shown,
    /// How well: parents with check-ins in `weeks_running` calendar weeks running
    /// within the period, of those with a check-in.
    pub check_ins_running: Shown,
    /// Better off: first against latest answer.
    pub better_off: BetterOff,
}

/// A share as a page may show it: no data (a zero denominator, shown as such) or the
/// crate's rule.
fn share(numerator: u64, denominator: u64, min_cell: u64) -> Shown {
    let e = Estimate {
        numerator,
        denominator,
    };
    if denominator == 0 {
        Shown::Value(e)
    } else {
        shown(e, min_cell)
    }
}

/// What one person did in one period.
#[derive(Default)]
struct PersonInPeriod {
    on_time: Option<bool>,
    follow_up: Option<bool>,
    check_in_weeks: BTreeSet<i64>,
    /// (date, position in the input, answer): the first and latest by date, the input
    /// order breaking ties.
    first: Option<(Date, usize, f64)>,
    latest: Option<(Date, usize, f64)>,
    answers: u64,
}

/// Whether `weeks` holds `run` consecutive weeks.
fn has_run(weeks: &BTreeSet<i64>, run: u32) -> bool {
    let run = i64::from(run.max(1));
    let mut length = 0;
    let mut previous: Option<i64> = None;
    for &w in weeks {
        length = if previous == Some(w - 1) {
            length + 1
        } else {
            1
        };
        if length >= run {
            return true;
        }
        previous = Some(w);
    }
    false
}

/// The measures of each period with a record, in time order.
pub fn measures<P: Ord>(records: &[Record<P>], options: &PerformanceOptions) -> Vec<Measures> {
    let mut periods: BTreeMap<PeriodKey, (u64, BTreeMap<&P, PersonInPeriod>)> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let (contacts, people) = periods
            .entry(PeriodKey::of(options.period, r.date))
            .or_default();
        *contacts += 1;
        let p = people.entry(&r.person).or_default();
        if let Some(on_time) = r.on_time {
            p.on_time = Some(p.on_time.unwrap_or(true) && on_time);
        }
        if let Some(done) = r.follow_up_completed {
            p.follow_up = Some(p.follow_up.unwrap_or(false) || done);
        }
        if r.check_in {
            p.check_in_weeks.insert(r.date.week());
        }
        if let Some(answer) = r
            .answer
            .filter(|a| a.is_finite() && a.abs() <= MAX_PLAIN_VALUE)
        {
            let here = (r.date, i, answer);
            p.answers += 1;
            if p.first.is_none_or(|f| (r.date, i) < (f.0, f.1)) {
                p.first = Some(here);
            }
            if p.latest.is_none_or(|l| (r.date, i) >= (l.0, l.1)) {
                p.latest = Some(here);
            }
        }
    }
    let min_cell = options.min_cell;
    periods
        .into_iter()
        .map(|(period, (contacts, people))| {
            let count = |f: &dyn Fn(&PersonInPeriod) -> Option<bool>| {
                people
                    .values()
                    .filter_map(f)
                    .fold((0, 0), |(n, d), meets| (n + u64::from(meets), d + 1))
            };
            let (on_time_n, on_time_d) = count(&|p| p.on_time);
            let (follow_n, follow_d) = count(&|p| p.follow_up);
            let (run_n, run_d) = count(&|p| {
                (!p.check_in_weeks.is_empty())
                    .then(|| has_run(&p.check_in_weeks, options.weeks_running))
            });
            let mut compared = 0u64;
            let mut improved = 0u64;
            let mut total_change = 0.0;
            for p in people.values().filter(|p| p.answers >= 2) {
                if let (Some(first), Some(latest)) = (p.first, p.latest) {
                    let change = latest.2 - first.2;
                    compared += 1;
                    total_change += change;
                    if change * options.better.sign() > 0.0 {
                        improved += 1;
                    }
                }
            }
            let better_off = if compared == 0 {
                BetterOff::NoData
            } else if compared < min_cell {
                BetterOff::Suppressed(Hidden::Small)
            } else {
                BetterOff::Shown {
                    people: compared,
                    improved,
                    mean_change: total_change / compared as f64,
                }
            };
            Measures {
                period,
                people_served: people.len() as u64,
                contacts,
                on_time: share(on_time_n, on_time_d, min_cell),
                follow_up: share(follow_n, follow_d, min_cell),
                check_ins_running: share(run_n, run_d, min_cell),
                better_off,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
