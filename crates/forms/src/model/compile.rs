//! Checking a [`Form`] once and parsing its expressions into a [`CompiledForm`].

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::ops::Range;

use super::data_file::value_label_params;
use super::{Choice, DataFile, Form, Item, Labels, Question, QuestionType, RangeParams};
use crate::expr::{self, Expr, ExprError, TableUse};

mod data_files;
mod names;
mod nodes;
pub use data_files::dynamic_list_name;
use data_files::file_list_kind;
pub(crate) use data_files::Table;
pub(crate) use data_files::{first_select_parameters, missing_file};
use names::is_xml_name;
pub use names::{is_form_id, MAX_FORM_ID};
use nodes::flatten;

/// What kind of item a name refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A question (including notes and calculations).
    Question,
    /// A (non-repeating) group.
    Group,
    /// A repeat group.
    Repeat,
}

/// What is wrong with a form definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormErrorKind {
    /// A name that is empty or not an XML name (letter or `_` first, then letters,
    /// digits, `_`, `-`, `.`).
    InvalidName,
    /// Two items with the same name.
    DuplicateName,
    /// A select question naming a choice list that does not exist.
    UnknownList,
    /// A choice list with no choices, or two choices with the same name.
    BadChoices,
    /// A `calculate` without a calculation.
    Calculation,
    /// An expression that does not parse or refers to an unknown `${name}`.
    Expression,
    /// A `parameters` cell that does not fit its type (a range's bounds).
    Parameters,
    /// `default_language` is not one of `languages`.
    UnknownLanguage,
    /// A data file that is missing, badly named or lacks a column the form reads.
    DataFile,
}

/// One error in a form definition, naming the item and the column it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError {
    /// Name of the item (question, group, repeat), or of the choice list; empty for the
    /// form itself.
    pub item: String,
    /// The column (XLSForm sheet heading) the error is in: `relevant`, `constraint`,
    /// `calculation`, `repeat_count`, `type`, `name`, `choices`.
    pub column: String,
    /// The kind of error.
    pub kind: FormErrorKind,
    /// What is wrong, in English (form authors' language of the tooling).
    pub message: String,
    /// For expression errors: the char offsets in the expression text.
    pub span: Option<Range<usize>>,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.item.is_empty() {
            write!(f, "form, {}", self.column)?;
        } else {
            write!(f, "`{}`, {}", self.item, self.column)?;
        }
        if let Some(span) = &self.span {
            write!(f, ", column {}", span.start + 1)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for FormError {}

/// One item of a compiled form, with its expressions parsed.
#[derive(Debug)]
pub(crate) struct Node {
    pub name: String,
    pub kind: NodeKind,
    /// The question, for question nodes.
    pub question: Option<Question>,
    pub label: Labels,
    /// The help text under the label (questions, groups and repeats alike).
    pub hint: Labels,
    pub relevant: Option<Expr>,
    pub constraint: Option<Expr>,
    pub calculation: Option<Expr>,
    pub repeat_count: Option<Expr>,
    /// A select's `choice_filter`, with bare names as choice columns.
    pub choice_filter: Option<Expr>,
    /// For a select whose list is an earlier question in a repeat (`select_one
    /// ${child_name}`): that question's node. Its choices are the answers to it, one
    /// per instance of its repeat (see [`dynamic_list_name`]).
    pub dynamic_list: Option<usize>,
    /// `required` given as an expression.
    pub required_if: Option<Expr>,
    /// `read_only` given as an expression.
    pub read_only_if: Option<Expr>,
    /// A `range` question's bounds, checked.
    pub range: Option<RangeParams>,
    /// The `relevant` expression's text (questions, groups and repeats alike).
    pub relevant_src: Option<String>,
    /// The `repeat_count` expression's text.
    pub repeat_count_src: Option<String>,
    /// Child nodes, in document order.
    pub children: Vec<usize>,
    /// The innermost repeat this node is inside.
    pub repeat: Option<usize>,
}

/// A checked form with its expressions parsed once, ready to validate responses.
///
/// Built by [`Form::compile`]; cheap to share (`Arc`) between screens and threads.
#[derive(Debug)]
pub struct CompiledForm {
    pub(crate) form: Form,
    pub(crate) nodes: Vec<Node>,
    pub(crate) roots: Vec<usize>,
    pub(crate) by_name: BTreeMap<String, usize>,
    /// The choice names of each list, for fast checks on long lists.
    pub(crate) choice_sets: BTreeMap<String, HashSet<String>>,
    /// Whether an expression refers to a calculation later in document order, so that
    /// validation settles calculations by evaluating again.
    pub(crate) forward_refs: bool,
    /// Whether an expression calls `now()`, `random()`, `uuid()` or `once()`: only
    /// then does validation derive a seed from the answers.
    pub(crate) volatile: bool,
    /// The choices of lists that are attached files (`fruits.csv`), from the file's rows.
    pub(crate) file_choices: BTreeMap<String, Vec<Choice>>,
    /// The tables `pulldata()` and `instance()` read, by instance name: attached files
    /// (`fruits`) and the choice lists expressions look up.
    pub(crate) tables: BTreeMap<String, Table>,
    /// The names of the attached files the form uses, in the order of `data_files`.
    pub(crate) files_used: Vec<String>,
}

impl Form {
    /// Check the form and parse every expression once.
    ///
    /// Errors (all of them, not just the first): invalid or duplicate names, unknown or
    /// malformed choice lists, calculations missing or misplaced, and expressions that do
    /// not parse or refer to a `${name}` that is not a question or repeat of this form.
    pub fn compile(self) -> Result<CompiledForm, Vec<FormError>> {
        let mut errors = Vec::new();
        let mut err = |item: &str, column: &str, kind, message: String| {
            errors.push(FormError {
                item: item.to_string(),
                column: column.to_string(),
                kind,
                message,
                span: None,
            })
        };
        self.check_names_and_lists(&mut err);
        // A select whose list is an attached file: its choices are the file's rows,
        // read with the first such select's `value=` / `label=` parameters.
        let mut file_choices: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
        let mut file_params: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
        let mut used: BTreeSet<String> = BTreeSet::new();

        let mut nodes = Vec::new();
        let mut roots = Vec::new();
        for item in &self.items {
            let id = flatten(item, None, &mut nodes);
            roots.push(id);
        }
        let mut by_name = BTreeMap::new();
        for (id, node) in nodes.iter().enumerate() {
            if node.name.starts_with(super::META_PREFIX) {
                err(
                    &node.name,
                    "name",
                    FormErrorKind::InvalidName,
                    format!(
                        "`{}`: names starting with `_` are reserved for metadata",
                        node.name
                    ),
                );
            } else if !is_xml_name(&node.name) {
                err(
                    &node.name,
                    "name",
                    FormErrorKind::InvalidName,
                    format!("`{}` is not a valid name", node.name),
                );
            }
            if by_name.insert(node.name.clone(), id).is_some() {
                err(
                    &node.name,
                    "name",
                    FormErrorKind::DuplicateName,
                    format!("the name `{}` is used more than once", node.name),
                );
            }
            if let Some(q) = &node.question {
                if let Some(list) = q.qtype.list() {
                    let file = self.data_file(list);
                    if dynamic_list_name(list).is_some() && !self.choices.contains_key(list) {
                        // Checked below, once every name is known.
                    } else if self.choices.contains_key(list) {
                        if file.is_some() {
                            err(
                                &q.name,
                                "type",
                                FormErrorKind::UnknownList,
                                format!("`{list}` is both a choice list and an attached file"),
                            );
                        }
                    } else if let Some(file) = file {
                        used.insert(file.name.clone());
                        match value_label_params(q.parameters.as_deref()) {
                            Err(message) => {
                                err(&q.name, "parameters", FormErrorKind::Parameters, message)
                            }
                            Ok(params) => match file_params.get(list) {
                                Some(first) if *first != params => err(
                                    &q.name,
                                    "parameters",
                                    FormErrorKind::Parameters,
                                    format!(
                                        "the selects using `{list}` must read the same `value=` \
                                         and `label=` columns"
                                    ),
                                ),
                                Some(_) => {}
                                None => {
                                    match file.choices(params.0.as_deref(), params.1.as_deref()) {
                                        Ok(cs) if cs.is_empty() => err(
                                            &q.name,
                                            "type",
                                            FormErrorKind::DataFile,
                                            format!("`{list}` has no rows with a value"),
                                        ),
                                        Ok(cs) => {
                                            file_params.insert(list.to_string(), params);
                                            file_choices.insert(list.to_string(), cs);
                                        }
                                        Err(message) => err(
                                            &q.name,
                                            "parameters",
                                            FormErrorKind::DataFile,
                                            message,
                                        ),
                                    }
                                }
                            },
                        }
                    } else if file_list_kind(list).is_some()
                        && self.missing_files.iter().any(|m| m == list)
                    {
                        // Published before its file: no choices until a version has it.
                        file_choices.entry(list.to_string()).or_default();
                    } else {
                        match file_list_kind(list) {
                            Some(Ok(())) => {
                                err(&q.name, "type", FormErrorKind::DataFile, missing_file(list))
                            }
                            Some(Err(message)) => {
                                err(&q.name, "type", FormErrorKind::DataFile, message)
                            }
                            None => err(
                                &q.name,
                                "type",
                                FormErrorKind::UnknownList,
                                format!("there is no choice list `{list}`"),
                            ),
                        }
                    }
                }
                if let Some(Err(message)) = q.range() {
                    err(&q.name, "parameters", FormErrorKind::Parameters, message);
                }
                // Any other question may have a calculation too (as pyxform allows):
                // it computes the answer.
                if let (QuestionType::Calculate, None) = (&q.qtype, &q.calculation) {
                    err(
                        &q.name,
                        "calculation",
                        FormErrorKind::Calculation,
                        "a calculate question needs a calculation".into(),
                    );
                }
            }
        }

        // Selects from earlier answers in a repeat (`select_one ${child_name}`).
        let mut dynamic_lists: Vec<Option<usize>> = vec![None; nodes.len()];
        for (id, node) in nodes.iter().enumerate() {
            let Some(q) = &node.question else { continue };
            let Some(list) = q.qtype.list() else { continue };
            let Some(source) = dynamic_list_name(list) else {
                continue;
            };
            if self.choices.contains_key(list) {
                continue;
            }
            let why = match by_name.get(source).map(|&s| (s, &nodes[s])) {
                None => format!("there is no question `{source}` in the form"),
                Some((_, n)) if n.kind != NodeKind::Question => format!(
                    "`{source}` is a {}, not a question",
                    if n.kind == NodeKind::Group {
                        "group"
                    } else {
                        "repeat"
                    }
                ),
                Some((_, n)) if n.repeat.is_none() => {
                    format!("`{source}` is not inside a repeat")
                }
                Some((s, _)) => {
                    dynamic_lists[id] = Some(s);
                    continue;
                }
            };
            err(
                &q.name,
                "type",
                FormErrorKind::UnknownList,
                format!(
                    "`{list}`: the choices of `{}` would be the answers to `{source}` in each \
                     instance of its repeat, but {why}",
                    q.name
                ),
            );
        }

        // Expressions may refer to questions and repeats (`count(${child})`).
        let known = |name: &str| {
            by_name
                .get(name)
                .is_some_and(|&id: &usize| nodes[id].kind != NodeKind::Group)
        };
        let mut compiled: Vec<[Option<Expr>; 6]> = Vec::with_capacity(nodes.len());
        let mut forward_refs = false;
        for (id, node) in nodes.iter().enumerate() {
            let q = node.question.as_ref();
            let sources: [(&str, Option<&String>); 6] = [
                ("relevant", node.relevant_src.as_ref()),
                ("constraint", q.and_then(|q| q.constraint.as_ref())),
                ("calculation", q.and_then(|q| q.calculation.as_ref())),
                ("repeat_count", node.repeat_count_src.as_ref()),
                ("required", q.and_then(|q| q.required_if.as_ref())),
                ("read_only", q.and_then(|q| q.read_only_if.as_ref())),
            ];
            let mut exprs: [Option<Expr>; 6] = Default::default();
            for (slot, (column, src)) in sources.into_iter().enumerate() {
                let Some(src) = src.filter(|s| !s.trim().is_empty()) else {
                    continue;
                };
                match expr::compile(src, &known) {
                    Ok(e) => {
                        for (name, span) in e.references() {
                            let target = by_name.get(&name).copied().unwrap_or(0);
                            if column == "calculation" && target == id {
                                errors.push(FormError {
                                    item: node.name.clone(),
                                    column: column.into(),
                                    kind: FormErrorKind::Expression,
                                    message: format!(
                                        "the calculation refers to itself: ${{{name}}}"
                                    ),
                                    span: Some(span.start..span.end),
                                });
                            }
                            let is_calc = nodes[target].question.as_ref().is_some_and(|t| {
                                t.qtype == QuestionType::Calculate || t.calculation.is_some()
                            });
                            forward_refs |= target > id && is_calc;
                        }
                        exprs[slot] = Some(e);
                    }
                    Err(e) => errors.push(expr_error(&node.name, column, e)),
                }
            }
            compiled.push(exprs);
        }
        for node in &nodes {
            for (column, labels) in [("label", &node.label), ("hint", &node.hint)] {
                for text in labels.0.values() {
                    for (range, name) in placeholders(text) {
                        if !known(name) {
                            let start = text[..range.start].chars().count();
                            let len = text[range].chars().count();
                            errors.push(FormError {
                                item: node.name.clone(),
                                column: column.into(),
                                kind: FormErrorKind::Expression,
                                message: format!("unknown question `${{{name}}}` in the text"),
                                span: Some(start..start + len),
                            });
                        }
                    }
                }
            }
        }
        let mut filters = Vec::with_capacity(nodes.len());
        for (id, node) in nodes.iter().enumerate() {
            let Some((q, src)) = node.question.as_ref().and_then(|q| {
                let src = q.choice_filter.as_ref().filter(|s| !s.trim().is_empty())?;
                Some((q, src))
            }) else {
                filters.push(None);
                continue;
            };
            let Some(list) = q.qtype.list() else {
                errors.push(FormError {
                    item: node.name.clone(),
                    column: "choice_filter".into(),
                    kind: FormErrorKind::Expression,
                    message: format!("a {} question has no choices to filter", q.qtype),
                    span: None,
                });
                filters.push(None);
                continue;
            };
            let choices = self
                .choices
                .get(list)
                .or_else(|| file_choices.get(list))
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            // From earlier answers: bare names are the candidate instance's questions.
            let source_repeat = dynamic_lists[id].and_then(|s| nodes[s].repeat);
            // A file published missing has no columns to check the filter against.
            let missing = self.missing_files.iter().any(|m| m == list);
            let column = |name: &str| match source_repeat {
                Some(r) => by_name.get(name).is_some_and(|&n: &usize| {
                    nodes[n].kind == NodeKind::Question && nodes[n].repeat == Some(r)
                }),
                None => {
                    missing
                        || name == "name"
                        || choices.iter().any(|c| c.columns.contains_key(name))
                }
            };
            match expr::compile_filter(src, &known, &column) {
                Ok(e) => filters.push(Some(e)),
                Err(mut e) if source_repeat.is_some() && e.message.contains("not a column") => {
                    let name: String = src.chars().skip(e.span.start).take(e.span.len()).collect();
                    e.message = format!(
                        "`{name}` is not a question of the repeat `{list}` comes from: write \
                         `${{question}}` for its answers in each instance, or a question outside it"
                    );
                    errors.push(expr_error(&node.name, "choice_filter", e));
                    filters.push(None);
                }
                Err(e) => {
                    errors.push(expr_error(&node.name, "choice_filter", e));
                    filters.push(None);
                }
            }
        }
        // The tables `pulldata()` and `instance()` read: attached files by their name
        // without `.csv`, choice lists by theirs.
        let mut tables: BTreeMap<String, Table> = BTreeMap::new();
        for (node, (exprs, filter)) in nodes.iter().zip(compiled.iter().zip(&filters)) {
            let columns = [
                "relevant",
                "constraint",
                "calculation",
                "repeat_count",
                "required",
                "read_only",
            ];
            let all = exprs
                .iter()
                .zip(columns)
                .chain(std::iter::once((filter, "choice_filter")));
            for (e, column) in all {
                let Some(e) = e else { continue };
                for table_use in e.tables() {
                    if let Err(error) = self.check_table(&table_use, &mut tables, &mut used) {
                        errors.push(FormError {
                            item: node.name.clone(),
                            column: column.into(),
                            kind: FormErrorKind::DataFile,
                            message: error,
                            span: None,
                        });
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        for (((node, exprs), filter), dynamic_list) in nodes
            .iter_mut()
            .zip(compiled)
            .zip(filters)
            .zip(dynamic_lists)
        {
            node.dynamic_list = dynamic_list;
            let [relevant, constraint, calculation, repeat_count, required_if, read_only_if] =
                exprs;
            node.required_if = required_if;
            node.read_only_if = read_only_if;
            node.range = node
                .question
                .as_ref()
                .and_then(|q| q.range())
                .and_then(Result::ok);
            node.choice_filter = filter;
            node.relevant = relevant;
            node.constraint = constraint;
            node.calculation = calculation;
            node.repeat_count = repeat_count;
        }
        let choice_sets = self
            .choices
            .iter()
            .chain(&file_choices)
            .map(|(list, cs)| (list.clone(), cs.iter().map(|c| c.name.clone()).collect()))
            .collect();
        let files_used = self
            .data_files
            .iter()
            .filter(|f| used.contains(&f.name))
            .map(|f| f.name.clone())
            .collect();
        let volatile = nodes.iter().any(|n| {
            [
                &n.relevant,
                &n.constraint,
                &n.calculation,
                &n.repeat_count,
                &n.choice_filter,
                &n.required_if,
                &n.read_only_if,
            ]
            .into_iter()
            .flatten()
            .any(crate::expr::is_volatile)
        });
        Ok(CompiledForm {
            volatile,
            choice_sets,
            file_choices,
            tables,
            files_used,
            form: self,
            nodes,
            roots,
            by_name,
            forward_refs,
        })
    }
}

/// The `${name}` placeholders of a label: byte range of each (with `${` and `}`) and the
/// name inside.
pub(crate) fn placeholders(text: &str) -> Vec<(Range<usize>, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(start) = text[from..].find("${").map(|i| i + from) {
        let Some(len) = text[start + 2..].find('}') else {
            break;
        };
        let end = start + 2 + len + 1;
        out.push((start..end, text[start + 2..end - 1].trim()));
        from = end;
    }
    out
}

fn expr_error(item: &str, column: &str, e: ExprError) -> FormError {
    FormError {
        item: item.to_string(),
        column: column.to_string(),
        kind: FormErrorKind::Expression,
        message: e.message.clone(),
        span: Some(e.span.start..e.span.end),
    }
}

#[cfg(test)]
mod tests;
