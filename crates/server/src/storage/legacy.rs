//! TEMPORARY: the per-database access of the modules not yet written portably
//! (accounts, forms); removed with them.

use rusqlite::Connection;

use super::database::on_sqlite::Writer;
use super::database::Legacy;
use super::pg::PgPool;
use super::{Storage, StorageError};

impl Storage {
    /// The PostgreSQL pool, when the storage runs on PostgreSQL.
    pub(super) fn pg(&self) -> Option<&PgPool> {
        match self.db().legacy() {
            Legacy::Postgres(pool) => Some(pool),
            Legacy::Sqlite(_) => None,
        }
    }

    /// Run `f` on a reader connection (SQLite).
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match self.db().legacy() {
            Legacy::Sqlite(db) => db.on_reader(f),
            Legacy::Postgres(_) => Err(StorageError::NotOnPostgres),
        }
    }

    /// Run `f` on the writer connection (SQLite).
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        match self.db().legacy() {
            Legacy::Sqlite(db) => f(&mut db.writer()),
            Legacy::Postgres(_) => Err(StorageError::NotOnPostgres),
        }
    }
}
