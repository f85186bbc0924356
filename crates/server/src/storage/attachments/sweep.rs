//! Removing what no record uses: idle unfinished uploads and unnamed grants.

use std::collections::BTreeSet;

use crate::storage::sql::args;
use crate::storage::{Storage, StorageError};

use super::rows::*;
use super::*;

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Unfinished uploads idle for [`UNFINISHED_IDLE_SECS`].
    pub unfinished: usize,
    /// Grants whose record did not name them within [`UNREFERENCED_SECS`].
    pub unreferenced: usize,
    /// Attachments whose bytes went with the last of their grants.
    pub bytes_deleted: usize,
}

impl Storage {
    /// Remove what no record uses: unfinished uploads with no chunk for
    /// [`UNFINISHED_IDLE_SECS`], and grants whose record has not named their hash
    /// within [`UNREFERENCED_SECS`] (with the bytes, when no other grant holds them).
    /// Runs at each begin, a batch at a time.
    pub fn sweep_attachments(&self) -> Result<Swept, StorageError> {
        let time = self.clock().now();
        let swept = self.transact(|tx| {
            let mut swept = Swept::default();
            let idle_before = time - UNFINISHED_IDLE_SECS;
            for row in tx.rows(
                "SELECT id FROM attachments WHERE NOT complete AND touched_at < ?1 LIMIT ?2",
                &args![idle_before, SWEEP_BATCH],
            )? {
                let id: i64 = row.get(0)?;
                // Again with the condition: a chunk may have landed since (PostgreSQL
                // waits here for that chunk's transaction, then looks again).
                let gone = tx.execute(
                    "DELETE FROM attachments WHERE id = ?1 AND NOT complete AND touched_at < ?2",
                    &args![id, idle_before],
                )?;
                if gone > 0 {
                    tx.execute(
                        "DELETE FROM attachment_chunks WHERE upload_id = ?1",
                        &args![id],
                    )?;
                    swept.unfinished += 1;
                }
            }
            let mut hashes = BTreeSet::new();
            for row in tx.rows(
                "SELECT sha256, record_id, device_id FROM attachment_grants
                 WHERE NOT referenced AND created_at < ?1 LIMIT ?2",
                &args![time - UNREFERENCED_SECS, SWEEP_BATCH],
            )? {
                let (sha, record, device): (String, String, String) =
                    (row.get(0)?, row.get(1)?, row.get(2)?);
                let still = if named(tx, &record, &sha)? {
                    "UPDATE attachment_grants SET referenced = TRUE
                     WHERE sha256 = ?1 AND record_id = ?2 AND device_id = ?3"
                } else {
                    swept.unreferenced += 1;
                    hashes.insert(sha.clone());
                    "DELETE FROM attachment_grants
                     WHERE sha256 = ?1 AND record_id = ?2 AND device_id = ?3"
                };
                tx.execute(
                    still,
                    &args![sha.as_str(), record.as_str(), device.as_str()],
                )?;
            }
            for sha in &hashes {
                if drop_if_ungranted(tx, sha)? {
                    swept.bytes_deleted += 1;
                }
            }
            Ok::<_, StorageError>(swept)
        })?;
        if swept != Swept::default() {
            tracing::info!(
                unfinished = swept.unfinished,
                unreferenced = swept.unreferenced,
                bytes_deleted = swept.bytes_deleted,
                "attachment uploads no record used were removed"
            );
        }
        Ok(swept)
    }
}
