//! The forms a device knows (the seed instruments, compiled once) and which of them
//! each role fills in.

use std::collections::BTreeMap;
use std::sync::Arc;

use forms::CompiledForm;

use super::{AppError, FormInfo};
use crate::record::RecordKind;

/// Compiled forms by id.
pub(super) struct Catalog(BTreeMap<String, Arc<CompiledForm>>);

impl Catalog {
    /// The seed instruments.
    pub fn seed() -> Self {
        Catalog(
            forms::instruments::seed_forms()
                .into_iter()
                .filter_map(|f| Some((f.id.clone(), Arc::new(f.compile().ok()?))))
                .collect(),
        )
    }

    /// A form by id.
    pub fn get(&self, id: &str) -> Result<Arc<CompiledForm>, AppError> {
        self.0
            .get(id)
            .cloned()
            .ok_or_else(|| AppError::invalid(format!("this device does not know form `{id}`")))
    }

    /// The forms a role fills in, titled in `lang`.
    pub fn for_role(&self, role: &str, lang: &str) -> Vec<FormInfo> {
        let ids: &[&str] = match role {
            "outreach_worker" => &["household_survey"],
            "parent" => &["literacy_checkin"],
            "partner_staff" | "backbone_staff" => &["case_note", "household_survey"],
            "admin" => &["household_survey", "literacy_checkin", "case_note"],
            _ => &[],
        };
        ids.iter()
            .filter_map(|id| self.0.get(*id))
            .map(|f| {
                let form = f.form();
                FormInfo {
                    id: form.id.clone(),
                    version: form.version,
                    title: form
                        .title
                        .get(lang, &form.default_language)
                        .unwrap_or(&form.id)
                        .to_string(),
                }
            })
            .collect()
    }
}

/// The kind of record a form's responses are.
pub(super) fn kind_of(form_id: &str) -> RecordKind {
    match form_id {
        "literacy_checkin" => RecordKind::Checkin,
        "case_note" => RecordKind::CaseNote,
        _ => RecordKind::Response,
    }
}
