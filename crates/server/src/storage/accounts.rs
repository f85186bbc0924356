//! Users and devices as staff manage them: the lists, and device enrollment with a
//! one-time code.
//!
//! Staff create a code for a user; the phone sends it (typed, or read from the QR
//! code) instead of a password and gets its own device token. A code is stored only
//! as its SHA-256, works once, and expires ([`ENROLLMENT_TTL`]); redeeming it marks it
//! used and enrolls the device in one transaction, so two phones racing with one code
//! cannot both get in.

use rusqlite::{params, OptionalExtension};
use uuid::Uuid;

use super::{parse_scope, sqlite, Session, Storage, StorageError};
use crate::auth;

/// How long an enrollment code works, in seconds (a day: long enough to hand a phone
/// over at the next team meeting, short enough that a lost note soon stops mattering).
pub const ENROLLMENT_TTL: i64 = 24 * 3600;

/// The code's letters: no 0/O, 1/I/L, so that it can be read aloud and typed.
const ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Letters in a code (31^10: about 49 bits).
const CODE_LEN: usize = 10;

/// A user as the users page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSummary {
    /// Id.
    pub id: String,
    /// Name.
    pub username: String,
    /// Role name.
    pub role: String,
    /// Scope, none for everything.
    pub scope: Option<sync_core::Scope>,
    /// Devices not revoked.
    pub active_devices: i64,
}

/// A device as the devices page lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// Id.
    pub id: String,
    /// Its name ("web session" for a staff member's browser).
    pub name: String,
    /// Its user's id.
    pub user_id: String,
    /// Its user's name.
    pub username: String,
    /// When it was enrolled, unix seconds.
    pub created_at: i64,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
}

/// A new enrollment code: shown once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrollment {
    /// The code, grouped for reading (`ABCDE-FGHJK`).
    pub code: String,
    /// When it stops working, unix seconds.
    pub expires_at: i64,
}

/// A code as typed: letters only, upper case (dashes and spaces dropped).
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Storage {
    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserSummary>, StorageError> {
        let rows: Vec<(String, String, String, Option<String>, i64)> = if let Some(pool) = self.pg()
        {
            pool.run(|c| async move { super::pg::accounts::users(&c).await })?
        } else {
            self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT u.id, u.username, u.role, u.scope,
                     (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
                 FROM users u ORDER BY u.username",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?
        };
        rows.into_iter()
            .map(|(id, username, role, scope, active_devices)| {
                Ok(UserSummary {
                    scope: parse_scope(&id, scope)?,
                    id,
                    username,
                    role,
                    active_devices,
                })
            })
            .collect()
    }

    /// Every device, newest first.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, StorageError> {
        if let Some(pool) = self.pg() {
            return Ok(pool.run(|c| async move { super::pg::accounts::devices(&c).await })?);
        }
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.id, d.name, u.id, u.username, d.created_at, d.revoked_at
                 FROM devices d JOIN users u ON u.id = d.user_id
                 ORDER BY d.created_at DESC, d.id",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(DeviceSummary {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        user_id: r.get(2)?,
                        username: r.get(3)?,
                        created_at: r.get(4)?,
                        revoked_at: r.get(5)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// The user a device belongs to (`None` for an unknown device).
    pub fn device_owner(&self, device_id: &str) -> Result<Option<UserSummary>, StorageError> {
        let Some(device) = self.devices()?.into_iter().find(|d| d.id == device_id) else {
            return Ok(None);
        };
        Ok(self.users()?.into_iter().find(|u| u.id == device.user_id))
    }

    /// A new one-time code that enrolls a device for `user_id`, made by `by`.
    pub fn create_enrollment(&self, user_id: &str, by: &str) -> Result<Enrollment, StorageError> {
        let code: String = (0..CODE_LEN)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect();
        let time = self.clock().now();
        let expires_at = time + ENROLLMENT_TTL;
        if let Some(pool) = self.pg() {
            let (hash, user, by) = (
                auth::token_hash(&code).to_vec(),
                user_id.to_string(),
                by.to_string(),
            );
            let known = pool.run(move |c| async move {
                super::pg::accounts::insert_enrollment(&c, &hash, &user, &by, time, expires_at)
                    .await
            })?;
            if !known {
                return Err(StorageError::Invalid("no such user".into()));
            }
            return Ok(Enrollment {
                code: format!("{}-{}", &code[..5], &code[5..]),
                expires_at,
            });
        }
        self.write(|w| {
            let known: Option<i64> = w
                .conn
                .query_row("SELECT 1 FROM users WHERE id = ?1", [user_id], |r| r.get(0))
                .optional()?;
            if known.is_none() {
                return Err(StorageError::Invalid("no such user".into()));
            }
            w.conn.execute(
                "INSERT INTO enrollment_codes (code_hash, user_id, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![auth::token_hash(&code), user_id, by, time, expires_at],
            )?;
            Ok(())
        })?;
        Ok(Enrollment {
            code: format!("{}-{}", &code[..5], &code[5..]),
            expires_at,
        })
    }

    /// Redeem an enrollment code: a new device for its user, with a token. `None` when
    /// the code is unknown, used or expired (the caller cannot tell which: the answer
    /// tells nothing to someone guessing).
    pub fn enroll(&self, code: &str, device_name: &str) -> Result<Option<Session>, StorageError> {
        let hash = auth::token_hash(&normalize_code(code));
        let token = auth::new_token();
        let device_id = Uuid::new_v4().to_string();
        let name: String = device_name.chars().take(200).collect();
        let time = self.clock().now();
        let user = if let Some(pool) = self.pg() {
            let (hash, device, token_hash) = (
                hash.to_vec(),
                device_id.clone(),
                auth::token_hash(&token).to_vec(),
            );
            pool.run(move |mut c| async move {
                super::pg::accounts::redeem_enrollment(
                    &mut c,
                    &hash,
                    &device,
                    &name,
                    &token_hash,
                    time,
                )
                .await
            })?
        } else {
            self.write(|w| {
                let tx = w.conn.transaction()?;
                let user: Option<(String, String, String, Option<String>)> = tx
                    .query_row(
                        "UPDATE enrollment_codes SET used_at = ?2, device_id = ?3
                     WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                     RETURNING user_id",
                        params![hash, time, device_id],
                        |r| r.get::<_, String>(0),
                    )
                    .optional()?
                    .map(|user_id| {
                        tx.query_row(
                            "SELECT id, username, role, scope FROM users WHERE id = ?1",
                            [&user_id],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )
                    })
                    .transpose()?;
                if let Some((user_id, ..)) = &user {
                    sqlite::insert_device(
                        &tx,
                        &device_id,
                        user_id,
                        &name,
                        &auth::token_hash(&token),
                        time,
                    )?;
                }
                tx.commit()?;
                Ok(user)
            })?
        };
        let Some((user_id, username, role, scope)) = user else {
            return Ok(None);
        };
        Ok(Some(Session {
            token,
            scope: parse_scope(&user_id, scope)?,
            user_id,
            device_id,
            username,
            role,
        }))
    }
}
