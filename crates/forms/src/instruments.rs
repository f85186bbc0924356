//! The seed instruments every fresh server starts with, in English and Spanish:
//!
//! - `household_survey`: outreach workers, offline, one per household visit, one `child`
//!   repeat instance per child 0-18. Feeds indicators G1, G3, G12, G13, G14 and G15.
//! - `literacy_checkin`: parents, weekly, one per child.
//! - `case_note`: partner staff, visible only to the program's own staff.
//!
//! Questions that refer to other records hold the record's id as `text`:
//! `literacy_checkin.child` and `case_note.participant` hold a person record id,
//! `case_note.referral_to` an organization id. The app offers the choices (the family's
//! children, the caseload, the partner organizations) and the server checks the id
//! against the caller's scopes; the form only checks that an id is given.
//!
//! The definitions live in `crates/forms/instruments/*.json`, in the format of
//! [`crate::model`].

use crate::model::{CompiledForm, Form, FormError};

/// The JSON text of each seed instrument, by form id.
pub const SEED_SOURCES: [(&str, &str); 3] = [
    (
        "household_survey",
        include_str!("../instruments/household_survey.json"),
    ),
    (
        "literacy_checkin",
        include_str!("../instruments/literacy_checkin.json"),
    ),
    ("case_note", include_str!("../instruments/case_note.json")),
];

/// The seed instruments, parsed (household survey, literacy check-in, case note).
///
/// The definitions are part of the binary and tested to parse and compile, so this
/// cannot fail at run time; a definition that somehow fails to parse is left out.
pub fn seed_forms() -> Vec<Form> {
    SEED_SOURCES
        .iter()
        .filter_map(|(_, json)| Form::from_json(json).ok())
        .collect()
}

/// The seed instrument with this form id, compiled.
pub fn seed_form(id: &str) -> Option<Result<CompiledForm, Vec<FormError>>> {
    seed_forms()
        .into_iter()
        .find(|f| f.id == id)
        .map(Form::compile)
}

#[cfg(test)]
mod tests;
