//! Type checks of one answer against its question type, with normalization.

use chrono::NaiveDate;

use super::formats;
use super::messages::Msg;
use crate::model::{MetaType, QuestionType, RangeParams};
use crate::Value;

/// Why an answer does not fit its question type.
#[derive(Debug, PartialEq)]
pub(crate) enum Bad {
    /// Wrong shape; the message to show.
    Type(Msg<'static>),
    /// A choice (or several, space-separated) that is not in the list.
    NotAChoice(String),
}

/// Whether `s` is a real calendar date written exactly `YYYY-MM-DD`.
pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(crate) fn parse_finite(s: &str) -> Option<f64> {
    let s = s.trim();
    // Rust also parses "inf" and "NaN"; answers must be plain numbers.
    if s.is_empty() || s.chars().any(|c| c.is_alphabetic() && c != 'e' && c != 'E') {
        return None;
    }
    s.parse::<f64>().ok().filter(|d| d.is_finite())
}

/// What a type check needs to know beyond the answer.
pub(crate) struct Ctx<'a> {
    /// Whether a name is one of the choices offered.
    pub is_choice: &'a dyn Fn(&str) -> bool,
    /// How many choices are offered (a rank orders every one of them).
    pub choice_count: usize,
    /// A range question's bounds.
    pub range: Option<&'a RangeParams>,
}

/// A text answer checked by `ok`, trimmed.
fn text_shaped(value: &Value, ok: impl Fn(&str) -> bool, msg: Msg<'static>) -> Result<Value, Bad> {
    match value {
        Value::Text(s) if ok(s.trim()) => Ok(Value::Text(s.trim().into())),
        _ => Err(Bad::Type(msg)),
    }
}

/// Check a non-empty answer against its type and give the normalized value to store:
/// integers as `Int`, decimals as `Decimal`, choices and dates trimmed, multiple choices
/// single-space separated without repeats.
pub(crate) fn check(qtype: &QuestionType, value: &Value, ctx: &Ctx<'_>) -> Result<Value, Bad> {
    use QuestionType as T;
    let is_choice = ctx.is_choice;
    match qtype {
        T::Text => match value {
            Value::Bool(_) => Err(Bad::Type(Msg::Text)),
            Value::Text(s) => Ok(Value::Text(s.clone())),
            other => Ok(Value::Text(other.as_text())),
        },
        T::Integer => match value {
            Value::Int(i) => Ok(Value::Int(*i)),
            Value::Decimal(d) if d.is_finite() && d.fract() == 0.0 && d.abs() < 9.0e15 => {
                Ok(Value::Int(*d as i64))
            }
            Value::Text(s) => s
                .trim()
                .parse::<i64>()
                .map(Value::Int)
                .map_err(|_| Bad::Type(Msg::Integer)),
            _ => Err(Bad::Type(Msg::Integer)),
        },
        T::Decimal => match value {
            Value::Int(i) => Ok(Value::Decimal(*i as f64)),
            Value::Decimal(d) if d.is_finite() => Ok(Value::Decimal(*d)),
            Value::Text(s) => parse_finite(s)
                .map(Value::Decimal)
                .ok_or(Bad::Type(Msg::Decimal)),
            _ => Err(Bad::Type(Msg::Decimal)),
        },
        T::Date => match value {
            Value::Text(s) if parse_date(s.trim()).is_some() => Ok(Value::Text(s.trim().into())),
            _ => Err(Bad::Type(Msg::Date)),
        },
        T::Time => text_shaped(value, formats::is_time, Msg::Time),
        T::DateTime => text_shaped(value, formats::is_datetime, Msg::DateTime),
        T::Geopoint => match value {
            Value::Text(s) => formats::geopoint(s)
                .map(Value::Text)
                .ok_or(Bad::Type(Msg::Geopoint)),
            _ => Err(Bad::Type(Msg::Geopoint)),
        },
        T::Geotrace | T::Geoshape => {
            let closed = *qtype == T::Geoshape;
            let msg = if closed { Msg::Geoshape } else { Msg::Geotrace };
            match value {
                Value::Text(s) => formats::geo_points(s, closed)
                    .map(Value::Text)
                    .ok_or(Bad::Type(msg)),
                _ => Err(Bad::Type(msg)),
            }
        }
        T::Range => check_range(value, ctx.range),
        T::Image => match value {
            Value::Text(s) => Ok(Value::Text(s.trim().into())),
            _ => Err(Bad::Type(Msg::Image)),
        },
        T::Audio | T::Video | T::File => match value {
            Value::Text(s) => Ok(Value::Text(s.trim().into())),
            _ => Err(Bad::Type(Msg::File)),
        },
        T::Barcode => match value {
            Value::Bool(_) => Err(Bad::Type(Msg::Text)),
            other => Ok(Value::Text(other.as_text())),
        },
        T::Acknowledge => match value {
            Value::Bool(true) => Ok(Value::Text("OK".into())),
            Value::Text(s) if s.trim().eq_ignore_ascii_case("ok") => Ok(Value::Text("OK".into())),
            _ => Err(Bad::Type(Msg::Acknowledge)),
        },
        T::Meta(m) => check_meta(*m, value),
        T::SelectOne(_) => {
            let text = value.as_text();
            let name = text.trim();
            if is_choice(name) {
                Ok(Value::Text(name.into()))
            } else {
                Err(Bad::NotAChoice(name.into()))
            }
        }
        T::SelectMultiple(_) => {
            let text = value.as_text();
            let mut picked: Vec<&str> = Vec::new();
            let mut bad: Vec<&str> = Vec::new();
            for name in text.split_whitespace() {
                if !is_choice(name) {
                    bad.push(name);
                } else if !picked.contains(&name) {
                    picked.push(name);
                }
            }
            if bad.is_empty() {
                Ok(Value::Text(picked.join(" ")))
            } else {
                Err(Bad::NotAChoice(bad.join(" ")))
            }
        }
        T::Rank(_) => {
            let text = value.as_text();
            let order: Vec<&str> = text.split_whitespace().collect();
            let bad: Vec<&str> = order.iter().copied().filter(|n| !is_choice(n)).collect();
            if !bad.is_empty() {
                return Err(Bad::NotAChoice(bad.join(" ")));
            }
            let mut seen = std::collections::HashSet::new();
            let once = order.iter().all(|n| seen.insert(*n));
            if once && order.len() == ctx.choice_count {
                Ok(Value::Text(order.join(" ")))
            } else {
                Err(Bad::Type(Msg::Rank))
            }
        }
        // Notes and calculations are not answered by people; a hidden value is whatever
        // was written (its default or an integration's); nothing to check.
        T::Note | T::Calculate | T::Hidden => Ok(value.clone()),
    }
}

/// A number within the range's bounds and on one of its steps; an integer unless the
/// range is decimal.
fn check_range(value: &Value, range: Option<&RangeParams>) -> Result<Value, Bad> {
    let n = match value {
        Value::Int(i) => Some(*i as f64),
        Value::Decimal(d) => Some(*d),
        Value::Text(s) => parse_finite(s),
        _ => None,
    };
    // A range without valid bounds does not compile, so `range` is present here.
    let (Some(n), Some(r)) = (n, range) else {
        return Err(Bad::Type(Msg::Decimal));
    };
    if !r.accepts(n) {
        let (lo, hi) = r.bounds();
        return Err(Bad::Type(Msg::Range {
            lo,
            hi,
            step: r.step,
        }));
    }
    if r.decimal {
        Ok(Value::Decimal(n))
    } else {
        Ok(Value::Int(n.round() as i64))
    }
}

/// Metadata as the device writes it: `start` and `end` date-times, `today` a date,
/// the rest text.
fn check_meta(m: MetaType, value: &Value) -> Result<Value, Bad> {
    match m {
        MetaType::Start | MetaType::End => text_shaped(value, formats::is_datetime, Msg::DateTime),
        MetaType::Today => text_shaped(value, |s| parse_date(s).is_some(), Msg::Date),
        _ => match value {
            Value::Bool(_) => Err(Bad::Type(Msg::Text)),
            other => Ok(Value::Text(other.as_text())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_choice(name: &str) -> bool {
        ["yes", "no", "computer", "tablet"].contains(&name)
    }

    fn ctx() -> Ctx<'static> {
        Ctx {
            is_choice: &is_choice,
            choice_count: 4,
            range: None,
        }
    }

    fn ok(t: &str, v: impl Into<Value>) -> Value {
        check(&t.parse().unwrap(), &v.into(), &ctx()).unwrap()
    }

    fn bad(t: &str, v: impl Into<Value>) -> Bad {
        check(&t.parse().unwrap(), &v.into(), &ctx()).unwrap_err()
    }

    #[test]
    fn integer() {
        assert_eq!(ok("integer", 7i64), Value::Int(7));
        assert_eq!(ok("integer", " -3 "), Value::Int(-3));
        assert_eq!(ok("integer", 4.0), Value::Int(4));
        assert_eq!(bad("integer", "4.5"), Bad::Type(Msg::Integer));
        assert_eq!(bad("integer", 4.5), Bad::Type(Msg::Integer));
        assert_eq!(bad("integer", "four"), Bad::Type(Msg::Integer));
        assert_eq!(bad("integer", true), Bad::Type(Msg::Integer));
        assert_eq!(bad("integer", f64::NAN), Bad::Type(Msg::Integer));
        assert_eq!(bad("integer", 1e300), Bad::Type(Msg::Integer));
    }

    #[test]
    fn decimal() {
        assert_eq!(ok("decimal", 2i64), Value::Decimal(2.0));
        assert_eq!(ok("decimal", "2.5"), Value::Decimal(2.5));
        assert_eq!(bad("decimal", "NaN"), Bad::Type(Msg::Decimal));
        assert_eq!(bad("decimal", "inf"), Bad::Type(Msg::Decimal));
        assert_eq!(bad("decimal", f64::INFINITY), Bad::Type(Msg::Decimal));
        assert_eq!(bad("decimal", "2,5"), Bad::Type(Msg::Decimal));
    }

    #[test]
    fn text_and_image() {
        assert_eq!(ok("text", "hola"), Value::Text("hola".into()));
        assert_eq!(ok("text", 12i64), Value::Text("12".into()));
        assert_eq!(bad("text", false), Bad::Type(Msg::Text));
        assert_eq!(
            ok("image", "photo-1.jpg "),
            Value::Text("photo-1.jpg".into())
        );
        assert_eq!(bad("image", 3i64), Bad::Type(Msg::Image));
    }

    #[test]
    fn date() {
        assert_eq!(ok("date", "2024-02-29"), Value::Text("2024-02-29".into()));
        assert_eq!(bad("date", "2023-02-29"), Bad::Type(Msg::Date));
        assert_eq!(bad("date", "2024-2-1"), Bad::Type(Msg::Date));
        assert_eq!(bad("date", "02/01/2024"), Bad::Type(Msg::Date));
        assert_eq!(bad("date", "2024-02-01T00:00"), Bad::Type(Msg::Date));
        assert_eq!(bad("date", 20240201i64), Bad::Type(Msg::Date));
        assert_eq!(bad("date", "２０２４-01-01"), Bad::Type(Msg::Date));
    }

    #[test]
    fn geopoint() {
        assert_eq!(
            ok("geopoint", "39.1 -84.5"),
            Value::Text("39.1 -84.5".into())
        );
        assert_eq!(
            ok("geopoint", " 39.1  -84.5 150 5 "),
            Value::Text("39.1 -84.5 150 5".into())
        );
        assert_eq!(bad("geopoint", "91 0"), Bad::Type(Msg::Geopoint));
        assert_eq!(bad("geopoint", "0 181"), Bad::Type(Msg::Geopoint));
        assert_eq!(bad("geopoint", "0 0 0 -1"), Bad::Type(Msg::Geopoint));
        assert_eq!(bad("geopoint", "39.1"), Bad::Type(Msg::Geopoint));
        assert_eq!(bad("geopoint", "1 2 3 4 5"), Bad::Type(Msg::Geopoint));
        assert_eq!(bad("geopoint", "north west"), Bad::Type(Msg::Geopoint));
        assert_eq!(bad("geopoint", 3i64), Bad::Type(Msg::Geopoint));
    }

    #[test]
    fn selects() {
        assert_eq!(ok("select_one yes_no", " yes "), Value::Text("yes".into()));
        assert_eq!(
            bad("select_one yes_no", "maybe"),
            Bad::NotAChoice("maybe".into())
        );
        assert_eq!(
            ok("select_multiple device", "tablet  computer tablet"),
            Value::Text("tablet computer".into())
        );
        assert_eq!(
            bad("select_multiple device", "tablet tv radio"),
            Bad::NotAChoice("tv radio".into())
        );
    }
}
