//! XLSForm, read as the spec (xlsform.org) and the reference converter (pyxform)
//! read it: the `survey`, `choices` and `settings` sheets as rows of cell text (the
//! first row names the columns), turned into a [`Form`]. Reading the workbook file
//! (`.xlsx`, `.xlsm`, `.xls`) is a thin layer over this ([`read_workbook`], with the
//! `xlsx` feature); the rules live here, where they can be tested row by row.
//!
//! - [`headers`]: column headings without regard to case, every alias the reference
//!   accepts (`list name`, `label:English`, `bind::relevant`, `jr:constraintMsg`,
//!   `body::appearance`, `media::image`); two headings for one column are an error.
//! - [`settings`]: `form_id` or `id_string`, else the uploaded file's name; `title`;
//!   `version` (a date becomes `YYYYMMDDHH`); `default_language`;
//!   `allow_choice_duplicates`.
//! - [`types`]: every spelling of every type, and the one mapping to the model.
//! - [`survey`], [`choices`]: the rows; `or_other` and `begin loop over` expanded.
//!
//! Nothing is dropped in silence: every column, setting, sheet or type that is read but
//! not kept is a [`XlsFormWarning`] with its sheet, row and column. Errors come all at
//! once, each with its sheet, row (as the spreadsheet numbers it) and column.

mod choices;
mod headers;
mod missing_files;
mod settings;
mod survey;
mod types;
#[cfg(feature = "xlsx")]
mod workbook;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::model::{DataFile, Form, Language};

#[cfg(feature = "xlsx")]
pub use workbook::{read_workbook, read_xlsx, MAX_UNPACKED_BYTES, MAX_XLS_BYTES};

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

/// Something read but not kept (a column, setting, sheet or type devices do not use
/// yet), or read differently from how it is written: the form publishes, and the
/// author is told. Displayed like an error: sheet, row, column, message.
pub type XlsFormWarning = XlsFormError;

/// A workbook read: its form and what was read but not kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The form.
    pub form: Form,
    /// Warnings, in sheet and row order.
    pub warnings: Vec<XlsFormWarning>,
    /// The names of the attached files the form uses (`fruits.csv`): the ones in
    /// `form.data_files`, to store beside the workbook. Files supplied but not used
    /// are left out, with a warning.
    pub files_used: Vec<String>,
}

/// Sheets the reference reads; any other sheet of a workbook with several is a warning.
const KNOWN_SHEETS: [&str; 6] = [
    "survey",
    "choices",
    "settings",
    "external_choices",
    "entities",
    "osm",
];

/// Build a form from its sheets (see [`read_sheets`]), without a file name and
/// dropping the warnings: for forms known to need neither (the seed instruments).
pub fn from_sheets(sheets: &[Sheet]) -> Result<Form, Vec<XlsFormError>> {
    read_sheets(sheets, "", &[]).map(|r| r.form)
}

/// Build a form from its sheets. Sheet names are matched without regard to case;
/// `survey` is required (a workbook of one sheet, whatever its name, is its survey),
/// `choices` and `settings` are optional. `file_name` is the uploaded file's name: the
/// form id when the settings give none, as the reference converter does.
///
/// `files` are the CSV files uploaded beside the workbook: the choices of
/// `select_one_from_file fruits.csv`, the tables of `pulldata('fruits', ...)` and of
/// `instance('fruits')` lookups. A file the form names but `files` lacks is a warning
/// on its row and column ("needs the file `fruits.csv`: attach it beside the
/// workbook"), as the reference converter accepts such a workbook: the form records it
/// in [`Form::missing_files`] and reads it as empty until a version with it is
/// published. A file given but not used is a warning. The files used go into the
/// form's `data_files` (devices get them with the form) and [`Reading::files_used`].
pub fn read_sheets(
    sheets: &[Sheet],
    file_name: &str,
    files: &[DataFile],
) -> Result<Reading, Vec<XlsFormError>> {
    let find = |name: &str| {
        sheets
            .iter()
            .find(|s| s.name.trim().eq_ignore_ascii_case(name))
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut languages = BTreeMap::new();
    let survey = match (find("survey"), sheets) {
        (Some(s), _) => s,
        // The reference reads a lone sheet as the survey, whatever its name.
        (None, [only]) if !KNOWN_SHEETS.contains(&only.name.trim().to_lowercase().as_str()) => {
            warnings.push(XlsFormWarning {
                sheet: only.name.clone(),
                row: 1,
                column: None,
                message: format!(
                    "the workbook's only sheet, `{}`, is read as the survey",
                    only.name
                ),
            });
            only
        }
        _ => {
            return Err(vec![XlsFormError {
                sheet: "survey".into(),
                row: 1,
                column: None,
                message: "the workbook has no `survey` sheet".into(),
            }])
        }
    };
    if sheets.len() > 1 {
        for sheet in sheets {
            let name = sheet.name.trim().to_lowercase();
            let used = ["survey", "choices", "settings", "external_choices"];
            if !used.contains(&name.as_str()) && sheet.rows.iter().any(|r| !r.is_empty()) {
                warnings.push(XlsFormWarning {
                    sheet: sheet.name.clone(),
                    row: 1,
                    column: None,
                    message: format!("the sheet `{}` is not read", sheet.name),
                });
            }
        }
    }

    let settings = settings::read(
        find("settings"),
        file_name,
        &mut languages,
        &mut errors,
        &mut warnings,
    );
    let mut choices = BTreeMap::new();
    if let Some(sheet) = find("choices") {
        choices::read(
            sheet,
            settings.allow_choice_duplicates,
            &mut languages,
            &mut choices,
            &mut errors,
            &mut warnings,
        );
    }
    // `external_choices` feeds `select_one_external` (a CSV beside the form on ODK);
    // devices offer its lists like the choices sheet's. A list on both sheets (the
    // reference keeps them apart) offers both sheets' choices, warned.
    if let Some(sheet) = find("external_choices") {
        let mut external = BTreeMap::new();
        choices::read(
            sheet,
            settings.allow_choice_duplicates,
            &mut languages,
            &mut external,
            &mut errors,
            &mut warnings,
        );
        for (list, items) in external {
            match choices.get_mut(&list) {
                Some(existing) => {
                    warnings.push(XlsFormWarning {
                        sheet: sheet.name.clone(),
                        row: 1,
                        column: Some("list_name".into()),
                        message: format!(
                            "the list `{list}` is on the choices sheet too: its questions \
                             offer both sheets' choices (a name on both, the choices sheet's)"
                        ),
                    });
                    for item in items {
                        if !existing.iter().any(|c| c.name == item.name) {
                            existing.push(item);
                        }
                    }
                }
                None => {
                    choices.insert(list, items);
                }
            }
        }
    }
    let survey_read = survey::read(
        survey,
        &mut choices,
        &mut languages,
        &mut errors,
        &mut warnings,
    );

    // `default_language` may name a language as its columns do (`English` for
    // `label::English (en)`): the reference matches either.
    let default_language = settings
        .default_language
        .map(|wanted| {
            if languages.contains_key(&wanted) {
                return wanted;
            }
            languages
                .iter()
                .find(|(code, name)| !code.is_empty() && name.eq_ignore_ascii_case(&wanted))
                .map(|(code, _)| code.clone())
                .unwrap_or(wanted)
        })
        .or_else(|| languages.keys().find(|c| !c.is_empty()).cloned())
        .unwrap_or_else(|| "en".to_string());
    let form = Form {
        id: settings.id,
        version: settings.version,
        title: settings.title,
        languages: languages
            .into_iter()
            .filter(|(code, _)| !code.is_empty())
            .map(|(code, name)| Language { code, name })
            .collect(),
        default_language,
        items: survey_read.items,
        choices,
        allow_choice_duplicates: settings.allow_choice_duplicates,
        data_files: files.to_vec(),
        missing_files: Vec::new(),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut form = form;
    missing_files::record(
        &mut form,
        files,
        &survey_read.rows_of,
        |column| survey_read.header.heading(column),
        &survey.name,
        &mut warnings,
    );
    // The form's own checks (names, lists, expressions, files), placed on their rows.
    let files_used = match form.clone().compile() {
        Ok(compiled) => compiled.files_used().to_vec(),
        Err(found) => {
            let header = &survey_read.header;
            return Err(found
                .into_iter()
                .map(|e| match e.column.as_str() {
                    "data_files" => XlsFormError {
                        sheet: e.item,
                        row: 1,
                        column: None,
                        message: e.message,
                    },
                    _ => XlsFormError {
                        sheet: if e.column == "choices" {
                            "choices".into()
                        } else {
                            survey.name.clone()
                        },
                        row: survey_read.rows_of.get(&e.item).copied().unwrap_or(1),
                        column: (!e.column.is_empty()).then(|| header.heading(&e.column)),
                        message: e.message,
                    },
                })
                .collect());
        }
    };
    for file in &form.data_files {
        if !files_used.contains(&file.name) {
            warnings.push(XlsFormWarning {
                sheet: survey.name.clone(),
                row: survey.first_row,
                column: None,
                message: format!(
                    "the attached file `{}` is not used by the form (no select_one_from_file, \
                     pulldata() or instance() names it): it is not kept",
                    file.name
                ),
            });
        }
    }
    form.data_files.retain(|f| files_used.contains(&f.name));
    Ok(Reading {
        form,
        warnings,
        files_used,
    })
}
