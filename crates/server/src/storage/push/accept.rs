//! Which of a record's pushed changes may land: new to the log, the pusher's own, in
//! the pusher's scope and role, for a form the server knows, with sound metadata and
//! every dependency present, and answers that pass the form as far as a draft or a
//! final response must.

use std::collections::HashSet;
use std::sync::Arc;

use automerge::ChangeHash;
use forms::validate::Validation;
use forms::{Answers, CompiledForm, Issue, IssueKind};
use sync_core::protocol::{PushResult, PushStatus};
use sync_core::record::{CommitInfo, RecordMeta, STATUS_FIELD};
use sync_core::RecordDoc;

use super::record::PushTx;
use super::{rejected, Group};
use crate::storage::StorageError;

/// A new record's answers, read and checked against its form ahead of the transaction.
pub(super) struct Prevalidated {
    pub fields: Answers,
    /// What its row stores, as JSON (see `Prebuilt::fields_json`).
    pub fields_json: String,
    pub validation: Option<Validation>,
}

/// What a record's row shows of its answers.
pub(super) struct RowAnswers {
    /// The answers, JSON: the cleaned ones when the record answers a form.
    pub fields_json: String,
    /// The form's soft issues (a draft's missing answers, broken constraints).
    pub issues: Vec<Issue>,
}

/// Answer issues that refuse a change, rather than being recorded for a draft.
fn is_hard(kind: IssueKind) -> bool {
    matches!(
        kind,
        IssueKind::Type | IssueKind::NotAChoice | IssueKind::UnknownQuestion
    )
}

impl PushTx<'_> {
    /// The changes of `group` the log does not hold yet. A change it holds is already
    /// had when it belongs to record `id`, refused when it belongs to another.
    pub(super) fn not_logged(&mut self, id: &str, group: Group) -> Result<Group, StorageError> {
        let mut fresh: Group = Vec::new();
        for (i, change) in group {
            let hash = change.hash();
            match self.tx.change_record(&hash.0)? {
                Some(owner) if owner == id => {
                    self.results[i] = Some(PushResult {
                        hash: hash.to_string(),
                        status: PushStatus::AlreadyHad,
                        reason: None,
                    })
                }
                Some(owner) => {
                    self.results[i] = Some(rejected(
                        &hash.to_string(),
                        format!("change of another record: it belongs to record {owner}"),
                    ))
                }
                None => fresh.push((i, change)),
            }
        }
        Ok(fresh)
    }

    /// The changes of `fresh` authored by the pusher; the others refused.
    ///
    /// Every change is its pusher's own: a device cannot write as someone else (the
    /// record page would say "Created by admin"). Changes the server makes for staff
    /// (a conflict resolved) are authored by that staff member, so they pass too.
    pub(super) fn authored_by_caller(&mut self, mut fresh: Group) -> Group {
        fresh.retain(|(i, change)| {
            let author = CommitInfo::decode(change.message()).by;
            if author == self.caller.user_id {
                return true;
            }
            self.results[*i] = Some(rejected(
                &change.hash().to_string(),
                format!(
                    "authored by another user (`{}`): a device sends only its own user's changes",
                    author.chars().take(64).collect::<String>().escape_debug()
                ),
            ));
            false
        });
        fresh
    }

    /// Why the pusher may not write this record at all (its scope, its creator when
    /// this push creates it, the pusher's role), logged; `None` when they may.
    pub(super) fn refusal(&self, id: &str, meta: &RecordMeta, creating: bool) -> Option<String> {
        let caller = self.caller;
        let reason = if !caller.may_see(&meta.scope) {
            "the record is outside your scope".to_string()
        } else if creating && meta.created_by != caller.user_id {
            format!(
                "meta.created_by (`{}`) must be your user id: a device creates records as its own user",
                meta.created_by.chars().take(64).collect::<String>().escape_debug()
            )
        } else if !caller.role.may_write(meta.kind) {
            format!(
                "your role ({}) may not write {} records",
                caller.role, meta.kind
            )
        } else {
            return None;
        };
        tracing::warn!(
            user = %caller.user_id,
            device = %caller.device_id,
            record = %id,
            kind = %meta.kind,
            %reason,
            "push refused"
        );
        Some(reason)
    }

    /// The form version a response answers (`None` for a record that needs none), or
    /// why its changes are refused: the server does not know that version.
    #[allow(clippy::type_complexity)]
    pub(super) fn form_of(
        &self,
        meta: &RecordMeta,
    ) -> Result<Result<Option<Arc<CompiledForm>>, String>, StorageError> {
        let Some(f) = meta.form.as_ref().filter(|_| meta.kind.needs_form()) else {
            return Ok(Ok(None));
        };
        Ok(match self.storage.form_in(self.tx, &f.id, f.version)? {
            Some(form) => Ok(Some(form)),
            None => Err(format!(
                "the server does not know form {} version {}",
                f.id, f.version
            )),
        })
    }

    /// The changes of `changes` whose metadata `doc` accepts and whose dependencies
    /// are all in `doc` or earlier in the list, in an order that applies; the others
    /// refused.
    pub(super) fn in_dependency_order(&mut self, doc: &mut RecordDoc, changes: Group) -> Group {
        let mut candidates: Group = Vec::new();
        for (i, change) in changes {
            match doc.check_changes(std::slice::from_ref(&change)) {
                Ok(()) => candidates.push((i, change)),
                Err(e) => {
                    self.results[i] = Some(rejected(&change.hash().to_string(), e.to_string()))
                }
            }
        }
        let mut known: HashSet<ChangeHash> = HashSet::new();
        let mut ordered: Group = Vec::new();
        loop {
            let before = candidates.len();
            let mut waiting = Vec::new();
            for (i, change) in candidates {
                let ready = change
                    .deps()
                    .iter()
                    .all(|d| known.contains(d) || doc.has_change(d));
                if ready {
                    known.insert(change.hash());
                    ordered.push((i, change));
                } else {
                    waiting.push((i, change));
                }
            }
            candidates = waiting;
            if candidates.is_empty() || candidates.len() == before {
                break;
            }
        }
        for (i, change) in &candidates {
            let missing: Vec<String> = change
                .deps()
                .iter()
                .filter(|d| !known.contains(d) && !doc.has_change(d))
                .map(|d| d.to_string())
                .collect();
            self.results[*i] = Some(rejected(
                &change.hash().to_string(),
                format!(
                    "missing dependency: the server lacks change(s) {}",
                    missing.join(", ")
                ),
            ));
        }
        ordered
    }
}

/// A record's answers, once `landing` changes are applied to `doc`, checked against
/// its form: what its row shows, or why the changes are refused. When the creation is
/// all that lands (`landing` 1 and `prevalidated` given), the fields and their check
/// were computed ahead of the transaction.
pub(super) fn check_answers(
    doc: &RecordDoc,
    form: Option<Arc<CompiledForm>>,
    prevalidated: Option<Prevalidated>,
    landing: usize,
) -> Result<RowAnswers, String> {
    let (fields, mut fields_json, checked) = match prevalidated {
        Some(ready) if landing == 1 => (ready.fields, Some(ready.fields_json), ready.validation),
        _ => (doc.fields(), None, None),
    };
    let mut issues = Vec::new();
    if let Some(form) = form {
        let prechecked = checked.is_some();
        let validation = match checked {
            Some(done) => done,
            None => form.validate(&fields, "", chrono::Utc::now().date_naive()),
        };
        let is_final = fields.value(STATUS_FIELD) == Some(&forms::Value::from("final"));
        let (hard, soft): (Vec<_>, Vec<_>) =
            validation.issues.into_iter().partition(|i| is_hard(i.kind));
        // A final response passes its form exactly as the device's finalize checks
        // it; a draft may still miss answers or break constraints, never types.
        let refused = if !hard.is_empty() {
            Some(("the answers break the form", hard))
        } else if is_final && !soft.is_empty() {
            Some(("a final response must pass its form", soft.clone()))
        } else {
            None
        };
        if let Some((why, found)) = refused {
            let text: Vec<String> = found
                .iter()
                .take(5)
                .map(|i| format!("{}: {}", i.path, i.message))
                .collect();
            return Err(format!("{why}: {}", text.join("; ")));
        }
        issues = soft;
        // The row shows, exports and counts the cleaned answers only: answers to
        // questions that are not relevant never reach a page, a file or a number.
        if !prechecked {
            fields_json =
                Some(serde_json::to_string(&validation.answers).unwrap_or_else(|_| "{}".into()));
        }
    }
    let fields_json = fields_json
        .unwrap_or_else(|| serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into()));
    Ok(RowAnswers {
        fields_json,
        issues,
    })
}
