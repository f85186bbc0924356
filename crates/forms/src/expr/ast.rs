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
    /// `instance('table')/root/item[filter]/field`: the `field` of the first item of a
    /// choice list or attached file whose `filter` holds (bare names in the filter are
    /// the item's columns); empty text when none does.
    Lookup {
        /// The list name or the attached file's name without `.csv`.
        table: String,
        /// The predicate, if any.
        filter: Option<Box<Node>>,
        /// The column whose value is taken.
        field: String,
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

    /// Every table the expression reads: `pulldata()` calls and `instance()` lookups,
    /// in source order.
    pub fn tables(&self) -> Vec<TableUse> {
        let mut out = Vec::new();
        collect_tables(&self.root, &mut out);
        out
    }
}

/// A table read by an expression ([`Expr::tables`]).
#[derive(Debug, Clone, PartialEq)]
pub enum TableUse {
    /// `pulldata(file, column, key_column, key)`: the arguments written as text
    /// literals (`None` for a computed one), and the call's span.
    Pulldata {
        /// The file's name as written (`fruits` or `fruits.csv`).
        file: Option<String>,
        /// The column read.
        column: Option<String>,
        /// The column matched against the key.
        key_column: Option<String>,
        /// Where the call is.
        span: Span,
    },
    /// `instance(table)/root/item[filter]/field`.
    Lookup {
        /// The list or file named.
        table: String,
        /// The bare column names of the filter, with their spans.
        columns: Vec<(String, Span)>,
        /// The column taken.
        field: String,
        /// Where the lookup is.
        span: Span,
    },
}

fn collect_tables(node: &Node, out: &mut Vec<TableUse>) {
    match &node.kind {
        NodeKind::Call { name, args } => {
            if name == "pulldata" {
                let lit = |i: usize| match args.get(i).map(|a| &a.kind) {
                    Some(NodeKind::Text(t)) => Some(t.clone()),
                    _ => None,
                };
                out.push(TableUse::Pulldata {
                    file: lit(0),
                    column: lit(1),
                    key_column: lit(2),
                    span: node.span,
                });
            }
            args.iter().for_each(|a| collect_tables(a, out));
        }
        NodeKind::Lookup {
            table,
            filter,
            field,
        } => {
            let mut columns = Vec::new();
            if let Some(f) = filter {
                collect_columns(f, &mut columns);
                collect_tables(f, out);
            }
            out.push(TableUse::Lookup {
                table: table.clone(),
                columns,
                field: field.clone(),
                span: node.span,
            });
        }
        NodeKind::Neg(inner) => collect_tables(inner, out),
        NodeKind::Binary { left, right, .. } => {
            collect_tables(left, out);
            collect_tables(right, out);
        }
        NodeKind::Number(_)
        | NodeKind::Text(_)
        | NodeKind::Ref(_)
        | NodeKind::Current
        | NodeKind::Column(_) => {}
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
        // The filter's bare names are the looked-up item's columns, not the choice's.
        NodeKind::Lookup { .. } => {}
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
        NodeKind::Lookup { filter, .. } => {
            if let Some(f) = filter {
                collect_refs(f, out);
            }
        }
    }
}

impl fmt::Display for Expr {
    /// Shows the source text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}
