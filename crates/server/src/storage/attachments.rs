//! Attachments (a consent signature, a photo): uploads in chunks, by the SHA-256 of
//! their bytes, and reading them back for the staff pages. The only place with the
//! SQL of `attachments`, `attachment_chunks` and `attachment_grants`.
//!
//! An upload belongs to the device that began it: a row of `attachments` per device
//! and hash while it is unfinished, found by (hash, device), so no other device can
//! move, reset or spoil it. Chunks are appended only at the offset the server stands
//! at (`received`), each in one transaction with the new offset, so a connection cut
//! mid-chunk leaves the upload at the last whole chunk and the device resumes from
//! there. When the last byte arrives the whole is hashed: a mismatch discards the
//! upload (the device starts it again); a match proves the device holds these bytes.
//! The server then keeps one copy of each hash (the first completed upload's row stays,
//! `complete`; a later device's copy is dropped once its hash checked) and writes a
//! *grant*: these bytes may be shown through this record.
//!
//! Naming a hash in a record gives nothing: an attachment is readable through record
//! R only when a device that proved it holds the bytes (a grant for R) also wrote R (a
//! change of R in the log is that device's; a push is accepted only within the
//! device's scope). A purge deletes its records' grants and unfinished uploads, and
//! the bytes that no remaining grant holds.
//!
//! What no record uses yet is bounded per device (a quota of unfinished uploads and of
//! grants whose record does not name the hash) and swept: unfinished uploads idle for
//! [`UNFINISHED_IDLE_SECS`], grants never named within [`UNREFERENCED_SECS`].
//!
//! Bytes live in the database, not in files: a backup of the database holds them, and
//! several server nodes on one database see the same bytes. They are read back a chunk
//! at a time, never whole.

use std::collections::{BTreeSet, HashMap};

use sha2::{Digest, Sha256};
use sync_core::protocol::is_sha256_hex;
use sync_core::RecordKind;
use thiserror::Error;
use uuid::Uuid;

use super::sql::{args, Dialect, Row, Sql};
use super::{Storage, StorageError};
use crate::auth::Caller;

/// An unfinished upload with no chunk for this long (seconds: 7 days) is removed; the
/// device, if it comes back, begins again from 0.
pub const UNFINISHED_IDLE_SECS: i64 = 7 * 24 * 3600;

/// A completed upload whose record does not name it this long after it completed
/// (seconds: 30 days; the record never arrived, or never named it) is removed.
pub const UNREFERENCED_SECS: i64 = 30 * 24 * 3600;

/// A device's quota of bytes in uploads no record uses yet (unfinished uploads at their
/// declared size, completed ones their record does not name): this many times the
/// largest attachment (200 MiB with the default 50 MiB).
pub const DEVICE_QUOTA_FACTOR: u64 = 4;

/// A device's quota of such uploads, whatever their size.
pub const DEVICE_QUOTA_UPLOADS: u64 = 256;

/// The most rows one sweep looks at, so that a begin stays quick.
const SWEEP_BATCH: i64 = 100;

/// The most of a device's unnamed grants looked at again at one begin.
const RECHECK_BATCH: i64 = 50;

/// Why an attachment request was refused.
#[derive(Debug, Error)]
pub enum AttachmentError {
    /// The database failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// Not a SHA-256 in lower-case hex, a size of 0, or a bad name.
    #[error("{0}")]
    Invalid(String),
    /// Larger than the server takes.
    #[error("the attachment has {size} bytes; this server takes at most {max}")]
    TooLarge {
        /// The declared size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The device holds as much as it may in uploads no record uses yet.
    #[error(
        "this device holds {held} bytes in {uploads} uploads that no record uses yet; \
         {size} more would pass its quota of {quota} bytes in {max_uploads} uploads: \
         finish them, push the records that name them, or wait until they are removed"
    )]
    QuotaExceeded {
        /// Bytes held in unfinished and unnamed uploads.
        held: u64,
        /// How many such uploads.
        uploads: u64,
        /// The declared size of the new upload.
        size: u64,
        /// The quota in bytes.
        quota: u64,
        /// The quota in uploads.
        max_uploads: u64,
    },
    /// The record exists and the caller may not write it.
    #[error("record {0} is outside what this device may write")]
    OutOfScope(Uuid),
    /// This device began no upload of this attachment.
    #[error("this device began no upload of attachment {0}; begin it with POST /v1/attachments")]
    NotBegun(String),
    /// A chunk at another offset than the server stands at.
    #[error("a chunk at offset {offset}, but the server holds {received} bytes: send from there")]
    WrongOffset {
        /// The chunk's offset.
        offset: u64,
        /// What the server holds.
        received: u64,
    },
    /// A chunk that goes past the declared size.
    #[error("the chunk ends at byte {end}, past the attachment's size {size}")]
    PastEnd {
        /// Where the chunk would end.
        end: u64,
        /// The declared size.
        size: u64,
    },
    /// The bytes received do not hash to the attachment's name: the upload was
    /// discarded.
    #[error(
        "the bytes received do not have SHA-256 {0}; the upload was discarded, start it again"
    )]
    HashMismatch(String),
}

/// How much of an attachment the server holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadState {
    /// The declared size.
    pub size: u64,
    /// Bytes held, from the start.
    pub received: u64,
    /// Whether every byte is held and the hash checked.
    pub complete: bool,
}

impl UploadState {
    fn whole(size: u64) -> UploadState {
        UploadState {
            size,
            received: size,
            complete: true,
        }
    }
}

/// An upload to begin or look up.
#[derive(Debug, Clone)]
pub struct NewAttachment<'a> {
    /// SHA-256, lower-case hex.
    pub sha256: &'a str,
    /// Size in bytes.
    pub size: u64,
    /// The record that names it.
    pub record_id: Uuid,
    /// Its file name (`<sha256>.<ext>`).
    pub name: &'a str,
}

/// A device's unfinished upload.
struct Open {
    id: i64,
    size: u64,
    received: u64,
    record_id: String,
    name: String,
}

impl Open {
    fn state(&self) -> UploadState {
        UploadState {
            size: self.size,
            received: self.received,
            complete: false,
        }
    }
}

fn size_of(row: &Row, i: usize) -> Result<u64, StorageError> {
    Ok(row.get::<i64>(i)?.max(0) as u64)
}

/// `sql`, its rows locked to the end of the transaction on PostgreSQL (so that two
/// nodes taking the same chunk, a retry, do it one after the other; SQLite's one
/// writer already does).
fn for_update(conn: &dyn Sql, sql: &str) -> String {
    match conn.dialect() {
        Dialect::Sqlite => sql.to_string(),
        Dialect::Postgres => format!("{sql} FOR UPDATE"),
    }
}

/// `device`'s unfinished upload of `sha256`, locked.
fn open(conn: &dyn Sql, sha256: &str, device: &str) -> Result<Option<Open>, StorageError> {
    let sql = for_update(
        conn,
        "SELECT id, size, received, record_id, name FROM attachments
         WHERE sha256 = ?1 AND uploaded_by = ?2 AND NOT complete",
    );
    conn.row(&sql, &args![sha256, device])?
        .map(|r| {
            Ok(Open {
                id: r.get(0)?,
                size: size_of(&r, 1)?,
                received: size_of(&r, 2)?,
                record_id: r.get(3)?,
                name: r.get(4)?,
            })
        })
        .transpose()
}

/// The size of the one stored copy of `sha256`'s bytes, if the server holds them.
fn stored(conn: &dyn Sql, sha256: &str) -> Result<Option<u64>, StorageError> {
    conn.row(
        "SELECT size FROM attachments WHERE sha256 = ?1 AND complete",
        &args![sha256],
    )?
    .map(|r| size_of(&r, 0))
    .transpose()
}

/// The size of `sha256` when `device` proved it holds those bytes (any of its
/// grants), and the server still holds them.
fn proven_by(conn: &dyn Sql, sha256: &str, device: &str) -> Result<Option<u64>, StorageError> {
    let granted = conn
        .row(
            "SELECT 1 FROM attachment_grants WHERE sha256 = ?1 AND device_id = ?2 LIMIT 1",
            &args![sha256, device],
        )?
        .is_some();
    if granted {
        stored(conn, sha256)
    } else {
        Ok(None)
    }
}

/// Whether record `record_id` (as the server holds it) names `sha256`.
fn named(conn: &dyn Sql, record_id: &str, sha256: &str) -> Result<bool, StorageError> {
    // A hash is 64 hex digits: no `%` or `_` to escape. One row, by its key.
    Ok(conn
        .row(
            "SELECT 1 FROM records WHERE id = ?1 AND fields LIKE ?2",
            &args![record_id, format!("%{sha256}%")],
        )?
        .is_some())
}

/// Record that `device` proved it holds `sha256`'s bytes, for `record_id`.
fn grant(
    conn: &dyn Sql,
    sha256: &str,
    record_id: &str,
    device: &str,
    name: &str,
    size: u64,
    time: i64,
) -> Result<(), StorageError> {
    let referenced = named(conn, record_id, sha256)?;
    conn.execute(
        "INSERT INTO attachment_grants (sha256, record_id, device_id, name, size, referenced,
             created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT DO NOTHING",
        &args![
            sha256,
            record_id,
            device,
            name,
            size as i64,
            referenced,
            time
        ],
    )?;
    Ok(())
}

/// Forget an upload and its chunks.
fn discard(conn: &dyn Sql, upload_id: i64) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM attachment_chunks WHERE upload_id = ?1",
        &args![upload_id],
    )?;
    conn.execute("DELETE FROM attachments WHERE id = ?1", &args![upload_id])?;
    Ok(())
}

/// On PostgreSQL, take `sha256`'s lock to the end of the transaction: deciding whether
/// a copy of the bytes is already stored (an upload completing) and deleting a copy no
/// grant holds (a purge, a sweep) then happen one after the other across nodes, so a
/// grant never outlives its bytes. Callers taking several take them in hash order.
fn lock_hash(conn: &dyn Sql, sha256: &str) -> Result<(), StorageError> {
    if conn.dialect() == Dialect::Postgres {
        let key = u32::from_str_radix(sha256.get(..8).unwrap_or("0"), 16).unwrap_or(0) as i32;
        conn.execute(
            "SELECT pg_advisory_xact_lock(7002, ?1)",
            &args![i64::from(key)],
        )?;
    }
    Ok(())
}

/// Delete the stored bytes of `sha256` when no grant holds them any more; whether
/// they were deleted.
fn drop_if_ungranted(conn: &dyn Sql, sha256: &str) -> Result<bool, StorageError> {
    lock_hash(conn, sha256)?;
    let granted = conn
        .row(
            "SELECT 1 FROM attachment_grants WHERE sha256 = ?1 LIMIT 1",
            &args![sha256],
        )?
        .is_some();
    if granted {
        return Ok(false);
    }
    let mut deleted = false;
    for row in conn.rows(
        "SELECT id FROM attachments WHERE sha256 = ?1 AND complete",
        &args![sha256],
    )? {
        discard(conn, row.get(0)?)?;
        deleted = true;
    }
    Ok(deleted)
}

/// The SHA-256 (hex) of an upload's chunks, in order, read one chunk at a time.
fn hash_chunks(conn: &dyn Sql, upload_id: i64) -> Result<String, StorageError> {
    let mut hasher = Sha256::new();
    conn.each(
        "SELECT bytes FROM attachment_chunks WHERE upload_id = ?1 ORDER BY \"offset\"",
        &args![upload_id],
        &mut |mut row| {
            hasher.update(row.take_blob(0)?);
            Ok(())
        },
    )?;
    Ok(hex::encode(&hasher.finalize()[..]))
}

/// What `device` holds that no record uses yet: (bytes, uploads). Its unnamed grants
/// are looked at again first (their record may have arrived since).
fn held_by(conn: &dyn Sql, device: &str) -> Result<(u64, u64), StorageError> {
    let unnamed = conn.rows(
        "SELECT sha256, record_id FROM attachment_grants
         WHERE device_id = ?1 AND NOT referenced LIMIT ?2",
        &args![device, RECHECK_BATCH],
    )?;
    for row in unnamed {
        let (sha, record): (String, String) = (row.get(0)?, row.get(1)?);
        if named(conn, &record, &sha)? {
            conn.execute(
                "UPDATE attachment_grants SET referenced = TRUE
                 WHERE sha256 = ?1 AND record_id = ?2 AND device_id = ?3",
                &args![sha.as_str(), record.as_str(), device],
            )?;
        }
    }
    let mut bytes = 0;
    let mut uploads = 0;
    for sql in [
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*) FROM attachments
         WHERE uploaded_by = ?1 AND NOT complete",
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT), COUNT(*) FROM attachment_grants
         WHERE device_id = ?1 AND NOT referenced",
    ] {
        if let Some(r) = conn.row(sql, &args![device])? {
            bytes += size_of(&r, 0)?;
            uploads += size_of(&r, 1)?;
        }
    }
    Ok((bytes, uploads))
}

/// The size of `sha256` when it is readable through record `record_id`: the server
/// holds the bytes, a device proved it holds them for this record, and that device
/// wrote the record (so the record is within its scope). Naming the hash is not
/// enough.
fn readable(conn: &dyn Sql, record_id: &str, sha256: &str) -> Result<Option<u64>, StorageError> {
    conn.row(
        "SELECT a.size FROM attachments a
         WHERE a.sha256 = ?1 AND a.complete
           AND EXISTS (SELECT 1 FROM attachment_grants g
                       JOIN changes c ON c.record_id = g.record_id AND c.device_id = g.device_id
                       WHERE g.sha256 = ?1 AND g.record_id = ?2)",
        &args![sha256, record_id],
    )?
    .map(|r| size_of(&r, 0))
    .transpose()
}

/// A purge deleted `records`: delete their unfinished uploads and their grants, and
/// the bytes no remaining grant holds (another record's device uploaded the same bytes
/// for it: those stay, as that record still shows them). A record merely naming the
/// hash holds nothing. Returns how many attachments' bytes were deleted.
pub(super) fn purge_records(conn: &dyn Sql, records: &[String]) -> Result<usize, StorageError> {
    let mut hashes = BTreeSet::new();
    for record in records {
        for row in conn.rows(
            "SELECT id FROM attachments WHERE record_id = ?1 AND NOT complete",
            &args![record.as_str()],
        )? {
            discard(conn, row.get(0)?)?;
        }
        for row in conn.rows(
            "SELECT sha256 FROM attachment_grants WHERE record_id = ?1",
            &args![record.as_str()],
        )? {
            hashes.insert(row.get::<String>(0)?);
        }
        conn.execute(
            "DELETE FROM attachment_grants WHERE record_id = ?1",
            &args![record.as_str()],
        )?;
    }
    let mut deleted = 0;
    // In hash order: the hashes' locks are taken in one order everywhere.
    for sha in &hashes {
        if drop_if_ungranted(conn, sha)? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// What appending a chunk came to, inside its transaction.
enum Appended {
    /// The upload stands here now.
    At(UploadState),
    /// The whole did not hash to its name and was discarded (committed as such).
    Mismatch { actual: String },
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use sync_core::Scope;

    fn setup() -> (tempfile::TempDir, Storage, Caller) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        let caller = Caller {
            user_id: "u1".into(),
            username: "ana".into(),
            role: Role::OutreachWorker,
            scope: Some(Scope::partnership("p1")),
            device_id: "d1".into(),
        };
        (dir, storage, caller)
    }

    fn uploads(s: &Storage) -> i64 {
        s.read(|c| Ok(c.query_row("SELECT count(*) FROM attachments", [], |r| r.get(0))?))
            .unwrap()
    }

    fn sha(bytes: &[u8]) -> String {
        hex::encode(&Sha256::digest(bytes)[..])
    }

    fn begin(
        s: &Storage,
        c: &Caller,
        hash: &str,
        size: u64,
    ) -> Result<UploadState, AttachmentError> {
        let new = NewAttachment {
            sha256: hash,
            size,
            record_id: Uuid::new_v4(),
            name: "x.png",
        };
        s.begin_attachment(c, &new, 1000)
    }

    #[test]
    fn chunks_append_only_at_the_offset_and_complete_with_the_right_hash() {
        let (_dir, s, c) = setup();
        let data: Vec<u8> = (0..250u32).map(|i| (i * 7) as u8).collect();
        let h = sha(&data);
        let st = begin(&s, &c, &h, 250).unwrap();
        assert_eq!((st.received, st.complete), (0, false));
        let st = s.append_attachment(&c, &h, 0, &data[..100]).unwrap();
        assert_eq!(st.received, 100);
        // A repeated chunk (its answer lost) and a skipped one are both refused with
        // where the server stands.
        for offset in [0, 150] {
            match s.append_attachment(&c, &h, offset, &data[100..150]) {
                Err(AttachmentError::WrongOffset { received, .. }) => assert_eq!(received, 100),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            s.append_attachment(&c, &h, 100, &[0u8; 151]),
            Err(AttachmentError::PastEnd {
                end: 251,
                size: 250
            })
        ));
        // Beginning again tells where to resume.
        assert_eq!(begin(&s, &c, &h, 250).unwrap().received, 100);
        assert!(s.attachment_bytes(&h).unwrap().is_none(), "unfinished");
        let st = s.append_attachment(&c, &h, 100, &data[100..]).unwrap();
        assert_eq!((st.received, st.complete), (250, true));
        assert_eq!(s.attachment_bytes(&h).unwrap().unwrap(), data);
        // Complete: a late retry is answered, not refused.
        assert!(
            s.append_attachment(&c, &h, 100, &data[100..])
                .unwrap()
                .complete
        );
        assert!(begin(&s, &c, &h, 250).unwrap().complete);
        assert!(matches!(
            begin(&s, &c, &h, 249),
            Err(AttachmentError::Invalid(_))
        ));
    }

    #[test]
    fn a_hash_mismatch_discards_the_upload() {
        let (_dir, s, c) = setup();
        let data = vec![1u8; 64];
        let h = sha(&data);
        begin(&s, &c, &h, 64).unwrap();
        s.append_attachment(&c, &h, 0, &data[..32]).unwrap();
        assert!(matches!(
            s.append_attachment(&c, &h, 32, &[2u8; 32]),
            Err(AttachmentError::HashMismatch(_))
        ));
        assert_eq!(uploads(&s), 0, "discarded");
        assert!(matches!(
            s.append_attachment(&c, &h, 0, &data),
            Err(AttachmentError::NotBegun(_))
        ));
        // Started again, it completes.
        assert_eq!(begin(&s, &c, &h, 64).unwrap().received, 0);
        assert!(s.append_attachment(&c, &h, 0, &data).unwrap().complete);
        let count: i64 = s
            .read(|c| Ok(c.query_row("SELECT count(*) FROM attachment_chunks", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(count, 1, "the discarded chunk is gone");
    }

    #[test]
    fn size_limit_bad_hash_and_empty_are_refused() {
        let (_dir, s, c) = setup();
        let h = sha(b"x");
        assert!(matches!(
            begin(&s, &c, &h, 1001),
            Err(AttachmentError::TooLarge {
                size: 1001,
                max: 1000
            })
        ));
        assert!(matches!(
            begin(&s, &c, &h, 0),
            Err(AttachmentError::Invalid(_))
        ));
        assert!(matches!(
            begin(&s, &c, &h.to_uppercase(), 1),
            Err(AttachmentError::Invalid(_))
        ));
        assert!(matches!(
            begin(&s, &c, "abc", 1),
            Err(AttachmentError::Invalid(_))
        ));
        assert_eq!(uploads(&s), 0);
    }
}
