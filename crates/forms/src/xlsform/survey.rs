//! The `survey` sheet: rows to questions, groups and repeats, with `or_other` and
//! `begin loop over` expanded as the reference converter expands them.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::headers::{Header, SheetKind};
use super::types::{self, Control, Mapped, Parsed};
use super::{Sheet, XlsFormError, XlsFormWarning};
use crate::model::{Choice, Group, Item, Labels, Question, QuestionType, Repeat};
use crate::Value;

mod loops;
use loops::expand_loop;

/// Survey columns the form model keeps; a value in any other column is a warning.
const KEPT: [&str; 17] = [
    "appearance",
    "parameters",
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "calculation",
    "default",
    "read_only",
    "repeat_count",
    "choice_filter",
    // Read on each row: a warning says what devices do instead.
    "trigger",
];

/// What the survey sheet gives: its items, each item's row, and the header (for
/// placing the form's own errors).
pub(super) struct Survey {
    pub items: Vec<Item>,
    pub rows_of: HashMap<String, usize>,
    pub header: Header,
}

/// An open group, repeat or loop while its rows are read.
enum Open {
    Group(Group, usize),
    Repeat(Repeat, usize),
    /// A loop: a group, repeated once per choice of its list when it closes.
    Loop(Group, String, usize),
}

fn yes(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "" | "no" | "false" | "false()" | "0" => Some(false),
        "yes" | "true" | "true()" | "1" => Some(true),
        _ => None,
    }
}

fn optional(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

pub(super) fn read(
    survey: &Sheet,
    choices: &mut BTreeMap<String, Vec<Choice>>,
    languages: &mut BTreeMap<String, String>,
    errors: &mut Vec<XlsFormError>,
    warnings: &mut Vec<XlsFormWarning>,
) -> Survey {
    let header = Header::new(survey, SheetKind::Survey, languages, errors);
    let mut top: Vec<Item> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut rows_of: HashMap<String, usize> = HashMap::new();
    let mut read_only_containers: HashSet<String> = HashSet::new();
    // Each row's `trigger` references, and the questions a calculation fills, which
    // cannot be triggers (checked once every name is known).
    let mut triggers: Vec<(usize, Vec<String>)> = Vec::new();
    let mut calculated: HashSet<String> = HashSet::new();
    if !header.has("type") {
        errors.push(XlsFormError {
            sheet: survey.name.clone(),
            row: survey.first_row,
            column: None,
            message: "the header has no `type` column".into(),
        });
    }
    header.unread(
        survey,
        &|name| KEPT.contains(&name),
        &|c| match c.name.as_str() {
            "appearance" => "`appearance` is read, not yet passed to devices".into(),
            "parameters" => "`parameters` is read, not yet used on devices".into(),
            n if n.starts_with("media:") => {
                format!(
                    "`{}` (question media) is read, not used on devices",
                    c.heading
                )
            }
            _ => format!(
                "the column `{}` is read, not used by this server or its devices",
                c.heading
            ),
        },
        warnings,
    );
    for (i, row) in survey.rows.iter().enumerate().skip(1) {
        let line = survey.first_row + i;
        let kind = header.cell(row, "type");
        let mut name = header.cell(row, "name").to_string();
        let warn = |column: &str, message: String| XlsFormWarning {
            sheet: survey.name.clone(),
            row: line,
            column: Some(header.heading(column)),
            message,
        };
        let at = |column: &str, message: String| XlsFormError {
            sheet: survey.name.clone(),
            row: line,
            column: Some(header.heading(column)),
            message,
        };
        if kind.is_empty() {
            if !name.is_empty() || row.iter().any(|c| !c.trim().is_empty()) {
                warnings.push(warn("type", "a row with no type is not read".into()));
            }
            continue;
        }
        let relevant = optional(header.cell(row, "relevant"));
        let label = header.labels(row, "label");
        let parsed = match types::parse(kind) {
            Ok(p) => p,
            Err(message) => {
                errors.push(at("type", message));
                continue;
            }
        };
        let (qname, list, or_other) = match parsed {
            Parsed::Begin(control, list) => {
                if name.is_empty() {
                    errors.push(at("name", format!("`{kind}` needs a name")));
                }
                rows_of.insert(name.clone(), line);
                let (found, notes) = container_cells(&header, row, control);
                // As in ODK, `read_only` on a group holds for every question inside.
                if yes(header.cell(row, "read_only")) == Some(true) {
                    read_only_containers.insert(name.clone());
                }
                for (column, message) in found {
                    errors.push(XlsFormError {
                        sheet: survey.name.clone(),
                        row: line,
                        column: Some(column),
                        message,
                    });
                }
                for (column, message) in notes {
                    warnings.push(XlsFormWarning {
                        sheet: survey.name.clone(),
                        row: line,
                        column: Some(column),
                        message,
                    });
                }
                let group = Group {
                    name: name.clone(),
                    label,
                    hint: header.labels(row, "hint"),
                    appearance: optional(header.cell(row, "appearance")),
                    relevant,
                    ..Group::default()
                };
                open.push(match (control, list) {
                    (Control::Group, _) => Open::Group(group, line),
                    (Control::Repeat, _) => Open::Repeat(
                        Repeat {
                            name,
                            label: group.label,
                            hint: group.hint,
                            appearance: group.appearance,
                            relevant: group.relevant,
                            repeat_count: optional(header.cell(row, "repeat_count")),
                            ..Repeat::default()
                        },
                        line,
                    ),
                    (Control::Loop, Some(list)) => Open::Loop(group, list, line),
                    (Control::Loop, None) => {
                        errors.push(at(
                            "type",
                            "a loop needs a list: `begin loop over list`".into(),
                        ));
                        Open::Group(group, line)
                    }
                });
                continue;
            }
            Parsed::End(control) => {
                for (column, message) in end_cells(&header, row, kind) {
                    warnings.push(XlsFormWarning {
                        sheet: survey.name.clone(),
                        row: line,
                        column: Some(column),
                        message,
                    });
                }
                let mut closing = open.pop();
                match &mut closing {
                    Some(Open::Group(g, _) | Open::Loop(g, _, _))
                        if read_only_containers.contains(&g.name) =>
                    {
                        make_read_only(&mut g.items)
                    }
                    Some(Open::Repeat(r, _)) if read_only_containers.contains(&r.name) => {
                        make_read_only(&mut r.items)
                    }
                    _ => {}
                }
                let closed = match (closing, control) {
                    (Some(Open::Group(g, _)), Control::Group) => vec![Item::Group(g)],
                    (Some(Open::Repeat(r, _)), Control::Repeat) => vec![Item::Repeat(r)],
                    (Some(Open::Loop(g, list, at_line)), Control::Loop) => {
                        match expand_loop(g, &list, choices, &mut rows_of, at_line) {
                            Ok((item, note)) => {
                                warnings.push(XlsFormWarning {
                                    sheet: survey.name.clone(),
                                    row: at_line,
                                    column: Some(header.heading("type")),
                                    message: note,
                                });
                                vec![item]
                            }
                            Err(message) => {
                                errors.push(XlsFormError {
                                    sheet: survey.name.clone(),
                                    row: at_line,
                                    column: Some(header.heading("type")),
                                    message,
                                });
                                vec![]
                            }
                        }
                    }
                    (other, _) => {
                        errors.push(at(
                            "type",
                            format!("`{kind}` does not close the group or repeat open here"),
                        ));
                        open.extend(other);
                        continue;
                    }
                };
                for item in closed {
                    push(&mut open, &mut top, item);
                }
                continue;
            }
            Parsed::Question {
                name: qname,
                list,
                or_other,
            } => (qname, list, or_other),
        };
        let calculation = optional(header.cell(row, "calculation"));
        let qtype = match types::to_model(qname, list.as_deref(), calculation.is_some()) {
            Mapped::Type(t) => t,
            Mapped::Standin(t, note) => {
                warnings.push(warn("type", note));
                t
            }
            Mapped::Skip(note) => {
                warnings.push(warn("type", note));
                continue;
            }
            Mapped::Error(message) => {
                errors.push(at("type", message));
                continue;
            }
        };
        if or_other && matches!(qname, "select_one_from_file" | "select_multiple_from_file") {
            errors.push(at(
                "type",
                format!(
                    "`or_other` cannot follow `{qname}`: add a row `other` to the file \
                     and a text question relevant when it is selected"
                ),
            ));
            continue;
        }
        if name.is_empty() {
            if qtype == QuestionType::Note {
                // The reference names unnamed notes by their row.
                name = format!("generated_note_name_{line}");
            } else {
                errors.push(at("name", "a question needs a name".into()));
                continue;
            }
        }
        if let Some(trigger) = optional(header.cell(row, "trigger")) {
            match trigger_names(&trigger) {
                Some(names) => triggers.push((line, names)),
                None => errors.push(at(
                    "trigger",
                    format!(
                        "`{trigger}`: a trigger names questions, like ${{a}}, or ${{a}}, ${{b}} \
                         for several"
                    ),
                )),
            }
            let instead = if calculation.is_some() {
                "devices compute the calculation whenever the answers it reads change \
                 (one with now(), random(), uuid() or once() once, then keep it), \
                 not when the trigger changes"
            } else {
                "devices do not clear this question when the trigger changes"
            };
            warnings.push(warn(
                "trigger",
                format!("`trigger` {trigger} is read but not used: {instead}"),
            ));
        }
        let mut flag = |column: &str| -> (bool, Option<String>) {
            let text = header.cell(row, column);
            // A bare word is a typo for yes or no; an expression names or calls
            // something, and is evaluated as the answers stand.
            let expression = text.contains("${") || text.contains('(') || text.contains(' ');
            match yes(text) {
                Some(flag) => (flag, None),
                None if expression => (false, Some(text.trim().to_string())),
                None => {
                    errors.push(at(column, format!("`{text}` is neither yes nor no")));
                    (false, None)
                }
            }
        };
        let (required, required_if) = flag("required");
        let (read_only, read_only_if) = flag("read_only");
        let default = optional(header.cell(row, "default")).map(|text| match qtype {
            QuestionType::Integer => text.parse().map(Value::Int).unwrap_or(Value::Text(text)),
            QuestionType::Decimal => text
                .parse()
                .map(Value::Decimal)
                .unwrap_or(Value::Text(text)),
            _ => Value::Text(text),
        });
        rows_of.insert(name.clone(), line);
        if calculation.is_some() || qtype == QuestionType::Calculate {
            calculated.insert(name.clone());
        }
        let question = Question {
            name: name.clone(),
            qtype: qtype.clone(),
            label,
            hint: header.labels(row, "hint"),
            required,
            required_if,
            required_message: header.labels(row, "required_message"),
            relevant,
            constraint: optional(header.cell(row, "constraint")),
            constraint_message: header.labels(row, "constraint_message"),
            calculation,
            default,
            read_only,
            read_only_if,
            choice_filter: optional(header.cell(row, "choice_filter")),
            appearance: optional(header.cell(row, "appearance")),
            parameters: optional(header.cell(row, "parameters")),
        };
        push(&mut open, &mut top, Item::Question(question));
        if or_other {
            add_other(&name, &qtype, choices);
            let other = format!("{name}_other");
            rows_of.insert(other.clone(), line);
            let mut text = Question::new(other, QuestionType::Text);
            text.label = Labels::from_pairs([("", "Specify other.")]);
            text.relevant = Some(format!("selected(${{{name}}}, 'other')"));
            push(&mut open, &mut top, Item::Question(text));
        }
    }
    for still in open.into_iter().rev() {
        let (what, name, line) = match &still {
            Open::Group(g, l) => ("group", g.name.clone(), *l),
            Open::Repeat(r, l) => ("repeat", r.name.clone(), *l),
            Open::Loop(g, _, l) => ("loop", g.name.clone(), *l),
        };
        errors.push(XlsFormError {
            sheet: survey.name.clone(),
            row: line,
            column: Some(header.heading("type")),
            message: format!("{what} `{name}` is never closed (end {what})"),
        });
    }
    for (line, names) in triggers {
        for name in names {
            let problem = if !rows_of.contains_key(&name) {
                "is not a question of this form"
            } else if calculated.contains(&name) {
                "is calculated: a trigger is a question someone answers"
            } else {
                continue;
            };
            errors.push(XlsFormError {
                sheet: survey.name.clone(),
                row: line,
                column: Some(header.heading("trigger")),
                message: format!("the trigger ${{{name}}} {problem}"),
            });
        }
    }
    Survey {
        items: top,
        rows_of,
        header,
    }
}

/// The cells of a `begin group`, `begin repeat` or `begin loop` row that the form
/// does not keep on it, as `(heading, message)`: errors (a `required` other than no,
/// which the reference refuses on groups, repeats and loops) and warnings (the
/// question-only columns, read but not used; `repeat_count` outside a repeat). Kept:
/// `type`, `name`, `label`, `hint`, `relevant`, `appearance`, and a repeat's
/// `repeat_count`. A column the form keeps nowhere is warned by `Header::unread`.
#[allow(clippy::type_complexity)]
fn container_cells(
    header: &Header,
    row: &[String],
    control: Control,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let what = match control {
        Control::Group => "group",
        Control::Repeat => "repeat",
        Control::Loop => "loop",
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for column in &header.columns {
        let text = row.get(column.index).map_or("", |t| t.trim());
        if text.is_empty() {
            continue;
        }
        let heading = column.heading.clone();
        match column.name.as_str() {
            "type" | "name" | "label" | "hint" | "relevant" | "appearance" => {}
            "repeat_count" if control == Control::Repeat => {}
            "repeat_count" => warnings.push((
                heading,
                format!("`repeat_count` on a {what} is read, not used: only a repeat has a count"),
            )),
            // As the reference: a no is fine, anything else is an error.
            "required" | "read_only" if yes(text) == Some(false) => {}
            "required" => errors.push((
                heading,
                format!(
                    "a {what} cannot be required (`{text}`): remove it, or set `required` \
                     on the questions inside"
                ),
            )),
            // A yes makes every question inside read-only (see `make_read_only`).
            "read_only" if yes(text) == Some(true) => {}
            "read_only" => warnings.push((
                heading,
                format!(
                    "`read_only` on a {what} is read as yes or no only (`{text}` is neither): \
                     set `read_only` on the questions inside"
                ),
            )),
            name if KEPT.contains(&name) => warnings.push((
                heading,
                format!("`{name}` on a {what} is read, not used: it applies to questions only"),
            )),
            _ => {}
        }
    }
    (errors, warnings)
}

/// The cells of an `end group` / `end repeat` row besides its type and name (the
/// reference ignores them), each a warning `(heading, message)`. A column the form
/// keeps nowhere is warned by `Header::unread`.
fn end_cells(header: &Header, row: &[String], kind: &str) -> Vec<(String, String)> {
    header
        .columns
        .iter()
        .filter(|c| KEPT.contains(&c.name.as_str()) && !matches!(c.name.as_str(), "type" | "name"))
        .filter(|c| row.get(c.index).is_some_and(|t| !t.trim().is_empty()))
        .map(|c| {
            (
                c.heading.clone(),
                format!("`{}` on an `{kind}` row is read, not used", c.name),
            )
        })
        .collect()
}

/// The question names of a `trigger` cell: `${a}`, or several separated by commas
/// (empty parts skipped, as the reference does). `None` when it is anything else (as
/// the reference refuses it).
fn trigger_names(cell: &str) -> Option<Vec<String>> {
    let names: Option<Vec<String>> = cell
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| {
            let name = part.trim().strip_prefix("${")?.strip_suffix('}')?;
            let plain = !name.is_empty() && !name.contains(['$', '{', '}', ' ']);
            plain.then(|| name.to_string())
        })
        .collect();
    names.filter(|n| !n.is_empty())
}

/// `or_other`: the list gains an `other` choice (once), as the reference adds it.
fn add_other(_name: &str, qtype: &QuestionType, choices: &mut BTreeMap<String, Vec<Choice>>) {
    let Some(list) = qtype.list() else { return };
    let Some(entries) = choices.get_mut(list) else {
        return;
    };
    if !entries.iter().any(|c| c.name == "other") {
        entries.push(Choice {
            name: "other".into(),
            label: Labels::from_pairs([("", "Other")]),
            columns: BTreeMap::new(),
        });
    }
}

/// Every question in `items`, nested ones too, made read-only.
fn make_read_only(items: &mut [Item]) {
    for item in items {
        match item {
            Item::Question(q) => q.read_only = true,
            Item::Group(g) => make_read_only(&mut g.items),
            Item::Repeat(r) => make_read_only(&mut r.items),
        }
    }
}

fn push(open: &mut [Open], top: &mut Vec<Item>, item: Item) {
    match open.last_mut() {
        Some(Open::Group(g, _) | Open::Loop(g, _, _)) => g.items.push(item),
        Some(Open::Repeat(r, _)) => r.items.push(item),
        None => top.push(item),
    }
}
