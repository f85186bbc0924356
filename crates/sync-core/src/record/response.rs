//! Finalizing a response: validate it against the form version it was started on, and
//! store the cleaned answers (non-relevant answers dropped, calculations computed).

use automerge::Change;
use forms::validate::{Moment, Validation};
use forms::{Answer, CompiledForm, Value};

use super::{Commit, RecordDoc};
use crate::error::{CoreError, Result};

/// The field that holds a response's status (`draft` or `final`). Keys starting with
/// `_` are record bookkeeping, not answers: the forms engine keeps and ignores them.
pub const STATUS_FIELD: &str = "_status";

impl RecordDoc {
    /// Validate the response against `form` (which must be the form and version the
    /// response names) in language `lang`. When valid, store the cleaned answers and
    /// mark the response final in one commit; when not, change nothing. Returns the
    /// validation either way, and the change when one was made. `at` is when (see
    /// [`Moment`]): a date alone makes `now()` its midnight UTC.
    pub fn finalize(
        &mut self,
        form: &CompiledForm,
        lang: &str,
        at: impl Into<Moment>,
        commit: &Commit,
    ) -> Result<(Validation, Option<Change>)> {
        let meta = self.meta();
        let wanted = meta.form.as_ref().ok_or_else(|| CoreError::Malformed {
            id: meta.id.to_string(),
            reason: format!("a {} answers no form", meta.kind),
        })?;
        let given = form.form();
        if given.id != wanted.id || given.version != wanted.version {
            return Err(CoreError::WrongForm {
                id: meta.id.to_string(),
                wanted: format!("{} v{}", wanted.id, wanted.version),
                given: format!("{} v{}", given.id, given.version),
            });
        }
        let validation = form.validate(&self.fields(), lang, at);
        if !validation.is_valid() {
            return Ok((validation, None));
        }
        let mut cleaned = validation.answers.clone();
        cleaned
            .0
            .insert(STATUS_FIELD.into(), Answer::Value(Value::from("final")));
        let change = self.edit(commit, |edit| edit.replace_answers(&cleaned))?;
        Ok((validation, change))
    }
}
