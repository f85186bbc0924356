//! A sheet's header row, read as the reference converter (pyxform) reads it: headings
//! compared without regard to case or spacing (`List Name` is `list_name`), aliases
//! resolved (`relevance`, `bind::relevant`, `jr:constraintMsg`, `body::appearance`), and
//! a language split off after `::` (or after a single `:` when no heading of the sheet
//! uses `::`, as older workbooks do: `label:English`).

use std::collections::{BTreeMap, HashMap};

use super::{Sheet, XlsFormError, XlsFormWarning};
use crate::model::Labels;

/// Which sheet a header belongs to: each has its own aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SheetKind {
    Survey,
    Choices,
    Settings,
}

/// One column of a header: where it is, what it was called, what it means.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub index: usize,
    /// The heading as written in the workbook.
    pub heading: String,
    /// The canonical column name (`relevant`, `label`, `media:image`), or the heading
    /// itself (trimmed) when the column is not one XLSForm defines.
    pub name: String,
    /// The language code, for a column of translated text.
    pub language: Option<String>,
}

/// A sheet's header, resolved.
pub(super) struct Header {
    pub columns: Vec<Column>,
    by_name: HashMap<String, Vec<usize>>,
}

/// `List Name` → `list_name`: lower case, runs of spaces as one underscore.
pub(super) fn snake(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase()
}

/// The canonical name of a survey column, or `None` when XLSForm does not define it.
fn survey_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "type" | "command" => "type",
        "name" | "tag" | "value" => "name",
        "label" | "caption" => "label",
        "hint" => "hint",
        "guidance_hint" => "guidance_hint",
        "required" => "required",
        "required_message" | "requiredmsg" | "jr:requiredmsg" => "required_message",
        "relevant" | "relevance" => "relevant",
        "constraint" => "constraint",
        "constraint_message" | "constraining_message" | "jr:constraintmsg" => "constraint_message",
        "calculation" | "calculate" => "calculation",
        "default" => "default",
        "read_only" | "readonly" => "read_only",
        "repeat_count" | "count" | "jr:count" => "repeat_count",
        "choice_filter" => "choice_filter",
        "appearance" => "appearance",
        "parameters" => "parameters",
        "trigger" => "trigger",
        "autoplay" => "autoplay",
        "rows" => "rows",
        "no_app_error_string" | "noapperrorstring" | "jr:noapperrorstring" => "no_app_error_string",
        "image" => "media:image",
        "big-image" | "big_image" => "media:big-image",
        "audio" => "media:audio",
        "video" => "media:video",
        "save_to" => "save_to",
        "compact_tag" => "compact_tag",
        "note" => "note",
        _ => return None,
    })
}

fn choices_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "list_name" => "list_name",
        "name" | "value" => "name",
        "label" | "caption" => "label",
        "image" => "media:image",
        "big-image" | "big_image" => "media:big-image",
        "audio" => "media:audio",
        "video" => "media:video",
        _ => return None,
    })
}

fn settings_alias(name: &str) -> Option<&'static str> {
    Some(match name {
        "form_id" | "set_form_id" => "form_id",
        "id_string" => "id_string",
        "form_title" | "set_form_title" | "title" => "form_title",
        "version" => "version",
        "default_language" => "default_language",
        "allow_choice_duplicates" => "allow_choice_duplicates",
        "prefix" | "compact_prefix" => "compact_prefix",
        _ => return None,
    })
}

/// A heading's parts: `bind::jr:constraintMsg::English (en)` →
/// `[bind, jr:constraintMsg, English (en)]`.
fn tokens(heading: &str, double_colon: bool) -> Vec<String> {
    if double_colon {
        return heading.split("::").map(|t| t.trim().to_string()).collect();
    }
    // Single colons, where `jr:count` is one token, not two.
    let mut out: Vec<String> = Vec::new();
    let mut jr = false;
    for t in heading.split(':').map(str::trim) {
        if jr {
            if let Some(last) = out.last_mut() {
                last.push(':');
                last.push_str(t);
            }
            jr = false;
        } else {
            jr = t.eq_ignore_ascii_case("jr");
            out.push(t.to_string());
        }
    }
    out
}

/// `English (en)` → (`en`, `English`); `English` → (`English`, `English`).
pub(super) fn language(text: &str) -> (String, String) {
    let text = text.trim();
    match (text.rfind('('), text.ends_with(')')) {
        (Some(open), true) => (
            text[open + 1..text.len() - 1].trim().to_string(),
            text[..open].trim().to_string(),
        ),
        _ => (text.to_string(), text.to_string()),
    }
}

/// A heading's column name and language.
fn resolve(heading: &str, kind: SheetKind, double_colon: bool) -> (String, Option<String>) {
    let alias = |n: &str| match kind {
        SheetKind::Survey => survey_alias(n),
        SheetKind::Choices => choices_alias(n),
        SheetKind::Settings => settings_alias(n),
    };
    let parts = tokens(heading, double_colon);
    let first = snake(&parts[0]);
    // `bind::relevant`, `control::appearance`, `body::accuracyThreshold`, `media::image`:
    // the group the reference files the column under, then the column.
    let (column, rest) = match first.as_str() {
        "bind" | "control" | "body" | "media" | "instance" if parts.len() >= 2 => {
            let second = snake(&parts[1]);
            let name = match (first.as_str(), alias(&second)) {
                ("media", _) => format!("media:{second}"),
                (_, Some(canonical)) => canonical.to_string(),
                (group, None) => format!("{group}::{}", parts[1]),
            };
            (name, &parts[2..])
        }
        _ => match alias(&first) {
            Some(canonical) => (canonical.to_string(), &parts[1..]),
            // Not a column XLSForm defines: kept as written (a choice filter names it).
            None => return (heading.trim().to_string(), None),
        },
    };
    let lang = (!rest.is_empty()).then(|| language(&rest.join(":")).0);
    (column, lang.filter(|l| !l.is_empty()))
}

impl Header {
    /// Read the header row of `sheet`. Languages met are added to `languages` (code →
    /// name); two headings meaning the same column are an error.
    pub fn new(
        sheet: &Sheet,
        kind: SheetKind,
        languages: &mut BTreeMap<String, String>,
        errors: &mut Vec<XlsFormError>,
    ) -> Header {
        let row = sheet.rows.first().map(Vec::as_slice).unwrap_or(&[]);
        let double_colon = row.iter().any(|h| h.contains("::"));
        let mut columns: Vec<Column> = Vec::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, heading) in row.iter().enumerate() {
            // Runs of spaces as one, as the reference does.
            let heading = heading.split_whitespace().collect::<Vec<_>>().join(" ");
            if heading.is_empty() {
                continue;
            }
            let (name, lang) = resolve(&heading, kind, double_colon);
            if let Some(code) = &lang {
                let parts = tokens(&heading, double_colon);
                let (_, lang_name) = language(parts.last().map_or("", String::as_str));
                languages.entry(code.clone()).or_insert(lang_name);
            }
            let same = by_name
                .get(&name)
                .into_iter()
                .flatten()
                .find(|&&i| columns[i].language == lang);
            if let Some(&other) = same {
                errors.push(XlsFormError {
                    sheet: sheet.name.clone(),
                    row: sheet.first_row,
                    column: Some(heading.clone()),
                    message: format!(
                        "duplicate column: `{}` and `{heading}` are the same column; keep one",
                        columns[other].heading
                    ),
                });
                continue;
            }
            by_name.entry(name.clone()).or_default().push(columns.len());
            columns.push(Column {
                index,
                heading,
                name,
                language: lang,
            });
        }
        Header { columns, by_name }
    }

    /// Whether the sheet has the column (in any language).
    pub fn has(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// The text of a column with no language (or, for a translated column written
    /// only per language, its first language), trimmed.
    pub fn cell<'a>(&self, row: &'a [String], name: &str) -> &'a str {
        let Some(found) = self.by_name.get(name) else {
            return "";
        };
        let pick = found
            .iter()
            .find(|&&i| self.columns[i].language.is_none())
            .or(found.first());
        pick.and_then(|&i| row.get(self.columns[i].index))
            .map_or("", |c| c.trim())
    }

    /// A translated column's texts by language code (`""` for the column with none).
    pub fn labels(&self, row: &[String], name: &str) -> Labels {
        let mut labels = Labels::new();
        for &i in self.by_name.get(name).into_iter().flatten() {
            let column = &self.columns[i];
            if let Some(text) = row
                .get(column.index)
                .map(|t| t.trim())
                .filter(|t| !t.is_empty())
            {
                let code = column.language.clone().unwrap_or_default();
                labels.0.insert(code, text.to_string());
            }
        }
        labels
    }

    /// The heading as the workbook writes it, for errors.
    pub fn heading(&self, name: &str) -> String {
        self.by_name
            .get(name)
            .and_then(|found| found.first())
            .map_or_else(|| name.to_string(), |&i| self.columns[i].heading.clone())
    }

    /// A warning for each column not in `kept` that has a value on some row: at the
    /// first such row, saying `why`.
    pub fn unread(
        &self,
        sheet: &Sheet,
        kept: &dyn Fn(&str) -> bool,
        why: &dyn Fn(&Column) -> String,
        warnings: &mut Vec<XlsFormWarning>,
    ) {
        for column in self.columns.iter().filter(|c| !kept(&c.name)) {
            let first = sheet
                .rows
                .iter()
                .enumerate()
                .skip(1)
                .find(|(_, row)| row.get(column.index).is_some_and(|t| !t.trim().is_empty()));
            if let Some((i, _)) = first {
                warnings.push(XlsFormWarning {
                    sheet: sheet.name.clone(),
                    row: sheet.first_row + i,
                    column: Some(column.heading.clone()),
                    message: why(column),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(heading: &str, kind: SheetKind, double: bool) -> (String, Option<String>) {
        resolve(heading, kind, double)
    }

    #[test]
    fn aliases_resolve_as_the_reference_does() {
        let s = SheetKind::Survey;
        assert_eq!(resolved("bind::relevant", s, true).0, "relevant");
        assert_eq!(resolved("bind:constraint", s, false).0, "constraint");
        assert_eq!(
            resolved("jr:constraintMsg", s, false).0,
            "constraint_message"
        );
        assert_eq!(
            resolved("bind:jr:constraintMsg", s, false).0,
            "constraint_message"
        );
        assert_eq!(resolved("body::appearance", s, true).0, "appearance");
        assert_eq!(resolved("media::image", s, true).0, "media:image");
        assert_eq!(resolved("Relevance", s, false).0, "relevant");
        assert_eq!(
            resolved("label:English", s, false),
            ("label".into(), Some("English".into()))
        );
        assert_eq!(
            resolved("Label::Español (es)", s, true),
            ("label".into(), Some("es".into()))
        );
        assert_eq!(
            resolved("List Name", SheetKind::Choices, false).0,
            "list_name"
        );
        assert_eq!(resolved("County", SheetKind::Choices, false).0, "County");
        assert_eq!(
            resolved("id_string", SheetKind::Settings, false).0,
            "id_string"
        );
    }
}
