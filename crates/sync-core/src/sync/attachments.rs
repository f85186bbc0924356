//! Uploading attachments, part of a sync: after the push of changes, before the pull.
//!
//! For each attachment the server does not hold whole, the client asks the server how
//! much it has (`POST /v1/attachments`) and sends the rest in chunks
//! (`PUT /v1/attachments/{sha256}?offset=N`). The server's `received` is the only
//! truth: after a dropped connection, a retry or the next sync asks again and goes on
//! from there, never from 0, so a 20 MB photo cut at half way costs at most one chunk
//! sent twice. The attachment is marked uploaded when the server says complete (it
//! checked the SHA-256 of the whole).

use super::client::{Run, SyncClient};
use super::{SyncError, SyncPhase};
use crate::protocol::{AttachmentBegin, AttachmentStatus, MAX_CHUNK_BYTES, PROTOCOL_VERSION};
use crate::store::PendingAttachment;

/// How one attachment's upload ended.
enum Outcome {
    /// The server holds it whole.
    Complete,
    /// The server refused it; it stays pending.
    Refused,
}

/// Whether a refusal concerns this attachment only (the sync goes on without it).
fn refused_alone(e: &SyncError) -> bool {
    matches!(
        e,
        SyncError::Refused {
            status: 400 | 403 | 413,
            ..
        }
    )
}

impl SyncClient {
    /// Upload every pending attachment. Network failures end the sync (the next one
    /// resumes each upload where the server stands); a refusal of one attachment is
    /// counted and the others go on.
    pub(super) async fn upload_attachments(&self, run: &mut Run<'_>) -> Result<(), SyncError> {
        let pending = run.store().pending_attachments()?;
        if pending.is_empty() {
            return Ok(());
        }
        let total = pending.len() as u64;
        let remaining: u64 = pending.iter().map(|a| a.size).sum();
        let bytes_total = run.report.bytes + remaining;
        run.progress(SyncPhase::Push, 0, total, bytes_total);
        for (done, attachment) in pending.iter().enumerate() {
            run.check_cancel()?;
            match self
                .upload_one(run, attachment, bytes_total, done as u64, total)
                .await
            {
                Ok(Outcome::Complete) => {
                    run.store().mark_attachment_uploaded(&attachment.sha256)?;
                    run.report.attachments_uploaded += 1;
                }
                Ok(Outcome::Refused) => run.report.attachments_refused += 1,
                Err(e) if refused_alone(&e) => {
                    tracing::warn!(attachment = %attachment.name, error = %e, "the server refused an attachment; it stays on the device");
                    run.report.attachments_refused += 1;
                }
                Err(e) => return Err(e),
            }
            run.progress(SyncPhase::Push, done as u64 + 1, total, bytes_total);
        }
        Ok(())
    }

    /// Ask the server how much of `attachment` it holds (beginning the upload if new).
    async fn begin(
        &self,
        run: &mut Run<'_>,
        attachment: &PendingAttachment,
    ) -> Result<AttachmentStatus, SyncError> {
        let request = AttachmentBegin {
            v: PROTOCOL_VERSION,
            sha256: attachment.sha256.clone(),
            size: attachment.size,
            record_id: attachment.record_id,
            name: attachment.name.clone(),
        };
        let (status, bytes): (AttachmentStatus, u64) = self
            .transport
            .post("/v1/attachments", &request, run.cancel)
            .await?;
        run.report.bytes += bytes;
        Ok(status)
    }

    async fn upload_one(
        &self,
        run: &mut Run<'_>,
        attachment: &PendingAttachment,
        bytes_total: u64,
        done: u64,
        total: u64,
    ) -> Result<Outcome, SyncError> {
        let chunk = self.config.attachment_chunk.clamp(1, MAX_CHUNK_BYTES);
        let path = format!("/v1/attachments/{}", attachment.sha256);
        // A hash mismatch discards the server's copy; one fresh start is worth trying
        // (the bytes were damaged on the way), a second mismatch is not.
        let mut restarts = 0;
        let mut status = self.begin(run, attachment).await?;
        loop {
            run.check_cancel()?;
            if status.complete {
                return Ok(Outcome::Complete);
            }
            if status.received >= attachment.size {
                return Err(SyncError::Protocol(format!(
                    "the server holds {} bytes of attachment {} ({} bytes) but not complete",
                    status.received, attachment.sha256, attachment.size
                )));
            }
            let offset = status.received;
            let bytes = run
                .store()
                .attachment_chunk(&attachment.sha256, offset, chunk)?;
            if bytes.is_empty() {
                return Err(SyncError::Protocol(format!(
                    "attachment {} has no byte at offset {offset}",
                    attachment.sha256
                )));
            }
            let sent = bytes.len() as u64;
            let answer: Result<(AttachmentStatus, u64), SyncError> = self
                .transport
                .put_bytes(&format!("{path}?offset={offset}"), bytes, run.cancel)
                .await;
            match answer {
                Ok((next, moved)) => {
                    run.report.bytes += moved;
                    run.report.attachment_bytes += sent;
                    status = next;
                    run.progress(SyncPhase::Push, done, total, bytes_total);
                }
                // The server stands elsewhere (a chunk whose answer was lost did land,
                // or another device sent the same bytes): ask where, go on from there.
                Err(SyncError::Refused { status: 409, .. }) => {
                    status = self.begin(run, attachment).await?;
                }
                // The upload was discarded (a hash mismatch, here or by another
                // device's upload of the same name): start it again, once.
                Err(SyncError::Refused {
                    status: 422 | 404,
                    message,
                    ..
                }) => {
                    restarts += 1;
                    if restarts > 1 {
                        tracing::warn!(attachment = %attachment.name, %message, "attachment upload discarded twice; left for the next sync");
                        return Ok(Outcome::Refused);
                    }
                    tracing::warn!(attachment = %attachment.name, %message, "attachment upload discarded; starting again");
                    status = self.begin(run, attachment).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
