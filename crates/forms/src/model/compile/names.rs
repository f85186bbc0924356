//! The checks of a form's names and lists that come before its items: the form's id and
//! default language, its choice lists, its attached files' names; and what a name of an
//! item or a form may be.

use std::collections::BTreeSet;

use super::FormErrorKind;
use crate::model::data_file::is_data_file_name;
use crate::model::{Form, Item, QuestionType};

pub(super) fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The longest form id.
pub const MAX_FORM_ID: usize = 64;

/// Whether `id` may name a form: 1 to [`MAX_FORM_ID`] ASCII letters, digits, `_`, `-`
/// and `.`, starting with a letter or digit. A form id travels in file names, URLs,
/// export headers and every device's store, so nothing that could be a path, a quote
/// or a line break gets in.
pub fn is_form_id(id: &str) -> bool {
    id.len() <= MAX_FORM_ID
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

impl Form {
    /// Report through `err` what is wrong with the form's id, default language, choice
    /// lists and attached files' names.
    pub(super) fn check_names_and_lists(
        &self,
        err: &mut impl FnMut(&str, &str, FormErrorKind, String),
    ) {
        if self.id.trim().is_empty() {
            err(
                "",
                "id",
                FormErrorKind::InvalidName,
                "the form has no id".into(),
            );
        } else if !is_form_id(&self.id) {
            err(
            "",
            "id",
            FormErrorKind::InvalidName,
            format!(
                "the form id `{}` is not a name: use 1 to {MAX_FORM_ID} letters, digits, `_`, `-` or `.`, starting with a letter or digit",
                self.id.chars().take(80).collect::<String>().escape_debug()
            ),
        );
        }
        if !self.languages.is_empty()
            && !self
                .languages
                .iter()
                .any(|l| l.code == self.default_language)
        {
            err(
                "",
                "default_language",
                FormErrorKind::UnknownLanguage,
                format!(
                    "`{}` is not one of the form's languages",
                    self.default_language
                ),
            );
        }
        // Answers to these are space-separated choice names: theirs may hold no space.
        let multiple: BTreeSet<&str> = Item::questions(&self.items)
            .filter_map(|q| match &q.qtype {
                QuestionType::SelectMultiple(l) | QuestionType::Rank(l) => Some(l.as_str()),
                _ => None,
            })
            .collect();
        for (list, choices) in &self.choices {
            if choices.is_empty() {
                err(
                    list,
                    "choices",
                    FormErrorKind::BadChoices,
                    "the list is empty".into(),
                );
            }
            let mut seen = BTreeSet::new();
            for c in choices {
                if c.name.trim().is_empty() {
                    err(
                        list,
                        "choices",
                        FormErrorKind::InvalidName,
                        "a choice has no name".into(),
                    );
                } else if c.name.contains(char::is_whitespace) && multiple.contains(list.as_str()) {
                    err(
                        list,
                        "choices",
                        FormErrorKind::InvalidName,
                        format!(
                            "choice name `{}` has spaces, and a select_multiple or rank uses \
                         the list (its answer is the names separated by spaces)",
                            c.name
                        ),
                    );
                } else if !seen.insert(c.name.as_str()) && !self.allow_choice_duplicates {
                    err(
                        list,
                        "choices",
                        FormErrorKind::BadChoices,
                        format!(
                            "choice `{}` appears twice (allowed only with the setting \
                         allow_choice_duplicates: yes)",
                            c.name
                        ),
                    );
                }
            }
        }

        let mut file_names = BTreeSet::new();
        for f in &self.data_files {
            if !is_data_file_name(&f.name) {
                err(
                    &f.name,
                    "data_files",
                    FormErrorKind::DataFile,
                    format!(
                        "`{}` is not a CSV file name: a plain file name ending `.csv`",
                        f.name.escape_debug()
                    ),
                );
            } else if !file_names.insert(f.name.as_str()) {
                err(
                    &f.name,
                    "data_files",
                    FormErrorKind::DataFile,
                    format!("the file `{}` is attached twice", f.name),
                );
            }
        }
    }
}
