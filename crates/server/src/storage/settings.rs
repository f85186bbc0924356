//! The `settings` table: a few named values (the feed epoch, the smallest cell the
//! pages show), read and written the same way on both databases.

use super::sql::{args, Sql};
use super::StorageError;

/// The value of `key`, if set.
pub(super) fn get(sql: &dyn Sql, key: &str) -> Result<Option<String>, StorageError> {
    sql.row("SELECT value FROM settings WHERE key = ?1", &args![key])?
        .map(|r| r.get(0))
        .transpose()
}

/// Set `key` to `value`, replacing what it held.
pub(super) fn set(sql: &dyn Sql, key: &str, value: &str) -> Result<(), StorageError> {
    sql.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &args![key, value],
    )?;
    Ok(())
}

/// Set `key` to `value` unless it holds one already.
pub(super) fn set_once(sql: &dyn Sql, key: &str, value: &str) -> Result<(), StorageError> {
    sql.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        &args![key, value],
    )?;
    Ok(())
}
