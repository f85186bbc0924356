//! PostgreSQL storage, for deployments with several server nodes on one database (the
//! Scale-out issue): the connection settings ([`config`], with a schema of one's own
//! for tests), the connection pool the storage's blocking methods use ([`pool`], on
//! deadpool-postgres), the schema and its migrations ([`schema`]), the change feed's
//! sequence, which keeps readers from skipping a change that commits late ([`feed`]).
//! Everything else is written once for both databases and reaches PostgreSQL through
//! the storage's seam (`storage::database::on_postgres`).

pub mod feed;
pub mod pool;
pub mod schema;

pub use pool::{wait, PgPool, Pooled};
use thiserror::Error;
pub use tokio_postgres::Client;
use tokio_postgres::{Config, NoTls};

/// A PostgreSQL failure.
#[derive(Debug, Error)]
pub enum PgError {
    /// The database answered with an error, or the connection failed.
    #[error("PostgreSQL: {}", describe(.0))]
    Db(#[from] tokio_postgres::Error),
    /// The database URL or a schema name is unusable.
    #[error("{0}")]
    Invalid(String),
    /// No connection came free in time: the node is at its bound (answered 503).
    #[error("no database connection came free within {0} s")]
    Busy(u64),
    /// The database holds a schema newer than this server.
    #[error("the database's schema is version {found}; this server knows up to {supported}: upgrade the server")]
    SchemaTooNew {
        /// The version found.
        found: i32,
        /// The newest this code knows.
        supported: i32,
    },
}

/// An error with the database's own message and code, when it sent one.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// Whether a schema name is safe to put into SQL unquoted (tests make their own).
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// `schema`, if it is safe to put into SQL unquoted.
fn checked_schema(schema: &str) -> Result<&str, PgError> {
    if plain_name(schema) {
        Ok(schema)
    } else {
        Err(PgError::Invalid(format!(
            "`{schema}` is not a plain schema name (a-z, 0-9, _)"
        )))
    }
}

/// The longest one statement may run, unless the URL's `options` set their own.
pub const STATEMENT_TIMEOUT_MS: u64 = 30_000;

/// The connection settings for `url` (`postgres://user@host:5432/db`): a statement
/// timeout unless the URL's `options` set one, and with `schema`, `search_path` set to
/// it (so each test, or each deployment sharing a database, keeps its tables apart).
/// Both are session options sent when connecting, so every connection made from these
/// settings, by [`connect`] or by the pool, works the same way.
pub fn config(url: &str, schema: Option<&str>) -> Result<Config, PgError> {
    let mut config: Config = url
        .parse()
        .map_err(|e| PgError::Invalid(format!("`{url}` is not a PostgreSQL URL: {e}")))?;
    // No statement runs for ever: a stuck query gives its connection back.
    let theirs = config.get_options().unwrap_or_default().trim().to_string();
    if !theirs.contains("statement_timeout") {
        config.options(
            format!("{theirs} -c statement_timeout={}", STATEMENT_TIMEOUT_MS).trim_start(),
        );
    }
    if let Some(schema) = schema {
        let schema = checked_schema(schema)?;
        // Added to the URL's own `options` (a `statement_timeout`, say), not in place
        // of them.
        let theirs = config.get_options().unwrap_or_default().trim().to_string();
        config.options(format!("{theirs} -c search_path={schema}").trim_start());
    }
    Ok(config)
}

/// Create `schema` when missing. `search_path` may name a schema that does not exist
/// yet, so a connection made by [`config`]'s settings can run this first.
pub async fn create_schema(client: &Client, schema: &str) -> Result<(), PgError> {
    let schema = checked_schema(schema)?;
    client
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await?;
    Ok(())
}

/// One connection outside any pool, working in `schema` (created when missing), for
/// tests and tools that want a session of their own. The connection's task runs on
/// the current tokio runtime and ends when the client is dropped.
pub async fn connect(url: &str, schema: Option<&str>) -> Result<Client, PgError> {
    let (client, connection) = config(url, schema)?.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "a PostgreSQL connection ended");
        }
    });
    if let Some(schema) = schema {
        create_schema(&client, schema).await?;
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_schema_names_are_taken() {
        assert!(plain_name("t_1a2b"));
        for bad in ["", "T", "1a", "a-b", "a;drop", "a b", &"a".repeat(64)] {
            assert!(!plain_name(bad), "{bad}");
        }
    }
}
