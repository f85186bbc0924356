//! Changes the server refused, as the person who made them sees them. A refused change
//! leaves the outbox for the store's quarantine: it is never sent again and never
//! dropped, and until now only the sync that refused it said why. Here each record with
//! refused changes is named as its screens name it, with the reason and the count.

use std::collections::BTreeMap;

use super::{field_text, forms_catalog, AppResult, DeviceStore};
use crate::record::RecordKind;

/// A record whose changes the server refused, for one reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(
    all(feature = "ffi", not(target_arch = "wasm32")),
    derive(uniffi::Record)
)]
pub struct RefusedRecord {
    /// The record id.
    pub record_id: String,
    /// Its kind (`household`, `person`, `response`, `checkin`, `case_note`).
    pub kind: String,
    /// What it is, as its screens say: a household's or a person's name, a response's
    /// form title (in the language asked for); empty when the device no longer holds
    /// the record.
    pub title: String,
    /// Why the server refused it, in the server's words.
    pub reason: String,
    /// How many changes of it were refused for that reason.
    pub changes: u32,
    /// When the last of them was refused, unix seconds.
    pub refused_at: i64,
}

#[cfg_attr(all(feature = "ffi", not(target_arch = "wasm32")), uniffi::export)]
impl DeviceStore {
    /// The records with changes the server refused (kept on this device, never sent
    /// again), the latest refusal first, titled in `lang`. Signing out erases them.
    pub fn refused_changes(&self, lang: String) -> AppResult<Vec<RefusedRecord>> {
        let refused = self.lock().quarantined()?;
        let mut by_record: BTreeMap<(uuid::Uuid, String), (u32, i64)> = BTreeMap::new();
        for change in refused {
            let entry = by_record
                .entry((change.record_id, change.reason))
                .or_insert((0, 0));
            entry.0 += 1;
            entry.1 = entry.1.max(change.refused_at);
        }
        let mut out = Vec::with_capacity(by_record.len());
        for ((id, reason), (changes, refused_at)) in by_record {
            let (kind, title) = self.title_of(id, &lang);
            out.push(RefusedRecord {
                record_id: id.to_string(),
                kind,
                title,
                reason,
                changes,
                refused_at,
            });
        }
        out.sort_by_key(|r| std::cmp::Reverse(r.refused_at));
        Ok(out)
    }
}

impl DeviceStore {
    /// A record's kind and what its screens call it; empty when it is not here.
    fn title_of(&self, id: uuid::Uuid, lang: &str) -> (String, String) {
        let (meta, fields) = {
            let mut store = self.lock();
            match (store.meta(id), store.fields(id)) {
                (Ok(meta), Ok(fields)) => (meta, fields),
                _ => return (String::new(), String::new()),
            }
        };
        let title = match (meta.kind, &meta.form) {
            (RecordKind::Household | RecordKind::Person, _) => field_text(&fields, "name"),
            (_, Some(form)) => self
                .catalog()
                .get(&form.id, form.version)
                .map(|f| forms_catalog::title_in(&f, lang))
                .unwrap_or_else(|_| form.id.clone()),
            _ => String::new(),
        };
        (meta.kind.as_str().to_string(), title)
    }
}
