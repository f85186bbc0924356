//! Taking a push: decode, deduplicate, check metadata, scope, dependencies and form
//! answers per record, then append the accepted changes to the log and refresh each
//! record's row, all in one transaction.

use std::collections::{HashMap, HashSet};

use automerge::{Change, ChangeHash};
use forms::IssueKind;

use lru::LruCache;
use sync_core::protocol::{PushResult, PushStatus, PushedChange};
use sync_core::record::{CommitInfo, STATUS_FIELD};
use sync_core::RecordDoc;
use uuid::Uuid;

use super::log_tx::LogTx;
use super::prebuild::Prebuilds;
use super::sqlite::{self, RowWrite};
use super::{Storage, StorageError};
use crate::auth::Caller;

/// Fold a record's logged changes into a new snapshot after this many.
const SNAPSHOT_EVERY: i64 = 16;

/// Answer issues that refuse a change, rather than being recorded for a draft.
fn is_hard(kind: IssueKind) -> bool {
    matches!(
        kind,
        IssueKind::Type | IssueKind::NotAChoice | IssueKind::UnknownQuestion
    )
}

fn accepted(hash: &ChangeHash) -> PushResult {
    PushResult {
        hash: hash.to_string(),
        status: PushStatus::Accepted,
        reason: None,
    }
}

fn rejected(hash: &str, reason: impl Into<String>) -> PushResult {
    PushResult {
        hash: hash.to_string(),
        status: PushStatus::Rejected,
        reason: Some(reason.into()),
    }
}

/// Load a record's document: its snapshot, then the log's changes after it.
pub(crate) fn load_doc(conn: &dyn LogTx, id: &str) -> Result<Option<RecordDoc>, StorageError> {
    let Some(state) = conn.doc_state(id)? else {
        return Ok(None);
    };
    let chunks = conn.record_changes_after(id, state.snapshot_seq)?;
    let (first, rest): (&[u8], &[Vec<u8>]) = match &state.snapshot {
        Some(snapshot) => (snapshot, &chunks),
        None => match chunks.split_first() {
            Some((first, rest)) => (first, rest),
            None => return Err(StorageError::Corrupt(format!("record {id} has no changes"))),
        },
    };
    RecordDoc::load(first, rest.iter().map(Vec::as_slice), None)
        .map(Some)
        .map_err(|e| StorageError::Corrupt(format!("record {id}: {e}")))
}

/// One record's share of a push: (index in the push, change).
type Group = Vec<(usize, Change)>;

/// A push decoded and grouped by record (before taking the writer's lock).
pub(super) struct Incoming {
    results: Vec<Option<PushResult>>,
    groups: Vec<(Uuid, Group)>,
    /// (index of a repeated change, index of its first occurrence).
    duplicates: Vec<(usize, usize)>,
}

/// Decode a push and group its changes by record: cheap, done before the lock.
pub(super) fn decode(items: Vec<PushedChange>) -> Incoming {
    let n = items.len();
    let mut results: Vec<Option<PushResult>> = vec![None; n];
    let mut groups: Vec<(Uuid, Group)> = Vec::new();
    let mut group_of: HashMap<Uuid, usize> = HashMap::new();
    let mut first_seen: HashMap<ChangeHash, usize> = HashMap::new();
    let mut duplicates: Vec<(usize, usize)> = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let change = match sync_core::record::parse_change(item.change.0) {
            Ok(c) => c,
            Err(e) => {
                results[i] = Some(rejected("", format!("undecodable change: {e}")));
                continue;
            }
        };
        let hash = change.hash();
        if let Some(&first) = first_seen.get(&hash) {
            duplicates.push((i, first));
            continue;
        }
        first_seen.insert(hash, i);
        let g = *group_of.entry(item.record).or_insert_with(|| {
            groups.push((item.record, Vec::new()));
            groups.len() - 1
        });
        groups[g].1.push((i, change));
    }
    Incoming {
        results,
        groups,
        duplicates,
    }
}

/// The creating changes of a push, in the order the writer meets them.
pub(super) fn creations(incoming: &Incoming) -> Vec<Change> {
    incoming
        .groups
        .iter()
        .flat_map(|(_, group)| group.iter().map(|(_, c)| c))
        .filter(|c| c.deps().is_empty())
        .cloned()
        .collect()
}

/// The records of a push taken inside `tx`: the results, and the documents to keep
/// in the cache once `tx` commits.
#[allow(clippy::type_complexity)]
pub(super) fn write_in(
    tx: &dyn LogTx,
    docs: &mut LruCache<Uuid, RecordDoc>,
    storage: &Storage,
    caller: &Caller,
    incoming: Incoming,
    prebuilt: &mut Prebuilds,
    now: i64,
) -> Result<(Vec<PushResult>, Vec<(Uuid, RecordDoc)>), StorageError> {
    let Incoming {
        mut results,
        groups,
        duplicates,
    } = incoming;
    let hashes: Vec<Vec<u8>> = groups
        .iter()
        .flat_map(|(_, group)| group.iter().map(|(_, c)| c.hash().0.to_vec()))
        .collect();
    let records: Vec<String> = groups.iter().map(|(id, _)| id.to_string()).collect();
    tx.prepare_push(&hashes, &records)?;
    let mut keep: Vec<(Uuid, RecordDoc)> = Vec::new();
    for (record, group) in groups {
        let cached = docs.pop(&record);
        let doc = take_record(
            tx,
            storage,
            caller,
            record,
            group,
            cached,
            prebuilt,
            now,
            &mut results,
        )?;
        if let Some(doc) = doc {
            keep.push((record, doc));
        }
    }
    for (dup, first) in duplicates {
        let mut result = results[first].clone();
        if let Some(r) = &mut result {
            if r.status == PushStatus::Accepted {
                r.status = PushStatus::AlreadyHad;
            }
        }
        results[dup] = result;
    }
    let results = results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| rejected("", "not processed (a bug)")))
        .collect();
    Ok((results, keep))
}

/// Take one record's changes of a push. Fills `results` for every change of `group`;
/// returns the record's document to keep in the cache, if it is sound.
#[allow(clippy::too_many_arguments)]
fn take_record(
    tx: &dyn LogTx,
    storage: &Storage,
    caller: &Caller,
    record: Uuid,
    group: Group,
    cached: Option<RecordDoc>,
    prebuilt: &mut Prebuilds,
    now: i64,
    results: &mut [Option<PushResult>],
) -> Result<Option<RecordDoc>, StorageError> {
    let id = record.to_string();
    let mut prevalidated: Option<(forms::Answers, String, Option<forms::validate::Validation>)> =
        None;
    // 1. Changes the log holds already.
    let mut fresh: Group = Vec::new();
    for (i, change) in group {
        let hash = change.hash();
        match tx.change_record(&hash.0)? {
            Some(owner) if owner == id => {
                results[i] = Some(PushResult {
                    hash: hash.to_string(),
                    status: PushStatus::AlreadyHad,
                    reason: None,
                })
            }
            Some(owner) => {
                results[i] = Some(rejected(
                    &hash.to_string(),
                    format!("change of another record: it belongs to record {owner}"),
                ))
            }
            None => fresh.push((i, change)),
        }
    }
    // Every change is its pusher's own: a device cannot write as someone else (the
    // record page would say "Created by admin"). Changes the server makes for staff
    // (a conflict resolved) are authored by that staff member, so they pass too.
    fresh.retain(|(i, change)| {
        let author = CommitInfo::decode(change.message()).by;
        if author == caller.user_id {
            return true;
        }
        results[*i] = Some(rejected(
            &change.hash().to_string(),
            format!(
                "authored by another user (`{}`): a device sends only its own user's changes",
                author.chars().take(64).collect::<String>().escape_debug()
            ),
        ));
        false
    });
    if fresh.is_empty() {
        return Ok(cached);
    }
    let reject_all = |fresh: &Group, results: &mut [Option<PushResult>], reason: &str| {
        for (i, c) in fresh {
            results[*i] = Some(rejected(&c.hash().to_string(), reason));
        }
    };

    // 2. The document: cached, loaded, or created by this push.
    let state = tx.doc_state(&id)?;
    let existing = state.is_some();
    let (mut doc, creation) = if existing {
        let doc = match cached {
            Some(doc) => doc,
            None => match load_doc(tx, &id)? {
                Some(doc) => doc,
                None => return Err(StorageError::Corrupt(format!("record {id} vanished"))),
            },
        };
        (doc, None)
    } else {
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
            reject_all(&fresh, results, &reason);
            return Ok(None);
        }
        let (i, creation) = fresh.remove(creating[0]);
        let built = match prebuilt.take(&creation.hash()) {
            Some(ready) => {
                prevalidated = Some((ready.fields, ready.fields_json, ready.validation));
                Ok(ready.doc)
            }
            None => RecordDoc::from_changes(vec![creation.clone()], None),
        };
        match built {
            Ok(doc) if doc.id() == record => (doc, Some((i, creation))),
            Ok(doc) => {
                results[i] = Some(rejected(
                    &creation.hash().to_string(),
                    format!(
                        "change of another record: it creates record {}, pushed as {record}",
                        doc.id()
                    ),
                ));
                reject_all(
                    &fresh,
                    results,
                    "missing dependency: the change creating this record was rejected",
                );
                return Ok(None);
            }
            Err(e) => {
                results[i] = Some(rejected(
                    &creation.hash().to_string(),
                    format!("not a valid record creation: {e}"),
                ));
                reject_all(
                    &fresh,
                    results,
                    "missing dependency: the change creating this record was rejected",
                );
                return Ok(None);
            }
        }
    };
    let mut all_fresh = fresh;
    if let Some((i, c)) = &creation {
        all_fresh.insert(0, (*i, c.clone()));
    }

    // 3. Scope, and the form a response answers.
    let meta = doc.meta().clone();
    let refusal =
        if !caller.may_see(&meta.scope) {
            Some("the record is outside your scope".to_string())
        } else if creation.is_some() && meta.created_by != caller.user_id {
            Some(format!(
            "meta.created_by (`{}`) must be your user id: a device creates records as its own user",
            meta.created_by.chars().take(64).collect::<String>().escape_debug()
        ))
        } else if !caller.role.may_write(meta.kind) {
            Some(format!(
                "your role ({}) may not write {} records",
                caller.role, meta.kind
            ))
        } else {
            None
        };
    if let Some(reason) = refusal {
        tracing::warn!(
            user = %caller.user_id,
            device = %caller.device_id,
            record = %id,
            kind = %meta.kind,
            %reason,
            "push refused"
        );
        reject_all(&all_fresh, results, &reason);
        return Ok(existing.then_some(doc));
    }
    let form = match &meta.form {
        Some(f) if meta.kind.needs_form() => match storage.form_in(tx, &f.id, f.version)? {
            Some(form) => Some(form),
            None => {
                reject_all(
                    &all_fresh,
                    results,
                    &format!(
                        "the server does not know form {} version {}",
                        f.id, f.version
                    ),
                );
                return Ok(existing.then_some(doc));
            }
        },
        _ => None,
    };

    // 4. Metadata, then dependencies (a change may depend on others of this push).
    let mut candidates: Group = Vec::new();
    for (i, change) in all_fresh.iter().skip(usize::from(creation.is_some())) {
        match doc.check_changes(std::slice::from_ref(change)) {
            Ok(()) => candidates.push((*i, change.clone())),
            Err(e) => results[*i] = Some(rejected(&change.hash().to_string(), e.to_string())),
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
        results[*i] = Some(rejected(
            &change.hash().to_string(),
            format!(
                "missing dependency: the server lacks change(s) {}",
                missing.join(", ")
            ),
        ));
    }
    if creation.is_none() && ordered.is_empty() {
        return Ok(Some(doc));
    }
    if !ordered.is_empty() {
        let batch: Vec<Change> = ordered.iter().map(|(_, c)| c.clone()).collect();
        if let Err(e) = doc.apply_changes(batch) {
            let reason = format!("could not apply: {e}");
            reject_all(&ordered, results, &reason);
            if let Some((i, c)) = &creation {
                results[*i] = Some(rejected(&c.hash().to_string(), reason));
            }
            // The document may hold part of the batch: drop it, reload next time.
            return Ok(None);
        }
    }
    let mut landing: Group = Vec::with_capacity(ordered.len() + 1);
    landing.extend(creation);
    landing.extend(ordered);

    // 5. The document's whole shape: plain scalar answers, metadata in seconds, the
    // resolutions list (sync_core::record::shape).
    if let Err(e) = doc.check_shape() {
        let reason = format!("not a record this server keeps: {e}");
        reject_all(&landing, results, &reason);
        return Ok(None);
    }

    // 6. Answers against the form. When the creation is all that lands, the fields
    // and their check were computed ahead of the transaction.
    let (fields, mut fields_json, checked) = match prevalidated.take() {
        Some((fields, json, checked)) if landing.len() == 1 => (fields, Some(json), checked),
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
            let reason = format!("{why}: {}", text.join("; "));
            reject_all(&landing, results, &reason);
            // The document holds the refused changes: never keep it.
            return Ok(None);
        }
        issues = soft;
        // The row shows, exports and counts the cleaned answers only: answers to
        // questions that are not relevant never reach a page, a file or a number.
        if !prechecked {
            fields_json =
                Some(serde_json::to_string(&validation.answers).unwrap_or_else(|_| "{}".into()));
        }
    }

    // 7. Append to the log and refresh the row.
    let mut last_seq = 0;
    for (i, change) in &landing {
        let hash = change.hash();
        last_seq = tx.append_change(
            sqlite::LoggedChange {
                hash: &hash.0,
                record_id: &id,
                bytes: change.raw_bytes(),
                actor: change.actor_id().to_bytes(),
            },
            &caller.user_id,
            &caller.device_id,
            now,
        )?;
        results[*i] = Some(accepted(&hash));
    }
    let pending = state.as_ref().map_or(0, |s| s.pending) + landing.len() as i64;
    let snapshot = (pending >= SNAPSHOT_EVERY).then(|| doc.save());
    // A record of one change cannot hold concurrent values: skip the walk.
    let only_creation = !existing && landing.len() == 1;
    let has_conflicts = !only_creation && doc.has_conflicts();
    let heads: Vec<String> = doc.heads().iter().map(|h| h.to_string()).collect();
    let row = RowWrite {
        id: id.clone(),
        kind: meta.kind.as_str(),
        scope: meta.scope.clone(),
        form: meta.form.as_ref().map(|f| (f.id.clone(), f.version)),
        created_by: meta.created_by.clone(),
        created_at: meta.created_at,
        updated_at: now,
        heads: serde_json::to_string(&heads).unwrap_or_else(|_| "[]".into()),
        fields: fields_json
            .unwrap_or_else(|| serde_json::to_string(&fields).unwrap_or_else(|_| "{}".into())),
        has_conflicts,
        issues: serde_json::to_string(&issues).unwrap_or_else(|_| "[]".into()),
    };
    match &snapshot {
        Some(bytes) => tx.upsert_record(&row, Some((bytes, last_seq)), 0)?,
        None => tx.upsert_record(&row, None, pending)?,
    }
    Ok(Some(doc))
}
