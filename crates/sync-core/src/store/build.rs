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
    pub doc: RecordDoc,
    /// Its row, prepared.
    pub row: NewRow,
    /// How many changes it was built from.
    pub count: usize,
}

/// Build every record of `items`, keeping their order.
pub(crate) fn build_new(items: Vec<(Uuid, Vec<Change>)>, actor: &ActorId) -> Result<Vec<Built>> {
    crate::parallel::map(items, |item| build_one(item, actor))
        .into_iter()
        .collect()
}

fn build_one((id, changes): (Uuid, Vec<Change>), actor: &ActorId) -> Result<Built> {
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
    Ok(Built { doc, row, count })
}
