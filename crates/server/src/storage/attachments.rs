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

use rusqlite::{params, Connection, OptionalExtension};
use sha2::{Digest, Sha256};
use sync_core::protocol::is_sha256_hex;
use sync_core::RecordKind;
use thiserror::Error;
use uuid::Uuid;

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

impl From<rusqlite::Error> for AttachmentError {
    fn from(e: rusqlite::Error) -> Self {
        AttachmentError::Storage(e.into())
    }
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

fn state(conn: &Connection, sha256: &str) -> Result<Option<UploadState>, rusqlite::Error> {
    conn.prepare_cached("SELECT size, received, complete FROM attachments WHERE sha256 = ?1")?
        .query_row([sha256], |r| {
            Ok(UploadState {
                size: r.get::<_, i64>(0)?.max(0) as u64,
                received: r.get::<_, i64>(1)?.max(0) as u64,
                complete: r.get::<_, i64>(2)? != 0,
            })
        })
        .optional()
}

/// Forget an upload and its chunks (a size declared anew, or a hash mismatch).
fn discard(conn: &Connection, sha256: &str) -> Result<(), rusqlite::Error> {
    conn.execute("DELETE FROM attachment_chunks WHERE sha256 = ?1", [sha256])?;
    conn.execute("DELETE FROM attachments WHERE sha256 = ?1", [sha256])?;
    Ok(())
}

/// The SHA-256 (hex) of an upload's chunks, in order.
fn hash_chunks(conn: &Connection, sha256: &str) -> Result<String, rusqlite::Error> {
    let mut hasher = Sha256::new();
    let mut stmt = conn
        .prepare_cached("SELECT bytes FROM attachment_chunks WHERE sha256 = ?1 ORDER BY offset")?;
    let mut rows = stmt.query([sha256])?;
    while let Some(row) = rows.next()? {
        // Borrowed from SQLite's buffer: a 50 MiB attachment is never copied whole.
        let bytes = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
        hasher.update(bytes);
    }
    Ok(hex::encode(&hasher.finalize()[..]))
}

/// The attachments a record holds on to: those its answers name and those uploaded
/// for it. Read before a purge deletes it.
pub(super) fn of_record(
    conn: &Connection,
    record_id: &str,
) -> Result<Vec<String>, rusqlite::Error> {
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
        .query_row(
            "SELECT fields FROM records WHERE id = ?1",
            [record_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(value) = fields.and_then(|f| serde_json::from_str(&f).ok()) {
        walk(&value, &mut out);
    }
    let mut stmt = conn.prepare_cached("SELECT sha256 FROM attachments WHERE record_id = ?1")?;
    for sha in stmt.query_map([record_id], |r| r.get::<_, String>(0))? {
        out.push(sha?);
    }
    Ok(out)
}

/// After a purge deleted records: delete each of `candidates` (their attachments) that
/// no remaining record names, so a withdrawn consent's photo leaves the database too.
/// Returns how many were deleted.
pub(super) fn purge_unnamed(
    conn: &Connection,
    candidates: &[String],
) -> Result<usize, rusqlite::Error> {
    let mut deleted = 0;
    for sha in candidates {
        let named: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM records WHERE instr(fields, ?1) > 0 LIMIT 1",
                [sha],
                |r| r.get(0),
            )
            .optional()?;
        if named.is_none() && state(conn, sha)?.is_some() {
            discard(conn, sha)?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

impl Storage {
    /// Run `f` on the writer, as `Storage::write` does, with this module's errors.
    fn write_attachment<T>(
        &self,
        f: impl FnOnce(&mut super::Writer) -> Result<T, AttachmentError>,
    ) -> Result<T, AttachmentError> {
        f(&mut super::lock(&self.sqlite()?.writer))
    }

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
        self.write_attachment(|w| {
            let tx = w.conn.transaction()?;
            let found = state(&tx, new.sha256)?;
            let current = match found {
                Some(s) if s.size == new.size => s,
                Some(s) if s.complete => {
                    // The stored bytes hash to this name, so their size is right.
                    return Err(AttachmentError::Invalid(format!(
                        "attachment {} has {} bytes, not {}",
                        new.sha256, s.size, new.size
                    )));
                }
                other => {
                    if other.is_some() {
                        // An unfinished upload declared with another size: one of the
                        // two is wrong, and only the hash check can tell which. Start
                        // again with the newest declaration.
                        discard(&tx, new.sha256)?;
                    }
                    tx.execute(
                        "INSERT INTO attachments (sha256, size, received, complete, record_id,
                             name, uploaded_by, created_at)
                         VALUES (?1, ?2, 0, 0, ?3, ?4, ?5, ?6)",
                        params![
                            new.sha256,
                            new.size as i64,
                            new.record_id.to_string(),
                            name,
                            caller.device_id,
                            now()
                        ],
                    )?;
                    UploadState {
                        size: new.size,
                        received: 0,
                        complete: false,
                    }
                }
            };
            tx.commit()?;
            Ok(current)
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
        self.write_attachment(|w| {
            let tx = w.conn.transaction()?;
            let Some(mut current) = state(&tx, sha256)? else {
                return Err(AttachmentError::NotBegun(sha256.to_string()));
            };
            if current.complete {
                // A retry of the last chunk whose answer was lost: nothing to do.
                return Ok(current);
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
                return Ok(current);
            }
            tx.execute(
                "INSERT INTO attachment_chunks (sha256, offset, bytes) VALUES (?1, ?2, ?3)",
                params![sha256, offset as i64, bytes],
            )?;
            current.received = end;
            if end == current.size {
                let actual = hash_chunks(&tx, sha256)?;
                if actual != sha256 {
                    discard(&tx, sha256)?;
                    tx.commit()?;
                    tracing::warn!(attachment = %sha256, %actual, "attachment upload discarded: hash mismatch");
                    return Err(AttachmentError::HashMismatch(sha256.to_string()));
                }
                current.complete = true;
                tx.execute(
                    "UPDATE attachments SET received = ?2, complete = 1, completed_at = ?3
                     WHERE sha256 = ?1",
                    params![sha256, end as i64, now()],
                )?;
            } else {
                tx.execute(
                    "UPDATE attachments SET received = ?2 WHERE sha256 = ?1",
                    params![sha256, end as i64],
                )?;
            }
            tx.commit()?;
            Ok(current)
        })
    }

    /// How far each of these attachments is (those the server knows).
    pub fn attachment_states(
        &self,
        sha256s: &[&str],
    ) -> Result<HashMap<String, UploadState>, StorageError> {
        if let Some(pool) = self.pg() {
            // Uploads do not run on PostgreSQL yet: its records' attachments show as
            // not uploaded, and the page still opens.
            let shas: Vec<String> = sha256s.iter().map(|s| s.to_string()).collect();
            return Ok(pool.run(move |c| async move {
                let mut out = HashMap::new();
                for row in c
                    .query(
                        "SELECT sha256, size, received, complete FROM attachments
                          WHERE sha256 = ANY($1)",
                        &[&shas],
                    )
                    .await?
                {
                    out.insert(
                        row.get::<_, String>(0),
                        UploadState {
                            size: row.get::<_, i64>(1).max(0) as u64,
                            received: row.get::<_, i64>(2).max(0) as u64,
                            complete: row.get(3),
                        },
                    );
                }
                Ok(out)
            })?);
        }
        self.read(|c| {
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
        self.read(|c| {
            let tx = c.transaction()?;
            match state(&tx, sha256)? {
                Some(s) if s.complete => {}
                _ => return Ok(None),
            }
            let mut out = Vec::new();
            let mut stmt = tx.prepare_cached(
                "SELECT bytes FROM attachment_chunks WHERE sha256 = ?1 ORDER BY offset",
            )?;
            let mut rows = stmt.query([sha256])?;
            while let Some(row) = rows.next()? {
                let bytes = row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?;
                out.extend_from_slice(bytes);
            }
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
