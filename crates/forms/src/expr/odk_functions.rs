//! The rest of the ODK XPath function library that real-world XLSForms use: the clock
//! (`now()`, `once()`), randomness (`random()`, `uuid()`), date-times and their
//! formatting, text, repeats (`position(..)`, `indexed-repeat()`), choice labels
//! (`jr:choice-name()`), math and geometry, and checklists. Semantics follow the ODK
//! XForms spec (<https://getodk.github.io/xforms-spec/#xpath-functions>); where it
//! leaves a choice open, the choice is said beside the function.
//!
//! # Determinism: the server accepts what a device computed
//!
//! A response is validated on the device and again on the server, and the server
//! stores the calculations it computes. `now()`, `random()`, `uuid()` and `once()`
//! cannot give the server the device's result, so a calculation that calls one of
//! them ([`is_volatile`]) is not recomputed when the response already holds a value
//! for it: the device's value is kept (checked against the question's type like any
//! answer). Only when the response holds none is it computed, and then
//! deterministically: the clock is the one validation is given (the server passes a
//! date, so `now()` is that midnight) and the random bits come from the seed
//! validation is given, the response's answers and the question's place, never from
//! the system. So re-validating the same response on the server always gives the same
//! result, and a device that has computed `now()` or `random()` once keeps that value
//! through later edits (as ODK's `once()` does). A device that wants fresh randomness
//! passes its own seed (`validate::Moment::device`).
//!
//! `today()` is not among them: a calculation like an age from a birth date must
//! follow its inputs when they are edited, so it is recomputed as before, with the
//! date validation is given (a day's difference around midnight is the price).

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike,
};

use super::ast::{Expr, Node, NodeKind};
use super::convert::{days_of, parse_date, parse_number};
use super::error::{ExprError, Span};
use super::eval::{from_value, Eval, Num, Resolved, XValue, R};
use super::functions::{f, Spec};

mod dates;
mod geo;
use dates::{format_moment, odk_datetime, parse_time, to_datetime};
use geo::{area, distance, geo_points};

/// The functions of this module, with their arities.
pub(crate) const SPECS: &[Spec] = &[
    f("now", 0, Some(0), ""),
    f("once", 1, Some(1), "value"),
    f("random", 0, Some(0), ""),
    f("uuid", 0, Some(1), "length"),
    f("date-time", 1, Some(1), "value"),
    f("decimal-date-time", 1, Some(1), "date-time"),
    f("decimal-time", 1, Some(1), "time"),
    f("format-date", 2, Some(2), "date, format like '%Y-%m-%d'"),
    f(
        "format-date-time",
        2,
        Some(2),
        "date-time, format like '%Y-%m-%d %H:%M'",
    ),
    f("substr", 2, Some(3), "text, start, end"),
    f("substring-before", 2, Some(2), "text, part"),
    f("substring-after", 2, Some(2), "text, part"),
    f("translate", 3, Some(3), "text, characters, replacements"),
    f("normalize-space", 0, Some(1), "text"),
    f("selected-at", 2, Some(2), "answer, position from 0"),
    f("jr:choice-name", 2, Some(2), "choice name, '${question}'"),
    f("count-non-empty", 1, Some(1), "question in a repeat"),
    f("boolean-from-string", 1, Some(1), "text"),
    f("position", 1, Some(1), ".."),
    f(
        "indexed-repeat",
        3,
        None,
        "${question}, ${repeat}, position[, ${inner repeat}, position...]",
    ),
    f("pow", 2, Some(2), "base, exponent"),
    f("sqrt", 1, Some(1), "number"),
    f("exp", 1, Some(1), "number"),
    f("exp10", 1, Some(1), "number"),
    f("log", 1, Some(1), "number"),
    f("log10", 1, Some(1), "number"),
    f("pi", 0, Some(0), ""),
    f("sin", 1, Some(1), "angle in radians"),
    f("cos", 1, Some(1), "angle in radians"),
    f("tan", 1, Some(1), "angle in radians"),
    f("asin", 1, Some(1), "number"),
    f("acos", 1, Some(1), "number"),
    f("atan", 1, Some(1), "number"),
    f("atan2", 2, Some(2), "y, x"),
    f("area", 1, Some(1), "geoshape"),
    f("enclosed-area", 1, Some(1), "geoshape"),
    f("distance", 1, None, "geotrace, or points"),
    f("checklist", 3, None, "min, max, conditions"),
    f(
        "weighted-checklist",
        4,
        None,
        "min, max, condition, weight[, condition, weight...]",
    ),
];

/// Functions whose result the server cannot reproduce: see the [module docs](self).
const VOLATILE: [&str; 4] = ["now", "random", "uuid", "once"];

/// Whether `expr` calls a function whose result depends on the clock or chance.
pub fn is_volatile(expr: &Expr) -> bool {
    fn walk(node: &Node) -> bool {
        match &node.kind {
            NodeKind::Call { name, args } => {
                VOLATILE.contains(&name.as_str()) || args.iter().any(walk)
            }
            NodeKind::Neg(inner) => walk(inner),
            NodeKind::Binary { left, right, .. } => walk(left) || walk(right),
            NodeKind::Lookup { filter, .. } => filter.as_deref().is_some_and(walk),
            _ => false,
        }
    }
    walk(&expr.root)
}

/// Checks of the arguments' shapes, when parsing.
pub(crate) fn check(name: &str, args: &[Node]) -> R<()> {
    let (Some(first), Some(last)) = (args.first(), args.last()) else {
        return Ok(());
    };
    let span = first.span.to(last.span);
    match name {
        "position" => {
            let parent = args
                .first()
                .is_some_and(|a| a.kind == NodeKind::Current && a.span.len() == 2);
            if !parent {
                return Err(ExprError::at(
                    span,
                    "only `position(..)` is supported: the position of the repeat instance",
                ));
            }
        }
        "indexed-repeat" => {
            let shape = args.len() % 2 == 1
                && args
                    .iter()
                    .enumerate()
                    .all(|(i, a)| (i % 2 == 0 && i > 0) || matches!(a.kind, NodeKind::Ref(_)));
            if !shape {
                return Err(ExprError::at(
                    span,
                    "write indexed-repeat(${question}, ${repeat}, position), with a \
                     ${repeat}, position pair for each repeat the question is inside",
                ));
            }
        }
        "weighted-checklist" if args.len() % 2 == 1 => {
            return Err(ExprError::at(
                span,
                "weighted-checklist() takes min, max, then pairs of a condition and its weight",
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Call `name`, one of [`SPECS`] (known, with a fitting number of arguments).
pub(crate) fn call(ev: &Eval, name: &str, args: &[Node], span: Span) -> R<XValue> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| ExprError::at(span, format!("`{name}()` is missing an argument")))
    };
    let value = |i: usize| -> R<XValue> {
        let node = arg(i)?;
        let v = ev.eval(node)?;
        ev.scalar(v, node)
    };
    let text = |i: usize| -> R<String> { Ok(value(i)?.to_text()) };
    let number = |i: usize| -> R<f64> {
        Ok(match ev.num(arg(i)?)? {
            Num::N(n) => n,
            Num::D(d) => days_of(d),
        })
    };
    let offset = *ev.ctx.now().offset();
    let moment = |i: usize| -> R<Option<DateTime<FixedOffset>>> {
        let node = arg(i)?;
        let v = value(i)?;
        if v.is_empty() {
            return Ok(None);
        }
        to_datetime(&v, offset).map(Some).ok_or_else(|| {
            ExprError::at(
                node.span,
                format!(
                    "`{}` is not a date or date-time: write them like '2024-01-31' or \
                     '2024-01-31T14:30:00'",
                    ev.quote(node)
                ),
            )
        })
    };
    let b = |x: bool| Ok(XValue::Bool(x));
    let n = |x: f64| Ok(XValue::Number(x));
    let t = |x: String| Ok(XValue::Text(x));
    let salt = (span.start as u64) << 32 | span.end as u64;
    match name {
        "now" => t(odk_datetime(ev.ctx.now())),
        "once" => {
            let given = ev.ctx.current();
            if given.is_empty() {
                ev.eval(arg(0)?)
            } else {
                Ok(from_value(&given))
            }
        }
        "random" => n(unit(ev.ctx.random_bits(salt))),
        "uuid" if args.is_empty() => {
            t(uuid_v4(ev.ctx.random_bits(salt), ev.ctx.random_bits(!salt)))
        }
        "uuid" => {
            let len = number(0)?;
            if !(0.0..=1000.0).contains(&len) {
                return Err(ExprError::at(
                    span,
                    "uuid(length) takes a length from 0 to 1000",
                ));
            }
            const ALPHABET: &[u8] =
                b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
            let out = (0..len as u64)
                .map(|i| {
                    let bits = ev.ctx.random_bits(mix(salt, i));
                    ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char
                })
                .collect();
            t(out)
        }
        "date-time" => t(moment(0)?.map(odk_datetime).unwrap_or_default()),
        "decimal-date-time" => {
            n(moment(0)?.map_or(f64::NAN, |m| m.timestamp_millis() as f64 / 86_400_000.0))
        }
        "decimal-time" => {
            let v = value(0)?;
            if v.is_empty() {
                return n(f64::NAN);
            }
            match parse_time(&v.to_text(), offset) {
                Some(secs) => n(secs / 86_400.0),
                None => Err(ExprError::at(
                    arg(0)?.span,
                    format!(
                        "`{}` is not a time: write times like '14:30' or '14:30:00.000-05:00'",
                        ev.quote(arg(0)?)
                    ),
                )),
            }
        }
        "format-date" | "format-date-time" => {
            let format = text(1)?;
            t(moment(0)?
                .map(|m| format_moment(&m, &format))
                .unwrap_or_default())
        }
        "substr" => {
            let s: Vec<char> = text(0)?.chars().collect();
            let len = s.len() as f64;
            let start = clamp_index(number(1)?, len);
            let end = if args.len() > 2 {
                clamp_index(number(2)?, len)
            } else {
                s.len()
            };
            t(s.get(start..end.max(start))
                .map(|c| c.iter().collect())
                .unwrap_or_default())
        }
        "substring-before" => {
            let (s, part) = (text(0)?, text(1)?);
            t(s.find(&part)
                .map(|i| s[..i].to_string())
                .unwrap_or_default())
        }
        "substring-after" => {
            let (s, part) = (text(0)?, text(1)?);
            t(s.find(&part)
                .map(|i| s[i + part.len()..].to_string())
                .unwrap_or_default())
        }
        "translate" => {
            let (s, from, to) = (text(0)?, text(1)?, text(2)?);
            let (from, to): (Vec<char>, Vec<char>) = (from.chars().collect(), to.chars().collect());
            t(s.chars()
                .filter_map(|c| match from.iter().position(|&x| x == c) {
                    Some(i) => to.get(i).copied(),
                    None => Some(c),
                })
                .collect())
        }
        "normalize-space" => {
            let s = if args.is_empty() {
                ev.ctx.current().as_text()
            } else {
                text(0)?
            };
            t(s.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        "selected-at" => {
            let list = text(0)?;
            let i = number(1)?;
            let item = (i.is_finite() && i >= 0.0)
                .then(|| list.split_whitespace().nth(i as usize))
                .flatten();
            t(item.unwrap_or_default().to_string())
        }
        "jr:choice-name" => {
            let (choice, question) = (text(0)?, text(1)?);
            let question = question_name(&question);
            let choice = choice.trim();
            if choice.is_empty() {
                return t(String::new());
            }
            t(ev.ctx.choice_label(question, choice).unwrap_or_default())
        }
        "count-non-empty" => match ev.eval(arg(0)?)? {
            XValue::Nodes(vs) => n(vs.iter().filter(|v| !v.is_empty()).count() as f64),
            v => n(if v.is_empty() { 0.0 } else { 1.0 }),
        },
        "boolean-from-string" => {
            let s = text(0)?;
            let s = s.trim();
            b(s == "1" || s.eq_ignore_ascii_case("true"))
        }
        "position" => n(ev.ctx.position().unwrap_or(1) as f64),
        "indexed-repeat" => indexed_repeat(ev, args, span, &number),
        "pow" => n(number(0)?.powf(number(1)?)),
        "sqrt" => n(number(0)?.sqrt()),
        "exp" => n(number(0)?.exp()),
        "exp10" => n(10f64.powf(number(0)?)),
        "log" => n(number(0)?.ln()),
        "log10" => n(number(0)?.log10()),
        "pi" => n(std::f64::consts::PI),
        "sin" => n(number(0)?.sin()),
        "cos" => n(number(0)?.cos()),
        "tan" => n(number(0)?.tan()),
        "asin" => n(number(0)?.asin()),
        "acos" => n(number(0)?.acos()),
        "atan" => n(number(0)?.atan()),
        "atan2" => n(number(0)?.atan2(number(1)?)),
        "area" | "enclosed-area" => {
            let points = geo_points(ev, args)?;
            n(if points.is_empty() {
                f64::NAN
            } else {
                area(&points)
            })
        }
        "distance" => {
            let points = geo_points(ev, args)?;
            n(if points.is_empty() {
                f64::NAN
            } else {
                points.windows(2).map(|w| distance(w[0], w[1])).sum()
            })
        }
        "checklist" => {
            let (min, max) = (number(0)?, number(1)?);
            let mut yes = 0.0;
            for a in &args[2..] {
                for v in spread(ev.eval(a)?) {
                    yes += f64::from(u8::from(v.truthy()));
                }
            }
            b(within(yes, min, max))
        }
        "weighted-checklist" => {
            let (min, max) = (number(0)?, number(1)?);
            let mut total = 0.0;
            for pair in args[2..].chunks(2) {
                let conditions = spread(ev.eval(&pair[0])?);
                let weights = spread(ev.eval(&pair[1])?);
                for (c, w) in conditions.into_iter().zip(weights) {
                    if c.truthy() {
                        total += match ev.to_num(w, &pair[1])? {
                            Num::N(x) => x,
                            Num::D(d) => days_of(d),
                        };
                    }
                }
            }
            b(within(total, min, max))
        }
        _ => Err(ExprError::at(span, format!("unknown function `{name}`"))),
    }
}

/// `indexed-repeat(${q}, ${repeat}, i, ...)`: positions below 1 or past the last
/// instance give empty text, as ODK.
fn indexed_repeat(
    ev: &Eval,
    args: &[Node],
    span: Span,
    number: &dyn Fn(usize) -> R<f64>,
) -> R<XValue> {
    let name_of = |node: &Node| match &node.kind {
        NodeKind::Ref(name) => name.clone(),
        _ => String::new(),
    };
    let mut at = Vec::new();
    for i in (1..args.len()).step_by(2) {
        let position = number(i + 1)?;
        if !(1.0..1e9).contains(&position) {
            return Ok(XValue::Text(String::new()));
        }
        at.push((name_of(&args[i]), position as usize));
    }
    let question = name_of(&args[0]);
    match ev.ctx.indexed(&question, &at) {
        Some(Resolved::One(v)) => Ok(from_value(&v)),
        Some(Resolved::Many(vs)) => Ok(XValue::Nodes(vs)),
        None => Err(ExprError::at(
            span,
            format!(
                "indexed-repeat(): `${{{question}}}` is not inside every repeat named \
                 (name its repeats outermost first)"
            ),
        )),
    }
}

/// A value's items: the instances of a repeat, or the value itself.
fn spread(v: XValue) -> Vec<XValue> {
    match v {
        XValue::Nodes(vs) => vs.iter().map(from_value).collect(),
        v => vec![v],
    }
}

/// Whether `x` is within `min` and `max`, either `-1` for no bound (ODK's checklists).
fn within(x: f64, min: f64, max: f64) -> bool {
    (min == -1.0 || x >= min) && (max == -1.0 || x <= max)
}

/// The question name in `jr:choice-name()`'s second argument: `'${q}'`, or a path
/// `/data/group/q` (what pyxform writes), or the bare name.
fn question_name(s: &str) -> &str {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        return inner;
    }
    s.rsplit('/').next().unwrap_or(s)
}

/// A number index clamped into `0..=len` (fractions dropped; NaN is 0).
fn clamp_index(i: f64, len: f64) -> usize {
    if i.is_nan() {
        0
    } else {
        i.trunc().clamp(0.0, len) as usize
    }
}

/// SplitMix64's finalizer: 64 well-mixed bits of `a` and `b`.
pub(crate) fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 bits as a number in [0, 1).
fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// A version 4 UUID from 128 bits.
fn uuid_v4(hi: u64, lo: u64) -> String {
    let hi = (hi & !0xF000) | 0x4000;
    let lo = (lo & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests;
