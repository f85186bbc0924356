//! Exports of records, laid out as ODK and Kobo exports are: one file (or sheet) of
//! records, one row each, a column per question in form order, groups flattened; and
//! one file (or sheet) per repeat group, one row per instance, joined to its record by
//! `_parent_id`. A `select_multiple` answer is one column as answered plus one 0/1
//! column per choice (`question/choice`).
//!
//! Households and people are records without a form: their layout is the fields the
//! apps write ([`Layout::of_kind`]), and anything else they hold goes, as JSON, to one
//! `_other_fields` column, so that no field is lost and the columns stay the same
//! from one export to the next.
//!
//! The same rows go to CSV ([`csv_line`]) and to `.xlsx` ([`xlsx`]); values or labels
//! as the caller chooses ([`Wording`]).

pub mod xlsx;

use forms::{Answer, Answers, Choice, Form, Item, Labels, QuestionType, Value};
use sync_core::RecordKind;

/// A cell of an export row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (empty when unanswered).
    Text(String),
    /// A number, as its text: a spreadsheet keeps it as a number.
    Number(String),
}

impl Cell {
    /// The cell's text, as CSV writes it.
    pub fn as_str(&self) -> &str {
        match self {
            Cell::Text(t) | Cell::Number(t) => t,
        }
    }
}

/// How an export names things: by value (question and choice names, the layout
/// partners' scripts read) or by label in a language (for people to read).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wording {
    /// Labels instead of names.
    pub labels: bool,
    /// The language of the labels (a form's default language when it has none).
    pub language: String,
}

impl Wording {
    /// Question and choice names.
    pub fn values() -> Wording {
        Wording::default()
    }

    /// Labels in `language`.
    pub fn labels(language: &str) -> Wording {
        Wording {
            labels: true,
            language: language.to_string(),
        }
    }
}

/// A column of an export.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    /// A question's answer. `choices`: the choices of a select from a fixed list, to
    /// name an answer by its label.
    Answer {
        name: String,
        label: Labels,
        choices: Option<Vec<Choice>>,
    },
    /// 1 when a `select_multiple` answer holds the choice, 0 when it does not, empty
    /// when unanswered.
    Choice {
        question: String,
        question_label: Labels,
        choice: Choice,
    },
    /// Every field of the record the layout does not name, as a JSON object.
    Other,
}

/// The columns of an export's files.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    meta: &'static [&'static str],
    main: Vec<Column>,
    repeats: Vec<(String, Vec<Column>)>,
    default_language: String,
}

/// What an export row says about its record besides the answers.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseMeta {
    /// The record id.
    pub id: String,
    /// The form version it was entered with.
    pub form_version: Option<i64>,
    /// Who created it.
    pub created_by: String,
    /// When, in seconds since 1970.
    pub created_at: i64,
    /// Its neighborhood.
    pub neighborhood: Option<String>,
}

const MAIN_META: [&str; 6] = [
    "_id",
    "_form_version",
    "_created_by",
    "_created_at",
    "_neighborhood",
    "_status",
];
const FIELDS_META: [&str; 5] = [
    "_id",
    "_created_by",
    "_created_at",
    "_neighborhood",
    "_status",
];
const REPEAT_META: [&str; 2] = ["_parent_id", "_index"];
const OTHER: &str = "_other_fields";

/// The fields the apps write on a household (`name`, `address`) and on a person
/// (`household`: the household's record id, `name`, `relationship`, `birth_date`),
/// with their labels.
const HOUSEHOLD_FIELDS: &[(&str, &str, &str)] = &[
    ("name", "Name", "Nombre"),
    ("address", "Address", "Dirección"),
];
const PERSON_FIELDS: &[(&str, &str, &str)] = &[
    ("household", "Household", "Hogar"),
    ("name", "Name", "Nombre"),
    ("relationship", "Relationship", "Parentesco"),
    ("birth_date", "Birth date", "Fecha de nacimiento"),
];

fn columns(
    form: &Form,
    items: &[Item],
    out: &mut Vec<Column>,
    repeats: &mut Vec<(String, Vec<Column>)>,
) {
    for item in items {
        match item {
            // Every question that holds an answer: what the person typed, what was
            // computed, and what the device filled itself (metadata, hidden values).
            Item::Question(q) if q.qtype != QuestionType::Note => {
                // A list from earlier answers (`${...}`) has no fixed choices.
                let choices = match &q.qtype {
                    QuestionType::SelectOne(list) | QuestionType::SelectMultiple(list) => {
                        form.list_choices(list).map(|c| c.into_owned())
                    }
                    _ => None,
                };
                out.push(Column::Answer {
                    name: q.name.clone(),
                    label: q.label.clone(),
                    choices: choices.clone(),
                });
                if let QuestionType::SelectMultiple(_) = &q.qtype {
                    for choice in choices.unwrap_or_default() {
                        out.push(Column::Choice {
                            question: q.name.clone(),
                            question_label: q.label.clone(),
                            choice,
                        });
                    }
                }
            }
            Item::Question(_) => {}
            Item::Group(g) => columns(form, &g.items, out, repeats),
            Item::Repeat(r) => {
                let mut inner = Vec::new();
                columns(form, &r.items, &mut inner, repeats);
                repeats.push((r.name.clone(), inner));
            }
        }
    }
}

impl Layout {
    /// The layout of a form's export.
    pub fn of(form: &Form) -> Layout {
        let (mut main, mut repeats) = (Vec::new(), Vec::new());
        columns(form, &form.items, &mut main, &mut repeats);
        Layout {
            meta: &MAIN_META,
            main,
            repeats,
            default_language: form.default_language.clone(),
        }
    }

    /// The layout of the records of a kind without a form (households, people), or
    /// `None` for a kind whose records answer a form.
    pub fn of_kind(kind: RecordKind) -> Option<Layout> {
        let fields = match kind {
            RecordKind::Household => HOUSEHOLD_FIELDS,
            RecordKind::Person => PERSON_FIELDS,
            _ => return None,
        };
        let mut main: Vec<Column> = fields
            .iter()
            .map(|(name, en, es)| Column::Answer {
                name: name.to_string(),
                label: Labels::from_pairs([("en", *en), ("es", *es)]),
                choices: None,
            })
            .collect();
        main.push(Column::Other);
        Some(Layout {
            meta: &FIELDS_META,
            main,
            repeats: Vec::new(),
            default_language: "en".into(),
        })
    }

    /// The repeat groups, each with its own file.
    pub fn repeat_names(&self) -> impl Iterator<Item = &str> {
        self.repeats.iter().map(|(name, _)| name.as_str())
    }

    fn repeat(&self, repeat: &str) -> Option<&[Column]> {
        let (_, cols) = self.repeats.iter().find(|(n, _)| n == repeat)?;
        Some(cols)
    }

    /// The column titles of the main file.
    pub fn main_titles(&self, wording: &Wording) -> Vec<String> {
        self.titles(self.meta, &self.main, wording)
    }

    /// The column titles of a repeat group's file, if the layout has that repeat.
    pub fn repeat_titles(&self, repeat: &str, wording: &Wording) -> Option<Vec<String>> {
        Some(self.titles(&REPEAT_META, self.repeat(repeat)?, wording))
    }

    /// A record's row in the main file.
    pub fn main_cells(
        &self,
        meta: &ResponseMeta,
        answers: &Answers,
        wording: &Wording,
    ) -> Vec<Cell> {
        let created = chrono::DateTime::from_timestamp(meta.created_at, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let mut cells = vec![Cell::Text(meta.id.clone())];
        if self.meta.contains(&"_form_version") {
            cells.push(match meta.form_version {
                Some(v) => Cell::Number(v.to_string()),
                None => Cell::Text(String::new()),
            });
        }
        cells.extend([
            Cell::Text(meta.created_by.clone()),
            Cell::Text(created),
            Cell::Text(meta.neighborhood.clone().unwrap_or_default()),
            Cell::Text(text(answers.value("_status"))),
        ]);
        let named: Vec<&str> = self
            .main
            .iter()
            .filter_map(|c| match c {
                Column::Answer { name, .. } => Some(name.as_str()),
                _ => None,
            })
            .collect();
        cells.extend(self.main.iter().map(|c| match c {
            Column::Other => Cell::Text(other_fields(answers, &named)),
            c => self.cell(c, answers, wording),
        }));
        cells
    }

    /// A record's rows in a repeat group's file, one per instance.
    pub fn repeat_cells(
        &self,
        repeat: &str,
        parent_id: &str,
        answers: &Answers,
        wording: &Wording,
    ) -> Vec<Vec<Cell>> {
        let Some(cols) = self.repeat(repeat) else {
            return Vec::new();
        };
        answers
            .repeat(repeat)
            .iter()
            .enumerate()
            .map(|(i, instance)| {
                let mut cells = vec![
                    Cell::Text(parent_id.to_string()),
                    Cell::Number((i + 1).to_string()),
                ];
                cells.extend(cols.iter().map(|c| self.cell(c, instance, wording)));
                cells
            })
            .collect()
    }

    /// The header line of the responses file (names, as CSV).
    pub fn main_header(&self) -> String {
        line(&self.main_titles(&Wording::values()))
    }

    /// The header line of a repeat group's file (names, as CSV), if the form has
    /// that repeat.
    pub fn repeat_header(&self, repeat: &str) -> Option<String> {
        Some(line(&self.repeat_titles(repeat, &Wording::values())?))
    }

    /// A response's line in the responses file (values, as CSV).
    pub fn main_row(&self, meta: &ResponseMeta, answers: &Answers) -> String {
        csv_line(&self.main_cells(meta, answers, &Wording::values()))
    }

    /// A response's lines in a repeat group's file (values, as CSV), one per
    /// instance.
    pub fn repeat_rows(&self, repeat: &str, parent_id: &str, answers: &Answers) -> String {
        self.repeat_cells(repeat, parent_id, answers, &Wording::values())
            .iter()
            .map(|cells| csv_line(cells))
            .collect()
    }

    fn label<'a>(&'a self, labels: &'a Labels, name: &'a str, wording: &Wording) -> &'a str {
        labels
            .get(&wording.language, &self.default_language)
            .unwrap_or(name)
    }

    fn titles(&self, meta: &[&str], cols: &[Column], wording: &Wording) -> Vec<String> {
        let mut names: Vec<String> = meta.iter().map(|m| m.to_string()).collect();
        names.extend(cols.iter().map(|c| match c {
            Column::Answer { name, .. } if !wording.labels => name.clone(),
            Column::Answer { name, label, .. } => self.label(label, name, wording).to_string(),
            Column::Choice {
                question, choice, ..
            } if !wording.labels => format!("{question}/{}", choice.name),
            Column::Choice {
                question,
                question_label,
                choice,
            } => format!(
                "{}/{}",
                self.label(question_label, question, wording),
                self.label(&choice.label, &choice.name, wording)
            ),
            Column::Other => OTHER.to_string(),
        }));
        names
    }

    fn cell(&self, column: &Column, answers: &Answers, wording: &Wording) -> Cell {
        match column {
            Column::Answer { name, choices, .. } => match (answers.value(name), choices) {
                (Some(Value::Int(i)), _) => Cell::Number(i.to_string()),
                (Some(Value::Decimal(d)), _) if d.is_finite() => Cell::Number(d.to_string()),
                (Some(Value::Text(t)), Some(choices)) if wording.labels => Cell::Text(
                    t.split_whitespace()
                        .map(|c| match choices.iter().find(|choice| choice.name == c) {
                            Some(choice) => self.label(&choice.label, c, wording),
                            None => c,
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                (value, _) => Cell::Text(text(value)),
            },
            Column::Choice {
                question, choice, ..
            } => match answers.value(question) {
                None | Some(Value::Null) => Cell::Text(String::new()),
                Some(v) => {
                    let chosen = text(Some(v)).split_whitespace().any(|c| c == choice.name);
                    Cell::Number(if chosen { "1" } else { "0" }.to_string())
                }
            },
            Column::Other => Cell::Text(String::new()),
        }
    }
}

/// The fields of a record that no column names (nor `_status`, a column of its
/// own), as a JSON object; empty when there are none.
fn other_fields(answers: &Answers, named: &[&str]) -> String {
    let rest: std::collections::BTreeMap<&String, &Answer> = answers
        .iter()
        .filter(|(k, _)| k.as_str() != "_status" && !named.contains(&k.as_str()))
        .collect();
    if rest.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&rest).unwrap_or_default()
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::Text(t)) => t.clone(),
        Some(Value::Int(i)) => i.to_string(),
        Some(Value::Decimal(d)) => d.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
    }
}

/// A row of cells as one CSV line; see [`line`].
pub fn csv_line(cells: &[Cell]) -> String {
    let fields: Vec<String> = cells
        .iter()
        .map(|c| match c {
            // A number is written as it is: `-3` is a number, not a formula.
            Cell::Number(n) => n.clone(),
            Cell::Text(t) => t.clone(),
        })
        .collect();
    line(&fields)
}

/// One CSV line (RFC 4180, CRLF). A field is quoted when it holds a comma, a quote or
/// a line break. One that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
/// first, and not a number) gets a leading `'`, as OWASP advises for CSV injection:
/// Excel and LibreOffice then show it as text, and a script reading the file can
/// strip the one character. (The `.xlsx` export needs no such mark: it writes every
/// text as a string cell, which no spreadsheet runs.)
pub fn line(fields: &[String]) -> String {
    let mut out = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let guarded = match f.chars().next() {
            Some('=' | '+' | '-' | '@') if f.parse::<f64>().is_err() => format!("'{f}"),
            _ => f.clone(),
        };
        if guarded.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&guarded.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&guarded);
        }
    }
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests;
