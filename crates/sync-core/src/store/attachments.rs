//! Attachments (a consent signature, a photo) in the device store: kept by the SHA-256
//! of their bytes, in the store file itself (so an encrypted store encrypts them too),
//! until the server holds them whole.
//!
//! An answer names an attachment by its file name `<sha256>.<ext>`; the same bytes
//! attached twice are kept once.

use rusqlite::{params, OptionalExtension, MAIN_DB};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{records, Store};
use crate::error::{CoreError, Result};
use crate::protocol::attachment_extension;

/// An attachment the server does not hold whole yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAttachment {
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
    /// Its file name (`<sha256>.<ext>`).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// The record whose answer names it.
    pub record_id: Uuid,
}

/// The file name an attachment of these bytes gets: `<sha256>.<ext>`, the extension
/// from `file_name` (see [`attachment_extension`]).
pub fn attachment_name(bytes: &[u8], file_name: &str) -> String {
    let sha = hex::encode(&Sha256::digest(bytes)[..]);
    format!("{sha}.{}", attachment_extension(file_name))
}

impl Store {
    /// Keep an attachment of record `record_id`: returns its name (`<sha256>.<ext>`)
    /// for the answer that refers to it. Attaching the same bytes again keeps one copy.
    /// Empty bytes and a record not in the store are refused.
    pub fn add_attachment(
        &mut self,
        record_id: Uuid,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String> {
        if bytes.is_empty() {
            return Err(CoreError::Attachment("the file is empty".into()));
        }
        if !records::exists(&self.conn, record_id)? {
            return Err(CoreError::NotFound(record_id.to_string()));
        }
        let name = attachment_name(bytes, file_name);
        let sha = &name[..64];
        let now = chrono::Utc::now().timestamp();
        // A photo is worth an fsync: it cannot be taken again.
        self.durably(|store| {
            store.conn.execute(
                "INSERT INTO attachments (sha256, name, size, bytes, record_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (sha256) DO NOTHING",
                params![
                    sha,
                    name,
                    bytes.len() as i64,
                    bytes,
                    record_id.to_string(),
                    now
                ],
            )?;
            Ok(())
        })?;
        Ok(name)
    }

    /// Attachments the server does not hold whole yet, oldest first.
    pub fn pending_attachments(&self) -> Result<Vec<PendingAttachment>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT sha256, name, size, record_id FROM attachments
             WHERE uploaded = 0 ORDER BY created_at, sha256",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (sha256, name, size, record) = row?;
            let record_id = Uuid::parse_str(&record).map_err(|e| CoreError::Malformed {
                id: record.clone(),
                reason: format!("attachment {sha256} names a bad record id: {e}"),
            })?;
            out.push(PendingAttachment {
                sha256,
                name,
                size: size.max(0) as u64,
                record_id,
            });
        }
        Ok(out)
    }

    /// How many attachments wait for the server, and their size in bytes.
    pub fn pending_attachments_size(&self) -> Result<(u64, u64)> {
        let (count, bytes): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM attachments WHERE uploaded = 0",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((count.max(0) as u64, bytes.max(0) as u64))
    }

    /// Up to `len` bytes of an attachment from `offset` (fewer at its end, none past
    /// it). Read through SQLite's incremental blob I/O: a 1 MiB chunk of a 50 MiB photo
    /// reads 1 MiB, not the whole blob.
    pub fn attachment_chunk(&self, sha256: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
        let rowid: Option<i64> = self
            .conn
            .query_row(
                "SELECT rowid FROM attachments WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()?;
        let rowid = rowid.ok_or_else(|| CoreError::NotFound(format!("attachment {sha256}")))?;
        let blob = self
            .conn
            .blob_open(MAIN_DB, "attachments", "bytes", rowid, true)?;
        let size = blob.len() as u64;
        if offset >= size {
            return Ok(Vec::new());
        }
        let take = (size - offset).min(len as u64) as usize;
        let mut buf = vec![0u8; take];
        blob.read_at_exact(&mut buf, offset as usize)?;
        Ok(buf)
    }

    /// The bytes of the attachment named `name` (`<sha256>.<ext>`), if the store has it.
    pub fn attachment_bytes(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let sha = name.split('.').next().unwrap_or(name);
        Ok(self
            .conn
            .query_row(
                "SELECT bytes FROM attachments WHERE sha256 = ?1",
                [sha],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Mark an attachment as held whole by the server; whether it was pending.
    pub fn mark_attachment_uploaded(&mut self, sha256: &str) -> Result<bool> {
        self.durably(|store| {
            Ok(store.conn.execute(
                "UPDATE attachments SET uploaded = 1 WHERE sha256 = ?1 AND uploaded = 0",
                [sha256],
            )? > 0)
        })
    }
}

/// Remove the attachments of a record removed by a tombstone (consent withdrawn), in
/// the transaction that removes it.
pub(crate) fn remove_for_record(conn: &rusqlite::Connection, record_id: Uuid) -> Result<()> {
    conn.execute(
        "DELETE FROM attachments WHERE record_id = ?1",
        [record_id.to_string()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Commit, RecordKind, Scope};
    use forms::Answers;

    fn store_with_record() -> (tempfile::TempDir, Store, Uuid) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path().join("s.db")).unwrap();
        let id = store
            .create(
                RecordKind::Household,
                Scope::partnership("p1"),
                None,
                &Answers::new(),
                &Commit::new("w1", "create"),
            )
            .unwrap();
        (dir, store, id)
    }

    #[test]
    fn attachments_are_kept_by_hash_read_in_chunks_and_marked_uploaded() {
        let (dir, mut store, id) = store_with_record();
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let name = store.add_attachment(id, "IMG_0001.JPG", &bytes).unwrap();
        let sha = hex::encode(&Sha256::digest(&bytes)[..]);
        assert_eq!(name, format!("{sha}.jpg"));
        // The same bytes again: one copy.
        assert_eq!(store.add_attachment(id, "again.jpg", &bytes).unwrap(), name);
        let pending = store.pending_attachments().unwrap();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            (
                pending[0].size,
                pending[0].record_id,
                pending[0].name.as_str()
            ),
            (10_000, id, name.as_str())
        );
        assert_eq!(store.pending_attachments_size().unwrap(), (1, 10_000));
        assert_eq!(
            store.attachment_chunk(&sha, 0, 4096).unwrap(),
            &bytes[..4096]
        );
        assert_eq!(
            store.attachment_chunk(&sha, 8192, 4096).unwrap(),
            &bytes[8192..]
        );
        assert!(store.attachment_chunk(&sha, 10_000, 10).unwrap().is_empty());
        assert!(store.attachment_chunk(&"0".repeat(64), 0, 10).is_err());
        assert_eq!(store.attachment_bytes(&name).unwrap().unwrap(), bytes);
        assert!(store.mark_attachment_uploaded(&sha).unwrap());
        assert!(!store.mark_attachment_uploaded(&sha).unwrap());
        assert!(store.pending_attachments().unwrap().is_empty());
        // Kept across a reopen.
        drop(store);
        let store = Store::open(dir.path().join("s.db")).unwrap();
        assert_eq!(store.attachment_bytes(&name).unwrap().unwrap(), bytes);
    }

    #[test]
    fn empty_files_and_unknown_records_are_refused() {
        let (_dir, mut store, id) = store_with_record();
        assert!(matches!(
            store.add_attachment(id, "a.png", &[]),
            Err(CoreError::Attachment(_))
        ));
        assert!(matches!(
            store.add_attachment(Uuid::new_v4(), "a.png", b"x"),
            Err(CoreError::NotFound(_))
        ));
        assert!(store.pending_attachments().unwrap().is_empty());
    }

    #[test]
    fn a_tombstone_removes_the_records_attachments() {
        let (_dir, mut store, id) = store_with_record();
        let name = store.add_attachment(id, "sig.png", b"signature").unwrap();
        store.apply_remote(Vec::new(), &[id], None).unwrap();
        assert!(store.attachment_bytes(&name).unwrap().is_none());
        assert!(store.pending_attachments().unwrap().is_empty());
    }
}
