//! Users, devices and their tokens, the feed epoch and the form definitions on
//! PostgreSQL: the SQL of `super::super::sqlite` for these tables, in PostgreSQL's
//! dialect, returning the same rows.

use tokio_postgres::error::SqlState;
use tokio_postgres::Client;

use super::PgError;
use crate::storage::sqlite::{Credentials, TokenRow};

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

/// How many users there are.
pub async fn user_count(c: &Client) -> Result<i64, PgError> {
    Ok(c.query_one("SELECT COUNT(*) FROM users", &[]).await?.get(0))
}

/// Insert a user; [`PgError::AlreadyExists`] when the name is taken.
pub async fn insert_user(
    c: &Client,
    user: &crate::storage::sqlite::NewUser<'_>,
    now: i64,
) -> Result<(), PgError> {
    let result = c
        .execute(
            "INSERT INTO users (id, username, password_hash, role, scope, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &user.id,
                &user.username,
                &user.password_hash,
                &user.role,
                &user.scope,
                &now,
            ],
        )
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Err(PgError::AlreadyExists(
            format!("a user named `{}` exists already", user.username),
        )),
        Err(e) => Err(e.into()),
    }
}

/// A user's credentials, role and scope, by name.
pub async fn user_credentials(c: &Client, username: &str) -> Result<Option<Credentials>, PgError> {
    Ok(c.query_opt(
        "SELECT id, password_hash, role, scope FROM users WHERE username = $1",
        &[&username],
    )
    .await?
    .map(|r| Credentials {
        id: r.get(0),
        password_hash: r.get(1),
        role: r.get(2),
        scope: r.get(3),
    }))
}

/// Insert a device with its token hash.
pub async fn insert_device(
    c: &Client,
    id: &str,
    user_id: &str,
    name: &str,
    token_hash: &[u8],
    now: i64,
) -> Result<(), PgError> {
    c.execute(
        "INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&id, &user_id, &name, &token_hash, &now],
    )
    .await?;
    Ok(())
}

/// Revoke a device; whether it was active.
pub async fn revoke_device(c: &Client, id: &str, now: i64) -> Result<bool, PgError> {
    Ok(c.execute(
        "UPDATE devices SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        &[&id, &now],
    )
    .await?
        > 0)
}

/// The device and user of a token hash.
pub async fn token(c: &Client, hash: &[u8]) -> Result<Option<TokenRow>, PgError> {
    Ok(c.query_opt(
        "SELECT d.id, d.revoked_at IS NOT NULL, u.id, u.username, u.role, u.scope,
                    d.created_at, d.name
               FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = $1",
        &[&hash],
    )
    .await?
    .map(|r| TokenRow {
        device_id: r.get(0),
        revoked: r.get(1),
        user_id: r.get(2),
        username: r.get(3),
        role: r.get(4),
        scope: r.get(5),
        created_at: r.get(6),
        name: r.get(7),
    }))
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

/// Every user with their count of devices not revoked, by name: (id, name, role,
/// scope JSON, active devices).
pub async fn users(
    c: &Client,
) -> Result<Vec<(String, String, String, Option<String>, i64)>, PgError> {
    Ok(c.query(
        "SELECT u.id, u.username, u.role, u.scope,
                 (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
               FROM users u ORDER BY u.username",
        &[],
    )
    .await?
    .into_iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
    .collect())
}

/// Every device, newest first.
pub async fn devices(c: &Client) -> Result<Vec<crate::storage::DeviceSummary>, PgError> {
    Ok(c.query(
        "SELECT d.id, d.name, u.id, u.username, d.created_at, d.revoked_at
               FROM devices d JOIN users u ON u.id = d.user_id
              ORDER BY d.created_at DESC, d.id",
        &[],
    )
    .await?
    .into_iter()
    .map(|r| crate::storage::DeviceSummary {
        id: r.get(0),
        name: r.get(1),
        user_id: r.get(2),
        username: r.get(3),
        created_at: r.get(4),
        revoked_at: r.get(5),
    })
    .collect())
}

/// Store an enrollment code's hash for `user_id`; false when there is no such user.
pub async fn insert_enrollment(
    c: &Client,
    code_hash: &[u8],
    user_id: &str,
    by: &str,
    now: i64,
    expires_at: i64,
) -> Result<bool, PgError> {
    if c.query_opt("SELECT 1 FROM users WHERE id = $1", &[&user_id])
        .await?
        .is_none()
    {
        return Ok(false);
    }
    c.execute(
        "INSERT INTO enrollment_codes (code_hash, user_id, created_by, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&code_hash, &user_id, &by, &now, &expires_at],
    )
    .await?;
    Ok(true)
}

/// Redeem a code in one transaction: mark it used and enroll the device. The user
/// (id, name, role, scope JSON) when the code was good.
pub async fn redeem_enrollment(
    c: &mut Client,
    code_hash: &[u8],
    device_id: &str,
    device_name: &str,
    token_hash: &[u8],
    now: i64,
) -> Result<Option<(String, String, String, Option<String>)>, PgError> {
    let tx = c.transaction().await?;
    let redeemed = tx
        .query_opt(
            "UPDATE enrollment_codes SET used_at = $2, device_id = $3
              WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2
              RETURNING user_id",
            &[&code_hash, &now, &device_id],
        )
        .await?;
    let Some(user_id) = redeemed.map(|r| r.get::<_, String>(0)) else {
        return Ok(None);
    };
    let user = tx
        .query_one(
            "SELECT id, username, role, scope FROM users WHERE id = $1",
            &[&user_id],
        )
        .await?;
    tx.execute(
        "INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        &[&device_id, &user_id, &device_name, &token_hash, &now],
    )
    .await?;
    tx.commit().await?;
    Ok(Some((user.get(0), user.get(1), user.get(2), user.get(3))))
}
