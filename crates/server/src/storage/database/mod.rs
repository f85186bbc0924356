//! The seam between the storage and its database: the [`Database`] trait, with one
//! implementation per database, chosen once when the storage opens
//! ([`on_sqlite::SqliteDatabase`], [`on_postgres::PgDatabase`]).
//!
//! The trait hands out connections and transactions, nothing more; what runs inside
//! them is written once. A storage module reaches the database in one of three ways,
//! each the same on both databases:
//!
//! - [`Storage::with_sql`] and [`Storage::transact`]: portable SQL ([`super::sql`])
//!   for everything but the sync path (accounts, forms, records, staff pages, purges);
//! - [`Storage::read_log`]: a read snapshot of the log seen as [`LogTx`], for the
//!   pull and for loading a record's document;
//! - [`Storage::write_feed`]: the one kind of transaction that adds to the feed (a
//!   push, a purge's tombstones). Writers take turns in it, so that sequence order is
//!   commit order, and the commit is announced to other nodes.
//!
//! What differs between the databases stays behind the trait: how connections are
//! pooled, how writers take turns (SQLite's one writer connection; PostgreSQL's lock
//! on the feed's sequence row), the push's document cache (SQLite's one writer may
//! keep documents between pushes; on PostgreSQL another node may have changed them),
//! and the housekeeping after a purge.

pub(super) mod on_postgres;
pub(super) mod on_sqlite;

use lru::LruCache;
use sync_core::RecordDoc;
use uuid::Uuid;

use super::log_tx::LogTx;
use super::sql::Sql;
use super::{Storage, StorageError};

/// Record documents kept between pushes, by record id.
pub(crate) type DocCache = LruCache<Uuid, RecordDoc>;

/// One transaction that adds to the feed, seen as the log ([`LogTx`], the push's
/// statements) and as portable SQL (a purge's), with the push's document cache.
pub(crate) struct FeedTx<'a> {
    /// The log and the records.
    pub log: &'a dyn LogTx,
    /// The same transaction, for portable SQL.
    pub sql: &'a dyn Sql,
    /// Documents kept from earlier pushes (always empty where they could be stale).
    pub docs: &'a mut DocCache,
}

/// Documents to keep in the cache once a feed transaction has committed.
pub(crate) type KeepDocs = Vec<(Uuid, RecordDoc)>;

/// A database the storage runs on. Every method blocks.
pub(crate) trait Database: Send + Sync {
    /// Run `work` on a connection, outside a transaction.
    fn read(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;

    /// Run `work` in one write transaction, committed when it returns `Ok`.
    fn transact(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;

    /// Run `work` in one read-only snapshot of the log.
    fn read_log(
        &self,
        work: &mut dyn FnMut(&dyn LogTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;

    /// Run `work` in a transaction that adds to the feed, taking turns with every
    /// other such writer (on every node); commit, keep the documents it returns, and
    /// announce the new high-water mark to other nodes. Returns that mark, read inside
    /// the turn (so this node's waiting pulls learn it without another query). `prepare` (work that needs no
    /// transaction, such as building new records' documents) runs first, where the
    /// turn-taking makes it cheapest: inside the turn where the turn is a lock in this
    /// process (waiting pushes then hold nothing in memory), before it where the turn
    /// is a lock across nodes a round trip away (the work overlaps the wait).
    fn write_feed(
        &self,
        prepare: &mut dyn FnMut(),
        work: &mut dyn FnMut(FeedTx<'_>) -> Result<KeepDocs, StorageError>,
    ) -> Result<i64, StorageError>;

    /// Give back the space of what a purge deleted, where the database allows it now.
    fn after_purge(&self) {}

    /// Where other nodes announce their commits: the PostgreSQL URL and schema, or
    /// `None` for a database only this process writes.
    fn shared_target(&self) -> Option<(String, Option<String>)> {
        None
    }
}

/// Keep the result of one run of the storage's own closure inside a trait method's
/// `dyn FnMut` (the trait is object-safe; the storage's callers keep their own result
/// and error types), telling the database to roll back when it failed.
fn keep<T, E>(
    result: Option<Result<T, E>>,
    out: &mut Option<Result<T, E>>,
) -> Result<(), StorageError> {
    let Some(result) = result else {
        return Err(StorageError::RolledBack);
    };
    let failed = result.is_err();
    *out = Some(result);
    if failed {
        Err(StorageError::RolledBack)
    } else {
        Ok(())
    }
}

/// The closure's own result, or the database's error when it never ran or the commit
/// failed.
fn outcome<T, E: From<StorageError>>(
    ran: Result<(), StorageError>,
    out: Option<Result<T, E>>,
) -> Result<T, E> {
    match (ran, out) {
        (_, Some(Err(e))) => Err(e),
        (Err(e), _) => Err(e.into()),
        (Ok(()), Some(Ok(v))) => Ok(v),
        (Ok(()), None) => Err(StorageError::RolledBack.into()),
    }
}

impl Storage {
    /// The database behind this storage.
    pub(super) fn db(&self) -> &dyn Database {
        &*self.inner.db
    }

    /// Run `f` on a connection, outside a transaction: for reads in portable SQL.
    pub(super) fn with_sql<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_sql(false, f)
    }

    /// Run `f` in one write transaction, committed when `f` returns `Ok` and rolled
    /// back when it returns an error.
    pub(super) fn transact<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_sql(true, f)
    }

    fn run_sql<T, E: From<StorageError>>(
        &self,
        in_transaction: bool,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        let (mut f, mut out) = (Some(f), None);
        let mut work = |sql: &dyn Sql| keep(f.take().map(|f| f(sql)), &mut out);
        let ran = if in_transaction {
            self.db().transact(&mut work)
        } else {
            self.db().read(&mut work)
        };
        outcome(ran, out)
    }

    /// Run `f` in one read-only snapshot of the log.
    pub(super) fn read_log<T>(
        &self,
        f: impl FnOnce(&dyn LogTx) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let (mut f, mut out) = (Some(f), None);
        let ran = self
            .db()
            .read_log(&mut |log: &dyn LogTx| keep(f.take().map(|f| f(log)), &mut out));
        outcome(ran, out)
    }

    /// Run `f` in a transaction that adds to the feed (see [`Database::write_feed`]),
    /// with what `prepare` made before it; `f` returns its result and the documents to
    /// keep once committed. The feed's new mark is announced to this node's waiting
    /// pulls.
    pub(super) fn write_feed<P, T>(
        &self,
        prepare: impl FnOnce() -> P,
        f: impl FnOnce(FeedTx<'_>, P) -> Result<(T, KeepDocs), StorageError>,
    ) -> Result<T, StorageError> {
        let mut prepare = Some(prepare);
        // Set by the first closure, taken by the second: both borrow it.
        let prepared = std::cell::Cell::new(None);
        let (mut f, mut out) = (Some(f), None);
        let mark = self.db().write_feed(
            &mut || prepared.set(prepare.take().map(|p| p())),
            &mut |tx| {
                let (Some(f), Some(prepared)) = (f.take(), prepared.take()) else {
                    return Err(StorageError::RolledBack);
                };
                let (result, keep) = f(tx, prepared)?;
                out = Some(result);
                Ok(keep)
            },
        )?;
        self.announce_seq(mark);
        out.ok_or(StorageError::RolledBack)
    }

    /// The PostgreSQL URL and schema other nodes announce their commits on, when the
    /// storage runs on PostgreSQL.
    pub fn postgres_target(&self) -> Option<(String, Option<String>)> {
        self.db().shared_target()
    }
}
