//! Store operations the sync client needs beyond records: quarantine, tombstones,
//! heads for repair, re-queueing what the server lost.

use automerge::ChangeHash;
use rusqlite::params;
use uuid::Uuid;

use super::{records, settings, Store};
use crate::error::Result;

/// A change the server refused, kept on the device with the server's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedChange {
    /// The change hash.
    pub hash: ChangeHash,
    /// The record it belongs to.
    pub record_id: Uuid,
    /// Why the server refused it.
    pub reason: String,
    /// When it was refused, unix seconds.
    pub refused_at: i64,
}

impl Store {
    /// Move refused changes from the outbox to quarantine, so they stop blocking the
    /// outbox while staying on the device for a person to review.
    pub fn quarantine(&mut self, refused: &[(ChangeHash, String)]) -> Result<()> {
        self.durably(|store| store.quarantine_now(refused))
    }

    fn quarantine_now(&mut self, refused: &[(ChangeHash, String)]) -> Result<()> {
        let now = chrono::Utc::now().timestamp();
        let tx = self.conn.transaction()?;
        {
            let mut copy = tx.prepare_cached(
                "INSERT OR REPLACE INTO quarantine (hash, record_id, bytes, reason, quarantined_at)
                 SELECT hash, record_id, bytes, ?2, ?3 FROM outbox WHERE hash = ?1",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE hash = ?1")?;
            for (hash, reason) in refused {
                copy.execute(params![hash.as_ref(), reason, now])?;
                delete.execute(params![hash.as_ref()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The changes the server refused.
    pub fn quarantined(&self) -> Result<Vec<QuarantinedChange>> {
        let mut stmt = self.conn.prepare(
            "SELECT hash, record_id, reason, quarantined_at FROM quarantine
                 ORDER BY quarantined_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, id, reason, refused_at) = row?;
            if let (Ok(hash), Ok(record_id)) =
                (ChangeHash::try_from(hash.as_slice()), Uuid::parse_str(&id))
            {
                out.push(QuarantinedChange {
                    hash,
                    record_id,
                    reason,
                    refused_at,
                });
            }
        }
        Ok(out)
    }

    /// Forget the sync cursor (the repair path reads the feed from the start).
    pub fn reset_cursor(&mut self) -> Result<()> {
        self.conn
            .execute("DELETE FROM settings WHERE key = ?1", [settings::CURSOR])?;
        Ok(())
    }

    /// The heads of records in id order after `after`, at most `limit` (for repair).
    pub fn record_heads(
        &mut self,
        after: Option<Uuid>,
        limit: usize,
    ) -> Result<Vec<(Uuid, Vec<ChangeHash>)>> {
        let ids: Vec<String> = {
            let mut stmt = self
                .conn
                .prepare_cached("SELECT id FROM records WHERE id > ?1 ORDER BY id LIMIT ?2")?;
            let after = after.map(|a| a.to_string()).unwrap_or_default();
            let rows = stmt.query_map(params![after, limit as i64], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let Ok(id) = Uuid::parse_str(&id) else {
                continue;
            };
            let heads = self.with_record(id, |doc| doc.heads())?;
            out.push((id, heads));
        }
        Ok(out)
    }

    /// Put back into the outbox every change of `id` that a peer holding `their_heads`
    /// lacks. Returns how many were queued (already queued ones count once).
    pub fn requeue_missing(&mut self, id: Uuid, their_heads: &[ChangeHash]) -> Result<usize> {
        let missing = self.with_record(id, |doc| {
            if their_heads.iter().all(|h| doc.has_change(h)) {
                doc.changes_since(their_heads)
            } else {
                // We lack some of theirs (we should not after a full pull): send all.
                doc.changes_since(&[])
            }
        })?;
        let now = chrono::Utc::now().timestamp();
        self.durably(|store| {
            let tx = store.conn.transaction()?;
            for change in &missing {
                records::push_outbox(&tx, id, change, now)?;
            }
            Ok(tx.commit()?)
        })?;
        Ok(missing.len())
    }
}
