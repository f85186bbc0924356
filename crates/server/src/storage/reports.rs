//! A form's newest version, for the pages and exports that lay its records out.

use std::sync::Arc;

use super::{Storage, StorageError};
use forms::CompiledForm;

impl Storage {
    /// The newest version of a form, if the server has it.
    pub fn latest_form(&self, id: &str) -> Result<Option<Arc<CompiledForm>>, StorageError> {
        let newest = self
            .form_ids()?
            .into_iter()
            .filter(|(f, _)| f == id)
            .map(|(_, v)| v)
            .max();
        match newest {
            Some(v) => self.form(id, v),
            None => Ok(None),
        }
    }
}
