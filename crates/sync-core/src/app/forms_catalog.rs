//! The forms a device knows, compiled once: the versions built into the app and those
//! fetched on sync, and which forms each role fills in.
//!
//! New responses start on a form's newest version; a response keeps the version it was
//! started on, so every version stays here for as long as the app runs.

use std::collections::BTreeMap;
use std::sync::Arc;

use forms::{CompiledForm, Form};

use super::{AppError, FormInfo};
use crate::record::RecordKind;
use crate::store::Store;

/// The seed forms each role fills in; forms published later are offered to every role
/// that records responses.
const SEED_FORMS: [&str; 3] = ["household_survey", "literacy_checkin", "case_note"];

/// Compiled forms by (id, version).
#[derive(Default)]
pub(super) struct Catalog(BTreeMap<(String, u32), Arc<CompiledForm>>);

impl Catalog {
    /// The versions built into the app and those the store holds. A fetched version
    /// this app cannot compile (made for a newer app) is left out, with a log line.
    pub fn load(store: &Store) -> Result<Self, AppError> {
        let mut catalog = Catalog::default();
        for form in forms::instruments::seed_forms() {
            catalog.add(form);
        }
        for stored in store.stored_forms()? {
            match Form::from_json(&stored.definition) {
                Ok(form) => catalog.add(form),
                Err(e) => tracing::warn!(
                    form = %stored.id, version = stored.version, error = %e,
                    "a fetched form does not parse; it is not offered"
                ),
            }
        }
        Ok(catalog)
    }

    fn add(&mut self, form: Form) {
        let key = (form.id.clone(), form.version);
        match form.compile() {
            Ok(compiled) => {
                self.0.insert(key, Arc::new(compiled));
            }
            Err(errors) => tracing::warn!(
                form = %key.0, version = key.1, errors = errors.len(),
                "a form does not compile on this app; it is not offered"
            ),
        }
    }

    /// The newest version of a form, for new responses.
    pub fn newest(&self, id: &str) -> Result<Arc<CompiledForm>, AppError> {
        self.0
            .range((id.to_string(), 0)..=(id.to_string(), u32::MAX))
            .next_back()
            .map(|(_, f)| f.clone())
            .ok_or_else(|| AppError::invalid(format!("this device does not know form `{id}`")))
    }

    /// A form at the version a response was started on.
    pub fn get(&self, id: &str, version: u32) -> Result<Arc<CompiledForm>, AppError> {
        self.0
            .get(&(id.to_string(), version))
            .cloned()
            .ok_or_else(|| {
                AppError::invalid(format!(
                    "this device does not have version {version} of form `{id}`; sync to fetch it"
                ))
            })
    }

    /// The forms a role fills in (each at its newest version), titled in `lang`.
    pub fn for_role(&self, role: &str, lang: &str) -> Vec<FormInfo> {
        let seeds: &[&str] = match role {
            "outreach_worker" => &["household_survey"],
            "parent" => &["literacy_checkin"],
            "partner_staff" | "backbone_staff" => &["case_note", "household_survey"],
            "admin" => &["household_survey", "literacy_checkin", "case_note"],
            _ => &[],
        };
        let records_responses = matches!(
            role,
            "outreach_worker" | "partner_staff" | "backbone_staff" | "admin"
        );
        let mut ids: Vec<&str> = seeds.to_vec();
        for (id, _) in self.0.keys() {
            let later = !SEED_FORMS.contains(&id.as_str());
            if later && records_responses && !ids.contains(&id.as_str()) {
                ids.push(id);
            }
        }
        ids.iter()
            .filter_map(|id| self.newest(id).ok())
            .map(|f| FormInfo {
                id: f.form().id.clone(),
                version: f.form().version,
                title: title_in(&f, lang),
            })
            .collect()
    }
}

/// A form's title in `lang`, else in its default language, else its id.
pub(super) fn title_in(form: &CompiledForm, lang: &str) -> String {
    let form = form.form();
    form.title
        .get(lang, &form.default_language)
        .unwrap_or(&form.id)
        .to_string()
}

/// The kind of record a form's responses are.
pub(super) fn kind_of(form_id: &str) -> RecordKind {
    match form_id {
        "literacy_checkin" => RecordKind::Checkin,
        "case_note" => RecordKind::CaseNote,
        _ => RecordKind::Response,
    }
}
