//! The storage on PostgreSQL, for several server nodes on one database: a pool of
//! connections; writers to the feed take turns on the feed's sequence row (see
//! `pg::feed` for why sequence order is then commit order) and announce each commit
//! on the feed's channel.

use super::{Database, DocCache, FeedTx, KeepDocs};
use crate::storage::log_tx::{LogTx, PgLog};
use crate::storage::pg::{self, wait, PgError, PgPool};
use crate::storage::sql::{PgSql, Sql};
use crate::storage::StorageError;

/// A PostgreSQL database (and schema).
pub(crate) struct PgDatabase {
    pool: PgPool,
    /// The channel commits to the feed are announced on.
    channel: String,
}

impl PgDatabase {
    /// Connections to `url`, working in `schema` when given.
    pub fn new(url: &str, schema: Option<&str>) -> Result<PgDatabase, StorageError> {
        Ok(PgDatabase {
            pool: PgPool::new(url, schema)?,
            channel: pg::feed::channel(schema),
        })
    }

    /// The pool, for what runs before the storage exists (migrations).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

impl Database for PgDatabase {
    fn read(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let conn = self.pool.get()?;
        work(&PgSql(&*conn))
    }

    fn transact(
        &self,
        work: &mut dyn FnMut(&dyn Sql) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        let tx = wait(conn.transaction()).map_err(PgError::from)?;
        // Dropped on an error: tokio-postgres rolls it back.
        work(&PgSql(&tx))?;
        wait(tx.commit()).map_err(PgError::from)?;
        Ok(())
    }

    fn read_log(
        &self,
        work: &mut dyn FnMut(&dyn LogTx) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut conn = self.pool.get()?;
        // One snapshot for the whole read: a pull's mark and rows agree.
        let tx = wait(
            conn.build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )
        .map_err(PgError::from)?;
        work(&PgLog::new(&tx))?;
        wait(tx.commit()).map_err(PgError::from)?;
        Ok(())
    }

    fn write_feed(
        &self,
        prepare: &mut dyn FnMut(),
        work: &mut dyn FnMut(FeedTx<'_>) -> Result<KeepDocs, StorageError>,
    ) -> Result<i64, StorageError> {
        // Before the turn: the work overlaps the wait for a connection and the lock.
        prepare();
        let mut conn = self.pool.get()?;
        let tx = wait(conn.transaction()).map_err(PgError::from)?;
        // The feed's counter first: writers on every node take turns from here to
        // their commit, and none can deadlock on the rows it then touches.
        wait(tx.execute("SELECT last_seq FROM feed_sequence FOR UPDATE", &[]))
            .map_err(PgError::from)?;
        let log = PgLog::new(&tx);
        // No document is kept between pushes: another node may have changed it.
        let mut docs = DocCache::new(std::num::NonZeroUsize::MIN);
        work(FeedTx {
            log: &log,
            sql: &PgSql(&tx),
            docs: &mut docs,
        })?;
        log.flush()?;
        let last = log.max_seq()?;
        wait(pg::feed::notify(&tx, &self.channel, last))?;
        wait(tx.commit()).map_err(PgError::from)?;
        Ok(last)
    }

    fn shared_target(&self) -> Option<(String, Option<String>)> {
        let (url, schema) = self.pool.target();
        Some((url.to_string(), schema.map(str::to_string)))
    }
}
