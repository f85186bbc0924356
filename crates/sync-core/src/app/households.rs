//! Households and their members in the app API: enrolling a household, adding a
//! member, and listing them for the worker's home screen.

use std::collections::BTreeMap;

use super::{field_text, list_all, parse_id, writable_scope, AppError, AppResult, DeviceStore};
use super::{Household, Member};
use crate::record::{Commit, RecordKind};
use crate::store::RecordFilter;

#[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::export)]
impl DeviceStore {
    /// Enroll a household; returns its id.
    pub fn create_household(&self, name: String, address: String) -> AppResult<String> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let mut fields = forms::Answers::new();
        fields.set("name", name).set("address", address);
        let id = self.lock().create(
            RecordKind::Household,
            writable_scope(&saved)?,
            None,
            &fields,
            &Commit::new(&saved.user_id, "Enrolled"),
        )?;
        Ok(id.to_string())
    }

    /// Add a member to a household; returns the person's id.
    pub fn add_member(
        &self,
        household_id: String,
        name: String,
        relationship: String,
        birth_date: Option<String>,
    ) -> AppResult<String> {
        let saved = self.saved()?.ok_or(AppError::NotSignedIn)?;
        let household = parse_id(&household_id)?;
        let scope = self.lock().meta(household)?.scope;
        let mut fields = forms::Answers::new();
        fields
            .set("household", household_id)
            .set("name", name)
            .set("relationship", relationship);
        if let Some(date) = birth_date {
            fields.set("birth_date", date);
        }
        let id = self.lock().create(
            RecordKind::Person,
            scope,
            None,
            &fields,
            &Commit::new(&saved.user_id, "Added a member"),
        )?;
        Ok(id.to_string())
    }

    /// Every household on this device, with its members.
    pub fn households(&self) -> AppResult<Vec<Household>> {
        let store = self.lock();
        let all = |kind| {
            list_all(
                &store,
                RecordFilter {
                    kind: Some(kind),
                    ..RecordFilter::default()
                },
            )
        };
        let text = field_text;
        let mut members: BTreeMap<String, Vec<Member>> = BTreeMap::new();
        for p in all(RecordKind::Person)? {
            members
                .entry(text(&p.fields, "household"))
                .or_default()
                .push(Member {
                    id: p.meta.id.to_string(),
                    name: text(&p.fields, "name"),
                    relationship: text(&p.fields, "relationship"),
                    birth_date: Some(text(&p.fields, "birth_date")).filter(|d| !d.is_empty()),
                });
        }
        Ok(all(RecordKind::Household)?
            .into_iter()
            .map(|h| {
                let id = h.meta.id.to_string();
                Household {
                    members: members.remove(&id).unwrap_or_default(),
                    id,
                    name: text(&h.fields, "name"),
                    address: text(&h.fields, "address"),
                    has_conflicts: h.has_conflicts,
                }
            })
            .collect())
    }
}
