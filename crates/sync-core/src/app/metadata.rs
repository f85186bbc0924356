//! Metadata questions filled in by the core, with nobody asked: `start`, `today`,
//! `deviceid` and `username` when a response is started, `end` when it is finalized.
//! `simserial`, `subscriberid`, `phonenumber`, `email` and `audit` stay empty: the
//! apps do not read the phone's identity, and no audit log is kept.

use forms::{CompiledForm, DeviceFacts, MetaMoment};
use uuid::Uuid;

use super::{AppResult, DeviceStore, Saved};
use crate::record::Commit;

/// The device's local time now, with its offset (as ODK writes `start` and `end`).
fn now() -> chrono::DateTime<chrono::FixedOffset> {
    chrono::Local::now().fixed_offset()
}

fn facts(saved: &Saved) -> DeviceFacts {
    DeviceFacts {
        device_id: saved.device_id.clone(),
        username: saved.username.clone(),
    }
}

/// Set the metadata answers of a new response (`start`, `today`, `deviceid`,
/// `username`) in its first fields.
pub(super) fn fill_start(form: &CompiledForm, saved: &Saved, fields: &mut forms::Answers) {
    for (name, value) in form.metadata_values(MetaMoment::Start, &now(), &facts(saved)) {
        fields.set(name, value);
    }
}

impl DeviceStore {
    /// Set a response's `end` answers to now, just before it is finalized (each
    /// attempt: the time it was last finalized is the one kept).
    pub(super) fn fill_end(&self, id: Uuid, form: &CompiledForm, saved: &Saved) -> AppResult<()> {
        let values = form.metadata_values(MetaMoment::Finalize, &now(), &facts(saved));
        if values.is_empty() {
            return Ok(());
        }
        let commit = Commit::new(&saved.user_id, "Ended");
        self.lock().update(id, &commit, |edit| {
            for (name, value) in values {
                // Metadata questions sit outside repeats: their field is their name.
                edit.set_field(&name, value)?;
            }
            Ok(())
        })?;
        Ok(())
    }
}
