//! Positioned errors, shown to form authors.

use std::fmt::Write as _;

/// A range of characters in an expression's source text.
///
/// Offsets count characters (not bytes), are 0-based, and `end` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first character.
    pub start: usize,
    /// Offset one past the last character.
    pub end: usize,
}

impl Span {
    /// A span from `start` (inclusive) to `end` (exclusive).
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// The smallest span covering both `self` and `other`.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Number of characters covered.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// Whether the span covers no character (a position, like the end of the text).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An error in an expression: bad syntax, an unknown question or function, or a value of
/// the wrong type. Its `Display` reads like
///
/// ```text
/// column 5: expected `)` after the arguments of `if(`
///   if(${a}, 1
///             ^
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct ExprError {
    /// Where in the source the problem is.
    pub span: Span,
    /// What is wrong, written for a form author.
    pub message: String,
    /// The whole expression the span points into.
    pub source_text: String,
}

/// Longest stretch of a source line shown under an error.
const WINDOW: usize = 80;

impl ExprError {
    /// An error at `span` of `source_text`.
    pub fn new(span: Span, message: impl Into<String>, source_text: impl Into<String>) -> Self {
        ExprError {
            span,
            message: message.into(),
            source_text: source_text.into(),
        }
    }

    /// An error whose source text is attached later (see [`ExprError::with_source`]).
    pub(crate) fn at(span: Span, message: impl Into<String>) -> Self {
        Self::new(span, message, String::new())
    }

    /// Attach the source text, unless the error already has one.
    pub(crate) fn with_source(mut self, src: &str) -> Self {
        if self.source_text.is_empty() {
            self.source_text = src.to_string();
        }
        self
    }

    /// 1-based line and column of the start of the span (a span past the end of the text
    /// points just after its last character).
    pub fn line_col(&self) -> (usize, usize) {
        let (mut line, mut col) = (1, 1);
        for c in self.source_text.chars().take(self.span.start) {
            if c == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
        }
        (line, col)
    }

    /// The message with its position and without the source excerpt, e.g.
    /// "column 5: expected `)` after the arguments of `if(`".
    pub fn summary(&self) -> String {
        let (line, col) = self.line_col();
        if self.source_text.contains('\n') {
            format!("line {line}, column {col}: {}", self.message)
        } else {
            format!("column {col}: {}", self.message)
        }
    }

    /// The summary, then the source line and a caret line under the span.
    fn render(&self) -> String {
        let mut out = self.summary();
        if self.source_text.trim().is_empty() {
            return out;
        }
        let (line_no, col) = self.line_col();
        let line: Vec<char> = self
            .source_text
            .split('\n')
            .nth(line_no - 1)
            .unwrap_or_default()
            .trim_end_matches('\r')
            .chars()
            .collect();
        let at = (col - 1).min(line.len());
        let carets = self.span.len().min(line.len().saturating_sub(at)).max(1);
        // Show a window of the line around the position, so huge expressions stay readable.
        let from = at.saturating_sub(WINDOW / 2);
        let to = line.len().min(from + WINDOW).max(at);
        let prefix = if from > 0 { "…" } else { "" };
        let suffix = if to < line.len() { "…" } else { "" };
        let shown: String = line[from..to].iter().collect();
        let pad: String = line[from..at]
            .iter()
            .map(|&c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = "^".repeat(carets.min(to.saturating_sub(at)).max(1));
        let indent = if from > 0 { " " } else { "" };
        let _ = write!(out, "\n  {prefix}{shown}{suffix}\n  {indent}{pad}{carets}");
        out
    }
}
