//! Tests of the expression language, with test contexts.

mod functions;
mod operators;
mod props;
mod syntax;

use std::collections::HashMap;

use chrono::NaiveDate;

use super::{parse, Context, ExprError, Resolved, XValue};
use crate::answers::{Answer, Answers};
use crate::Value;

/// A context from a flat map: names to one value or many (a question in a repeat seen
/// from outside).
pub(super) struct MapCtx {
    pub vars: HashMap<String, Resolved>,
    pub current: Value,
}

impl Context for MapCtx {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        self.vars.get(name).cloned()
    }
    fn current(&self) -> Value {
        self.current.clone()
    }
    fn today(&self) -> NaiveDate {
        today()
    }
}

pub(super) fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 3, 15).unwrap()
}

pub(super) fn date(s: &str) -> XValue {
    XValue::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

pub(super) fn ctx() -> MapCtx {
    let one = |v: Value| Resolved::One(v);
    let vars = [
        ("age", one(Value::Int(30))),
        ("height", one(Value::Decimal(1.5))),
        ("name", one("Ada".into())),
        ("empty", one(Value::Null)),
        ("blank", one("".into())),
        ("colors", one("red blue".into())),
        ("dob", one("2020-03-10".into())),
        ("word", one("abc".into())),
        ("num_text", one("12".into())),
        ("consent", one(Value::Bool(true))),
        (
            "child_age",
            Resolved::Many(vec![Value::Int(3), Value::Int(5), Value::Null]),
        ),
        ("child_name", Resolved::Many(vec!["Bo".into(), "Cy".into()])),
        ("kid", Resolved::Many(vec![Value::Int(7)])),
        ("nobody", Resolved::Many(vec![])),
    ];
    MapCtx {
        vars: vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        current: Value::Int(4),
    }
}

/// Evaluate with [`ctx`], panicking on error (tests only).
pub(super) fn ev(src: &str) -> XValue {
    ev_with(src, &ctx())
}

pub(super) fn ev_with(src: &str, c: &dyn Context) -> XValue {
    match parse(src).and_then(|e| e.eval(c)) {
        Ok(v) => v,
        Err(e) => panic!("`{src}` failed:\n{e}"),
    }
}

/// The error evaluating (or parsing) `src`, panicking if there is none.
pub(super) fn ev_err(src: &str) -> ExprError {
    match parse(src).and_then(|e| e.eval(&ctx())) {
        Ok(v) => panic!("`{src}` should fail, gave {v:?}"),
        Err(e) => e,
    }
}

pub(super) fn num(src: &str) -> f64 {
    match ev(src) {
        XValue::Number(n) => n,
        other => panic!("`{src}` gave {other:?}, not a number"),
    }
}

pub(super) fn yes(src: &str) -> bool {
    match ev(src) {
        XValue::Bool(b) => b,
        other => panic!("`{src}` gave {other:?}, not a boolean"),
    }
}

pub(super) fn text(src: &str) -> String {
    match ev(src) {
        XValue::Text(s) => s,
        other => panic!("`{src}` gave {other:?}, not text"),
    }
}

/// A context over real [`Answers`], positioned either at the top level or inside one
/// instance of a repeat (as the validator will be).
pub(super) struct AnswersCtx<'a> {
    pub answers: &'a Answers,
    /// `(repeat name, instance index)` when inside a repeat instance.
    pub at: Option<(&'a str, usize)>,
}

impl Context for AnswersCtx<'_> {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        if let Some((repeat, i)) = self.at {
            if let Some(v) = self
                .answers
                .repeat(repeat)
                .get(i)
                .and_then(|a| a.value(name))
            {
                return Some(Resolved::One(v.clone()));
            }
        }
        if let Some(v) = self.answers.value(name) {
            return Some(Resolved::One(v.clone()));
        }
        for (_, answer) in self.answers.iter() {
            if let Answer::Repeat(items) = answer {
                if items.iter().any(|a| a.value(name).is_some()) {
                    let vals = items
                        .iter()
                        .map(|a| a.value(name).cloned().unwrap_or_default());
                    return Some(Resolved::Many(vals.collect()));
                }
            }
        }
        self.answers
            .0
            .get(name)
            .map(|_| Resolved::Many(vec![Value::Null; self.answers.repeat(name).len()]))
    }
    fn current(&self) -> Value {
        Value::Null
    }
    fn today(&self) -> NaiveDate {
        today()
    }
}
