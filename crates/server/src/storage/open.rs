//! Opening the storage on either database: the database's own connections and
//! migrations, then one start written once (the seed forms, the compiled forms, the
//! feed's epoch and mark).

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::database::on_postgres::PgDatabase;
use super::database::on_sqlite::SqliteDatabase;
use super::database::Database;
use super::sql::Sql;
use super::{feed_watch, form_versions, now, settings, Inner, Storage, StorageError, DB_FILE};
use crate::auth;

impl Storage {
    /// Open (creating if needed) the SQLite database in `data_dir`: migrate the
    /// schema, store the seed forms (first versions), and load the compiled forms.
    pub fn open(data_dir: &Path) -> Result<Storage, StorageError> {
        std::fs::create_dir_all(data_dir)?;
        let db = SqliteDatabase::open(&data_dir.join(DB_FILE), &auth::new_epoch())?;
        Storage::start(Box::new(db))
    }

    /// Open a PostgreSQL database (`postgres://user@host/db`), working in `schema`
    /// when given: migrate, store the seed forms, load the forms.
    pub fn open_postgres(url: &str, schema: Option<&str>) -> Result<Storage, StorageError> {
        let db = PgDatabase::new(url, schema)?;
        migrate_postgres(&db)?;
        Storage::start(Box::new(db))
    }

    /// What every database does once open: the seed forms stored (first versions),
    /// the stored forms compiled, the feed's epoch (made on a new database) and mark.
    fn start(db: Box<dyn Database>) -> Result<Storage, StorageError> {
        let time = now();
        let fresh = auth::new_epoch();
        let mut started = None;
        db.transact(&mut |sql| {
            for form in forms::instruments::seed_forms() {
                form_versions::insert_form(sql, &form.id, form.version, &form.to_json(), time)?;
            }
            settings::set_once(sql, "epoch", &fresh)?;
            started = Some(read_start(sql)?);
            Ok(())
        })?;
        let (epoch, forms, high_water) =
            started.ok_or_else(|| StorageError::Corrupt("the start did not run".into()))?;
        Ok(Storage {
            inner: Arc::new(Inner {
                epoch,
                db,
                forms,
                survey: Mutex::new(Default::default()),
                feed: tokio::sync::watch::Sender::new(feed_watch::FeedMark {
                    seq: high_water,
                    closing: false,
                }),
                clock: crate::clock::Clock::default(),
            }),
        })
    }

    /// Give the SQLite database in `data_dir` a new feed epoch (after restoring it
    /// from a backup): every cursor handed out before becomes unknown. Returns the new
    /// epoch. Run it while the server is stopped.
    pub fn new_epoch(data_dir: &Path) -> Result<String, StorageError> {
        let path = data_dir.join(DB_FILE);
        if !path.exists() {
            return Err(StorageError::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no database at {}", path.display()),
            )));
        }
        set_epoch(&SqliteDatabase::open(&path, &auth::new_epoch())?)
    }

    /// Give a PostgreSQL database a new feed epoch after restoring it from a backup
    /// (see [`Storage::new_epoch`]). Run it while every server node is stopped.
    pub fn new_epoch_postgres(url: &str, schema: Option<&str>) -> Result<String, StorageError> {
        let db = PgDatabase::new(url, schema)?;
        migrate_postgres(&db)?;
        set_epoch(&db)
    }
}

/// The epoch, the stored forms compiled, and the feed's high-water mark.
fn read_start(sql: &dyn Sql) -> Result<(String, form_versions::FormCache, i64), StorageError> {
    let epoch = settings::get(sql, "epoch")?
        .ok_or_else(|| StorageError::Corrupt("the feed epoch is missing".into()))?;
    let forms = form_versions::FormCache::load(sql)?;
    let high_water = sql
        .row(sql.dialect().high_water_sql(), &[])?
        .map_or(Ok(0), |r| r.get(0))?;
    Ok((epoch, forms, high_water))
}

/// Bring a PostgreSQL schema up to date.
fn migrate_postgres(db: &PgDatabase) -> Result<(), StorageError> {
    db.pool().run(|mut c| async move {
        super::pg::schema::migrate(&mut c).await?;
        Ok(())
    })?;
    Ok(())
}

/// Replace the feed epoch with a new one; returns it.
fn set_epoch(db: &dyn Database) -> Result<String, StorageError> {
    let epoch = auth::new_epoch();
    db.transact(&mut |sql| settings::set(sql, "epoch", &epoch))?;
    Ok(epoch)
}
