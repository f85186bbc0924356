//! What lands of a record's push: its changes appended to the log, and the record's
//! row (metadata, answers, heads, snapshot) written.

use sync_core::record::RecordMeta;

use super::accept::RowAnswers;
use super::record::{Opened, PushTx};
use super::{accepted, Group};
use crate::storage::sqlite::{LoggedChange, RowWrite};
use crate::storage::StorageError;

/// Fold a record's logged changes into a new snapshot after this many.
const SNAPSHOT_EVERY: i64 = 16;

impl PushTx<'_> {
    /// Append `landing`, record `id`'s accepted changes, to the log, each accepted;
    /// the last one's sequence number.
    pub(super) fn append(&mut self, id: &str, landing: &Group) -> Result<i64, StorageError> {
        let mut last_seq = 0;
        for (i, change) in landing {
            let hash = change.hash();
            last_seq = self.tx.append_change(
                LoggedChange {
                    hash: &hash.0,
                    record_id: id,
                    bytes: change.raw_bytes(),
                    actor: change.actor_id().to_bytes(),
                },
                &self.caller.user_id,
                &self.caller.device_id,
                self.now,
            )?;
            self.results[*i] = Some(accepted(&hash));
        }
        Ok(last_seq)
    }

    /// Insert or refresh the record's row once `landed` changes, the last logged at
    /// `last_seq`, are applied to its document; with a new snapshot of the document
    /// when enough changes have been logged since the last one.
    pub(super) fn write_row(
        &self,
        id: String,
        meta: &RecordMeta,
        opened: &mut Opened,
        landed: usize,
        last_seq: i64,
        answers: RowAnswers,
    ) -> Result<(), StorageError> {
        let pending = opened.state.as_ref().map_or(0, |s| s.pending) + landed as i64;
        let doc = &mut opened.doc;
        let snapshot = (pending >= SNAPSHOT_EVERY).then(|| doc.save());
        // A record of one change cannot hold concurrent values: skip the walk.
        let only_creation = opened.state.is_none() && landed == 1;
        let has_conflicts = !only_creation && doc.has_conflicts();
        let heads: Vec<String> = doc.heads().iter().map(|h| h.to_string()).collect();
        let row = RowWrite {
            id,
            kind: meta.kind.as_str(),
            scope: meta.scope.clone(),
            form: meta.form.as_ref().map(|f| (f.id.clone(), f.version)),
            created_by: meta.created_by.clone(),
            created_at: meta.created_at,
            updated_at: self.now,
            heads: serde_json::to_string(&heads).unwrap_or_else(|_| "[]".into()),
            fields: answers.fields_json,
            has_conflicts,
            issues: serde_json::to_string(&answers.issues).unwrap_or_else(|_| "[]".into()),
            followups: crate::storage::followups::row_json(doc),
        };
        match &snapshot {
            Some(bytes) => self.tx.upsert_record(&row, Some((bytes, last_seq)), 0),
            None => self.tx.upsert_record(&row, None, pending),
        }
    }
}
