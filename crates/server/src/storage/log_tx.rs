//! What the push and the pull need of a database, so that they are written once for
//! SQLite and PostgreSQL: inside one transaction, the log's and the records' rows.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use rusqlite::Connection;
use sync_core::Scope;
use tokio_postgres::Transaction;

use super::pg::wait;
use super::sql::PgSql;
use super::sqlite::{self, DocState, FeedRow, LoggedChange, RowWrite};
use super::StorageError;

/// The log and the records, inside one transaction.
pub(crate) trait LogTx {
    /// The record a logged change belongs to, if the change is in the log.
    fn change_record(&self, hash: &[u8]) -> Result<Option<String>, StorageError>;
    /// The document state of a record, if it exists.
    fn doc_state(&self, id: &str) -> Result<Option<DocState>, StorageError>;
    /// A record's logged changes after `seq`, in log order.
    fn record_changes_after(&self, id: &str, seq: i64) -> Result<Vec<Vec<u8>>, StorageError>;
    /// Append a change; its sequence number.
    fn append_change(
        &self,
        change: LoggedChange<'_>,
        user_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<i64, StorageError>;
    /// Insert or update a record's row (`snapshot` `None` keeps the stored one).
    fn upsert_record(
        &self,
        row: &RowWrite,
        snapshot: Option<(&[u8], i64)>,
        pending: i64,
    ) -> Result<(), StorageError>;
    /// The feed's high-water mark.
    fn max_seq(&self) -> Result<i64, StorageError>;
    /// Log rows with `after < seq <= upto` within `scope`, at most `limit`, in order.
    fn feed(
        &self,
        scope: Option<&Scope>,
        exclude_actor: Option<&[u8]>,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> Result<Vec<FeedRow>, StorageError>;
    /// Tombstones with `after < seq <= upto` within `scope`: (record, reason).
    fn tombstones(
        &self,
        scope: Option<&Scope>,
        after: i64,
        upto: i64,
    ) -> Result<Vec<(String, String)>, StorageError>;

    /// A published form version's definition (JSON), read inside this transaction so
    /// that a push never needs a second connection.
    fn form_definition(&self, id: &str, version: u32) -> Result<Option<String>, StorageError>;

    /// Read ahead, in one round trip each, what a push of these changes (by hash) to
    /// these records will ask, and set aside sequence numbers for up to `changes`
    /// appends. A database a round trip away does this; SQLite, in process, need not.
    fn prepare_push(&self, _hashes: &[Vec<u8>], _records: &[String]) -> Result<(), StorageError> {
        Ok(())
    }

    /// Write what was held back (appends and row updates) before the commit.
    fn flush(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

impl LogTx for Connection {
    fn change_record(&self, hash: &[u8]) -> Result<Option<String>, StorageError> {
        sqlite::change_record(self, hash)
    }
    fn form_definition(&self, id: &str, version: u32) -> Result<Option<String>, StorageError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .prepare_cached("SELECT definition FROM forms WHERE id = ?1 AND version = ?2")?
            .query_row(rusqlite::params![id, version], |r| r.get(0))
            .optional()?)
    }
    fn doc_state(&self, id: &str) -> Result<Option<DocState>, StorageError> {
        sqlite::doc_state(self, id)
    }
    fn record_changes_after(&self, id: &str, seq: i64) -> Result<Vec<Vec<u8>>, StorageError> {
        sqlite::record_changes_after(self, id, seq)
    }
    fn append_change(
        &self,
        change: LoggedChange<'_>,
        user_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<i64, StorageError> {
        sqlite::append_change(self, change, user_id, device_id, now)
    }
    fn upsert_record(
        &self,
        row: &RowWrite,
        snapshot: Option<(&[u8], i64)>,
        pending: i64,
    ) -> Result<(), StorageError> {
        sqlite::upsert_record(self, row, snapshot, pending)
    }
    fn max_seq(&self) -> Result<i64, StorageError> {
        sqlite::max_seq(self)
    }
    fn feed(
        &self,
        scope: Option<&Scope>,
        exclude_actor: Option<&[u8]>,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> Result<Vec<FeedRow>, StorageError> {
        let mut rows = Vec::new();
        sqlite::feed(self, scope, exclude_actor, after, upto, limit, |row| {
            rows.push(row);
            true
        })?;
        Ok(rows)
    }
    fn tombstones(
        &self,
        scope: Option<&Scope>,
        after: i64,
        upto: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        super::purge::tombstones(self, scope, after, upto)
    }
}

/// A PostgreSQL transaction, its calls waited on in turn. A push is done in a few
/// round trips rather than several per change: [`LogTx::prepare_push`] reads every
/// change's owner and every record's state at once and draws a block of sequence
/// numbers, and the appends and row writes are held until [`LogTx::flush`] sends them
/// as one multi-row statement each. Numbers drawn and not used are gaps in the feed,
/// which readers pass over like a rolled-back push's.
pub(crate) struct PgLog<'a> {
    tx: &'a Transaction<'a>,
    owners: RefCell<HashMap<Vec<u8>, Option<String>>>,
    states: RefCell<HashMap<String, Option<DocState>>>,
    /// The next number of the drawn block, and the one past its end.
    block: Cell<(i64, i64)>,
    /// How many numbers the next draw takes.
    reserve: Cell<i64>,
    /// The push's changes, appended to the log at [`LogTx::flush`].
    changes: RefCell<Vec<PendingChange>>,
    /// The push's record rows, written at [`LogTx::flush`]: one per record, as a push
    /// writes each record's row once (its changes come grouped by record).
    records: RefCell<Vec<PendingRecord>>,
}

/// A change held for [`LogTx::flush`].
struct PendingChange {
    seq: i64,
    hash: Vec<u8>,
    record_id: String,
    bytes: Vec<u8>,
    user_id: String,
    device_id: String,
    received_at: i64,
    actor: Vec<u8>,
}

/// A record row held for [`LogTx::flush`].
struct PendingRecord {
    row: RowWrite,
    snapshot: Option<(Vec<u8>, i64)>,
    pending: i32,
}

impl<'a> PgLog<'a> {
    /// The log and records inside `tx`.
    pub fn new(tx: &'a Transaction<'a>) -> Self {
        PgLog {
            tx,
            owners: RefCell::default(),
            states: RefCell::default(),
            block: Cell::new((0, 0)),
            reserve: Cell::new(1),
            changes: RefCell::default(),
            records: RefCell::default(),
        }
    }
}

/// One column of `rows`: what `field` reads of each, as one array parameter.
fn column<'r, T, U>(rows: &'r [T], field: impl FnMut(&'r T) -> U) -> Vec<U> {
    rows.iter().map(field).collect()
}

/// Append the held changes to the log: one statement for them all, its parameters an
/// array per column.
fn insert_changes(tx: &Transaction<'_>, changes: &[PendingChange]) -> Result<(), StorageError> {
    wait(tx.execute(
        "INSERT INTO changes (seq, hash, record_id, bytes, user_id, device_id,
             received_at, actor)
         SELECT * FROM UNNEST($1::bigint[], $2::bytea[], $3::text[], $4::bytea[],
             $5::text[], $6::text[], $7::bigint[], $8::bytea[])",
        &[
            &column(changes, |c| c.seq),
            &column(changes, |c| c.hash.as_slice()),
            &column(changes, |c| c.record_id.as_str()),
            &column(changes, |c| c.bytes.as_slice()),
            &column(changes, |c| c.user_id.as_str()),
            &column(changes, |c| c.device_id.as_str()),
            &column(changes, |c| c.received_at),
            &column(changes, |c| c.actor.as_slice()),
        ],
    ))?;
    Ok(())
}

/// Insert or refresh the held record rows: one statement for them all, its parameters
/// an array per column. A row without a snapshot keeps the stored one.
fn upsert_records(tx: &Transaction<'_>, records: &[PendingRecord]) -> Result<(), StorageError> {
    wait(tx.execute(
        "INSERT INTO records (id, kind, partnership, organization, neighborhood, family,
             program, form_id, form_version, created_by, created_at, updated_at, heads,
             fields, has_conflicts, issues, snapshot, snapshot_seq, pending, followups)
         SELECT id, kind, partnership, organization, neighborhood, family, program,
             form_id, form_version, created_by, created_at, updated_at, heads, fields,
             has_conflicts, issues, snapshot, COALESCE(snapshot_seq, 0), pending, followups
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
             $6::text[], $7::text[], $8::text[], $9::int[], $10::text[], $11::bigint[],
             $12::bigint[], $13::text[], $14::text[], $15::boolean[], $16::text[],
             $17::bytea[], $18::bigint[], $19::int[], $20::text[])
           AS u(id, kind, partnership, organization, neighborhood, family, program,
             form_id, form_version, created_by, created_at, updated_at, heads, fields,
             has_conflicts, issues, snapshot, snapshot_seq, pending, followups)
         ON CONFLICT (id) DO UPDATE SET
             updated_at = excluded.updated_at, heads = excluded.heads,
             fields = excluded.fields, has_conflicts = excluded.has_conflicts,
             issues = excluded.issues, followups = excluded.followups,
             snapshot = COALESCE(excluded.snapshot, records.snapshot),
             snapshot_seq = CASE WHEN excluded.snapshot IS NULL
                 THEN records.snapshot_seq ELSE excluded.snapshot_seq END,
             pending = excluded.pending",
        &[
            &column(records, |r| r.row.id.as_str()),
            &column(records, |r| r.row.kind),
            &column(records, |r| r.row.scope.partnership.as_str()),
            &column(records, |r| r.row.scope.organization.as_deref()),
            &column(records, |r| r.row.scope.neighborhood.as_deref()),
            &column(records, |r| r.row.scope.family.as_deref()),
            &column(records, |r| r.row.scope.program.as_deref()),
            &column(records, |r| r.row.form.as_ref().map(|(id, _)| id.as_str())),
            &column(records, |r| r.row.form.as_ref().map(|(_, v)| *v as i32)),
            &column(records, |r| r.row.created_by.as_str()),
            &column(records, |r| r.row.created_at),
            &column(records, |r| r.row.updated_at),
            &column(records, |r| r.row.heads.as_str()),
            &column(records, |r| r.row.fields.as_str()),
            &column(records, |r| r.row.has_conflicts),
            &column(records, |r| r.row.issues.as_str()),
            &column(records, |r| r.snapshot.as_ref().map(|(b, _)| b.as_slice())),
            &column(records, |r| r.snapshot.as_ref().map(|(_, seq)| *seq)),
            &column(records, |r| r.pending),
            &column(records, |r| r.row.followups.as_str()),
        ],
    ))?;
    Ok(())
}

fn doc_state_of(r: &tokio_postgres::Row, first: usize) -> DocState {
    DocState {
        snapshot: r.get(first),
        snapshot_seq: r.get(first + 1),
        pending: i64::from(r.get::<_, i32>(first + 2)),
    }
}

impl LogTx for PgLog<'_> {
    fn form_definition(&self, id: &str, version: u32) -> Result<Option<String>, StorageError> {
        Ok(wait(self.tx.query_opt(
            "SELECT definition FROM forms WHERE id = $1 AND version = $2",
            &[&id, &(version as i32)],
        ))?
        .map(|r| r.get(0)))
    }
    fn change_record(&self, hash: &[u8]) -> Result<Option<String>, StorageError> {
        if let Some(owner) = self.owners.borrow_mut().remove(hash) {
            return Ok(owner);
        }
        Ok(wait(
            self.tx
                .query_opt("SELECT record_id FROM changes WHERE hash = $1", &[&hash]),
        )?
        .map(|r| r.get(0)))
    }

    fn doc_state(&self, id: &str) -> Result<Option<DocState>, StorageError> {
        if let Some(state) = self.states.borrow_mut().remove(id) {
            return Ok(state);
        }
        Ok(wait(self.tx.query_opt(
            "SELECT snapshot, snapshot_seq, pending FROM records WHERE id = $1",
            &[&id],
        ))?
        .map(|r| doc_state_of(&r, 0)))
    }

    fn prepare_push(&self, hashes: &[Vec<u8>], records: &[String]) -> Result<(), StorageError> {
        let mut owners: HashMap<Vec<u8>, Option<String>> =
            hashes.iter().map(|h| (h.clone(), None)).collect();
        for r in wait(self.tx.query(
            "SELECT hash, record_id FROM changes WHERE hash = ANY($1)",
            &[&hashes],
        ))? {
            owners.insert(r.get(0), Some(r.get(1)));
        }
        let mut states: HashMap<String, Option<DocState>> =
            records.iter().map(|id| (id.clone(), None)).collect();
        for r in wait(self.tx.query(
            "SELECT id, snapshot, snapshot_seq, pending FROM records WHERE id = ANY($1)",
            &[&records],
        ))? {
            states.insert(r.get(0), Some(doc_state_of(&r, 1)));
        }
        *self.owners.borrow_mut() = owners;
        *self.states.borrow_mut() = states;
        self.reserve.set((hashes.len() as i64).max(1));
        Ok(())
    }
    fn record_changes_after(&self, id: &str, seq: i64) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(wait(self.tx.query(
            "SELECT bytes FROM changes WHERE record_id = $1 AND seq > $2 ORDER BY seq",
            &[&id, &seq],
        ))?
        .into_iter()
        .map(|r| r.get(0))
        .collect())
    }

    fn append_change(
        &self,
        change: LoggedChange<'_>,
        user_id: &str,
        device_id: &str,
        now: i64,
    ) -> Result<i64, StorageError> {
        let (mut next, end) = self.block.get();
        if next == end {
            let count = self.reserve.replace(1);
            next = wait(super::pg::feed::draw(self.tx, count))?;
            self.block.set((next, next + count));
        }
        self.block.set((next + 1, self.block.get().1));
        self.changes.borrow_mut().push(PendingChange {
            seq: next,
            hash: change.hash.to_vec(),
            record_id: change.record_id.to_string(),
            bytes: change.bytes.to_vec(),
            user_id: user_id.to_string(),
            device_id: device_id.to_string(),
            received_at: now,
            actor: change.actor.to_vec(),
        });
        Ok(next)
    }

    fn upsert_record(
        &self,
        row: &RowWrite,
        snapshot: Option<(&[u8], i64)>,
        pending: i64,
    ) -> Result<(), StorageError> {
        self.records.borrow_mut().push(PendingRecord {
            row: row.clone(),
            snapshot: snapshot.map(|(b, seq)| (b.to_vec(), seq)),
            pending: i32::try_from(pending).unwrap_or(i32::MAX),
        });
        Ok(())
    }

    fn flush(&self) -> Result<(), StorageError> {
        let changes = std::mem::take(&mut *self.changes.borrow_mut());
        if !changes.is_empty() {
            insert_changes(self.tx, &changes)?;
        }
        let records = std::mem::take(&mut *self.records.borrow_mut());
        if !records.is_empty() {
            upsert_records(self.tx, &records)?;
        }
        Ok(())
    }

    fn max_seq(&self) -> Result<i64, StorageError> {
        Ok(wait(super::pg::feed::high_water(self.tx))?)
    }

    fn feed(
        &self,
        scope: Option<&Scope>,
        exclude_actor: Option<&[u8]>,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> Result<Vec<FeedRow>, StorageError> {
        let (p, o, n, f, g) = sqlite::scope_params(scope);
        Ok(wait(self.tx.query(
            "SELECT c.seq, c.record_id, c.bytes FROM changes c JOIN records r ON r.id = c.record_id
             WHERE c.seq > $1 AND c.seq <= $2
               AND ($3::text IS NULL OR r.partnership = $3)
               AND ($4::text IS NULL OR r.organization = $4)
               AND ($5::text IS NULL OR r.neighborhood = $5)
               AND ($6::text IS NULL OR r.family = $6)
               AND ($3::text IS NULL OR r.program IS NOT DISTINCT FROM $7)
               AND ($9::bytea IS NULL OR c.actor IS NULL OR c.actor != $9)
             ORDER BY c.seq LIMIT $8",
            &[&after, &upto, &p, &o, &n, &f, &g, &limit, &exclude_actor],
        ))?
        .into_iter()
        .map(|r| FeedRow {
            seq: r.get(0),
            record_id: r.get(1),
            bytes: r.get(2),
        })
        .collect())
    }

    fn tombstones(
        &self,
        scope: Option<&Scope>,
        after: i64,
        upto: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        super::purge::tombstones(&PgSql(self.tx), scope, after, upto)
    }
}
