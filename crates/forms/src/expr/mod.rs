//! The XLSForm expression language: the XPath subset used in `relevant`, `constraint`,
//! `required` and `calculation` columns, e.g. `${age} >= 3 and selected(${x}, 'yes')`.
//!
//! An expression is parsed once ([`parse`], or [`compile`] which also checks every
//! `${name}` against the form) and evaluated as often as needed with [`Expr::eval`],
//! on the device and again on the server.
//!
//! # Semantics, for form authors
//!
//! - Operators, loosest first: `or`, `and`, `=` `!=`, `<` `<=` `>` `>=`, `+` `-`,
//!   `*` `div` `mod`, unary `-`. `and`/`or` stop as soon as the result is known.
//! - An unanswered question is empty text. Used as a number it is NaN (XPath): arithmetic
//!   on it gives NaN (stored as no value) and every `<`, `<=`, `>`, `>=` with it is false,
//!   so `. >= 0` is false when empty; `${x} = ''` is true.
//! - Text that is neither empty, a number nor a date used as a number is an **error**
//!   (XPath would silently give NaN), except with `=`/`!=` (it is just not equal) and
//!   `number()` (which gives NaN).
//! - `YYYY-MM-DD` text is a date wherever a number or date is needed: dates compare with
//!   dates, `date - date` is days (a number), `date ± n` is a date. With `=`, a text equals
//!   a date when it reads as the same day.
//! - A question inside a repeat, referenced from outside it, has one answer per instance:
//!   `count()`, `sum()`, `min()`, `max()`, `join()` and `concat()` take them all;
//!   comparisons are true if any instance satisfies them (XPath); arithmetic and other
//!   functions need a single answer and report an error otherwise. `sum()`, `min()` and
//!   `max()` skip unanswered instances (ODK would give NaN).
//! - `regex(text, pattern)` is true when the pattern matches anywhere in the text; anchor
//!   it with `^...$` to match the whole text.
//! - `round(x, digits)` rounds half away from zero.
//! - Numbers print without a trailing `.0` (`string(2 * 3)` is `6`).
//! - The rest of ODK's library (`now()`, `random()`, `format-date()`, `substr()`,
//!   `position(..)`, `indexed-repeat()`, `jr:choice-name()`, math, `area()`...) is in
//!   `odk_functions`, with why a device's `now()` or `random()` is kept by the server.
//! - `pulldata('fruits', 'color', 'name', ${fruit})` reads the attached `fruits.csv`:
//!   the `color` cell of the first row whose `name` is the answer, empty text when no
//!   row matches (as ODK).
//! - `instance('list')/root/item[column = expr]/field` looks up the first item of a
//!   choice list (columns `name`, `label` in the default language, and its further
//!   columns) or attached file (`instance('fruits')`) whose predicate holds, and gives
//!   its `field`; empty text when none does. Only this shape (a predicate optional,
//!   one trailing field) is read; other paths are an error.

mod ast;
mod convert;
mod error;
mod eval;
mod functions;
mod lexer;
mod odk_functions;
mod parser;

#[cfg(test)]
mod tests;

pub use ast::{BinaryOp, Expr, Node, NodeKind, TableUse};
pub use convert::format_number;
pub use error::{ExprError, Span};
pub use eval::{Context, Resolved, XValue};
pub use odk_functions::is_volatile;
pub(crate) use odk_functions::mix;

/// Parse an expression once into a tree.
///
/// Syntax errors, unknown functions, wrong argument counts and invalid literal regex
/// patterns are reported here, with the position.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let toks = lexer::lex(src).map_err(|e| e.with_source(src))?;
    let root = parser::Parser::new(toks, src)
        .parse()
        .map_err(|e| e.with_source(src))?;
    Ok(Expr {
        source: src.to_string(),
        root,
    })
}

/// Parse a `choice_filter`: like [`compile`], but a bare name is a column of the
/// choice list (`county = ${county}`), which `column(name)` must know.
pub fn compile_filter(
    src: &str,
    known: &dyn Fn(&str) -> bool,
    column: &dyn Fn(&str) -> bool,
) -> Result<Expr, ExprError> {
    let toks = lexer::lex(src).map_err(|e| e.with_source(src))?;
    let root = parser::Parser::new(toks, src)
        .with_columns()
        .parse()
        .map_err(|e| e.with_source(src))?;
    let expr = Expr {
        source: src.to_string(),
        root,
    };
    if let Some((name, span)) = expr.references().into_iter().find(|(n, _)| !known(n)) {
        return Err(ExprError::new(
            span,
            format!("unknown question `${{{name}}}` (no question has that name)"),
            src,
        ));
    }
    if let Some((name, span)) = expr.columns().into_iter().find(|(n, _)| !column(n)) {
        return Err(ExprError::new(
            span,
            format!("`{name}` is not a column of the choice list (nor `name`)"),
            src,
        ));
    }
    Ok(expr)
}

/// Parse, then check every `${name}` reference with `known(name)`: the first unknown name
/// is an error pointing at its reference.
pub fn compile(src: &str, known: &dyn Fn(&str) -> bool) -> Result<Expr, ExprError> {
    let expr = parse(src)?;
    if let Some((name, span)) = expr.references().into_iter().find(|(n, _)| !known(n)) {
        return Err(ExprError::new(
            span,
            format!("unknown question `${{{name}}}` (no question has that name)"),
            src,
        ));
    }
    Ok(expr)
}
