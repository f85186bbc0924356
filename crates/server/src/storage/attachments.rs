//! Attachments (a consent signature, a photo): uploads in chunks, by the SHA-256 of
//! their bytes, and reading them back for the staff pages. The only place with the
//! SQL of `attachments` and `attachment_chunks`.
//!
//! An upload is begun with its hash and size; chunks are appended only at the offset
//! the server stands at (`received`), each in one transaction with the new offset, so
//! a connection cut mid-chunk leaves the upload at the last whole chunk and the device
//! resumes from there. When the last byte arrives the whole is hashed: a mismatch
//! discards the upload (the device starts it again), a match marks it complete.
//! Bytes live in the database, not in files: a backup of the database holds them, and
//! several server nodes on one database see the same bytes.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use sync_core::protocol::is_sha256_hex;
use sync_core::RecordKind;
use thiserror::Error;
use uuid::Uuid;

use super::sql::{args, Dialect, Row, Sql};
use super::{now, Storage, StorageError};
use crate::auth::Caller;

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
    /// The record exists and the caller may not write it.
    #[error("record {0} is outside what this device may write")]
    OutOfScope(Uuid),
    /// No upload of this attachment was begun.
    #[error("no upload of attachment {0} was begun; begin it with POST /v1/attachments")]
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

const STATE: &str = "SELECT size, received, complete FROM attachments WHERE sha256 = ?1";

fn state_of(row: &Row) -> Result<UploadState, StorageError> {
    Ok(UploadState {
        size: row.get::<i64>(0)?.max(0) as u64,
        received: row.get::<i64>(1)?.max(0) as u64,
        complete: row.get(2)?,
    })
}

fn state(conn: &dyn Sql, sha256: &str) -> Result<Option<UploadState>, StorageError> {
    conn.row(STATE, &args![sha256])?
        .map(|r| state_of(&r))
        .transpose()
}

/// [`state`], the row locked to the end of the transaction on PostgreSQL, so that two
/// nodes taking the same chunk (a retry) do it one after the other. (SQLite's one
/// writer already does.)
fn state_for_update(conn: &dyn Sql, sha256: &str) -> Result<Option<UploadState>, StorageError> {
    let sql = match conn.dialect() {
        Dialect::Sqlite => STATE.to_string(),
        Dialect::Postgres => format!("{STATE} FOR UPDATE"),
    };
    conn.row(&sql, &args![sha256])?
        .map(|r| state_of(&r))
        .transpose()
}

/// Forget an upload and its chunks (a size declared anew, or a hash mismatch).
fn discard(conn: &dyn Sql, sha256: &str) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM attachment_chunks WHERE sha256 = ?1",
        &args![sha256],
    )?;
    conn.execute("DELETE FROM attachments WHERE sha256 = ?1", &args![sha256])?;
    Ok(())
}

const CHUNKS: &str = "SELECT bytes FROM attachment_chunks WHERE sha256 = ?1 ORDER BY \"offset\"";

/// The SHA-256 (hex) of an upload's chunks, in order, read one chunk at a time.
fn hash_chunks(conn: &dyn Sql, sha256: &str) -> Result<String, StorageError> {
    let mut hasher = Sha256::new();
    conn.each(CHUNKS, &args![sha256], &mut |mut row| {
        hasher.update(row.take_blob(0)?);
        Ok(())
    })?;
    Ok(hex::encode(&hasher.finalize()[..]))
}

/// The attachments a record holds on to: those its answers name and those uploaded
/// for it. Read before a purge deletes it.
pub(super) fn of_record(conn: &dyn Sql, record_id: &str) -> Result<Vec<String>, StorageError> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) => {
                if let Some(sha) = sync_core::protocol::attachment_sha256(text) {
                    out.push(sha.to_string());
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(map) => map.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let fields: Option<String> = conn
        .row(
            "SELECT fields FROM records WHERE id = ?1",
            &args![record_id],
        )?
        .map(|r| r.get(0))
        .transpose()?;
    if let Some(value) = fields.and_then(|f| serde_json::from_str(&f).ok()) {
        walk(&value, &mut out);
    }
    for row in conn.rows(
        "SELECT sha256 FROM attachments WHERE record_id = ?1",
        &args![record_id],
    )? {
        out.push(row.get(0)?);
    }
    Ok(out)
}

/// After a purge deleted records: delete each of `candidates` (their attachments) that
/// no remaining record names, so a withdrawn consent's photo leaves the database too.
/// Returns how many were deleted.
pub(super) fn purge_unnamed(conn: &dyn Sql, candidates: &[String]) -> Result<usize, StorageError> {
    let mut deleted = 0;
    for sha in candidates {
        // A hash is 64 hex digits: no `%` or `_` to escape.
        let named = conn.row(
            "SELECT 1 FROM records WHERE fields LIKE ?1 LIMIT 1",
            &args![format!("%{sha}%")],
        )?;
        if named.is_none() && state(conn, sha)?.is_some() {
            discard(conn, sha)?;
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

impl Storage {
    /// Begin the upload of an attachment, or look up how far it is. Refused when the
    /// size passes `max_size`, and when its record exists and `caller` may not write
    /// it; a record the server does not have yet is accepted, since the device pushes
    /// the record's changes first but a push refused for a passing reason must not
    /// hold its attachments back (an attachment is shown only where a visible record's
    /// answer names it).
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
        self.transact(|tx| {
            match state_for_update(tx, new.sha256)? {
                Some(s) if s.size == new.size => return Ok(s),
                Some(s) if s.complete => {
                    // The stored bytes hash to this name, so their size is right.
                    return Err(AttachmentError::Invalid(format!(
                        "attachment {} has {} bytes, not {}",
                        new.sha256, s.size, new.size
                    )));
                }
                // An unfinished upload declared with another size: one of the two is
                // wrong, and only the hash check can tell which. Start again with the
                // newest declaration.
                Some(_) => discard(tx, new.sha256)?,
                None => {}
            }
            // Another node may begin the same upload at once: the second insert does
            // nothing and both answer with the one row.
            tx.execute(
                "INSERT INTO attachments (sha256, size, received, complete, record_id,
                     name, uploaded_by, created_at)
                 VALUES (?1, ?2, 0, FALSE, ?3, ?4, ?5, ?6)
                 ON CONFLICT (sha256) DO NOTHING",
                &args![
                    new.sha256,
                    new.size as i64,
                    new.record_id.to_string(),
                    name.as_str(),
                    caller.device_id.as_str(),
                    now()
                ],
            )?;
            let begun = state(tx, new.sha256)?
                .ok_or_else(|| StorageError::Corrupt(format!("upload {} vanished", new.sha256)))?;
            Ok(begun)
        })
    }

    /// Append a chunk at `offset`: only when the server stands there (else
    /// [`AttachmentError::WrongOffset`] with where it stands). When the last byte
    /// arrives the whole is hashed; a mismatch discards the upload.
    pub fn append_attachment(
        &self,
        sha256: &str,
        offset: u64,
        bytes: &[u8],
    ) -> Result<UploadState, AttachmentError> {
        let appended = self.transact(|tx| {
            let Some(mut current) = state_for_update(tx, sha256)? else {
                return Err(AttachmentError::NotBegun(sha256.to_string()));
            };
            if current.complete {
                // A retry of the last chunk whose answer was lost: nothing to do.
                return Ok(Appended::At(current));
            }
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
                return Ok(Appended::At(current));
            }
            tx.execute(
                "INSERT INTO attachment_chunks (sha256, \"offset\", bytes) VALUES (?1, ?2, ?3)",
                &args![sha256, offset as i64, bytes],
            )?;
            current.received = end;
            if end == current.size {
                let actual = hash_chunks(tx, sha256)?;
                if actual != sha256 {
                    discard(tx, sha256)?;
                    return Ok(Appended::Mismatch { actual });
                }
                current.complete = true;
                tx.execute(
                    "UPDATE attachments SET received = ?2, complete = TRUE, completed_at = ?3
                     WHERE sha256 = ?1",
                    &args![sha256, end as i64, now()],
                )?;
            } else {
                tx.execute(
                    "UPDATE attachments SET received = ?2 WHERE sha256 = ?1",
                    &args![sha256, end as i64],
                )?;
            }
            Ok(Appended::At(current))
        })?;
        match appended {
            Appended::At(state) => Ok(state),
            Appended::Mismatch { actual } => {
                tracing::warn!(attachment = %sha256, %actual, "attachment upload discarded: hash mismatch");
                Err(AttachmentError::HashMismatch(sha256.to_string()))
            }
        }
    }

    /// How far each of these attachments is (those the server knows).
    pub fn attachment_states(
        &self,
        sha256s: &[&str],
    ) -> Result<HashMap<String, UploadState>, StorageError> {
        self.with_sql(|c| {
            let mut out = HashMap::new();
            for sha in sha256s {
                if let Some(s) = state(c, sha)? {
                    out.insert((*sha).to_string(), s);
                }
            }
            Ok(out)
        })
    }

    /// The bytes of a complete attachment; `None` when it is unknown or unfinished.
    pub fn attachment_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>, StorageError> {
        // In one transaction, so that a purge between the two reads cannot hand out
        // part of the bytes.
        self.transact(|tx| {
            match state(tx, sha256)? {
                Some(s) if s.complete => {}
                _ => return Ok(None),
            }
            let mut out = Vec::new();
            tx.each(CHUNKS, &args![sha256], &mut |mut row| {
                out.extend_from_slice(&row.take_blob(0)?);
                Ok(())
            })?;
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
        let st = s.append_attachment(&h, 0, &data[..100]).unwrap();
        assert_eq!(st.received, 100);
        // A repeated chunk (its answer lost) and a skipped one are both refused with
        // where the server stands.
        for offset in [0, 150] {
            match s.append_attachment(&h, offset, &data[100..150]) {
                Err(AttachmentError::WrongOffset { received, .. }) => assert_eq!(received, 100),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            s.append_attachment(&h, 100, &[0u8; 151]),
            Err(AttachmentError::PastEnd {
                end: 251,
                size: 250
            })
        ));
        // Beginning again tells where to resume.
        assert_eq!(begin(&s, &c, &h, 250).unwrap().received, 100);
        assert!(s.attachment_bytes(&h).unwrap().is_none(), "unfinished");
        let st = s.append_attachment(&h, 100, &data[100..]).unwrap();
        assert_eq!((st.received, st.complete), (250, true));
        assert_eq!(s.attachment_bytes(&h).unwrap().unwrap(), data);
        // Complete: a late retry is answered, not refused.
        assert!(s.append_attachment(&h, 100, &data[100..]).unwrap().complete);
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
        s.append_attachment(&h, 0, &data[..32]).unwrap();
        assert!(matches!(
            s.append_attachment(&h, 32, &[2u8; 32]),
            Err(AttachmentError::HashMismatch(_))
        ));
        assert!(s.attachment_states(&[&h]).unwrap().is_empty(), "discarded");
        assert!(matches!(
            s.append_attachment(&h, 0, &data),
            Err(AttachmentError::NotBegun(_))
        ));
        // Started again, it completes.
        assert_eq!(begin(&s, &c, &h, 64).unwrap().received, 0);
        assert!(s.append_attachment(&h, 0, &data).unwrap().complete);
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
        assert!(s.attachment_states(&[&h]).unwrap().is_empty());
    }
}
