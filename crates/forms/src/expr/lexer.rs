//! Splits an expression into tokens, each with its span.

use super::error::{ExprError, Span};

/// One token of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A number literal (no sign: `-` is an operator).
    Number(f64),
    /// A quoted text literal, without its quotes.
    Str(String),
    /// `${name}`.
    Ref(String),
    /// `.`, the value being checked.
    Dot,
    /// A word: a function name, or `and`, `or`, `div`, `mod`.
    Ident(String),
    LParen,
    RParen,
    Comma,
    Plus,
    Minus,
    Star,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `/`, `[`, `]`: only in `instance('list')/root/item[...]/field` paths, lexed only
    /// after the word `instance`.
    Slash,
    LBracket,
    RBracket,
}

/// A token and where it is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')
}

/// Tokenize `src`. Errors carry no source text yet.
pub(crate) fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let next = chars.get(i + 1).copied();
        let simple = |tok: Tok, len: usize| (tok, len);
        let (tok, len) = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => simple(Tok::LParen, 1),
            ')' => simple(Tok::RParen, 1),
            ',' => simple(Tok::Comma, 1),
            '+' => simple(Tok::Plus, 1),
            '-' => simple(Tok::Minus, 1),
            '*' => simple(Tok::Star, 1),
            '=' if next == Some('=') => {
                return Err(err(start, 2, "use a single `=` to compare values, not `==`"))
            }
            '=' => simple(Tok::Eq, 1),
            '!' if next == Some('=') => simple(Tok::Ne, 2),
            '!' => return Err(err(start, 1, "use `not(...)` instead of `!`")),
            '<' if next == Some('=') => simple(Tok::Le, 2),
            '<' => simple(Tok::Lt, 1),
            '>' if next == Some('=') => simple(Tok::Ge, 2),
            '>' => simple(Tok::Gt, 1),
            '&' if next == Some('&') => return Err(err(start, 2, "use `and` instead of `&&`")),
            '|' if next == Some('|') => return Err(err(start, 2, "use `or` instead of `||`")),
            '/' | '[' | ']' if toks.iter().any(|t: &Token| t.tok == Tok::Ident("instance".into())) => {
                match c {
                    '/' => simple(Tok::Slash, 1),
                    '[' => simple(Tok::LBracket, 1),
                    _ => simple(Tok::RBracket, 1),
                }
            }
            '/' => {
                return Err(err(
                    start,
                    1,
                    "use `div` to divide (`/` is not division in XLSForm, and paths are not supported: refer to questions as ${name})",
                ))
            }
            '\'' | '"' => {
                let close = chars[i + 1..].iter().position(|&q| q == c);
                match close {
                    Some(n) => {
                        let text: String = chars[i + 1..i + 1 + n].iter().collect();
                        (Tok::Str(text), n + 2)
                    }
                    None => {
                        return Err(err(
                            start,
                            chars.len() - start,
                            format!("this text has no closing `{c}`"),
                        ))
                    }
                }
            }
            '$' => lex_ref(&chars, start)?,
            // `position(..)`: the parent of the question, read as `.` two characters long.
            '.' if next == Some('.') && chars.get(i + 2) == Some(&')') && in_position(&toks) => {
                simple(Tok::Dot, 2)
            }
            '.' if next == Some('.') => {
                return Err(err(
                    start,
                    2,
                    "`..` (the enclosing group) is not supported: refer to the question by name, like ${name}",
                ))
            }
            '.' if next.is_some_and(|d| d.is_ascii_digit()) => lex_number(&chars, start),
            '.' => simple(Tok::Dot, 1),
            c if c.is_ascii_digit() => lex_number(&chars, start),
            c if is_name_start(c) => {
                let n = chars[i..].iter().take_while(|&&c| is_name_char(c)).count();
                (Tok::Ident(chars[i..i + n].iter().collect()), n)
            }
            c => return Err(err(start, 1, format!("unexpected character `{c}`"))),
        };
        toks.push(Token {
            tok,
            span: Span::new(start, start + len),
        });
        i = start + len;
    }
    Ok(toks)
}

/// Whether the tokens so far end with `position(`.
fn in_position(toks: &[Token]) -> bool {
    matches!(toks, [.., Token { tok: Tok::Ident(w), .. }, Token { tok: Tok::LParen, .. }] if w == "position")
}

fn err(start: usize, len: usize, message: impl Into<String>) -> ExprError {
    ExprError::at(Span::new(start, start + len), message)
}

/// Digits, optionally a `.` and more digits (or `.` then digits).
fn lex_number(chars: &[char], start: usize) -> (Tok, usize) {
    let mut n = 0;
    let mut seen_dot = false;
    while let Some(&c) = chars.get(start + n) {
        if c.is_ascii_digit() {
            n += 1;
        } else if c == '.' && !seen_dot {
            seen_dot = true;
            n += 1;
        } else {
            break;
        }
    }
    let text: String = chars[start..start + n].iter().collect();
    // The text is digits with at most one dot and at least one digit: it always parses.
    let value = text.parse::<f64>().unwrap_or(f64::NAN);
    (Tok::Number(value), n)
}

/// `${name}` starting at `start` (which holds `$`).
fn lex_ref(chars: &[char], start: usize) -> Result<(Tok, usize), ExprError> {
    if chars.get(start + 1) != Some(&'{') {
        return Err(err(
            start,
            1,
            "`$` must start a question reference, like ${age}",
        ));
    }
    let name_start = start + 2;
    let n = chars[name_start.min(chars.len())..]
        .iter()
        .take_while(|&&c| is_name_char(c))
        .count();
    let name: String = chars[name_start..name_start + n].iter().collect();
    match chars.get(name_start + n) {
        Some('}') if n == 0 => Err(err(
            start,
            3,
            "`${}` needs a question name inside, like ${age}",
        )),
        Some('}') if !name.starts_with(is_name_start) => Err(err(
            start,
            n + 3,
            format!("`{name}` is not a question name: names start with a letter or `_`"),
        )),
        Some('}') => Ok((Tok::Ref(name), n + 3)),
        None => Err(err(start, n + 2, "`${` is missing its closing `}`")),
        Some(c) if c.is_whitespace() && n == 0 => Err(err(
            start,
            3,
            "write the question name right after `${`, with no space, like ${age}",
        )),
        Some(&c) => {
            let found = if c.is_whitespace() {
                "a space".to_string()
            } else {
                format!("`{c}`")
            };
            Err(err(
                name_start + n,
                1,
                format!("expected `}}` to close `${{{name}`, found {found} (question names have no spaces or symbols)"),
            ))
        }
    }
}
