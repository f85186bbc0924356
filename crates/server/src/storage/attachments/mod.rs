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

mod reading;
mod rows;
mod sweep;
#[cfg(test)]
mod tests;
mod upload;

pub(super) use rows::purge_records;
pub use sweep::Swept;

use thiserror::Error;
use uuid::Uuid;

use super::StorageError;

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
