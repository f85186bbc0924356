//! Building the documents of records new to this device, in parallel.
//!
//! Decoding a record from its changes is pure CPU and dominates a fresh pull (tens of
//! microseconds a record); phones have several cores, so a page's new records are
//! built on all of them before the page's single transaction writes them in order.

use automerge::{ActorId, Change};
use uuid::Uuid;

use super::records::{prepare, NewRow};
use crate::error::{CoreError, Result};
use crate::record::RecordDoc;

/// A record built from its changes, ready to insert.
pub(crate) struct Built {
    /// Its metadata.
    pub meta: crate::record::RecordMeta,
    /// The document, when the caller wants to keep it (cached).
    pub doc: Option<RecordDoc>,
    /// Its row, prepared.
    pub row: NewRow,
    /// How many changes it was built from.
    pub count: usize,
}

/// Build every record of `items`, keeping their order. Only the last `keep` documents
/// are returned (for the cache); the others are dropped on the worker threads, where
/// freeing them costs nothing to the page's transaction.
pub(crate) fn build_new(
    items: Vec<(Uuid, Vec<Change>)>,
    actor: &ActorId,
    keep: usize,
) -> Result<Vec<Built>> {
    let first_kept = items.len().saturating_sub(keep);
    let numbered: Vec<(usize, (Uuid, Vec<Change>))> = items.into_iter().enumerate().collect();
    crate::parallel::map(numbered, |(n, item)| {
        build_one(item, actor, n >= first_kept)
    })
    .into_iter()
    .collect()
}

fn build_one((id, changes): (Uuid, Vec<Change>), actor: &ActorId, keep: bool) -> Result<Built> {
    let count = changes.len();
    let raw = changes
        .iter()
        .flat_map(|c| c.raw_bytes().iter().copied())
        .collect();
    let mut doc = RecordDoc::from_changes(changes, Some(actor.clone()))?;
    if doc.id() != id {
        return Err(CoreError::Malformed {
            id: id.to_string(),
            reason: format!("its changes describe record {}", doc.id()),
        });
    }
    let row = prepare(&mut doc, raw, count);
    Ok(Built {
        meta: doc.meta().clone(),
        doc: keep.then_some(doc),
        row,
        count,
    })
}
