//! The `settings` sheet, with the reference converter's defaults: the form id from
//! `form_id` or `id_string`, else the uploaded file's name; the title from `form_title`
//! or `title`; the version as a whole number (an Excel date cell, read as the date the
//! author sees, becomes `YYYYMMDDHH`, ODK's own convention for versions).

use std::collections::BTreeMap;

use super::headers::{language, Header, SheetKind};
use super::{Sheet, XlsFormError, XlsFormWarning};
use crate::model::{is_form_id, Labels, MAX_FORM_ID};

/// What the settings sheet (or its absence) decides.
pub(super) struct Settings {
    pub id: String,
    pub version: u32,
    pub title: Labels,
    pub default_language: Option<String>,
    pub allow_choice_duplicates: bool,
}

/// Settings the model keeps; every other one with a value is a warning.
const KEPT: [&str; 6] = [
    "form_id",
    "id_string",
    "form_title",
    "version",
    "default_language",
    "allow_choice_duplicates",
];

pub(super) fn read(
    sheet: Option<&Sheet>,
    file_name: &str,
    languages: &mut BTreeMap<String, String>,
    errors: &mut Vec<XlsFormError>,
    warnings: &mut Vec<XlsFormWarning>,
) -> Settings {
    let mut settings = Settings {
        id: String::new(),
        version: 1,
        title: Labels::new(),
        default_language: None,
        allow_choice_duplicates: false,
    };
    if let Some(sheet) = sheet.filter(|s| s.rows.len() > 1) {
        let header = Header::new(sheet, SheetKind::Settings, languages, errors);
        let row = &sheet.rows[1];
        let at = |column: &str, message: String| XlsFormWarning {
            sheet: sheet.name.clone(),
            row: sheet.first_row + 1,
            column: Some(header.heading(column)),
            message,
        };
        settings.id = header.cell(row, "form_id").to_string();
        let id_string = header.cell(row, "id_string");
        if settings.id.is_empty() {
            settings.id = id_string.to_string();
        } else if !id_string.is_empty() && id_string != settings.id {
            warnings.push(at(
                "id_string",
                format!(
                    "both form_id and id_string are given; the form id is `{}`, as the \
                     reference converter takes it",
                    settings.id
                ),
            ));
        }
        settings.title = header.labels(row, "form_title");
        let v = header.cell(row, "version");
        if !v.is_empty() {
            match version(v) {
                Ok((n, None)) => settings.version = n,
                Ok((n, Some(note))) => {
                    settings.version = n;
                    warnings.push(at("version", note));
                }
                Err(message) => errors.push(XlsFormError {
                    sheet: sheet.name.clone(),
                    row: sheet.first_row + 1,
                    column: Some(header.heading("version")),
                    message,
                }),
            }
        }
        let lang = header.cell(row, "default_language");
        if !lang.is_empty() {
            settings.default_language = Some(language(lang).0);
        }
        let dups = header.cell(row, "allow_choice_duplicates");
        settings.allow_choice_duplicates =
            matches!(dups.to_lowercase().as_str(), "yes" | "true" | "true()");
        header.unread(
            sheet,
            &|name| KEPT.contains(&name),
            &|c| {
                format!(
                    "the setting `{}` is read, not used by this server or its devices",
                    c.heading
                )
            },
            warnings,
        );
    }
    if !settings.id.is_empty() && !is_form_id(&settings.id) {
        // The reference takes any text as the id; ours are names (they appear in
        // URLs, file names and exports), so `Spec test` becomes `Spec_test`.
        let given = std::mem::take(&mut settings.id);
        match id_from_text(&given) {
            Some(id) => {
                warnings.push(XlsFormWarning {
                    sheet: "settings".into(),
                    row: 2,
                    column: Some("form_id".into()),
                    message: format!(
                        "the form id `{given}` is read as `{id}`: ids are letters, digits, \
                         `_`, `-` and `.`"
                    ),
                });
                settings.id = id;
            }
            None => errors.push(XlsFormError {
                sheet: "settings".into(),
                row: 2,
                column: Some("form_id".into()),
                message: format!(
                    "the form id `{given}` has no letter or digit: give the form an id of \
                     letters, digits, `_`, `-` and `.`"
                ),
            }),
        }
    } else if settings.id.is_empty() {
        match id_from_file_name(file_name) {
            Some(id) => {
                warnings.push(XlsFormWarning {
                    sheet: "settings".into(),
                    row: 2,
                    column: Some("form_id".into()),
                    message: format!(
                        "no form_id or id_string: the form id is `{id}`, from the file's \
                         name, as the reference converter takes it"
                    ),
                });
                settings.id = id;
            }
            None => errors.push(XlsFormError {
                sheet: "settings".into(),
                row: 2,
                column: Some("form_id".into()),
                message: "the form needs an id (settings sheet, form_id or id_string)".into(),
            }),
        }
    }
    settings
}

/// A form id from a file's name: `Household Survey (v2).xlsx` → `Household_Survey_v2`.
pub(super) fn id_from_file_name(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let stem = match base.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem,
        _ => base,
    };
    id_from_text(stem)
}

/// A form id from any text: runs of other characters become one `_`, the ends trimmed
/// to a letter or digit, at most [`MAX_FORM_ID`] characters.
fn id_from_text(stem: &str) -> Option<String> {
    let mut id = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') {
            id.push(c);
        } else if !id.ends_with('_') {
            id.push('_');
        }
    }
    let id: String = id
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(MAX_FORM_ID)
        .collect();
    is_form_id(&id).then_some(id)
}

/// A version cell as a whole number, and a note when it was not one already.
fn version(text: &str) -> Result<(u32, Option<String>), String> {
    if let Ok(n) = text.parse::<u32>() {
        return Ok((n, None));
    }
    // An Excel date cell reads `2022-04-11` or `2022-04-11 16:26:47`.
    let date = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        });
    if let Some(at) = date {
        let n = at.format("%Y%m%d%H").to_string();
        if let Ok(n) = n.parse::<u32>() {
            return Ok((
                n,
                Some(format!(
                    "the version `{text}` is a date: read as {n} (year, month, day, hour)"
                )),
            ));
        }
    }
    // `1.2`, `v3`, `2024-1`: its digits, when they make a whole number.
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    match digits.parse::<u32>() {
        Ok(n) if n > 0 => Ok((
            n,
            Some(format!(
                "the version `{text}` is not a whole number: read as {n}; later versions \
                 must be higher"
            )),
        )),
        _ => Err(format!(
            "`{text}` is not a whole number (versions count up: 1, 2, 3 or 2026112201)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_file_names() {
        assert_eq!(version("3"), Ok((3, None)));
        assert_eq!(version("2022-04-11 16:26:47").unwrap().0, 2022041116);
        assert_eq!(version("2022-04-11").unwrap().0, 2022041100);
        assert_eq!(version("1.2").unwrap().0, 12);
        assert!(version("draft").is_err());
        assert_eq!(
            id_from_file_name("C:\\forms\\Household Survey (v2).xlsx").as_deref(),
            Some("Household_Survey_v2")
        );
        assert_eq!(id_from_file_name(""), None);
        assert_eq!(id_from_file_name("   .xls"), None);
    }
}
