//! What the push and the pull need of a database, so that they are written once for
//! SQLite and PostgreSQL: inside one transaction, the log's and the records' rows.

use rusqlite::Connection;
use sync_core::Scope;
use tokio_postgres::Transaction;

use super::pg::{wait, PgError};
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
}

impl LogTx for Connection {
    fn change_record(&self, hash: &[u8]) -> Result<Option<String>, StorageError> {
        sqlite::change_record(self, hash)
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

/// A PostgreSQL transaction, its calls waited on in turn.
pub(crate) struct PgLog<'a>(pub &'a Transaction<'a>);

fn pg(e: tokio_postgres::Error) -> StorageError {
    StorageError::Postgres(PgError::Db(e))
}

impl LogTx for PgLog<'_> {
    fn change_record(&self, hash: &[u8]) -> Result<Option<String>, StorageError> {
        Ok(wait(
            self.0
                .query_opt("SELECT record_id FROM changes WHERE hash = $1", &[&hash]),
        )
        .map_err(pg)?
        .map(|r| r.get(0)))
    }

    fn doc_state(&self, id: &str) -> Result<Option<DocState>, StorageError> {
        Ok(wait(self.0.query_opt(
            "SELECT snapshot, snapshot_seq, pending FROM records WHERE id = $1",
            &[&id],
        ))
        .map_err(pg)?
        .map(|r| DocState {
            snapshot: r.get(0),
            snapshot_seq: r.get(1),
            pending: i64::from(r.get::<_, i32>(2)),
        }))
    }

    fn record_changes_after(&self, id: &str, seq: i64) -> Result<Vec<Vec<u8>>, StorageError> {
        Ok(wait(self.0.query(
            "SELECT bytes FROM changes WHERE record_id = $1 AND seq > $2 ORDER BY seq",
            &[&id, &seq],
        ))
        .map_err(pg)?
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
        let seq = wait(super::pg::feed::draw(self.0, 1))?;
        let logged = super::pg::feed::LoggedChange {
            hash: change.hash.to_vec(),
            record_id: change.record_id.to_string(),
            bytes: change.bytes.to_vec(),
            user_id: user_id.to_string(),
            device_id: device_id.to_string(),
            actor: Some(change.actor.to_vec()),
            received_at: now,
        };
        wait(super::pg::feed::append(self.0, seq, &logged))?;
        Ok(seq)
    }

    fn upsert_record(
        &self,
        row: &RowWrite,
        snapshot: Option<(&[u8], i64)>,
        pending: i64,
    ) -> Result<(), StorageError> {
        let (form_id, form_version) = match &row.form {
            Some((id, v)) => (Some(id.as_str()), Some(*v as i32)),
            None => (None, None),
        };
        let (snap, snap_seq) = match snapshot {
            Some((bytes, seq)) => (Some(bytes), Some(seq)),
            None => (None, None),
        };
        let pending = pending as i32;
        wait(self.0.execute(
            "INSERT INTO records (id, kind, partnership, organization, neighborhood, family,
                 program, form_id, form_version, created_by, created_at, updated_at, heads,
                 fields, has_conflicts, issues, snapshot, snapshot_seq, pending)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, COALESCE($18::bigint, 0), $19)
             ON CONFLICT (id) DO UPDATE SET
                 updated_at = excluded.updated_at, heads = excluded.heads,
                 fields = excluded.fields, has_conflicts = excluded.has_conflicts,
                 issues = excluded.issues,
                 snapshot = COALESCE(excluded.snapshot, records.snapshot),
                 snapshot_seq = COALESCE($18::bigint, records.snapshot_seq),
                 pending = excluded.pending",
            &[
                &row.id,
                &row.kind,
                &row.scope.partnership,
                &row.scope.organization,
                &row.scope.neighborhood,
                &row.scope.family,
                &row.scope.program,
                &form_id,
                &form_version,
                &row.created_by,
                &row.created_at,
                &row.updated_at,
                &row.heads,
                &row.fields,
                &row.has_conflicts,
                &row.issues,
                &snap,
                &snap_seq,
                &pending,
            ],
        ))
        .map_err(pg)?;
        Ok(())
    }

    fn max_seq(&self) -> Result<i64, StorageError> {
        Ok(wait(super::pg::feed::high_water(self.0))?)
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
        Ok(wait(self.0.query(
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
        ))
        .map_err(pg)?
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
        super::purge::tombstones(&PgSql(self.0), scope, after, upto)
    }
}
