//! The SQL of uploads, grants and stored bytes, for the upload, reading, sweep and
//! purge paths.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use crate::storage::dialect::take_turns;
use crate::storage::sql::{args, Row, Sql};
use crate::storage::StorageError;

use super::*;

/// A device's unfinished upload.
pub(super) struct Open {
    pub(super) id: i64,
    pub(super) size: u64,
    pub(super) received: u64,
    pub(super) record_id: String,
    pub(super) name: String,
}

impl Open {
    pub(super) fn state(&self) -> UploadState {
        UploadState {
            size: self.size,
            received: self.received,
            complete: false,
        }
    }
}

pub(super) fn size_of(row: &Row, i: usize) -> Result<u64, StorageError> {
    Ok(row.get::<i64>(i)?.max(0) as u64)
}

/// `device`'s unfinished upload of `sha256`, locked.
pub(super) fn open(
    conn: &dyn Sql,
    sha256: &str,
    device: &str,
) -> Result<Option<Open>, StorageError> {
    let sql = conn.dialect().for_update(
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
pub(super) fn stored(conn: &dyn Sql, sha256: &str) -> Result<Option<u64>, StorageError> {
    conn.row(
        "SELECT size FROM attachments WHERE sha256 = ?1 AND complete",
        &args![sha256],
    )?
    .map(|r| size_of(&r, 0))
    .transpose()
}

/// The size of `sha256` when `device` proved it holds those bytes (any of its
/// grants), and the server still holds them.
pub(super) fn proven_by(
    conn: &dyn Sql,
    sha256: &str,
    device: &str,
) -> Result<Option<u64>, StorageError> {
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
pub(super) fn named(conn: &dyn Sql, record_id: &str, sha256: &str) -> Result<bool, StorageError> {
    // A hash is 64 hex digits: no `%` or `_` to escape. One row, by its key.
    Ok(conn
        .row(
            "SELECT 1 FROM records WHERE id = ?1 AND fields LIKE ?2",
            &args![record_id, format!("%{sha256}%")],
        )?
        .is_some())
}

/// Record that `device` proved it holds `sha256`'s bytes, for `record_id`.
pub(super) fn grant(
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
pub(super) fn discard(conn: &dyn Sql, upload_id: i64) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM attachment_chunks WHERE upload_id = ?1",
        &args![upload_id],
    )?;
    conn.execute("DELETE FROM attachments WHERE id = ?1", &args![upload_id])?;
    Ok(())
}

/// Take `sha256`'s turn to the end of the transaction: deciding whether a copy of the
/// bytes is already stored (an upload completing) and deleting a copy no grant holds
/// (a purge, a sweep) then happen one after the other across nodes, so a grant never
/// outlives its bytes. Callers taking several take them in hash order.
pub(super) fn lock_hash(conn: &dyn Sql, sha256: &str) -> Result<(), StorageError> {
    take_turns(conn, "attachment", sha256)
}

/// Delete the stored bytes of `sha256` when no grant holds them any more; whether
/// they were deleted.
pub(super) fn drop_if_ungranted(conn: &dyn Sql, sha256: &str) -> Result<bool, StorageError> {
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
pub(super) fn hash_chunks(conn: &dyn Sql, upload_id: i64) -> Result<String, StorageError> {
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
pub(super) fn held_by(conn: &dyn Sql, device: &str) -> Result<(u64, u64), StorageError> {
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
pub(super) fn readable(
    conn: &dyn Sql,
    record_id: &str,
    sha256: &str,
) -> Result<Option<u64>, StorageError> {
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
pub(in crate::storage) fn purge_records(
    conn: &dyn Sql,
    records: &[String],
) -> Result<usize, StorageError> {
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
