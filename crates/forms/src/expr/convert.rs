//! Conversions between text, numbers and dates, following XPath/ODK conventions.

use chrono::NaiveDate;

/// The day numbers count from (XPath/ODK: `date(0)` is 1970-01-01).
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// Text as a number, XPath style: optional `-`, digits with at most one `.`, surrounding
/// whitespace allowed. No exponents, `inf` or `NaN`. `None` when it is not a number.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    let ok = digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|&c| c == '.').count() <= 1;
    if ok {
        t.parse().ok()
    } else {
        None
    }
}

/// Text as a date: `YYYY-MM-DD`, or the date part of a `YYYY-MM-DDThh:mm...` date-time.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let b = t.as_bytes();
    let shape = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && (b.len() == 10 || b[10] == b'T');
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(t.get(..10)?, "%Y-%m-%d").ok()
}

/// A number as text: whole numbers without `.0`; `NaN`, `Infinity`, `-Infinity` as XPath.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// The date `days` days after 1970-01-01 (fractions dropped); `None` if not finite or out
/// of the calendar's range.
pub(crate) fn date_from_days(days: f64) -> Option<NaiveDate> {
    if !days.is_finite() || days.abs() > 1e8 {
        return None;
    }
    add_days(epoch(), days.floor() as i64)
}

/// `date` moved by `days` days, if still in range.
pub(crate) fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    date.checked_add_signed(chrono::TimeDelta::try_days(days)?)
}

/// Days from 1970-01-01 to `date`.
pub(crate) fn days_of(date: NaiveDate) -> f64 {
    date.signed_duration_since(epoch()).num_days() as f64
}

/// `s`, cut to a readable length for a message.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
