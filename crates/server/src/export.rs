//! CSV exports of a form's responses, laid out as ODK and Kobo exports are: one file
//! of responses (one row each, a column per question in form order, groups flattened)
//! and one file per repeat group (one row per instance, joined to its response by
//! `_parent_id`). A `select_multiple` answer is one column as answered plus one 0/1
//! column per choice (`question/choice`).

use forms::{Answers, Form, Item, QuestionType, Value};

/// A column of an export.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    /// A question's answer, as text.
    Answer(String),
    /// 1 when a `select_multiple` answer holds the choice, 0 when it does not, empty
    /// when unanswered.
    Choice(String, String),
}

/// The columns of a form's files.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    main: Vec<Column>,
    repeats: Vec<(String, Vec<Column>)>,
}

/// What an export row says about its response besides the answers.
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
const REPEAT_META: [&str; 2] = ["_parent_id", "_index"];

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
                out.push(Column::Answer(q.name.clone()));
                if let QuestionType::SelectMultiple(list) = &q.qtype {
                    let choices = form.list_choices(list).unwrap_or_default();
                    for choice in choices.iter() {
                        out.push(Column::Choice(q.name.clone(), choice.name.clone()));
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
        Layout { main, repeats }
    }

    /// The repeat groups, each with its own file.
    pub fn repeat_names(&self) -> impl Iterator<Item = &str> {
        self.repeats.iter().map(|(name, _)| name.as_str())
    }

    /// The header line of the responses file.
    pub fn main_header(&self) -> String {
        header(&MAIN_META, &self.main)
    }

    /// The header line of a repeat group's file, if the form has that repeat.
    pub fn repeat_header(&self, repeat: &str) -> Option<String> {
        let (_, cols) = self.repeats.iter().find(|(n, _)| n == repeat)?;
        Some(header(&REPEAT_META, cols))
    }

    /// A response's line in the responses file.
    pub fn main_row(&self, meta: &ResponseMeta, answers: &Answers) -> String {
        let created = chrono::DateTime::from_timestamp(meta.created_at, 0)
            .map(|t| t.to_rfc3339())
            .unwrap_or_default();
        let mut fields = vec![
            meta.id.clone(),
            meta.form_version.map(|v| v.to_string()).unwrap_or_default(),
            meta.created_by.clone(),
            created,
            meta.neighborhood.clone().unwrap_or_default(),
            text(answers.value("_status")),
        ];
        fields.extend(self.main.iter().map(|c| cell(c, answers)));
        line(&fields)
    }

    /// A response's lines in a repeat group's file, one per instance.
    pub fn repeat_rows(&self, repeat: &str, parent_id: &str, answers: &Answers) -> String {
        let Some((_, cols)) = self.repeats.iter().find(|(n, _)| n == repeat) else {
            return String::new();
        };
        let mut out = String::new();
        for (i, instance) in answers.repeat(repeat).iter().enumerate() {
            let mut fields = vec![parent_id.to_string(), (i + 1).to_string()];
            fields.extend(cols.iter().map(|c| cell(c, instance)));
            out.push_str(&line(&fields));
        }
        out
    }
}

fn header(meta: &[&str], cols: &[Column]) -> String {
    let mut names: Vec<String> = meta.iter().map(|m| m.to_string()).collect();
    names.extend(cols.iter().map(|c| match c {
        Column::Answer(q) => q.clone(),
        Column::Choice(q, choice) => format!("{q}/{choice}"),
    }));
    line(&names)
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

fn cell(column: &Column, answers: &Answers) -> String {
    match column {
        Column::Answer(q) => text(answers.value(q)),
        Column::Choice(q, choice) => match answers.value(q) {
            None | Some(Value::Null) => String::new(),
            Some(v) => {
                let chosen = text(Some(v)).split_whitespace().any(|c| c == choice);
                if chosen { "1" } else { "0" }.to_string()
            }
        },
    }
}

/// One CSV line (RFC 4180, CRLF). A field is quoted when it holds a comma, a quote or
/// a line break; one that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
/// first, and not a number) gets a leading `'`.
fn line(fields: &[String]) -> String {
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
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        let l = line(&[
            "a,b".into(),
            "say \"hi\"".into(),
            "=HYPERLINK(\"x\")".into(),
            "-3.5".into(),
            "two\nlines".into(),
        ]);
        assert_eq!(
            l,
            "\"a,b\",\"say \"\"hi\"\"\",\"'=HYPERLINK(\"\"x\"\")\",-3.5,\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn the_household_survey_lays_out_like_an_odk_export() {
        let form = forms::instruments::seed_forms()
            .into_iter()
            .find(|f| f.id == "household_survey")
            .unwrap();
        let layout = Layout::of(&form);
        let header = layout.main_header();
        assert!(header.starts_with(
            "_id,_form_version,_created_by,_created_at,_neighborhood,_status,consent,"
        ));
        assert!(header.contains(",home_devices,home_devices/computer,home_devices/tablet,"));
        assert!(
            !header.contains("age_years"),
            "repeat questions go to their own file"
        );
        assert_eq!(layout.repeat_names().collect::<Vec<_>>(), ["child"]);
        let child = layout.repeat_header("child").unwrap();
        assert!(child.starts_with("_parent_id,_index,age_years,hispanic,race,race/aian,"));
    }

    #[test]
    fn answers_the_device_fills_are_exported_and_notes_are_not() {
        use forms::{Item, Question};
        let mut form = forms::instruments::seed_forms().remove(0);
        let meta = |name: &str| {
            Item::Question(Question::new(
                name,
                QuestionType::from_xlsform_name(name, None).unwrap(),
            ))
        };
        form.items.insert(0, meta("start"));
        form.items.push(meta("end"));
        form.items
            .push(Item::Question(Question::new("kept", QuestionType::Hidden)));
        form.items
            .push(Item::Question(Question::new("hello", QuestionType::Note)));
        let header = Layout::of(&form).main_header();
        for column in [",start,", ",end,", ",kept"] {
            assert!(header.contains(column), "{column} in {header}");
        }
        assert!(!header.contains("hello"), "{header}");
    }

    #[test]
    fn a_select_multiple_from_an_attached_file_splits_into_its_rows() {
        use forms::{DataFile, Item, Question};
        let mut form = forms::instruments::seed_forms().remove(0);
        form.items.push(Item::Question(Question::new(
            "fruits",
            QuestionType::SelectMultiple("fruits.csv".into()),
        )));
        form.data_files =
            vec![
                DataFile::from_csv("fruits.csv", b"name,label\napple,Apple\nkiwi,Kiwi\n").unwrap(),
            ];
        let header = Layout::of(&form).main_header();
        assert!(
            header.contains(",fruits,fruits/apple,fruits/kiwi"),
            "{header}"
        );
    }

    #[test]
    fn a_select_multiple_from_earlier_answers_has_its_answer_column_only() {
        use forms::{Item, Question};
        let mut form = forms::instruments::seed_forms().remove(0);
        form.items.push(Item::Question(Question::new(
            "in_school",
            QuestionType::SelectMultiple("${child_name}".into()),
        )));
        let header = Layout::of(&form).main_header();
        assert!(header.trim_end().ends_with(",in_school"), "{header}");
    }
}
