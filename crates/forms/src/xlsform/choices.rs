//! The `choices` sheet (and `external_choices`, read the same way): lists of choices,
//! each with its name, label per language and further columns for choice filters.

use std::collections::BTreeMap;

use super::headers::{Header, SheetKind};
use super::{Sheet, XlsFormError, XlsFormWarning};
use crate::model::Choice;

/// The lists of one choices sheet, added to `choices`.
pub(super) fn read(
    sheet: &Sheet,
    allow_duplicates: bool,
    languages: &mut BTreeMap<String, String>,
    choices: &mut BTreeMap<String, Vec<Choice>>,
    errors: &mut Vec<XlsFormError>,
    warnings: &mut Vec<XlsFormWarning>,
) {
    if sheet.rows.is_empty() {
        return;
    }
    let header = Header::new(sheet, SheetKind::Choices, languages, errors);
    for required in ["list_name", "name"] {
        if !header.has(required) && sheet.rows.len() > 1 {
            errors.push(XlsFormError {
                sheet: sheet.name.clone(),
                row: sheet.first_row,
                column: None,
                message: format!("the header has no `{required}` column"),
            });
            return;
        }
    }
    // Media columns are read, not kept; further columns are kept for choice filters.
    header.unread(
        sheet,
        &|name| !name.starts_with("media:"),
        &|c| {
            format!(
                "`{}` (choice media) is read, not used on devices",
                c.heading
            )
        },
        warnings,
    );
    let own =
        |name: &str| matches!(name, "list_name" | "name" | "label") || name.starts_with("media:");
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
        // With allow_choice_duplicates the form keeps both, as the reference does.
        if !allow_duplicates && entries.iter().any(|c| c.name == name) {
            errors.push(at("name", format!("list `{list}` has `{name}` twice")));
            continue;
        }
        let columns = header
            .columns
            .iter()
            .filter(|c| !own(&c.name) && c.language.is_none())
            .filter_map(|c| {
                let text = row.get(c.index)?.trim();
                (!text.is_empty()).then(|| (c.name.clone(), text.to_string()))
            })
            .collect();
        entries.push(Choice {
            name: name.to_string(),
            label: header.labels(row, "label"),
            columns,
        });
    }
}
