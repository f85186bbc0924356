//! Beginning an upload and appending its chunks at the server's offset.

use sync_core::protocol::is_sha256_hex;
use sync_core::RecordKind;

use crate::auth::Caller;
use crate::storage::sql::args;
use crate::storage::{Storage, StorageError};

use super::rows::*;
use super::*;

/// What appending a chunk came to, inside its transaction.
enum Appended {
    /// The upload stands here now.
    At(UploadState),
    /// The whole did not hash to its name and was discarded (committed as such).
    Mismatch { actual: String },
}

impl Storage {
    /// Begin the upload of an attachment, or learn how far this device's upload is.
    ///
    /// Refused when the size passes `max_size`, when its record exists and `caller` may
    /// not write it, and when the device's uploads that no record uses yet would pass
    /// its quota ([`DEVICE_QUOTA_FACTOR`] × `max_size` bytes, [`DEVICE_QUOTA_UPLOADS`]
    /// uploads). A record the server does not have yet is accepted, since the device
    /// pushes the record's changes first but a push refused for a passing reason must
    /// not hold its attachments back (an attachment is shown only through a record its
    /// uploading device wrote).
    ///
    /// The answer is `complete` only when this device proved before that it holds these
    /// bytes (its own upload of them completed); any other device uploads its own copy,
    /// even when the server holds the bytes already: the hash check at its end is what
    /// lets a record show them. Idle and unnamed uploads are swept first.
    pub fn begin_attachment(
        &self,
        caller: &Caller,
        new: &NewAttachment<'_>,
        max_size: u64,
    ) -> Result<UploadState, AttachmentError> {
        if !is_sha256_hex(new.sha256) {
            return Err(AttachmentError::Invalid(
                "`sha256` must be 64 lower-case hex digits".into(),
            ));
        }
        if new.size == 0 {
            return Err(AttachmentError::Invalid(
                "an attachment has at least one byte".into(),
            ));
        }
        if new.size > max_size {
            return Err(AttachmentError::TooLarge {
                size: new.size,
                max: max_size,
            });
        }
        let name: String = new.name.chars().take(200).collect();
        let record = self.record(new.record_id)?;
        if let Some(row) = record {
            let writable = row
                .kind
                .parse::<RecordKind>()
                .is_ok_and(|kind| caller.role.may_write(kind));
            if !writable || !caller.may_see(&row.scope) {
                return Err(AttachmentError::OutOfScope(new.record_id));
            }
        }
        // Housekeeping: a failure here must not refuse the upload.
        if let Err(e) = self.sweep_attachments() {
            tracing::warn!(error = %e, "attachment sweep failed");
        }
        let device = caller.device_id.as_str();
        let record_id = new.record_id.to_string();
        let quota = max_size.saturating_mul(DEVICE_QUOTA_FACTOR);
        let time = self.clock().now();
        let wrong_size = |size: u64| {
            // The stored bytes hash to this name, so their size is right.
            AttachmentError::Invalid(format!(
                "attachment {} has {size} bytes, not {}",
                new.sha256, new.size
            ))
        };
        self.transact(|tx| {
            // The upload's row first, then the hash: the order a chunk takes them.
            let mine = open(tx, new.sha256, device)?;
            lock_hash(tx, new.sha256)?;
            // This device proved it holds these bytes: for this record (a retry whose
            // answer was lost) or another (the same photo in two of its records).
            if let Some(size) = proven_by(tx, new.sha256, device)? {
                if size != new.size {
                    return Err(wrong_size(size));
                }
                grant(tx, new.sha256, &record_id, device, &name, size, time)?;
                return Ok(UploadState::whole(size));
            }
            match mine {
                Some(o) if o.size == new.size => return Ok(o.state()),
                // Its unfinished upload declared with another size: one of the two is
                // wrong, and only the hash check can tell which. Start again with the
                // newest declaration. (Only its own: no other device's upload moves.)
                Some(o) => discard(tx, o.id)?,
                None => {}
            }
            if let Some(size) = stored(tx, new.sha256)? {
                if size != new.size {
                    return Err(wrong_size(size));
                }
            }
            let (held, uploads) = held_by(tx, device)?;
            if held.saturating_add(new.size) > quota || uploads >= DEVICE_QUOTA_UPLOADS {
                return Err(AttachmentError::QuotaExceeded {
                    held,
                    uploads,
                    size: new.size,
                    quota,
                    max_uploads: DEVICE_QUOTA_UPLOADS,
                });
            }
            // The same device beginning at once on another node: the second insert
            // does nothing and both answer with the one row.
            tx.execute(
                "INSERT INTO attachments (sha256, size, received, complete, record_id,
                     name, uploaded_by, created_at, touched_at)
                 VALUES (?1, ?2, 0, FALSE, ?3, ?4, ?5, ?6, ?6)
                 ON CONFLICT DO NOTHING",
                &args![
                    new.sha256,
                    new.size as i64,
                    record_id.as_str(),
                    name.as_str(),
                    device,
                    time
                ],
            )?;
            let begun = open(tx, new.sha256, device)?
                .ok_or_else(|| StorageError::Corrupt(format!("upload {} vanished", new.sha256)))?;
            Ok(begun.state())
        })
    }

    /// Append a chunk at `offset` to `caller`'s device's upload of `sha256`: only when
    /// that upload stands there (else [`AttachmentError::WrongOffset`] with where it
    /// stands). When the last byte arrives the whole is hashed; a mismatch discards
    /// the upload, a match grants the bytes to the upload's record (and keeps one copy
    /// of them).
    pub fn append_attachment(
        &self,
        caller: &Caller,
        sha256: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<UploadState, AttachmentError> {
        let device = caller.device_id.as_str();
        let time = self.clock().now();
        let appended = self.transact(|tx| {
            let Some(current) = open(tx, sha256, device)? else {
                // A retry of the last chunk whose answer was lost: nothing to do.
                if let Some(size) = proven_by(tx, sha256, device)? {
                    return Ok(Appended::At(UploadState::whole(size)));
                }
                return Err(AttachmentError::NotBegun(sha256.to_string()));
            };
            if offset != current.received {
                return Err(AttachmentError::WrongOffset {
                    offset,
                    received: current.received,
                });
            }
            let end = offset + bytes.len() as u64;
            if end > current.size {
                return Err(AttachmentError::PastEnd {
                    end,
                    size: current.size,
                });
            }
            if bytes.is_empty() {
                return Ok(Appended::At(current.state()));
            }
            tx.execute(
                "INSERT INTO attachment_chunks (upload_id, \"offset\", sha256, bytes)
                 VALUES (?1, ?2, ?3, ?4)",
                &args![current.id, offset as i64, sha256, bytes],
            )?;
            if end < current.size {
                tx.execute(
                    "UPDATE attachments SET received = ?2, touched_at = ?3 WHERE id = ?1",
                    &args![current.id, end as i64, time],
                )?;
                return Ok(Appended::At(UploadState {
                    received: end,
                    ..current.state()
                }));
            }
            let actual = hash_chunks(tx, current.id)?;
            if actual != sha256 {
                discard(tx, current.id)?;
                return Ok(Appended::Mismatch { actual });
            }
            lock_hash(tx, sha256)?;
            if stored(tx, sha256)?.is_some() {
                // The server holds these bytes already: this device proved it has them
                // too, and one copy is enough.
                discard(tx, current.id)?;
            } else {
                tx.execute(
                    "UPDATE attachments SET received = ?2, complete = TRUE, completed_at = ?3,
                         touched_at = ?3
                     WHERE id = ?1",
                    &args![current.id, end as i64, time],
                )?;
            }
            grant(
                tx,
                sha256,
                &current.record_id,
                device,
                &current.name,
                current.size,
                time,
            )?;
            Ok(Appended::At(UploadState::whole(current.size)))
        })?;
        match appended {
            Appended::At(state) => Ok(state),
            Appended::Mismatch { actual } => {
                tracing::warn!(attachment = %sha256, %actual, device, "attachment upload discarded: hash mismatch");
                Err(AttachmentError::HashMismatch(sha256.to_string()))
            }
        }
    }
}
