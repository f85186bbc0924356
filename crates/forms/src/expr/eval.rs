//! Evaluation: runtime values, the context questions are resolved in, and the operators.
//!
//! Conversions follow XPath 1.0 as ODK applies it, with one difference: text that is
//! neither empty, a number nor a date, used where a number is needed (arithmetic,
//! `<`/`>`, `round()`...), is an error rather than a silent NaN.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};

use super::ast::{BinaryOp, Expr, Node, NodeKind};
use super::convert::{
    add_days, date_from_days, days_of, format_number, parse_date, parse_number, shorten,
};
use super::error::{ExprError, Span};
use super::functions;
use crate::model::DataFile;
use crate::Value;

/// What expressions can see of a response.
pub trait Context {
    /// The value of question `name` as seen from the current position: inside a repeat
    /// instance, `${sibling}` means the same instance's answer; outside, a question inside a
    /// repeat resolves to all its instances ([`Resolved::Many`]). `None`: no such question
    /// (an evaluation error pointing at the reference).
    fn resolve(&self, name: &str) -> Option<Resolved>;
    /// The value of `.` (the question being checked, for constraints).
    fn current(&self) -> Value;
    /// Today's date (injected so results are deterministic).
    fn today(&self) -> NaiveDate;
    /// The value of column `name` of the choice being filtered (`choice_filter`);
    /// `None` outside a filter or for a column the choice lacks.
    fn column(&self, name: &str) -> Option<Value> {
        let _ = name;
        None
    }
    /// The table `pulldata(name, ...)` and `instance(name)` read: an attached data file
    /// (by its name without `.csv`) or a choice list. `None` when there is none.
    fn table(&self, name: &str) -> Option<&DataFile> {
        let _ = name;
        None
    }
    /// What `now()` returns (injected like `today()`); by default midnight UTC of
    /// `today()`.
    fn now(&self) -> DateTime<FixedOffset> {
        let midnight = self.today().and_time(NaiveTime::MIN);
        DateTime::from_naive_utc_and_offset(midnight, FixedOffset::east_opt(0).unwrap())
    }
    /// 64 bits for `random()` and `uuid()`: the same `salt` in the same context gives
    /// the same bits (see `odk_functions` on why evaluation stays deterministic).
    fn random_bits(&self, salt: u64) -> u64 {
        salt
    }
    /// The 1-based position of the repeat instance evaluation happens in, for
    /// `position(..)`; `None` outside repeats.
    fn position(&self) -> Option<usize> {
        None
    }
    /// `indexed-repeat()`: the value(s) of question `name` with each repeat of `at`
    /// (repeat name, 1-based instance) entered at that instance. `None`: no such
    /// question or repeat.
    fn indexed(&self, name: &str, at: &[(String, usize)]) -> Option<Resolved> {
        let _ = (name, at);
        None
    }
    /// The label of choice `choice` in the list of select `question`, in the language
    /// of the evaluation, for `jr:choice-name()`. `None`: no such question or choice.
    fn choice_label(&self, question: &str, choice: &str) -> Option<String> {
        let _ = (question, choice);
        None
    }
}

/// The context inside an `instance()` predicate: bare names are the item's columns,
/// everything else is the outer context's.
struct RowCtx<'a> {
    outer: &'a dyn Context,
    file: &'a DataFile,
    row: &'a [String],
}

impl Context for RowCtx<'_> {
    fn resolve(&self, name: &str) -> Option<Resolved> {
        self.outer.resolve(name)
    }
    fn current(&self) -> Value {
        self.outer.current()
    }
    fn today(&self) -> NaiveDate {
        self.outer.today()
    }
    fn column(&self, name: &str) -> Option<Value> {
        let i = self.file.column(name)?;
        Some(Value::Text(self.row.get(i).cloned().unwrap_or_default()))
    }
    fn table(&self, name: &str) -> Option<&DataFile> {
        self.outer.table(name)
    }
    fn now(&self) -> DateTime<FixedOffset> {
        self.outer.now()
    }
    fn random_bits(&self, salt: u64) -> u64 {
        self.outer.random_bits(salt)
    }
    fn position(&self) -> Option<usize> {
        self.outer.position()
    }
    fn indexed(&self, name: &str, at: &[(String, usize)]) -> Option<Resolved> {
        self.outer.indexed(name, at)
    }
    fn choice_label(&self, question: &str, choice: &str) -> Option<String> {
        self.outer.choice_label(question, choice)
    }
}

/// A question's value(s), as resolved by a [`Context`].
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    /// One answer.
    One(Value),
    /// One answer per repeat instance, in order.
    Many(Vec<Value>),
}

/// A runtime value.
#[derive(Debug, Clone, PartialEq)]
pub enum XValue {
    /// A boolean.
    Bool(bool),
    /// A number; an empty answer used as a number is NaN.
    Number(f64),
    /// Text (an unanswered question is empty text).
    Text(String),
    /// A date.
    Date(NaiveDate),
    /// The answers of a question in a repeat, one per instance.
    Nodes(Vec<Value>),
}

impl XValue {
    /// XPath truth: `false()`, 0, NaN, empty text and no instances are false; dates are true.
    pub fn truthy(&self) -> bool {
        match self {
            XValue::Bool(b) => *b,
            XValue::Number(n) => *n != 0.0 && !n.is_nan(),
            XValue::Text(s) => !s.is_empty(),
            XValue::Date(_) => true,
            XValue::Nodes(v) => !v.is_empty(),
        }
    }

    /// The value to store for a calculate: whole finite numbers become `Int`, other finite
    /// numbers `Decimal`, NaN and infinities `Null`; dates become `YYYY-MM-DD` text; several
    /// instances give the first one (none gives `Null`).
    pub fn to_value(&self) -> Value {
        match self {
            XValue::Bool(b) => Value::Bool(*b),
            XValue::Number(n) if !n.is_finite() => Value::Null,
            XValue::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => Value::Int(*n as i64),
            XValue::Number(n) => Value::Decimal(*n),
            XValue::Text(s) => Value::Text(s.clone()),
            XValue::Date(d) => Value::Text(d.format("%Y-%m-%d").to_string()),
            XValue::Nodes(v) => v.first().cloned().unwrap_or(Value::Null),
        }
    }

    /// The value as text, as `string()` gives it: numbers without a trailing `.0`, dates
    /// as `YYYY-MM-DD`, booleans as `true`/`false`, instances as the first one's text.
    pub fn to_text(&self) -> String {
        match self {
            XValue::Bool(b) => b.to_string(),
            XValue::Number(n) => format_number(*n),
            XValue::Text(s) => s.clone(),
            XValue::Date(d) => d.format("%Y-%m-%d").to_string(),
            XValue::Nodes(v) => v
                .first()
                .map(|v| from_value(v).to_text())
                .unwrap_or_default(),
        }
    }

    /// Whether the value is empty: blank text, NaN, or only unanswered instances.
    pub fn is_empty(&self) -> bool {
        match self {
            XValue::Text(s) => s.trim().is_empty(),
            XValue::Number(n) => n.is_nan(),
            XValue::Nodes(v) => v.iter().all(Value::is_empty),
            XValue::Bool(_) | XValue::Date(_) => false,
        }
    }
}

/// A stored answer as a runtime value (`Null` is empty text).
pub(crate) fn from_value(v: &Value) -> XValue {
    match v {
        Value::Null => XValue::Text(String::new()),
        Value::Bool(b) => XValue::Bool(*b),
        Value::Int(i) => XValue::Number(*i as f64),
        Value::Decimal(d) => XValue::Number(*d),
        Value::Text(s) => XValue::Text(s.clone()),
    }
}

impl Expr {
    /// Evaluate against a context.
    pub fn eval(&self, ctx: &dyn Context) -> Result<XValue, ExprError> {
        let ev = Eval {
            ctx,
            src: &self.source,
        };
        ev.eval(&self.root).map_err(|e| e.with_source(&self.source))
    }
}

/// A number or a date: what arithmetic and ordering work on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Num {
    N(f64),
    D(NaiveDate),
}

pub(crate) type R<T> = Result<T, ExprError>;

/// One evaluation: the context and the source (to quote in messages).
pub(crate) struct Eval<'a> {
    pub ctx: &'a dyn Context,
    pub src: &'a str,
}

impl Eval<'_> {
    pub(crate) fn eval(&self, node: &Node) -> R<XValue> {
        match &node.kind {
            NodeKind::Number(n) => Ok(XValue::Number(*n)),
            NodeKind::Text(s) => Ok(XValue::Text(s.clone())),
            NodeKind::Current => Ok(from_value(&self.ctx.current())),
            NodeKind::Ref(name) => match self.ctx.resolve(name) {
                Some(Resolved::One(v)) => Ok(from_value(&v)),
                Some(Resolved::Many(v)) => Ok(XValue::Nodes(v)),
                None => Err(ExprError::at(
                    node.span,
                    format!("unknown question `${{{name}}}`"),
                )),
            },
            NodeKind::Column(name) => match self.ctx.column(name) {
                Some(v) => Ok(from_value(&v)),
                None => Err(ExprError::at(
                    node.span,
                    format!("`{name}` is not a column of this choice list"),
                )),
            },
            NodeKind::Neg(inner) => match self.num(inner)? {
                Num::N(n) => Ok(XValue::Number(-n)),
                Num::D(_) => Err(ExprError::at(node.span, "a date can't be made negative")),
            },
            NodeKind::Binary {
                op,
                op_span,
                left,
                right,
            } => self.binary(*op, *op_span, left, right),
            NodeKind::Call { name, args } => functions::call(self, name, args, node.span),
            NodeKind::Lookup {
                table,
                filter,
                field,
            } => self.lookup(table, filter.as_deref(), field, node.span),
        }
    }

    /// `instance(table)/root/item[filter]/field`.
    fn lookup(&self, table: &str, filter: Option<&Node>, field: &str, span: Span) -> R<XValue> {
        let Some(file) = self.ctx.table(table) else {
            return Err(ExprError::at(
                span,
                format!("there is no choice list or attached file `{table}`"),
            ));
        };
        if file.is_placeholder() {
            return Ok(XValue::Text(String::new()));
        }
        let Some(f) = file.column(field) else {
            return Err(ExprError::at(
                span,
                format!("`{table}` has no column `{field}`"),
            ));
        };
        for row in &file.rows {
            if let Some(filter) = filter {
                let ctx = RowCtx {
                    outer: self.ctx,
                    file,
                    row,
                };
                let inner = Eval {
                    ctx: &ctx,
                    src: self.src,
                };
                if !inner.eval(filter)?.truthy() {
                    continue;
                }
            }
            return Ok(XValue::Text(row.get(f).cloned().unwrap_or_default()));
        }
        Ok(XValue::Text(String::new()))
    }

    fn binary(&self, op: BinaryOp, op_span: Span, left: &Node, right: &Node) -> R<XValue> {
        use BinaryOp::*;
        match op {
            Or => Ok(XValue::Bool(
                self.eval(left)?.truthy() || self.eval(right)?.truthy(),
            )),
            And => Ok(XValue::Bool(
                self.eval(left)?.truthy() && self.eval(right)?.truthy(),
            )),
            Eq | Ne => {
                let (l, r) = (self.eval(left)?, self.eval(right)?);
                self.exists(l, r, &|a, b| Ok(equal(a, b) == (op == Eq)))
            }
            Lt | Le | Gt | Ge => {
                let (l, r) = (self.eval(left)?, self.eval(right)?);
                self.exists(l, r, &|a, b| {
                    let (a, b) = (self.to_num(a, left)?, self.to_num(b, right)?);
                    let ord = match (a, b) {
                        (Num::D(x), Num::D(y)) => Some(x.cmp(&y)),
                        _ => as_f64(a).partial_cmp(&as_f64(b)),
                    };
                    Ok(ord.is_some_and(|o| match op {
                        Lt => o.is_lt(),
                        Le => o.is_le(),
                        Gt => o.is_gt(),
                        _ => o.is_ge(),
                    }))
                })
            }
            Add | Sub | Mul | Div | Mod => {
                let (a, b) = (self.num(left)?, self.num(right)?);
                arith(op, op_span, a, b, self, left, right)
            }
        }
    }

    /// XPath comparison of possibly-many values: true if some pair satisfies `test`.
    fn exists(&self, l: XValue, r: XValue, test: &dyn Fn(XValue, XValue) -> R<bool>) -> R<XValue> {
        let side = |v: XValue| match v {
            XValue::Nodes(vs) => vs.iter().map(from_value).collect(),
            v => vec![v],
        };
        let (ls, rs) = (side(l), side(r));
        for a in &ls {
            for b in &rs {
                if test(a.clone(), b.clone())? {
                    return Ok(XValue::Bool(true));
                }
            }
        }
        Ok(XValue::Bool(false))
    }

    /// `v` as one value: instances of a repeat are an error unless there is at most one.
    pub(crate) fn scalar(&self, v: XValue, node: &Node) -> R<XValue> {
        match v {
            XValue::Nodes(vs) => match vs.as_slice() {
                [] => Ok(XValue::Text(String::new())),
                [one] => Ok(from_value(one)),
                many => Err(ExprError::at(
                    node.span,
                    format!(
                        "`{}` has {} answers (one per repeat instance): combine them with sum(), count(), min() or max()",
                        self.quote(node),
                        many.len()
                    ),
                )),
            },
            v => Ok(v),
        }
    }

    /// Evaluate `node` to a number or a date.
    pub(crate) fn num(&self, node: &Node) -> R<Num> {
        let v = self.eval(node)?;
        let v = self.scalar(v, node)?;
        self.to_num(v, node)
    }

    /// A single value as a number or a date: empty text is NaN, date-shaped text a date,
    /// any other non-numeric text an error pointing at `node`.
    pub(crate) fn to_num(&self, v: XValue, node: &Node) -> R<Num> {
        match v {
            XValue::Bool(b) => Ok(Num::N(if b { 1.0 } else { 0.0 })),
            XValue::Number(n) => Ok(Num::N(n)),
            XValue::Date(d) => Ok(Num::D(d)),
            XValue::Text(s) if s.trim().is_empty() => Ok(Num::N(f64::NAN)),
            XValue::Text(s) => match (parse_number(&s), parse_date(&s)) {
                (Some(n), _) => Ok(Num::N(n)),
                (None, Some(d)) => Ok(Num::D(d)),
                (None, None) => Err(self.not_a_number(&s, node)),
            },
            v @ XValue::Nodes(_) => {
                let v = self.scalar(v, node)?;
                self.to_num(v, node)
            }
        }
    }

    fn not_a_number(&self, text: &str, node: &Node) -> ExprError {
        let message = match &node.kind {
            NodeKind::Text(_) => format!("`{}` is text, not a number", self.quote(node)),
            _ => format!(
                "`{}` is `{}`, which is text, not a number",
                self.quote(node),
                shorten(text)
            ),
        };
        ExprError::at(node.span, message)
    }

    /// The source of `node`, shortened, for messages.
    pub(crate) fn quote(&self, node: &Node) -> String {
        let text: String = self
            .src
            .chars()
            .skip(node.span.start)
            .take(node.span.len())
            .collect();
        shorten(&text)
    }
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::N(x) => x,
        Num::D(d) => days_of(d),
    }
}

/// XPath `=` on two single values: booleans compare by truth, then dates, then numbers
/// (text that is not a number is never equal to one), else text exactly.
fn equal(a: XValue, b: XValue) -> bool {
    use XValue::*;
    match (a, b) {
        (a @ Bool(_), b) | (b, a @ Bool(_)) => a.truthy() == b.truthy(),
        (Date(d), o) | (o, Date(d)) => match o {
            Date(e) => d == e,
            Text(s) => parse_date(&s) == Some(d),
            Number(n) => date_from_days(n) == Some(d),
            _ => false,
        },
        (Number(n), o) | (o, Number(n)) => match o {
            Number(m) => n == m,
            Text(s) => parse_number(&s) == Some(n),
            _ => false,
        },
        (a, b) => a.to_text() == b.to_text(),
    }
}

fn arith(op: BinaryOp, op_span: Span, a: Num, b: Num, ev: &Eval, l: &Node, r: &Node) -> R<XValue> {
    use BinaryOp::*;
    let shift = |d: NaiveDate, n: f64, sign: f64| -> R<XValue> {
        if n.is_nan() {
            return Ok(XValue::Number(f64::NAN));
        }
        let days = (n * sign).trunc();
        let moved = if days.abs() < 1e8 {
            add_days(d, days as i64)
        } else {
            None
        };
        moved
            .map(XValue::Date)
            .ok_or_else(|| ExprError::at(l.span.to(r.span), "the resulting date is out of range"))
    };
    match (op, a, b) {
        (_, Num::N(x), Num::N(y)) => Ok(XValue::Number(match op {
            Add => x + y,
            Sub => x - y,
            Mul => x * y,
            Div => x / y,
            _ => x % y,
        })),
        (Add, Num::D(d), Num::N(n)) | (Add, Num::N(n), Num::D(d)) => shift(d, n, 1.0),
        (Sub, Num::D(d), Num::N(n)) => shift(d, n, -1.0),
        (Sub, Num::D(x), Num::D(y)) => Ok(XValue::Number(x.signed_duration_since(y).num_days() as f64)),
        (Add, Num::D(_), Num::D(_)) => Err(ExprError::at(
            op_span,
            format!(
                "`{}` and `{}` are both dates and can't be added: subtract them to get the days between",
                ev.quote(l),
                ev.quote(r)
            ),
        )),
        _ => {
            let date = if matches!(a, Num::D(_)) { l } else { r };
            Err(ExprError::at(
                op_span,
                format!(
                    "`{}` can't be used with a date (`{}`): dates only take `+` or `-` a number of days, or `-` another date",
                    op.symbol(),
                    ev.quote(date)
                ),
            ))
        }
    }
}
