//! Users, devices and their tokens: creating users, signing in, checking a request's
//! token, revoking a device, the staff pages' lists, and device enrollment with a
//! one-time code. Every query here is written once, in the SQL both databases speak
//! ([`super::sql`]): reads through [`Storage::with_sql`], writes in one
//! [`Storage::transact`] each.
//!
//! Password hashing (slow on purpose, and bounded by a semaphore in [`crate::auth`])
//! runs before a write transaction opens, never inside one: a transaction holds
//! SQLite's only writer, or a PostgreSQL connection, while it is open.
//!
//! Staff create a code for a user; the phone sends it (typed, or read from the QR
//! code) instead of a password and gets its own device token. A code is stored only
//! as its SHA-256, works once, and expires ([`ENROLLMENT_TTL`]); redeeming it marks it
//! used and enrolls the device in one transaction, so two phones racing with one code
//! cannot both get in.

use sync_core::Scope;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::audit::Act;
use super::sql::{args, Sql};
use super::{
    now, parse_scope, pg, Session, Storage, StorageError, TokenCheck, WEB_SESSION_DEVICE,
    WEB_SESSION_SECS,
};
use crate::auth::{self, Caller, Role};

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
    /// The language of their pages and app (`en`, `es`).
    pub language: String,
    /// When they were deactivated (they then sign in nowhere), unix seconds.
    pub deactivated_at: Option<i64>,
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

/// What a user made on the web has as a password hash until they set one: no
/// password matches it (it is not a hash), so the account signs in only through an
/// enrollment code or after a password reset.
pub(crate) const NO_PASSWORD: &str = "!";

/// The server's one rule on a new password's strength (length: a passphrase is
/// better than symbols, and argon2 bounds the cost of a long one).
pub fn check_password(password: &str) -> Result<(), StorageError> {
    if password.chars().count() < 8 || password.len() > 1024 {
        return Err(StorageError::Invalid(
            "a password has 8 to 1024 characters".into(),
        ));
    }
    Ok(())
}

/// A code as typed: letters only, upper case (dashes and spaces dropped).
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl Storage {
    /// Create the first admin (`admin`) when there is no user yet, with `password` or a
    /// random one. Returns the password when the admin was created now.
    pub fn ensure_admin(&self, password: Option<&str>) -> Result<Option<String>, StorageError> {
        if self.with_sql(user_count)? > 0 {
            return Ok(None);
        }
        let password = password.map_or_else(auth::new_password, str::to_string);
        let user = NewUser::new("admin", &password, Role::Admin, None)?;
        // The hash took a while: another node (or thread) may have made the first
        // user since the count. The transaction counts again; on PostgreSQL two nodes
        // may still both count none, and the one whose `admin` comes second is told
        // the name is taken, which also means there is a user now.
        let created = self.transact(|sql| {
            if user_count(sql)? > 0 {
                return Ok(false);
            }
            user.insert(sql)?;
            Ok(true)
        });
        match created {
            Ok(true) => Ok(Some(password)),
            Ok(false) | Err(StorageError::AlreadyExists(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Create a user. `scope` may be `None` only for admins (who then see everything).
    pub fn create_user(
        &self,
        username: &str,
        password: &str,
        role: Role,
        scope: Option<&Scope>,
    ) -> Result<String, StorageError> {
        self.create_user_logged(username, password, role, scope, None)
    }

    /// [`Storage::create_user`], logging `act` (when given) in the same transaction.
    pub fn create_user_logged(
        &self,
        username: &str,
        password: &str,
        role: Role,
        scope: Option<&Scope>,
        act: Option<&Act<'_>>,
    ) -> Result<String, StorageError> {
        if username.trim().is_empty() || username.len() > 200 {
            return Err(StorageError::Invalid(
                "a user name has 1 to 200 characters".into(),
            ));
        }
        check_password(password)?;
        match scope {
            None if role != Role::Admin => {
                return Err(StorageError::Invalid(format!(
                    "a {role} needs a scope (at least a partnership)"
                )))
            }
            Some(s) if s.partnership.trim().is_empty() => {
                return Err(StorageError::Invalid(
                    "a scope names its partnership".into(),
                ))
            }
            _ => {}
        }
        // Hashed first, outside the transaction.
        let user = NewUser::new(username, password, role, scope)?;
        self.transact(|sql| {
            user.insert(sql)?;
            if let Some(act) = act {
                super::audit::log(sql, act, now())?;
            }
            Ok::<_, StorageError>(())
        })?;
        Ok(user.id)
    }

    /// Sign a device in: check the password, enroll a device, hand out its token.
    /// `None` for an unknown user or a wrong password (the same time is spent on both).
    pub fn sign_in(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
    ) -> Result<Option<Session>, StorageError> {
        let found = self.with_sql(|sql| {
            sql.row(
                "SELECT id, password_hash, role, scope FROM users
                 WHERE username = ?1 AND deactivated_at IS NULL",
                &args![username],
            )
        })?;
        // A deactivated user, or one who has not set a password yet, is answered as an
        // unknown one, in the same time.
        let found = found.filter(|u| u.get::<String>(1).is_ok_and(|h| h != NO_PASSWORD));
        let Some(user) = found else {
            auth::verify_nothing(password);
            return Ok(None);
        };
        if !auth::verify_password(password, &user.get::<String>(1)?) {
            return Ok(None);
        }
        let user_id: String = user.get(0)?;
        let scope = parse_scope(&user_id, user.get(3)?)?;
        let token = auth::new_token();
        let device_id = Uuid::new_v4().to_string();
        let name: String = device_name.chars().take(200).collect();
        let hash = auth::token_hash(&token);
        // The storage's clock, which the session's age is checked against.
        let at = self.clock().now();
        self.transact(|sql| insert_device(sql, &device_id, &user_id, &name, &hash, at))?;
        Ok(Some(Session {
            token,
            user_id,
            device_id,
            username: username.to_string(),
            role: user.get(2)?,
            scope,
        }))
    }

    /// Who a token belongs to, whether it comes as a bearer token or a session
    /// cookie. A web session's token older than [`WEB_SESSION_SECS`] is revoked and
    /// refused however it is presented, whatever the browser kept of its cookie.
    /// Every request comes through here: one query, on a reader.
    pub fn authenticate(&self, token: &str) -> Result<TokenCheck, StorageError> {
        let hash = auth::token_hash(token);
        let found = self.with_sql(|sql| {
            sql.row(
                "SELECT d.id, d.revoked_at IS NOT NULL, u.id, u.username, u.role, u.scope,
                     d.created_at, d.name, u.deactivated_at IS NOT NULL
                 FROM devices d JOIN users u ON u.id = d.user_id WHERE d.token_hash = ?1",
                &args![hash],
            )
        })?;
        let Some(row) = found else {
            return Ok(TokenCheck::Unknown);
        };
        // Deactivation revokes the user's devices; the second check covers a device
        // enrolled in the same moment.
        if row.get::<bool>(1)? || row.get::<bool>(8)? {
            return Ok(TokenCheck::Revoked);
        }
        let device_id: String = row.get(0)?;
        let web_session = row.get::<String>(7)? == WEB_SESSION_DEVICE;
        if web_session && self.clock().now() - row.get::<i64>(6)? > WEB_SESSION_SECS {
            self.revoke_device(&device_id)?;
            return Ok(TokenCheck::Revoked);
        }
        let user_id: String = row.get(2)?;
        let role = row
            .get::<String>(4)?
            .parse::<Role>()
            .map_err(|e| StorageError::Corrupt(format!("user {user_id}: {e}")))?;
        let scope = parse_scope(&user_id, row.get(5)?)?;
        Ok(TokenCheck::Valid(Caller {
            username: row.get(3)?,
            user_id,
            role,
            scope,
            device_id,
        }))
    }

    /// Revoke a device; whether it was active until now.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool, StorageError> {
        self.revoke_device_logged(device_id, None)
    }

    /// [`Storage::revoke_device`], logging `act` (when the device was active) in the
    /// same transaction.
    pub fn revoke_device_logged(
        &self,
        device_id: &str,
        act: Option<&Act<'_>>,
    ) -> Result<bool, StorageError> {
        let at = now();
        let changed = self.transact(|sql| {
            let changed = sql.execute(
                "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
                &args![device_id, at],
            )?;
            if let (true, Some(act)) = (changed > 0, act) {
                super::audit::log(sql, act, at)?;
            }
            Ok::<_, StorageError>(changed)
        })?;
        Ok(changed > 0)
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<UserSummary>, StorageError> {
        let rows = self.with_sql(|sql| {
            sql.rows(
                "SELECT u.id, u.username, u.role, u.scope,
                     (SELECT COUNT(*) FROM devices d
                       WHERE d.user_id = u.id AND d.revoked_at IS NULL),
                     u.language, u.deactivated_at
                 FROM users u ORDER BY u.username",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0)?;
                Ok(UserSummary {
                    scope: parse_scope(&id, r.get(3)?)?,
                    id,
                    username: r.get(1)?,
                    role: r.get(2)?,
                    active_devices: r.get(4)?,
                    language: r.get(5)?,
                    deactivated_at: r.get(6)?,
                })
            })
            .collect()
    }

    /// Every device, newest first.
    pub fn devices(&self) -> Result<Vec<DeviceSummary>, StorageError> {
        let rows = self.with_sql(|sql| {
            sql.rows(
                "SELECT d.id, d.name, u.id, u.username, d.created_at, d.revoked_at
                 FROM devices d JOIN users u ON u.id = d.user_id
                 ORDER BY d.created_at DESC, d.id",
                &[],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(DeviceSummary {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    user_id: r.get(2)?,
                    username: r.get(3)?,
                    created_at: r.get(4)?,
                    revoked_at: r.get(5)?,
                })
            })
            .collect()
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
        self.create_enrollment_logged(user_id, by, None)
    }

    /// [`Storage::create_enrollment`], logging `act` in the same transaction.
    pub fn create_enrollment_logged(
        &self,
        user_id: &str,
        by: &str,
        act: Option<&Act<'_>>,
    ) -> Result<Enrollment, StorageError> {
        let code: String = (0..CODE_LEN)
            .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
            .collect();
        let time = self.clock().now();
        let expires_at = time + ENROLLMENT_TTL;
        self.transact(|sql| {
            let known = sql
                .row(
                    "SELECT 1 FROM users WHERE id = ?1 AND deactivated_at IS NULL",
                    &args![user_id],
                )?
                .is_some();
            if !known {
                return Err(StorageError::Invalid("no such active user".into()));
            }
            sql.execute(
                "INSERT INTO enrollment_codes (code_hash, user_id, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &args![auth::token_hash(&code), user_id, by, time, expires_at],
            )?;
            if let Some(act) = act {
                super::audit::log(sql, act, time)?;
            }
            Ok::<_, StorageError>(())
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
        // Marking the code used and enrolling the device commit together: of two
        // phones racing with one code, the second finds it used.
        let user = self.transact(|sql| -> Result<_, StorageError> {
            let redeemed = sql.row(
                "UPDATE enrollment_codes SET used_at = ?2, device_id = ?3
                 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                   AND user_id IN (SELECT id FROM users WHERE deactivated_at IS NULL)
                 RETURNING user_id",
                &args![hash, time, &device_id],
            )?;
            let Some(redeemed) = redeemed else {
                return Ok(None);
            };
            let user_id: String = redeemed.get(0)?;
            let user = sql
                .row(
                    "SELECT id, username, role, scope FROM users WHERE id = ?1",
                    &args![&user_id],
                )?
                .ok_or_else(|| {
                    StorageError::Corrupt(format!("an enrollment code of unknown user {user_id}"))
                })?;
            insert_device(
                sql,
                &device_id,
                &user_id,
                &name,
                &auth::token_hash(&token),
                time,
            )?;
            Ok(Some(user))
        })?;
        let Some(user) = user else {
            return Ok(None);
        };
        let user_id: String = user.get(0)?;
        Ok(Some(Session {
            token,
            scope: parse_scope(&user_id, user.get(3)?)?,
            user_id,
            device_id,
            username: user.get(1)?,
            role: user.get(2)?,
        }))
    }
}

/// A user row ready to insert, its password already hashed (outside any transaction).
struct NewUser {
    id: String,
    username: String,
    password_hash: String,
    role: Role,
    /// Scope JSON, none for everything.
    scope: Option<String>,
}

impl NewUser {
    /// A new user with a fresh id; hashing `password` is the slow part.
    fn new(
        username: &str,
        password: &str,
        role: Role,
        scope: Option<&Scope>,
    ) -> Result<NewUser, StorageError> {
        Ok(NewUser {
            id: Uuid::new_v4().to_string(),
            username: username.to_string(),
            password_hash: auth::hash_password(password).map_err(StorageError::Invalid)?,
            role,
            scope: scope.map(|s| serde_json::to_string(s).unwrap_or_default()),
        })
    }

    /// Insert the row; [`StorageError::AlreadyExists`] when the name is taken.
    fn insert(&self, sql: &dyn Sql) -> Result<(), StorageError> {
        let inserted = sql.execute(
            "INSERT INTO users (id, username, password_hash, role, scope, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &args![
                &self.id,
                &self.username,
                &self.password_hash,
                self.role.as_str(),
                self.scope.as_deref(),
                now()
            ],
        );
        match inserted {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(StorageError::AlreadyExists(format!(
                "a user named `{}` exists already",
                self.username
            ))),
            Err(e) => Err(e),
        }
    }
}

/// Whether a statement failed on a unique constraint, as each database reports it
/// (for a new user's row: its name, the id being fresh).
pub(super) fn is_unique_violation(e: &StorageError) -> bool {
    match e {
        StorageError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
            f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
        }
        StorageError::Postgres(pg::PgError::Db(e)) => e.code() == Some(&SqlState::UNIQUE_VIOLATION),
        _ => false,
    }
}

/// How many users there are.
fn user_count(sql: &dyn Sql) -> Result<i64, StorageError> {
    sql.row("SELECT COUNT(*) FROM users", &[])?
        .ok_or_else(|| StorageError::Corrupt("COUNT(*) answered no row".into()))?
        .get(0)
}

/// Insert a device with its token hash (only the hash is stored).
fn insert_device(
    sql: &dyn Sql,
    id: &str,
    user_id: &str,
    name: &str,
    token_hash: &[u8],
    now: i64,
) -> Result<(), StorageError> {
    sql.execute(
        "INSERT INTO devices (id, user_id, name, token_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &args![id, user_id, name, token_hash, now],
    )?;
    Ok(())
}
