//! XLSForm, from its sheets: the `survey`, `choices` and `settings` sheets as rows of
//! cell text (the first row names the columns), turned into a [`Form`]. Reading the
//! `.xlsx` file is a thin layer over this; the rules live here, where they can be
//! tested row by row.
//!
//! Columns read on `survey`: `type`, `name`, `label`, `hint`, `required`,
//! `required_message`, `relevant`, `constraint`, `constraint_message`, `calculation`,
//! `default`, `read_only`, `repeat_count`; each text column also as `label::English (en)`
//! or `label::es` per language. Groups and repeats open with `begin group` /
//! `begin repeat` (or `begin_group`...) and close with `end group` / `end repeat`.
//! `choices`: `list_name`, `name`, `label[::language]`. `settings`: `form_id`, `version`,
//! `form_title`, `default_language`. Every error names its sheet, row (as the
//! spreadsheet numbers it) and column. With the `xlsx` feature, [`read_xlsx`] reads the
//! workbook file (calamine).

use std::collections::{BTreeMap, HashMap};

use crate::model::{Choice, Form, Group, Item, Labels, Language, Question, QuestionType, Repeat};
use crate::Value;

/// One sheet: its name and its rows of cell text, the first row being the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sheet {
    /// The sheet's name (`survey`, `choices`, `settings`).
    pub name: String,
    /// The spreadsheet's number of the first row (the header): 1 unless rows above
    /// it are empty.
    pub first_row: usize,
    /// The rows, header first.
    pub rows: Vec<Vec<String>>,
}

/// Where an XLSForm is wrong, and how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{sheet} sheet, row {row}{}: {message}", column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default())]
pub struct XlsFormError {
    /// The sheet.
    pub sheet: String,
    /// The row, as the spreadsheet numbers it (the header is row 1).
    pub row: usize,
    /// The column's heading, where one cell is at fault.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A text column, possibly per language: `label`, `label::es`, `label::Español (es)`.
fn split_heading(heading: &str) -> (String, Option<(String, String)>) {
    let heading = heading.trim();
    match heading.split_once("::") {
        None => (heading.to_lowercase(), None),
        Some((column, language)) => {
            let language = language.trim();
            // `English (en)`: the code in parentheses, the name before it.
            let (name, code) = match (language.rfind('('), language.ends_with(')')) {
                (Some(open), true) => (
                    language[..open].trim().to_string(),
                    language[open + 1..language.len() - 1].trim().to_string(),
                ),
                _ => (language.to_string(), language.to_string()),
            };
            (column.trim().to_lowercase(), Some((code, name)))
        }
    }
}

/// A sheet's header, resolved: plain columns by name, text columns by name and language.
struct Header {
    plain: HashMap<String, usize>,
    texts: HashMap<String, Vec<(usize, String)>>,
    headings: Vec<String>,
}

impl Header {
    fn new(row: &[String], languages: &mut BTreeMap<String, String>) -> Header {
        let mut plain = HashMap::new();
        let mut texts: HashMap<String, Vec<(usize, String)>> = HashMap::new();
        for (i, heading) in row.iter().enumerate() {
            let (column, language) = split_heading(heading);
            if column.is_empty() {
                continue;
            }
            match language {
                Some((code, name)) => {
                    languages.entry(code.clone()).or_insert(name);
                    texts.entry(column).or_default().push((i, code));
                }
                None => {
                    texts
                        .entry(column.clone())
                        .or_default()
                        .push((i, String::new()));
                    plain.insert(column, i);
                }
            }
        }
        Header {
            plain,
            texts,
            headings: row.to_vec(),
        }
    }

    fn cell<'a>(&self, row: &'a [String], column: &str) -> &'a str {
        self.plain
            .get(column)
            .and_then(|i| row.get(*i))
            .map_or("", |c| c.trim())
    }

    fn labels(&self, row: &[String], column: &str) -> Labels {
        let mut labels = Labels::new();
        for (i, code) in self.texts.get(column).map(Vec::as_slice).unwrap_or(&[]) {
            if let Some(text) = row.get(*i).map(|t| t.trim()).filter(|t| !t.is_empty()) {
                labels.0.insert(code.clone(), text.to_string());
            }
        }
        labels
    }

    /// A choice row's further columns (`county`), which `choice_filter`s compare; the
    /// sheet's own columns (list name, name, label, media) are not among them.
    fn choice_columns(&self, row: &[String]) -> BTreeMap<String, String> {
        const OWN: [&str; 7] = [
            "list_name",
            "name",
            "label",
            "image",
            "audio",
            "video",
            "media",
        ];
        self.plain
            .iter()
            .filter(|(column, _)| !OWN.contains(&column.as_str()))
            .filter_map(|(column, i)| {
                let text = row.get(*i)?.trim();
                (!text.is_empty()).then(|| (column.clone(), text.to_string()))
            })
            .collect()
    }

    fn heading(&self, column: &str) -> String {
        self.plain
            .get(column)
            .and_then(|i| self.headings.get(*i))
            .cloned()
            .unwrap_or_else(|| column.to_string())
    }
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

/// An open group or repeat while its rows are read.
enum Open {
    Group(Group, usize),
    Repeat(Repeat, usize),
}

/// Build a form from its sheets. Sheet names are matched without regard to case;
/// `survey` is required, `choices` and `settings` are optional.
pub fn from_sheets(sheets: &[Sheet]) -> Result<Form, Vec<XlsFormError>> {
    let find = |name: &str| {
        sheets
            .iter()
            .find(|s| s.name.trim().eq_ignore_ascii_case(name))
    };
    let mut errors = Vec::new();
    let mut languages = BTreeMap::new();
    let Some(survey) = find("survey") else {
        return Err(vec![XlsFormError {
            sheet: "survey".into(),
            row: 1,
            column: None,
            message: "the workbook has no `survey` sheet".into(),
        }]);
    };

    // Settings first: the form's id, version and default language.
    let mut id = String::new();
    let mut version = 1u32;
    let mut title = Labels::new();
    let mut default_language = None;
    if let Some(settings) = find("settings") {
        if let (Some(head), Some(row)) = (settings.rows.first(), settings.rows.get(1)) {
            let header = Header::new(head, &mut languages);
            id = header.cell(row, "form_id").to_string();
            title = header.labels(row, "form_title");
            let v = header.cell(row, "version");
            if !v.is_empty() {
                match v.parse::<u32>() {
                    Ok(n) => version = n,
                    Err(_) => errors.push(XlsFormError {
                        sheet: settings.name.clone(),
                        row: settings.first_row + 1,
                        column: Some(header.heading("version")),
                        message: format!("`{v}` is not a whole number (versions count up: 1, 2, 3 or 2026112201)"),
                    }),
                }
            }
            let lang = header.cell(row, "default_language");
            if !lang.is_empty() {
                let (_, parsed) = split_heading(&format!("x::{lang}"));
                default_language = parsed.map(|(code, _)| code);
            }
        }
    }
    if id.is_empty() {
        errors.push(XlsFormError {
            sheet: "settings".into(),
            row: 2,
            column: Some("form_id".into()),
            message: "the form needs an id (settings sheet, form_id)".into(),
        });
    }

    // Choices.
    let mut choices: BTreeMap<String, Vec<Choice>> = BTreeMap::new();
    if let Some(sheet) = find("choices") {
        if let Some(head) = sheet.rows.first() {
            let header = Header::new(head, &mut languages);
            for (i, row) in sheet.rows.iter().enumerate().skip(1) {
                let list = header.cell(row, "list_name");
                let name = header.cell(row, "name");
                if list.is_empty() && name.is_empty() {
                    continue;
                }
                let at = |column: &str, message: String| XlsFormError {
                    sheet: sheet.name.clone(),
                    row: sheet.first_row + i,
                    column: Some(header.heading(column)),
                    message,
                };
                if list.is_empty() {
                    errors.push(at("list_name", format!("choice `{name}` has no list_name")));
                    continue;
                }
                if name.is_empty() {
                    errors.push(at("name", format!("a choice of list `{list}` has no name")));
                    continue;
                }
                let entries = choices.entry(list.to_string()).or_default();
                if entries.iter().any(|c| c.name == name) {
                    errors.push(at("name", format!("list `{list}` has `{name}` twice")));
                    continue;
                }
                entries.push(Choice {
                    name: name.to_string(),
                    label: header.labels(row, "label"),
                    columns: header.choice_columns(row),
                });
            }
        }
    }

    // The survey: a stack of open groups and repeats.
    let mut top: Vec<Item> = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let mut rows_of: HashMap<String, usize> = HashMap::new();
    let head = survey.rows.first().cloned().unwrap_or_default();
    let header = Header::new(&head, &mut languages);
    for required in ["type", "name"] {
        if !header.plain.contains_key(required) {
            errors.push(XlsFormError {
                sheet: survey.name.clone(),
                row: survey.first_row,
                column: None,
                message: format!("the header has no `{required}` column"),
            });
        }
    }
    for (i, row) in survey.rows.iter().enumerate().skip(1) {
        let line = survey.first_row + i;
        let kind = header.cell(row, "type");
        let name = header.cell(row, "name");
        if kind.is_empty() && name.is_empty() {
            continue;
        }
        let at = |column: &str, message: String| XlsFormError {
            sheet: survey.name.clone(),
            row: line,
            column: Some(header.heading(column)),
            message,
        };
        let normalized = kind.to_lowercase().replace('_', " ");
        let relevant = optional(header.cell(row, "relevant"));
        let label = header.labels(row, "label");
        match normalized.as_str() {
            "begin group" | "begin repeat" => {
                if name.is_empty() {
                    errors.push(at("name", format!("`{kind}` needs a name")));
                }
                rows_of.insert(name.to_string(), line);
                open.push(if normalized == "begin group" {
                    Open::Group(
                        Group {
                            name: name.to_string(),
                            label,
                            relevant,
                            items: Vec::new(),
                        },
                        line,
                    )
                } else {
                    Open::Repeat(
                        Repeat {
                            name: name.to_string(),
                            label,
                            relevant,
                            items: Vec::new(),
                            repeat_count: optional(header.cell(row, "repeat_count")),
                        },
                        line,
                    )
                });
                continue;
            }
            "end group" | "end repeat" => {
                let closed = match (open.pop(), normalized.as_str()) {
                    (Some(Open::Group(g, _)), "end group") => Item::Group(g),
                    (Some(Open::Repeat(r, _)), "end repeat") => Item::Repeat(r),
                    (other, _) => {
                        errors.push(at(
                            "type",
                            format!("`{kind}` does not close the group or repeat open here"),
                        ));
                        if let Some(o) = other {
                            open.push(o);
                        }
                        continue;
                    }
                };
                push(&mut open, &mut top, closed);
                continue;
            }
            _ => {}
        }
        let qtype = match kind.parse::<QuestionType>() {
            Ok(t) => t,
            Err(message) => {
                errors.push(at("type", message));
                continue;
            }
        };
        if name.is_empty() {
            errors.push(at("name", "a question needs a name".into()));
            continue;
        }
        let mut flag = |column: &str| {
            let text = header.cell(row, column);
            yes(text).unwrap_or_else(|| {
                errors.push(at(column, format!("`{text}` is neither yes nor no")));
                false
            })
        };
        let required = flag("required");
        let read_only = flag("read_only");
        let default = optional(header.cell(row, "default")).map(|text| match qtype {
            QuestionType::Integer => text.parse().map(Value::Int).unwrap_or(Value::Text(text)),
            QuestionType::Decimal => text
                .parse()
                .map(Value::Decimal)
                .unwrap_or(Value::Text(text)),
            _ => Value::Text(text),
        });
        rows_of.insert(name.to_string(), line);
        let question = Question {
            name: name.to_string(),
            qtype,
            label,
            hint: header.labels(row, "hint"),
            required,
            required_message: header.labels(row, "required_message"),
            relevant,
            constraint: optional(header.cell(row, "constraint")),
            constraint_message: header.labels(row, "constraint_message"),
            calculation: optional(header.cell(row, "calculation")),
            default,
            read_only,
            choice_filter: optional(header.cell(row, "choice_filter")),
        };
        push(&mut open, &mut top, Item::Question(question));
    }
    for still in open.into_iter().rev() {
        let (what, name, line) = match &still {
            Open::Group(g, l) => ("group", g.name.clone(), *l),
            Open::Repeat(r, l) => ("repeat", r.name.clone(), *l),
        };
        errors.push(XlsFormError {
            sheet: survey.name.clone(),
            row: line,
            column: Some(header.heading("type")),
            message: format!("{what} `{name}` is never closed (end {what})"),
        });
    }

    let default_language = default_language
        .or_else(|| languages.keys().find(|c| !c.is_empty()).cloned())
        .unwrap_or_else(|| "en".to_string());
    let form = Form {
        id,
        version,
        title,
        languages: languages
            .into_iter()
            .filter(|(code, _)| !code.is_empty())
            .map(|(code, name)| Language { code, name })
            .collect(),
        default_language,
        items: top,
        choices,
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    // The form's own checks (names, lists, expressions), placed on their rows.
    if let Err(found) = form.clone().compile() {
        return Err(found
            .into_iter()
            .map(|e| XlsFormError {
                sheet: if e.column == "choices" {
                    "choices".into()
                } else {
                    survey.name.clone()
                },
                row: rows_of.get(&e.item).copied().unwrap_or(1),
                column: (!e.column.is_empty()).then(|| header.heading(&e.column)),
                message: e.message,
            })
            .collect());
    }
    Ok(form)
}

/// Read an XLSForm `.xlsx` file (bytes) into a form.
#[cfg(feature = "xlsx")]
pub fn read_xlsx(bytes: &[u8]) -> Result<Form, Vec<XlsFormError>> {
    let file_error = |message: String| {
        vec![XlsFormError {
            sheet: String::new(),
            row: 0,
            column: None,
            message,
        }]
    };
    check_unpacked_size(bytes).map_err(file_error)?;
    // The reader is third-party code on outside bytes: a panic in it is a refused file.
    std::panic::catch_unwind(|| read_sheets(bytes))
        .unwrap_or_else(|_| {
            Err(file_error(
                "the workbook is damaged and cannot be read".into(),
            ))
        })
        .and_then(|sheets| from_sheets(&sheets))
}

/// The most a workbook may unpack to: an XLSForm of a long survey unpacks to a few MB;
/// more is a zip bomb, refused before anything is inflated.
#[cfg(feature = "xlsx")]
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// Refuse a workbook whose parts, as its zip directory declares them, unpack to more
/// than [`MAX_UNPACKED_BYTES`].
#[cfg(feature = "xlsx")]
fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not an .xlsx workbook: {e}"))?;
    // Unknown when the parts use data descriptors (Excel's and openpyxl's do not).
    let declared = archive.decompressed_size().unwrap_or(0);
    if declared > u128::from(MAX_UNPACKED_BYTES) {
        return Err(format!(
            "the workbook unpacks to {declared} bytes; at most {MAX_UNPACKED_BYTES}"
        ));
    }
    Ok(())
}

#[cfg(feature = "xlsx")]
fn read_sheets(bytes: &[u8]) -> Result<Vec<Sheet>, Vec<XlsFormError>> {
    use calamine::{Reader, Xlsx};
    let file_error = |message: String| {
        vec![XlsFormError {
            sheet: String::new(),
            row: 0,
            column: None,
            message,
        }]
    };
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| file_error(format!("not an .xlsx workbook: {e}")))?;
    let mut sheets = Vec::new();
    for name in book.sheet_names() {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| file_error(format!("sheet `{name}` cannot be read: {e}")))?;
        let first_row = range.start().map_or(1, |(row, _)| row as usize + 1);
        // Columns left of the used range are empty: keep positions as the sheet has them.
        let skip = range.start().map_or(0, |(_, col)| col as usize);
        let rows = range
            .rows()
            .map(|cells| {
                std::iter::repeat_n(String::new(), skip)
                    .chain(cells.iter().map(|c| c.to_string()))
                    .collect()
            })
            .collect();
        sheets.push(Sheet {
            name,
            first_row,
            rows,
        });
    }
    Ok(sheets)
}

fn push(open: &mut [Open], top: &mut Vec<Item>, item: Item) {
    match open.last_mut() {
        Some(Open::Group(g, _)) => g.items.push(item),
        Some(Open::Repeat(r, _)) => r.items.push(item),
        None => top.push(item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "xlsx")]
    #[test]
    fn a_zip_bomb_is_refused_before_it_is_unpacked() {
        use std::io::Write;
        let mut bytes = Vec::new();
        {
            let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
            let zeros = vec![b'0'; 1024 * 1024];
            for _ in 0..80 {
                zip.write_all(&zeros).unwrap();
            }
            zip.finish().unwrap();
        }
        assert!(bytes.len() < 1024 * 1024, "{} bytes", bytes.len());
        let errors = read_xlsx(&bytes).unwrap_err();
        assert!(
            errors[0].message.contains("unpacks to 83886080 bytes"),
            "{errors:?}"
        );
        let junk = read_xlsx(b"PK\x03\x04 not really a zip").unwrap_err();
        assert!(
            junk[0].message.contains("not an .xlsx workbook"),
            "{junk:?}"
        );
    }

    fn sheet(name: &str, rows: &[&[&str]]) -> Sheet {
        Sheet {
            name: name.into(),
            first_row: 1,
            rows: rows
                .iter()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect(),
        }
    }

    fn settings() -> Sheet {
        sheet(
            "settings",
            &[
                &["form_id", "version", "form_title", "default_language"],
                &["check", "3", "Check", "English (en)"],
            ],
        )
    }

    #[test]
    fn a_bilingual_form_with_a_repeat_reads_whole() {
        let survey = sheet(
            "survey",
            &[
                &[
                    "type",
                    "name",
                    "label::English (en)",
                    "label::Español (es)",
                    "required",
                    "relevant",
                    "constraint",
                    "constraint_message::English (en)",
                    "default",
                    "repeat_count",
                ],
                &[
                    "select_one yes_no",
                    "consent",
                    "Consent?",
                    "¿Consiente?",
                    "yes",
                    "",
                    "",
                    "",
                    "",
                    "",
                ],
                &[
                    "begin_repeat",
                    "child",
                    "Child",
                    "Niño",
                    "",
                    "${consent} = 'yes'",
                    "",
                    "",
                    "",
                    "2",
                ],
                &[
                    "integer", "age", "Age", "Edad", "TRUE()", "", ". < 18", "Under 18", "5", "",
                ],
                &["end repeat", "", "", "", "", "", "", "", "", ""],
                &["", "", "", "", "", "", "", "", "", ""],
            ],
        );
        let choices = sheet(
            "choices",
            &[
                &[
                    "list_name",
                    "name",
                    "label::English (en)",
                    "label::Español (es)",
                ],
                &["yes_no", "yes", "Yes", "Sí"],
                &["yes_no", "no", "No", "No"],
            ],
        );
        let form = from_sheets(&[survey, choices, settings()]).unwrap();
        assert_eq!((form.id.as_str(), form.version), ("check", 3));
        assert_eq!(form.default_language, "en");
        let codes: Vec<&str> = form.languages.iter().map(|l| l.code.as_str()).collect();
        assert_eq!(codes, ["en", "es"]);
        let Item::Question(consent) = &form.items[0] else {
            panic!()
        };
        assert!(consent.required);
        assert_eq!(consent.label.exact("es"), Some("¿Consiente?"));
        let Item::Repeat(child) = &form.items[1] else {
            panic!()
        };
        assert_eq!(child.repeat_count.as_deref(), Some("2"));
        assert_eq!(child.relevant.as_deref(), Some("${consent} = 'yes'"));
        let Item::Question(age) = &child.items[0] else {
            panic!()
        };
        assert_eq!(age.default, Some(Value::Int(5)));
        assert_eq!(age.constraint_message.exact("en"), Some("Under 18"));
        assert_eq!(form.choices["yes_no"][0].label.exact("es"), Some("Sí"));
        form.compile().unwrap();
    }

    #[test]
    fn errors_name_the_sheet_row_and_column() {
        let survey = sheet(
            "survey",
            &[
                &["type", "name", "label", "required"],
                &["select_one nope", "a", "A", "maybe"],
                &["integr", "b", "B", ""],
                &["begin group", "g", "G", ""],
            ],
        );
        let errors = from_sheets(&[survey, settings()]).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.starts_with("survey sheet, row 2, column required: `maybe`")),
            "{text:?}"
        );
        assert!(
            text.iter().any(|t| t
                .starts_with("survey sheet, row 3, column type: unknown question type `integr`")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("row 4") && t.contains("never closed")),
            "{text:?}"
        );

        // The form's own checks come back on their rows too: an unknown list.
        let survey = sheet(
            "survey",
            &[
                &["type", "name", "label"],
                &["text", "x", "X"],
                &["select_one nope", "a", "A"],
            ],
        );
        let errors = from_sheets(&[survey, settings()]).unwrap_err();
        assert_eq!(errors[0].row, 3, "{errors:?}");

        let missing = from_sheets(&[settings()]).unwrap_err();
        assert!(missing[0].message.contains("no `survey` sheet"));
        let no_id =
            from_sheets(&[sheet("survey", &[&["type", "name"], &["text", "x"]])]).unwrap_err();
        assert!(no_id[0].message.contains("form_id"), "{no_id:?}");
    }
}
