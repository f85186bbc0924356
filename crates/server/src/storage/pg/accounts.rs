//! What opening a PostgreSQL database reads and writes before there is a
//! [`crate::storage::Storage`] to go through: the feed epoch, the seed forms and the
//! stored definitions. (Users, devices and publishing are written once for both
//! databases, in `storage/accounts.rs` and `storage/form_versions.rs`.)

use tokio_postgres::Client;

use super::PgError;

/// The feed epoch, set to `fresh` when the database has none yet.
pub async fn epoch(c: &Client, fresh: &str) -> Result<String, PgError> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES ('epoch', $1) ON CONFLICT (key) DO NOTHING",
        &[&fresh],
    )
    .await?;
    Ok(
        c.query_one("SELECT value FROM settings WHERE key = 'epoch'", &[])
            .await?
            .get(0),
    )
}

/// Store a form definition unless that (id, version) is there already; whether it
/// was stored now.
pub async fn insert_form(
    c: &impl tokio_postgres::GenericClient,
    id: &str,
    version: u32,
    definition: &str,
    now: i64,
) -> Result<bool, PgError> {
    Ok(c.execute(
        "INSERT INTO forms (id, version, definition, created_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (id, version) DO NOTHING",
        &[&id, &(version as i32), &definition, &now],
    )
    .await?
        == 1)
}

/// Every form definition (id, version, JSON, published at), by id then version.
pub async fn forms(c: &Client) -> Result<Vec<(String, u32, String, i64)>, PgError> {
    Ok(c.query(
        "SELECT id, version, definition, created_at FROM forms ORDER BY id, version",
        &[],
    )
    .await?
    .into_iter()
    .map(|r| (r.get(0), r.get::<_, i32>(1) as u32, r.get(2), r.get(3)))
    .collect())
}
