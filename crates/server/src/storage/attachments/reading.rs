//! Reading attachments back for the staff pages: how far each is, whether a record
//! may show it, its bytes a chunk at a time.

use std::collections::HashMap;

use crate::storage::sql::args;
use crate::storage::{Storage, StorageError};

use super::rows::*;
use super::*;

impl Storage {
    /// How far each of these attachments is, as record `record_id`'s page shows it:
    /// complete when readable through this record, else the furthest unfinished upload
    /// begun for this record; absent otherwise. (Another record's upload of the same
    /// hash says nothing here.)
    pub fn attachment_states(
        &self,
        record_id: &str,
        sha256s: &[&str],
    ) -> Result<HashMap<String, UploadState>, StorageError> {
        self.with_sql(|c| {
            let mut out = HashMap::new();
            for sha in sha256s {
                let state = match readable(c, record_id, sha)? {
                    Some(size) => Some(UploadState::whole(size)),
                    None => c
                        .row(
                            "SELECT size, received FROM attachments
                             WHERE sha256 = ?1 AND record_id = ?2 AND NOT complete
                             ORDER BY received DESC LIMIT 1",
                            &args![*sha, record_id],
                        )?
                        .map(|r| {
                            Ok::<_, StorageError>(UploadState {
                                size: size_of(&r, 0)?,
                                received: size_of(&r, 1)?,
                                complete: false,
                            })
                        })
                        .transpose()?,
                };
                if let Some(state) = state {
                    out.insert((*sha).to_string(), state);
                }
            }
            Ok(out)
        })
    }

    /// The size of attachment `sha256` when it may be shown through record
    /// `record_id` (the caller checks that the viewer may see the record and that its
    /// answers name the attachment): the server holds the bytes and a device that
    /// uploaded them for this record wrote the record.
    pub fn readable_attachment(
        &self,
        record_id: Uuid,
        sha256: &str,
    ) -> Result<Option<u64>, StorageError> {
        self.with_sql(|c| readable(c, &record_id.to_string(), sha256))
    }

    /// The stored chunk of `sha256` that starts at byte `offset`, for reading an
    /// attachment a chunk (at most 4 MiB) at a time; `None` when there is none (the
    /// bytes were purged meanwhile, or `offset` is past the end).
    pub fn attachment_chunk(
        &self,
        sha256: &str,
        offset: u64,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.with_sql(|c| {
            c.row(
                "SELECT ch.bytes FROM attachments a
                 JOIN attachment_chunks ch ON ch.upload_id = a.id
                 WHERE a.sha256 = ?1 AND a.complete AND ch.\"offset\" = ?2",
                &args![sha256, offset as i64],
            )?
            .map(|mut r| r.take_blob(0))
            .transpose()
        })
    }

    /// The whole bytes of a stored attachment, in memory; `None` when the server does
    /// not hold them. For tests and tools: staff are served a chunk at a time
    /// ([`Storage::attachment_chunk`]).
    pub fn attachment_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError> {
        // In one transaction, so that a purge between the reads cannot hand out part
        // of the bytes.
        self.transact(|tx| {
            let Some(row) = tx.row(
                "SELECT id FROM attachments WHERE sha256 = ?1 AND complete",
                &args![sha256],
            )?
            else {
                return Ok(None);
            };
            let id: i64 = row.get(0)?;
            let mut out = Vec::new();
            tx.each(
                "SELECT bytes FROM attachment_chunks WHERE upload_id = ?1 ORDER BY \"offset\"",
                &args![id],
                &mut |mut row| {
                    out.extend_from_slice(&row.take_blob(0)?);
                    Ok(())
                },
            )?;
            Ok(Some(out))
        })
    }
}
