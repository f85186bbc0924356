//! Staff resolving a conflict on the server: the choice becomes an Automerge change
//! made with a fresh actor and taken through the same push path as a phone's (scope,
//! kind and form checks, the log, the feed), so every device receives it on its next
//! pull and the record's history says who chose what.

use automerge::ActorId;
use forms::Value;
use sync_core::protocol::{Bytes, PushResult, PushedChange};
use sync_core::record::FieldPath;
use sync_core::Commit;
use uuid::Uuid;

use super::{Storage, StorageError};
use crate::auth::Caller;

impl Storage {
    /// Resolve the conflict on `path` of record `id` by choosing `chosen`, as `caller`
    /// (who must be allowed to see the record). Returns the push's result for the
    /// change; `Ok(None)` when the record does not exist or is out of the caller's
    /// scope (the same answer, so that a denied read reveals nothing).
    pub fn resolve_conflict(
        &self,
        caller: &Caller,
        id: Uuid,
        path: &str,
        chosen: Value,
        note: &str,
    ) -> Result<Option<PushResult>, StorageError> {
        let field: FieldPath = path
            .parse()
            .map_err(|e| StorageError::Invalid(format!("`{path}` is not a field path: {e}")))?;
        if self.record_seen_by(caller, id)?.is_none() {
            return Ok(None);
        }
        let Some(mut doc) = self.record_doc(id)? else {
            return Ok(None);
        };
        if !doc.conflicts().iter().any(|c| c.path == path) {
            return Err(StorageError::Invalid(format!(
                "`{path}` has no conflict to resolve (someone may have resolved it already)"
            )));
        }
        // A new actor per resolution: the server never edits concurrently with itself
        // under one actor, so sequence numbers cannot collide.
        doc.set_actor(ActorId::random());
        let commit = Commit::new(&caller.user_id, format!("Resolved conflict on {path}"));
        let change = doc
            .resolve(&field, chosen, &commit, note)
            .map_err(|e| StorageError::Invalid(format!("cannot resolve `{path}`: {e}")))?;
        let Some(mut change) = change else {
            return Err(StorageError::Invalid(format!("`{path}` did not change")));
        };
        let results = self.push(
            caller,
            vec![PushedChange {
                record: id,
                change: Bytes(change.bytes().to_vec()),
            }],
        )?;
        Ok(results.into_iter().next())
    }
}
