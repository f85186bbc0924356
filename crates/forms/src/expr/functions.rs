//! The functions expressions can call: their signatures (checked when parsing) and
//! implementations.

use std::cell::RefCell;
use std::collections::HashMap;

use regex::{Regex, RegexBuilder};

use super::ast::{Node, NodeKind};
use super::convert::{date_from_days, days_of, parse_date, parse_number};
use super::error::{ExprError, Span};
use super::eval::{from_value, Eval, Num, XValue, R};
use super::odk_functions;

/// A function's name and how many arguments it takes.
pub(crate) struct Spec {
    name: &'static str,
    min: usize,
    /// `None`: any number from `min` up.
    max: Option<usize>,
    /// The arguments, as shown in messages.
    args: &'static str,
}

pub(super) const fn f(
    name: &'static str,
    min: usize,
    max: Option<usize>,
    args: &'static str,
) -> Spec {
    Spec {
        name,
        min,
        max,
        args,
    }
}

const SPECS: &[Spec] = &[
    f("selected", 2, Some(2), "answer, choice name"),
    f("count-selected", 1, Some(1), "answer"),
    f("count", 1, Some(1), "question in a repeat"),
    f("sum", 1, Some(1), "question in a repeat"),
    f("min", 1, None, "numbers, or a question in a repeat"),
    f("max", 1, None, "numbers, or a question in a repeat"),
    f("if", 3, Some(3), "condition, value if true, value if false"),
    f("coalesce", 2, None, "values"),
    f("not", 1, Some(1), "condition"),
    f("boolean", 1, Some(1), "value"),
    f("true", 0, Some(0), ""),
    f("false", 0, Some(0), ""),
    f("string-length", 1, Some(1), "text"),
    f("regex", 2, Some(2), "text, pattern"),
    f("contains", 2, Some(2), "text, part"),
    f("starts-with", 2, Some(2), "text, start"),
    f("ends-with", 2, Some(2), "text, end"),
    f("concat", 1, None, "values"),
    f("join", 2, Some(2), "separator, question in a repeat"),
    f("today", 0, Some(0), ""),
    f("date", 1, Some(1), "text like '2024-01-31'"),
    f("int", 1, Some(1), "number"),
    f("number", 1, Some(1), "value"),
    f("string", 1, Some(1), "value"),
    f("round", 1, Some(2), "number, digits"),
    f("floor", 1, Some(1), "number"),
    f("ceiling", 1, Some(1), "number"),
    f("abs", 1, Some(1), "number"),
    f(
        "pulldata",
        4,
        Some(4),
        "'file', 'column', 'key column', key",
    ),
];

/// The function called `name`, if there is one.
pub(crate) fn spec(name: &str) -> Option<&'static Spec> {
    SPECS
        .iter()
        .chain(odk_functions::SPECS)
        .find(|s| s.name == name)
}

/// The function name closest to a misspelt `name`, if one is close.
pub(crate) fn suggest(name: &str) -> Option<&'static str> {
    let limit = if name.chars().count() <= 4 { 1 } else { 2 };
    SPECS
        .iter()
        .chain(odk_functions::SPECS)
        .map(|s| (edit_distance(name, s.name), s.name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

impl Spec {
    /// An error unless `n` arguments fit.
    pub(crate) fn check_arity(&self, n: usize, span: Span) -> Result<(), ExprError> {
        let (name, args) = (self.name, self.args);
        let plural = |k: usize| if k == 1 { "argument" } else { "arguments" };
        let takes = match self.max {
            Some(max) if max == self.min && max == 0 => "takes no arguments".to_string(),
            Some(max) if max == self.min => format!("takes {max} {} ({args})", plural(max)),
            Some(max) => format!("takes {} to {max} arguments ({args})", self.min),
            None => format!("takes at least {} {} ({args})", self.min, plural(self.min)),
        };
        let fits = n >= self.min && self.max.is_none_or(|m| n <= m);
        if fits {
            Ok(())
        } else {
            Err(ExprError::at(
                span,
                format!("`{name}()` {takes}, but got {n}"),
            ))
        }
    }
}

/// Checks of literal arguments done once, when parsing (a bad regex pattern).
pub(crate) fn check_literals(name: &str, args: &[Node]) -> Result<(), ExprError> {
    odk_functions::check(name, args)?;
    if let (
        "regex",
        Some(Node {
            kind: NodeKind::Text(p),
            span,
        }),
    ) = (name, args.get(1))
    {
        compile_regex(p, *span)?;
    }
    Ok(())
}

/// Patterns compiled recently on this thread: a form's few patterns are checked against
/// many responses, and compiling is far slower than matching.
const REGEX_CACHE_SIZE: usize = 64;

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// `pattern` compiled (from the cache when possible); a bad pattern is an error at `span`.
fn cached_regex(pattern: &str, span: Span) -> R<Regex> {
    let hit = REGEX_CACHE.with(|c| c.borrow().get(pattern).cloned());
    if let Some(re) = hit {
        return Ok(re);
    }
    let re = compile_regex(pattern, span)?;
    REGEX_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= REGEX_CACHE_SIZE {
            cache.clear();
        }
        cache.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

fn compile_regex(pattern: &str, span: Span) -> R<Regex> {
    RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let detail = e.to_string();
            let reason = detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            ExprError::at(span, format!("not a valid regular expression: {reason}"))
        })
}

/// Call `name` (known, with a fitting number of arguments) at `span`.
pub(crate) fn call(ev: &Eval, name: &str, args: &[Node], span: Span) -> R<XValue> {
    let arg = |i: usize| {
        args.get(i)
            .ok_or_else(|| ExprError::at(span, format!("`{name}()` is missing an argument")))
    };
    let text = |i: usize| -> R<String> {
        let node = arg(i)?;
        let v = ev.eval(node)?;
        Ok(ev.scalar(v, node)?.to_text())
    };
    let number = |i: usize| -> R<f64> {
        Ok(match ev.num(arg(i)?)? {
            Num::N(n) => n,
            Num::D(d) => days_of(d),
        })
    };
    let b = |x: bool| Ok(XValue::Bool(x));
    let n = |x: f64| Ok(XValue::Number(x));
    match name {
        "true" => b(true),
        "false" => b(false),
        "not" => b(!ev.eval(arg(0)?)?.truthy()),
        "boolean" => b(ev.eval(arg(0)?)?.truthy()),
        "if" => {
            if ev.eval(arg(0)?)?.truthy() {
                ev.eval(arg(1)?)
            } else {
                ev.eval(arg(2)?)
            }
        }
        "coalesce" => {
            let mut last = XValue::Text(String::new());
            for a in args {
                last = ev.eval(a)?;
                if !last.is_empty() {
                    break;
                }
            }
            Ok(last)
        }
        "selected" => {
            let (list, choice) = (text(0)?, text(1)?);
            b(list.split_whitespace().any(|c| c == choice.trim()))
        }
        "count-selected" => n(text(0)?.split_whitespace().count() as f64),
        "count" => {
            let node = arg(0)?;
            match (ev.eval(node)?, &node.kind) {
                (XValue::Nodes(v), _) => n(v.len() as f64),
                (_, NodeKind::Ref(_) | NodeKind::Current) => n(1.0),
                _ => Err(ExprError::at(
                    node.span,
                    "count() counts the instances of a question in a repeat, like count(${child_name})",
                )),
            }
        }
        "sum" => n(numbers(ev, args)?.iter().sum()),
        "min" => n(numbers(ev, args)?
            .into_iter()
            .reduce(f64::min)
            .unwrap_or(f64::NAN)),
        "max" => n(numbers(ev, args)?
            .into_iter()
            .reduce(f64::max)
            .unwrap_or(f64::NAN)),
        "string-length" => n(text(0)?.chars().count() as f64),
        "regex" => {
            let (s, pattern) = (text(0)?, text(1)?);
            b(cached_regex(&pattern, arg(1)?.span)?.is_match(&s))
        }
        "contains" => b(text(0)?.contains(&text(1)?)),
        "starts-with" => b(text(0)?.starts_with(&text(1)?)),
        "ends-with" => b(text(0)?.ends_with(&text(1)?)),
        "concat" => {
            let mut out = String::new();
            for a in args {
                match ev.eval(a)? {
                    XValue::Nodes(vs) => vs
                        .iter()
                        .for_each(|v| out.push_str(&from_value(v).to_text())),
                    v => out.push_str(&v.to_text()),
                }
            }
            Ok(XValue::Text(out))
        }
        "join" => {
            let sep = text(0)?;
            let parts: Vec<String> = match ev.eval(arg(1)?)? {
                XValue::Nodes(vs) => vs.iter().map(|v| from_value(v).to_text()).collect(),
                v => vec![v.to_text()],
            };
            Ok(XValue::Text(parts.join(&sep)))
        }
        "today" => Ok(XValue::Date(ev.ctx.today())),
        "pulldata" => {
            let file = text(0)?;
            let table = file.strip_suffix(".csv").unwrap_or(&file);
            let Some(data) = ev.ctx.table(table) else {
                return Err(ExprError::at(
                    span,
                    format!("pulldata(): there is no attached file `{table}.csv`"),
                ));
            };
            let (column, key_column, key) = (text(1)?, text(2)?, text(3)?);
            match data.pull(&column, &key_column, &key) {
                Some(v) => Ok(XValue::Text(v.to_string())),
                None => Err(ExprError::at(
                    span,
                    format!("pulldata(): `{table}.csv` has no column `{column}` or `{key_column}`"),
                )),
            }
        }
        "date" => to_date(ev, arg(0)?),
        "number" => {
            let node = arg(0)?;
            let v = ev.eval(node)?;
            n(match ev.scalar(v, node)? {
                XValue::Text(s) => match (parse_number(&s), parse_date(&s)) {
                    (Some(x), _) => x,
                    (None, Some(d)) => days_of(d),
                    (None, None) => f64::NAN,
                },
                XValue::Date(d) => days_of(d),
                XValue::Bool(x) => f64::from(u8::from(x)),
                XValue::Number(x) => x,
                XValue::Nodes(_) => f64::NAN,
            })
        }
        "string" => Ok(XValue::Text(text(0)?)),
        "int" => n(number(0)?.trunc()),
        "floor" => n(number(0)?.floor()),
        "ceiling" => n(number(0)?.ceil()),
        "abs" => n(number(0)?.abs()),
        "round" => {
            let x = number(0)?;
            let digits = if args.len() > 1 { number(1)? } else { 0.0 };
            n(round(x, digits))
        }
        _ => odk_functions::call(ev, name, args, span),
    }
}

/// Round half away from zero to `digits` decimal places (negative: tens, hundreds...).
fn round(x: f64, digits: f64) -> f64 {
    if !digits.is_finite() {
        return f64::NAN;
    }
    let d = digits.trunc().clamp(-308.0, 308.0) as i32;
    if d > 15 {
        return x;
    }
    let scale = 10f64.powi(d);
    (x * scale).round() / scale
}

/// The numbers in `args` (instances of a repeat spread out); unanswered ones are skipped.
fn numbers(ev: &Eval, args: &[Node]) -> R<Vec<f64>> {
    let mut out = Vec::new();
    for a in args {
        let vals = match ev.eval(a)? {
            XValue::Nodes(vs) => vs.iter().map(from_value).collect(),
            v => vec![v],
        };
        for v in vals.into_iter().filter(|v| !v.is_empty()) {
            match ev.to_num(v, a)? {
                Num::N(x) => out.push(x),
                Num::D(d) => out.push(days_of(d)),
            }
        }
    }
    Ok(out)
}

fn to_date(ev: &Eval, node: &Node) -> R<XValue> {
    let v = ev.eval(node)?;
    let bad = || {
        ExprError::at(
            node.span,
            format!(
                "`{}` is not a date: write dates as 'YYYY-MM-DD', like '2024-01-31'",
                ev.quote(node)
            ),
        )
    };
    match ev.scalar(v, node)? {
        XValue::Date(d) => Ok(XValue::Date(d)),
        XValue::Text(s) if s.trim().is_empty() => Ok(XValue::Text(String::new())),
        XValue::Text(s) => match (parse_date(&s), parse_number(&s)) {
            (Some(d), _) => Ok(XValue::Date(d)),
            (None, Some(x)) => date_from_days(x).map(XValue::Date).ok_or_else(bad),
            (None, None) => Err(bad()),
        },
        XValue::Number(x) if x.is_nan() => Ok(XValue::Text(String::new())),
        XValue::Number(x) => date_from_days(x).map(XValue::Date).ok_or_else(bad),
        _ => Err(bad()),
    }
}
