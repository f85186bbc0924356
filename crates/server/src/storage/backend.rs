//! Which database the storage runs on: a SQLite file (the default: one writer
//! connection, a few readers) or PostgreSQL (a pool, for several server nodes on one
//! database), and the ways to reach it: [`Storage::with_sql`] and
//! [`Storage::transact`] for portable SQL on either, [`Storage::pg`] for PostgreSQL's
//! typed statements, [`Storage::read`] and [`Storage::write`] for SQLite's (which
//! answer [`StorageError::NotOnPostgres`] if reached on PostgreSQL).

use std::path::PathBuf;
use std::sync::Mutex;

use rusqlite::Connection;

use super::pg::{wait, PgPool};
use super::sql::{PgSql, Sql};
use super::{lock, now, schema, Inner, Storage, StorageError, Writer, READERS};

/// The database behind a [`Storage`].
pub(super) enum Db {
    /// A SQLite file.
    Sqlite(SqliteDb),
    /// A PostgreSQL database (and schema).
    Postgres(PgPool),
}

/// A SQLite file's connections.
pub(super) struct SqliteDb {
    pub path: PathBuf,
    pub writer: Mutex<Writer>,
    pub readers: Mutex<Vec<Connection>>,
}

impl Storage {
    /// The PostgreSQL pool, when the storage runs on PostgreSQL.
    pub(super) fn pg(&self) -> Option<&PgPool> {
        match &self.inner.db {
            Db::Postgres(pool) => Some(pool),
            Db::Sqlite(_) => None,
        }
    }

    /// The PostgreSQL URL and schema, when the storage runs on PostgreSQL.
    pub fn postgres_target(&self) -> Option<(String, Option<String>)> {
        self.pg().map(|p| {
            let (url, schema) = p.target();
            (url.to_string(), schema.map(str::to_string))
        })
    }

    /// The PostgreSQL channel this storage's feed commits are announced on.
    pub(super) fn feed_channel(&self) -> String {
        super::pg::feed::channel(self.pg().and_then(|p| p.target().1))
    }

    /// The SQLite connections; on PostgreSQL, the error saying this part is not
    /// there yet.
    pub(super) fn sqlite(&self) -> Result<&SqliteDb, StorageError> {
        match &self.inner.db {
            Db::Sqlite(db) => Ok(db),
            Db::Postgres(_) => Err(StorageError::NotOnPostgres),
        }
    }

    /// Run `f` on a reader connection (SQLite).
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.read_as(f)
    }

    /// [`Storage::read`] with the caller's error type.
    fn read_as<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let db = self.sqlite()?;
        let pooled = lock(&db.readers).pop();
        let mut conn = match pooled {
            Some(c) => c,
            None => {
                let c = Connection::open(&db.path).map_err(StorageError::from)?;
                schema::configure(&c)?;
                c
            }
        };
        let result = f(&mut conn);
        let mut pool = lock(&db.readers);
        if pool.len() < READERS {
            pool.push(conn);
        }
        result
    }

    /// Run `f` on a connection of either database, outside a transaction: for reads
    /// written once in portable SQL ([`super::sql`]).
    pub(super) fn with_sql<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.inner.db {
            Db::Postgres(pool) => {
                let conn = pool.get().map_err(StorageError::from)?;
                f(&PgSql(&*conn))
            }
            Db::Sqlite(_) => self.read_as(|c| f(&*c)),
        }
    }

    /// Run `f` in one write transaction on either database, committed when `f`
    /// returns `Ok` and rolled back when it returns an error.
    pub(super) fn transact<T, E: From<StorageError>>(
        &self,
        f: impl FnOnce(&dyn Sql) -> Result<T, E>,
    ) -> Result<T, E> {
        match &self.inner.db {
            Db::Postgres(pool) => {
                let mut conn = pool.get().map_err(StorageError::from)?;
                let tx = wait(conn.transaction()).map_err(StorageError::from)?;
                // Dropped on an error: tokio-postgres rolls it back.
                let out = f(&PgSql(&tx))?;
                wait(tx.commit()).map_err(StorageError::from)?;
                Ok(out)
            }
            Db::Sqlite(db) => {
                let mut writer = lock(&db.writer);
                let tx = writer.conn.transaction().map_err(StorageError::from)?;
                let out = f(&*tx)?;
                tx.commit().map_err(StorageError::from)?;
                Ok(out)
            }
        }
    }

    /// Run `f` on the writer connection (SQLite).
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut Writer) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        f(&mut lock(&self.sqlite()?.writer))
    }
}

impl Storage {
    /// Open a PostgreSQL database (`postgres://user@host/db`), working in `schema`
    /// when given: migrate, store the seed forms, load the forms.
    pub fn open_postgres(url: &str, schema: Option<&str>) -> Result<Storage, StorageError> {
        let pool = PgPool::new(url, schema)?;
        let fresh = crate::auth::new_epoch();
        let seeds: Vec<(String, u32, String)> = forms::instruments::seed_forms()
            .into_iter()
            .map(|f| (f.id.clone(), f.version, f.to_json()))
            .collect();
        let (epoch, rows, high_water) = pool.run(move |mut c| async move {
            super::pg::schema::migrate(&mut c).await?;
            let time = now();
            for (id, version, json) in &seeds {
                super::pg::accounts::insert_form(&*c, id, *version, json, time).await?;
            }
            let epoch = super::pg::accounts::epoch(&c, &fresh).await?;
            let rows = super::pg::accounts::forms(&c).await?;
            let high_water = super::pg::feed::high_water(&*c).await?;
            Ok((epoch, rows, high_water))
        })?;
        let forms = super::form_versions::FormCache::from_rows(
            rows.into_iter()
                .map(|(id, v, json, _)| (id, v, json))
                .collect(),
        );
        Ok(Storage {
            inner: std::sync::Arc::new(Inner {
                epoch,
                db: Db::Postgres(pool),
                forms,
                survey: Mutex::new(Default::default()),
                feed: tokio::sync::watch::Sender::new(super::FeedMark {
                    seq: high_water,
                    closing: false,
                }),
                clock: crate::clock::Clock::default(),
            }),
        })
    }
}

impl Storage {
    /// Give a PostgreSQL database a new feed epoch after restoring it from a backup
    /// (see [`Storage::new_epoch`]). Run it while every server node is stopped.
    pub fn new_epoch_postgres(url: &str, schema: Option<&str>) -> Result<String, StorageError> {
        let pool = PgPool::new(url, schema)?;
        let epoch = crate::auth::new_epoch();
        let set = epoch.clone();
        pool.run(move |mut c| async move {
            super::pg::schema::migrate(&mut c).await?;
            c.execute(
                "INSERT INTO settings (key, value) VALUES ('epoch', $1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                &[&set],
            )
            .await?;
            Ok(())
        })?;
        Ok(epoch)
    }
}
