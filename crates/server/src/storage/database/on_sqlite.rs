//! The storage on a SQLite file (the default): one writer connection behind a mutex
//! (SQLite has one writer anyway), which keeps the push's document cache, and a few
//! reader connections that run beside it (WAL).

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior};

use super::{Database, DocCache, FeedTx, KeepDocs};
use crate::storage::log_tx::LogTx;
use crate::storage::sql::Sql;
use crate::storage::{schema, StorageError};

/// How many record documents the writer keeps in memory.
const DOC_CACHE: usize = 256;

/// How many idle read connections are kept.
const READERS: usize = 8;

/// A SQLite file's connections.
pub(crate) struct SqliteDatabase {
    path: PathBuf,
    writer: Mutex<Writer>,
    readers: Mutex<Vec<Connection>>,
}

/// The one connection that writes, and the documents it keeps between pushes: no
/// other process writes the file, so a kept document is never stale.
struct Writer {
    conn: Connection,
    docs: DocCache,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled its transaction back (the Transaction's
    // Drop) and dropped any document it had taken out of the cache: the state is sound.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl SqliteDatabase {
    /// Open (creating if needed) the file at `path` and bring its schema up to date;
    /// a new file gets `new_epoch`.
    pub fn open(path: &Path, new_epoch: &str) -> Result<SqliteDatabase, StorageError> {
        let mut conn = Connection::open(path)?;
        schema::configure(&conn)?;
        schema::migrate(&mut conn, new_epoch)?;
        Ok(SqliteDatabase {
            path: path.to_path_buf(),
            writer: Mutex::new(Writer {
                conn,
                docs: DocCache::new(NonZeroUsize::new(DOC_CACHE).unwrap_or(NonZeroUsize::MIN)),
            }),
            readers: Mutex::new(Vec::new()),
        })
    }

    /// Run `work` on a reader connection (opened when none is idle).
    fn on_reader<T>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(&self.path)?;
                schema::configure(&c)?;
                c
            }
        };
        let result = work(&mut conn);
        let mut idle = lock(&self.readers);
        if idle.len() < READERS {
            idle.push(conn);
        }
        result
    }
}

impl Database for SqliteDatabase {
    fn read(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.on_reader(|conn| work(&*conn))
    }

    fn transact(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut writer = lock(&self.writer);
        let tx = writer.conn.transaction()?;
        work(&*tx)?;
        tx.commit()?;
        Ok(())
    }

    fn read_log(
        &self,
        work: &mut dyn FnMut(&dyn LogTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        self.on_reader(|conn| {
            // One read transaction: a consistent snapshot of the log.
            let tx = conn.transaction()?;
            work(&*tx)
        })
    }

    fn write_feed(
        &self,
        prepare: &mut dyn FnMut(),
        work: &mut dyn FnMut(FeedTx<'_>) -> Result<KeepDocs, StorageError>,
    ) -> Result<i64, StorageError> {
        let mut writer = lock(&self.writer);
        // In the turn: a push waiting for the writer holds none of its documents.
        prepare();
        let Writer { conn, docs } = &mut *writer;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let keep = work(FeedTx {
            log: &*tx,
            sql: &*tx,
            docs,
        })?;
        // The one writer's own count: what it reads now is what commits.
        let mark = LogTx::max_seq(&*tx)?;
        tx.commit()?;
        for (record, doc) in keep {
            docs.put(record, doc);
        }
        Ok(mark)
    }

    fn after_purge(&self) {
        truncate_wal(&lock(&self.writer).conn);
    }
}

/// Copy the write-ahead log into the database and cut it to nothing, so the old pages
/// it held (a purge's deleted answers) leave the disk. A reader in the middle of a
/// transaction holds the log; wait for it a little.
fn truncate_wal(conn: &Connection) {
    for _ in 0..50 {
        let busy: Result<i64, _> =
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0));
        match busy {
            Ok(0) => return,
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            Err(e) => {
                tracing::warn!(error = %e, "checkpoint after a purge failed");
                return;
            }
        }
    }
    tracing::warn!(
        "the write-ahead log stayed busy after a purge; it is truncated at the next checkpoint"
    );
}
