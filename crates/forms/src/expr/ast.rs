//! The parsed form of an expression.

use std::fmt;

use super::error::Span;

/// A parsed expression: its source text and its tree.
///
/// Parse once with [`super::parse`] or [`super::compile`], then evaluate as often as needed
/// with [`Expr::eval`].
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub(crate) source: String,
    pub(crate) root: Node,
}

/// One node of the tree, with the span of source it was parsed from.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What the node is.
    pub kind: NodeKind,
    /// The source it covers (for a binary operation, both operands and the operator).
    pub span: Span,
}

/// The kinds of node.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A number literal.
    Number(f64),
    /// A text literal (without its quotes).
    Text(String),
    /// `${name}`: the answer to a question.
    Ref(String),
    /// `.`: the value being checked.
    Current,
    /// A bare name in a `choice_filter`: that column of the choice being filtered
    /// (`county` in `county = ${county}`). Only [`super::compile_filter`] makes these.
    Column(String),
    /// Unary minus.
    Neg(Box<Node>),
    /// A binary operation.
    Binary {
        /// The operator.
        op: BinaryOp,
        /// Where the operator is.
        op_span: Span,
        /// Left operand.
        left: Box<Node>,
        /// Right operand.
        right: Box<Node>,
    },
    /// A function call; `name` is known and the argument count fits it (checked when parsing).
    Call {
        /// Function name, e.g. `selected`.
        name: String,
        /// Arguments, in order.
        args: Vec<Node>,
    },
}

/// Binary operators, loosest-binding first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// `or`
    Or,
    /// `and`
    And,
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `div`
    Div,
    /// `mod`
    Mod,
}

impl BinaryOp {
    /// How the operator is written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Eq => "=",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "div",
            BinaryOp::Mod => "mod",
        }
    }

    /// Precedence level: 0 (`or`, loosest) to 5 (`*`, `div`, `mod`).
    pub fn level(self) -> usize {
        match self {
            BinaryOp::Or => 0,
            BinaryOp::And => 1,
            BinaryOp::Eq | BinaryOp::Ne => 2,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => 3,
            BinaryOp::Add | BinaryOp::Sub => 4,
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 5,
        }
    }
}

impl Expr {
    /// The source text the expression was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The root of the tree.
    pub fn root(&self) -> &Node {
        &self.root
    }

    /// Every `${name}` referenced, with its span, in source order (duplicates kept).
    pub fn references(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        collect_refs(&self.root, &mut out);
        out
    }
}

impl Expr {
    /// Every bare column name of a `choice_filter`, with its span, in source order.
    pub fn columns(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        collect_columns(&self.root, &mut out);
        out
    }
}

fn collect_columns(node: &Node, out: &mut Vec<(String, Span)>) {
    match &node.kind {
        NodeKind::Column(name) => out.push((name.clone(), node.span)),
        NodeKind::Neg(inner) => collect_columns(inner, out),
        NodeKind::Binary { left, right, .. } => {
            collect_columns(left, out);
            collect_columns(right, out);
        }
        NodeKind::Call { args, .. } => args.iter().for_each(|a| collect_columns(a, out)),
        _ => {}
    }
}

fn collect_refs(node: &Node, out: &mut Vec<(String, Span)>) {
    match &node.kind {
        NodeKind::Ref(name) => out.push((name.clone(), node.span)),
        NodeKind::Number(_) | NodeKind::Text(_) | NodeKind::Current | NodeKind::Column(_) => {}
        NodeKind::Neg(inner) => collect_refs(inner, out),
        NodeKind::Binary { left, right, .. } => {
            collect_refs(left, out);
            collect_refs(right, out);
        }
        NodeKind::Call { args, .. } => args.iter().for_each(|a| collect_refs(a, out)),
    }
}

impl fmt::Display for Expr {
    /// Shows the source text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
