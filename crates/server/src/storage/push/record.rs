//! One record's share of a push, in the order it is taken: the changes new to the log
//! and the pusher's own; the record's document (cached, loaded, or created by this
//! push); which changes may land ([`super::accept`]); then the changes applied, and
//! the log's rows and the record's row written ([`super::write`]).

use automerge::Change;
use sync_core::protocol::PushResult;
use sync_core::RecordDoc;
use uuid::Uuid;

use super::accept::{check_answers, Prevalidated};
use super::{load_doc, rejected, Group};
use crate::auth::Caller;
use crate::storage::log_tx::LogTx;
use crate::storage::prebuild::Prebuilds;
use crate::storage::sqlite::DocState;
use crate::storage::{Storage, StorageError};

/// A push being written inside its transaction: what the steps of each of its records
/// share, and its results, filled in as they go (one per pushed change, in order).
pub(super) struct PushTx<'a> {
    /// The push's transaction: every read and write of its records goes through it.
    pub tx: &'a dyn LogTx,
    /// For the form versions responses answer.
    pub storage: &'a Storage,
    /// Who pushes: their scope, role and user id decide what may land.
    pub caller: &'a Caller,
    /// When the push was received: the log's `received_at`, the row's `updated_at`.
    pub now: i64,
    /// The new records built ahead of the transaction.
    pub prebuilt: &'a mut Prebuilds,
    /// One per pushed change, by its index in the push; `None` until decided.
    pub results: Vec<Option<PushResult>>,
}

/// A record's document as the push found or made it.
pub(super) struct Opened {
    pub doc: RecordDoc,
    /// The record's stored state; `None` when this push creates the record.
    pub state: Option<DocState>,
    /// The change creating the record, when this push creates it.
    pub creation: Option<(usize, Change)>,
    /// The creation's answers, read and checked ahead of the transaction.
    pub prevalidated: Option<Prevalidated>,
}

impl Opened {
    /// The document to keep in the cache when nothing of this push lands: the stored
    /// record's, never one made from a refused creation.
    fn unchanged(self) -> Option<RecordDoc> {
        self.state.is_some().then_some(self.doc)
    }
}

impl PushTx<'_> {
    /// Take one record's changes of a push. Fills the results of every change of
    /// `group`; returns the record's document to keep in the cache, if it is sound.
    pub(super) fn take_record(
        &mut self,
        record: Uuid,
        group: Group,
        cached: Option<RecordDoc>,
    ) -> Result<Option<RecordDoc>, StorageError> {
        let id = record.to_string();
        // 1. Changes the log holds already, and changes written as someone else.
        let fresh = self.not_logged(&id, group)?;
        let fresh = self.authored_by_caller(fresh);
        if fresh.is_empty() {
            return Ok(cached);
        }

        // 2. The document: cached, loaded, or created by this push (`rest`: the
        // record's changes other than its creation).
        let (mut opened, rest) = match self.tx.doc_state(&id)? {
            Some(state) => (self.open(&id, state, cached)?, fresh),
            None => match self.create(record, fresh) {
                Some(created) => created,
                None => return Ok(None),
            },
        };

        // 3. Scope, and the form a response answers.
        let meta = opened.doc.meta().clone();
        let form = match self.refusal(&id, &meta, opened.creation.is_some()) {
            Some(reason) => Err(reason),
            None => self.form_of(&meta)?,
        };
        let form = match form {
            Ok(form) => form,
            Err(reason) => {
                self.reject(opened.creation.as_slice(), &reason);
                self.reject(&rest, &reason);
                return Ok(opened.unchanged());
            }
        };

        // 4. Metadata, then dependencies (a change may depend on others of this push).
        let ordered = self.in_dependency_order(&mut opened.doc, rest);
        if opened.creation.is_none() && ordered.is_empty() {
            return Ok(Some(opened.doc));
        }
        if !ordered.is_empty() {
            let batch: Vec<Change> = ordered.iter().map(|(_, c)| c.clone()).collect();
            if let Err(e) = opened.doc.apply_changes(batch) {
                let reason = format!("could not apply: {e}");
                self.reject(&ordered, &reason);
                self.reject(opened.creation.as_slice(), &reason);
                // The document may hold part of the batch: drop it, reload next time.
                return Ok(None);
            }
        }
        let mut landing: Group = Vec::with_capacity(ordered.len() + 1);
        landing.extend(opened.creation.take());
        landing.extend(ordered);

        // 5. The document's whole shape: plain scalar answers, metadata in seconds, the
        // resolutions list (sync_core::record::shape).
        if let Err(e) = opened.doc.check_shape() {
            let reason = format!("not a record this server keeps: {e}");
            self.reject(&landing, &reason);
            return Ok(None);
        }

        // 6. Answers against the form.
        let prevalidated = opened.prevalidated.take();
        let answers = match check_answers(&opened.doc, form, prevalidated, landing.len()) {
            Ok(answers) => answers,
            Err(reason) => {
                self.reject(&landing, &reason);
                // The document holds the refused changes: never keep it.
                return Ok(None);
            }
        };

        // 7. Append to the log and refresh the row.
        let last_seq = self.append(&id, &landing)?;
        self.write_row(id, &meta, &mut opened, landing.len(), last_seq, answers)?;
        Ok(Some(opened.doc))
    }

    /// A stored record's document: the cached one, else loaded from the database.
    fn open(
        &self,
        id: &str,
        state: DocState,
        cached: Option<RecordDoc>,
    ) -> Result<Opened, StorageError> {
        let doc = match cached {
            Some(doc) => doc,
            None => match load_doc(self.tx, id)? {
                Some(doc) => doc,
                None => return Err(StorageError::Corrupt(format!("record {id} vanished"))),
            },
        };
        Ok(Opened {
            doc,
            state: Some(state),
            creation: None,
            prevalidated: None,
        })
    }

    /// A record this push creates: its document, made from the one change of `fresh`
    /// that has no dependencies (or taken as built ahead of the transaction), and the
    /// record's other changes. `None`, every change refused, when there is not exactly
    /// one creating change or it does not make this record.
    fn create(&mut self, record: Uuid, mut fresh: Group) -> Option<(Opened, Group)> {
        let creating: Vec<usize> = fresh
            .iter()
            .enumerate()
            .filter(|(_, (_, c))| c.deps().is_empty())
            .map(|(k, _)| k)
            .collect();
        if creating.len() != 1 {
            let reason = if creating.is_empty() {
                "missing dependency: the server does not have this record, and no change of this push creates it".to_string()
            } else {
                format!(
                    "a new record needs exactly one creating change, this push has {}",
                    creating.len()
                )
            };
            self.reject(&fresh, &reason);
            return None;
        }
        let (i, creation) = fresh.remove(creating[0]);
        let (built, prevalidated) = match self.prebuilt.take(&creation.hash()) {
            Some(ready) => (
                Ok(ready.doc),
                Some(Prevalidated {
                    fields: ready.fields,
                    fields_json: ready.fields_json,
                    validation: ready.validation,
                }),
            ),
            None => (RecordDoc::from_changes(vec![creation.clone()], None), None),
        };
        let reason = match built {
            Ok(doc) if doc.id() == record => {
                let opened = Opened {
                    doc,
                    state: None,
                    creation: Some((i, creation)),
                    prevalidated,
                };
                return Some((opened, fresh));
            }
            Ok(doc) => format!(
                "change of another record: it creates record {}, pushed as {record}",
                doc.id()
            ),
            Err(e) => format!("not a valid record creation: {e}"),
        };
        self.results[i] = Some(rejected(&creation.hash().to_string(), reason));
        self.reject(
            &fresh,
            "missing dependency: the change creating this record was rejected",
        );
        None
    }

    /// Refuse every change of `changes`, for `reason`.
    pub(super) fn reject(&mut self, changes: &[(usize, Change)], reason: &str) {
        for (i, c) in changes {
            self.results[*i] = Some(rejected(&c.hash().to_string(), reason));
        }
    }
}
