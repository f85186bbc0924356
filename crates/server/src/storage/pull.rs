//! The feed as devices read it: a page of changes and tombstones after a cursor,
//! within the caller's scope, from one snapshot of either database.

use sync_core::protocol::{PullResponse, PulledChange, PROTOCOL_VERSION};
use sync_core::Scope;
use uuid::Uuid;

use super::log_tx::LogTx;
use super::{Storage, StorageError};
use crate::auth::Caller;

/// Most log sequence numbers one pull scans (past those the page ends, possibly empty,
/// with a cursor that still advances).
const MAX_SCAN: i64 = 200_000;

impl Storage {
    /// One page of the feed after `cursor` for `caller`, leaving out the changes made
    /// by `exclude_actor` (the calling device's own; the cursor still moves past them).
    pub fn pull(
        &self,
        caller: &Caller,
        cursor: Option<&str>,
        limit: u32,
        max_bytes: u64,
        exclude_actor: Option<&[u8]>,
    ) -> Result<PullResponse, StorageError> {
        let epoch = self.epoch().to_string();
        let after = match cursor {
            None => 0,
            Some(text) => parse_cursor(text, &epoch)?,
        };
        let limit = i64::from(limit.clamp(1, sync_core::protocol::MAX_PULL_LIMIT));
        let max_bytes = max_bytes.clamp(1, sync_core::protocol::MAX_PULL_BYTES);

        let scope = caller.scope.clone();
        let (changes, tombstones, last, max_seq) = self
            .read_log(|log| pull_in(log, scope.as_ref(), exclude_actor, after, limit, max_bytes))?;
        Ok(PullResponse {
            v: PROTOCOL_VERSION,
            changes,
            tombstones,
            cursor: format!("{epoch}:{last}"),
            more: last < max_seq,
            remaining: (max_seq - last).max(0) as u64,
        })
    }
}

/// The sequence number in a cursor `"<epoch>:<seq>"` of this epoch.
fn parse_cursor(text: &str, epoch: &str) -> Result<i64, StorageError> {
    let unknown = || {
        StorageError::UnknownCursor(format!(
            "cursor `{}` is not one of this server's; run the repair path",
            text.chars().take(80).collect::<String>()
        ))
    };
    let (e, seq) = text.split_once(':').ok_or_else(unknown)?;
    if e != epoch {
        return Err(unknown());
    }
    seq.parse::<i64>()
        .ok()
        .filter(|s| *s >= 0)
        .ok_or_else(unknown)
}

/// One page of the feed after `after` for `scope`, inside one transaction: the
/// changes (at most `limit`, about `max_bytes`), the tombstones among them, the
/// cursor's new sequence and the feed's high-water mark. A narrow scope reads at most
/// [`MAX_SCAN`] sequence numbers per page, in windows.
#[allow(clippy::type_complexity)]
fn pull_in(
    tx: &dyn LogTx,
    scope: Option<&Scope>,
    exclude_actor: Option<&[u8]>,
    after: i64,
    limit: i64,
    max_bytes: u64,
) -> Result<
    (
        Vec<PulledChange>,
        Vec<sync_core::protocol::Tombstone>,
        i64,
        i64,
    ),
    StorageError,
> {
    let max_seq = tx.max_seq()?;
    if after > max_seq {
        return Err(StorageError::UnknownCursor(format!(
            "cursor {after} is past the end of the feed ({max_seq})"
        )));
    }
    let mut changes = Vec::new();
    let mut bytes: u64 = 0;
    let mut last = after;
    let mut full = false;
    while last < max_seq && !full && last - after < MAX_SCAN {
        let upto = (last + 20_000).min(max_seq);
        let want = limit - changes.len() as i64;
        for row in tx.feed(scope, exclude_actor, last, upto, want)? {
            let size = row.bytes.len() as u64;
            if !changes.is_empty() && bytes + size > max_bytes {
                full = true;
                break;
            }
            let Ok(record) = Uuid::parse_str(&row.record_id) else {
                return Err(StorageError::Corrupt(format!(
                    "record id `{}` in the log",
                    row.record_id
                )));
            };
            bytes += size;
            last = row.seq;
            changes.push(PulledChange {
                record,
                change: sync_core::protocol::Bytes(row.bytes),
            });
            if changes.len() as i64 >= limit {
                full = true;
                break;
            }
        }
        if !full {
            last = upto;
        }
    }
    let tombstones = tx
        .tombstones(scope, after, last)?
        .into_iter()
        .filter_map(|(record, reason)| {
            Some(sync_core::protocol::Tombstone {
                record: Uuid::parse_str(&record).ok()?,
                reason,
            })
        })
        .collect();
    Ok((changes, tombstones, last, max_seq))
}
