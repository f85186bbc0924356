//! Taking a push: decode, deduplicate, check metadata, scope, dependencies and form
//! answers per record, then append the accepted changes to the log and refresh each
//! record's row, all in one transaction.
//!
//! This file decodes a push and takes it inside the feed's write turn; one record's share of it is
//! taken in [`record`], through the checks of [`accept`] (which of its changes may
//! land) and the writes of [`write`] (the log's rows and the record's row).

mod accept;
mod record;
mod write;

use std::collections::HashMap;

use automerge::{Change, ChangeHash};
use sync_core::protocol::{PushResult, PushStatus, PushedChange};
use sync_core::RecordDoc;
use uuid::Uuid;

use super::database::{DocCache, KeepDocs};
use super::log_tx::LogTx;
use super::prebuild::Prebuilds;
use super::{Storage, StorageError};
use crate::auth::Caller;
use record::PushTx;

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

/// The records of a push taken inside `tx` (the feed's write turn, see
/// `Storage::write_feed`): the results, and the documents to keep in the cache once
/// `tx` commits.
pub(super) fn write_in(
    tx: &dyn LogTx,
    docs: &mut DocCache,
    storage: &Storage,
    caller: &Caller,
    incoming: Incoming,
    prebuilt: &mut Prebuilds,
    now: i64,
) -> Result<(Vec<PushResult>, KeepDocs), StorageError> {
    let Incoming {
        results,
        groups,
        duplicates,
    } = incoming;
    let hashes: Vec<Vec<u8>> = groups
        .iter()
        .flat_map(|(_, group)| group.iter().map(|(_, c)| c.hash().0.to_vec()))
        .collect();
    let records: Vec<String> = groups.iter().map(|(id, _)| id.to_string()).collect();
    tx.prepare_push(&hashes, &records)?;
    let mut push = PushTx {
        tx,
        storage,
        caller,
        now,
        prebuilt,
        results,
    };
    let mut keep: Vec<(Uuid, RecordDoc)> = Vec::new();
    for (record, group) in groups {
        let cached = docs.pop(&record);
        if let Some(doc) = push.take_record(record, group, cached)? {
            keep.push((record, doc));
        }
    }
    let mut results = push.results;
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
