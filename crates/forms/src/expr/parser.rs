//! Recursive-descent parser with XPath precedence:
//! `or` < `and` < `=` `!=` < `<` `<=` `>` `>=` < `+` `-` < `*` `div` `mod` < unary `-`.

use super::ast::{BinaryOp, Node, NodeKind};
use super::convert::shorten;
use super::error::{ExprError, Span};
use super::functions;
use super::lexer::{Tok, Token};

/// Deepest tree accepted. Evaluation recurses once per level, and this code also runs on
/// phones with small thread stacks, so untrusted input must not build deep trees.
pub(crate) const MAX_DEPTH: usize = 128;
/// Deepest nesting of parentheses, calls and unary minus accepted.
const MAX_NESTING: usize = 48;

type R<T> = Result<T, ExprError>;

/// A node and the depth of its tree.
type Parsed = (Node, usize);

pub(crate) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Character length of the source (where "the end" is).
    end: usize,
    /// The source, for positions quoted in messages.
    src: String,
    nesting: usize,
    /// Whether bare names are choice columns (a `choice_filter`) rather than mistakes.
    columns: bool,
}

impl Parser {
    pub(crate) fn new(toks: Vec<Token>, src: &str) -> Self {
        Parser {
            toks,
            pos: 0,
            end: src.chars().count(),
            src: src.to_string(),
            nesting: 0,
            columns: false,
        }
    }

    /// Read bare names as the columns of the choice being filtered.
    pub(crate) fn with_columns(mut self) -> Self {
        self.columns = true;
        self
    }

    /// Parse the whole token list.
    pub(crate) fn parse(mut self) -> R<Node> {
        if self.toks.is_empty() {
            return Err(ExprError::at(
                Span::new(0, self.end),
                "the expression is empty",
            ));
        }
        let (node, _) = self.level(0)?;
        match self.peek() {
            None => Ok(node),
            Some(t) if t.tok == Tok::RParen => Err(ExprError::at(
                t.span,
                "unexpected `)`: there is no `(` for it to close",
            )),
            Some(t) => Err(ExprError::at(
                t.span,
                format!(
                    "found {} after a complete value: is an operator (like `+`, `=` or `and`) or a `,` missing?",
                    describe(&t.tok)
                ),
            )),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }

    fn peek_tok(&self) -> Option<&Tok> {
        self.peek().map(|t| &t.tok)
    }

    /// Span of the current token, or the (empty) end position.
    fn here(&self) -> Span {
        self.peek()
            .map(|t| t.span)
            .unwrap_or(Span::new(self.end, self.end))
    }

    fn enter(&mut self) -> R<()> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            return Err(ExprError::at(
                self.here(),
                "the expression is nested too deeply: split it into calculate questions",
            ));
        }
        Ok(())
    }

    fn binop(&self) -> Option<(BinaryOp, Span)> {
        let t = self.peek()?;
        let op = match &t.tok {
            Tok::Plus => BinaryOp::Add,
            Tok::Minus => BinaryOp::Sub,
            Tok::Star => BinaryOp::Mul,
            Tok::Eq => BinaryOp::Eq,
            Tok::Ne => BinaryOp::Ne,
            Tok::Lt => BinaryOp::Lt,
            Tok::Le => BinaryOp::Le,
            Tok::Gt => BinaryOp::Gt,
            Tok::Ge => BinaryOp::Ge,
            Tok::Ident(w) => match w.as_str() {
                "or" => BinaryOp::Or,
                "and" => BinaryOp::And,
                "div" => BinaryOp::Div,
                "mod" => BinaryOp::Mod,
                _ => return None,
            },
            _ => return None,
        };
        Some((op, t.span))
    }

    fn level(&mut self, lvl: usize) -> R<Parsed> {
        if lvl > 5 {
            return self.unary();
        }
        let (mut left, mut depth) = self.level(lvl + 1)?;
        while let Some((op, op_span)) = self.binop().filter(|(op, _)| op.level() == lvl) {
            self.pos += 1;
            let (right, rdepth) = self.level(lvl + 1)?;
            depth = 1 + depth.max(rdepth);
            let span = left.span.to(right.span);
            if depth > MAX_DEPTH {
                return Err(too_deep(span));
            }
            left = Node {
                kind: NodeKind::Binary {
                    op,
                    op_span,
                    left: Box::new(left),
                    right: Box::new(right),
                },
                span,
            };
        }
        Ok((left, depth))
    }

    fn unary(&mut self) -> R<Parsed> {
        let Some(t) = self.peek() else {
            return self.primary();
        };
        if t.tok != Tok::Minus {
            return self.primary();
        }
        let start = t.span;
        self.pos += 1;
        self.enter()?;
        let (inner, depth) = self.unary()?;
        self.nesting -= 1;
        let span = start.to(inner.span);
        if depth + 1 > MAX_DEPTH {
            return Err(too_deep(span));
        }
        Ok((
            Node {
                kind: NodeKind::Neg(Box::new(inner)),
                span,
            },
            depth + 1,
        ))
    }

    fn primary(&mut self) -> R<Parsed> {
        let Some(t) = self.peek().cloned() else {
            return Err(self.expected_value());
        };
        let leaf = |kind| Ok((Node { kind, span: t.span }, 1));
        match t.tok {
            Tok::Number(n) => {
                self.pos += 1;
                leaf(NodeKind::Number(n))
            }
            Tok::Str(s) => {
                self.pos += 1;
                leaf(NodeKind::Text(s))
            }
            Tok::Ref(name) => {
                self.pos += 1;
                leaf(NodeKind::Ref(name))
            }
            Tok::Dot => {
                self.pos += 1;
                leaf(NodeKind::Current)
            }
            Tok::LParen => {
                self.pos += 1;
                self.enter()?;
                let (inner, depth) = self.level(0)?;
                self.nesting -= 1;
                if self.peek_tok() != Some(&Tok::RParen) {
                    let at = ExprError::new(t.span, "", self.src.as_str()).summary();
                    let at = at.trim_end_matches(": ");
                    return Err(ExprError::at(
                        self.here(),
                        format!("expected `)` to close the `(` at {at}"),
                    ));
                }
                self.pos += 1;
                Ok((inner, depth))
            }
            Tok::Ident(name)
                if name == "instance"
                    && self.toks.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::LParen) =>
            {
                self.instance(t.span)
            }
            Tok::Ident(name)
                if self.toks.get(self.pos + 1).map(|t| &t.tok) == Some(&Tok::LParen) =>
            {
                self.call(name, t.span)
            }
            Tok::Ident(word) if self.columns && !is_keyword(&word) => {
                self.pos += 1;
                leaf(NodeKind::Column(word))
            }
            Tok::Ident(word) => Err(ExprError::at(t.span, bare_word_message(&word))),
            _ => Err(self.expected_value()),
        }
    }

    /// A call: the current token is the name, the next one `(`.
    fn call(&mut self, name: String, name_span: Span) -> R<Parsed> {
        let Some(spec) = functions::spec(&name) else {
            let hint = functions::suggest(&name)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(ExprError::at(
                name_span,
                format!("unknown function `{}`{hint}", shorten(&name)),
            ));
        };
        self.pos += 2;
        self.enter()?;
        let mut args = Vec::new();
        let mut depth = 0;
        if self.peek_tok() != Some(&Tok::RParen) {
            loop {
                let (arg, d) = self.level(0)?;
                depth = depth.max(d);
                args.push(arg);
                match self.peek_tok() {
                    Some(Tok::Comma) => self.pos += 1,
                    Some(Tok::RParen) => break,
                    None => {
                        return Err(ExprError::at(
                            self.here(),
                            format!("expected `)` after the arguments of `{name}(`"),
                        ))
                    }
                    Some(other) => {
                        return Err(ExprError::at(
                            self.here(),
                            format!(
                                "expected `,` or `)` after an argument of `{name}(`, found {}",
                                describe(other)
                            ),
                        ))
                    }
                }
            }
        }
        let close = self.here();
        self.pos += 1;
        self.nesting -= 1;
        let span = name_span.to(close);
        if depth + 1 > MAX_DEPTH {
            return Err(too_deep(span));
        }
        spec.check_arity(args.len(), span)?;
        functions::check_literals(&name, &args)?;
        Ok((
            Node {
                kind: NodeKind::Call { name, args },
                span,
            },
            depth + 1,
        ))
    }

    /// `instance('list')/root/item[predicate]/field`: the current token is `instance`,
    /// the next one `(`. Any other shape is an error.
    fn instance(&mut self, start: Span) -> R<Parsed> {
        const SHAPE: &str =
            "only lookups shaped `instance('list')/root/item[column = value]/column` are supported";
        let fail = |p: &Self, what: &str| {
            let span = p.here();
            Err(ExprError::at(span, format!("{what}: {SHAPE}")))
        };
        self.pos += 2;
        let Some(Tok::Str(table)) = self.peek_tok().cloned() else {
            return fail(self, "`instance(` takes the list's name in quotes");
        };
        self.pos += 1;
        if self.peek_tok() != Some(&Tok::RParen) {
            return fail(self, "expected `)` after the list's name");
        }
        self.pos += 1;
        for step in ["root", "item"] {
            if self.peek_tok() != Some(&Tok::Slash) {
                return fail(self, &format!("expected `/{step}`"));
            }
            self.pos += 1;
            if self.peek_tok() != Some(&Tok::Ident(step.into())) {
                return fail(self, &format!("expected `{step}`"));
            }
            self.pos += 1;
        }
        let mut filter = None;
        let mut depth = 1;
        if self.peek_tok() == Some(&Tok::LBracket) {
            self.pos += 1;
            self.enter()?;
            let columns = std::mem::replace(&mut self.columns, true);
            let parsed = self.level(0);
            self.columns = columns;
            let (pred, d) = parsed?;
            self.nesting -= 1;
            if self.peek_tok() != Some(&Tok::RBracket) {
                return fail(self, "expected `]` to close the predicate");
            }
            self.pos += 1;
            depth += d;
            filter = Some(Box::new(pred));
        }
        if self.peek_tok() != Some(&Tok::Slash) {
            return fail(self, "expected `/` and the column to take, like `/label`");
        }
        self.pos += 1;
        let Some(Tok::Ident(field)) = self.peek_tok().cloned() else {
            return fail(self, "expected the column to take, like `/label`");
        };
        let end = self.here();
        self.pos += 1;
        if matches!(self.peek_tok(), Some(Tok::Slash | Tok::LBracket)) {
            return fail(self, "one column name ends the lookup");
        }
        let span = start.to(end);
        if depth > MAX_DEPTH {
            return Err(too_deep(span));
        }
        Ok((
            Node {
                kind: NodeKind::Lookup {
                    table,
                    filter,
                    field,
                },
                span,
            },
            depth,
        ))
    }

    /// The error for a missing value at the current position.
    fn expected_value(&self) -> ExprError {
        let prev = self.pos.checked_sub(1).and_then(|i| self.toks.get(i));
        let after = match prev {
            Some(p) => format!(" after {}", describe(&p.tok)),
            None => String::new(),
        };
        match self.peek() {
            None => ExprError::at(
                self.here(),
                format!("expected a value{after}, but the expression ends here"),
            ),
            Some(t) => ExprError::at(
                t.span,
                format!("expected a value{after}, found {}", describe(&t.tok)),
            ),
        }
    }
}

fn too_deep(span: Span) -> ExprError {
    ExprError::at(
        span,
        "the expression is nested too deeply: split it into calculate questions",
    )
}

/// Words that are operators or need parentheses, never column names.
fn is_keyword(word: &str) -> bool {
    matches!(word, "and" | "or" | "div" | "mod" | "true" | "false")
}

fn bare_word_message(word: &str) -> String {
    let word = shorten(word);
    match word.as_str() {
        "and" | "or" | "div" | "mod" => format!("expected a value before `{word}`"),
        "true" | "false" => format!("write `{word}()`, with parentheses"),
        _ => format!(
            "`{word}` is not a value: write ${{{word}}} for the answer to question {word}, or '{word}' for the text"
        ),
    }
}

/// How a token is named in messages.
pub(crate) fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Number(n) => format!("the number `{}`", super::convert::format_number(*n)),
        Tok::Str(s) => format!("the text `'{}'`", shorten(s)),
        Tok::Ref(name) => format!("`${{{}}}`", shorten(name)),
        Tok::Dot => "`.`".into(),
        Tok::Ident(w) => format!("`{}`", shorten(w)),
        Tok::LParen => "`(`".into(),
        Tok::RParen => "`)`".into(),
        Tok::Comma => "`,`".into(),
        Tok::Plus => "`+`".into(),
        Tok::Minus => "`-`".into(),
        Tok::Star => "`*`".into(),
        Tok::Eq => "`=`".into(),
        Tok::Ne => "`!=`".into(),
        Tok::Lt => "`<`".into(),
        Tok::Le => "`<=`".into(),
        Tok::Gt => "`>`".into(),
        Tok::Ge => "`>=`".into(),
        Tok::Slash => "`/` (use `div` to divide)".into(),
        Tok::LBracket => "`[`".into(),
        Tok::RBracket => "`]`".into(),
    }
}
