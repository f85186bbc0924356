//! Managing people from the staff pages: a user made without a password (they get a
//! one-time link to set one, or an enrollment code for a phone), a user's role, scope
//! and language changed, a user deactivated (every device revoked at once, open codes
//! voided) and reactivated, and one-time password-reset codes. Each act writes its
//! audit line in its own transaction.
//!
//! Who may act for whom is the caller's to check (the pages do, with
//! [`Caller::may_act_for`](crate::auth::Caller::may_act_for)) before calling here;
//! what is checked here is what only the database knows: names taken, list entries
//! active, households in scope, codes unused and unexpired.

use sync_core::Scope;
use uuid::Uuid;

use super::accounts::{is_unique_violation, NO_PASSWORD};
use super::audit::{log, Act};
use super::lists::check_scope_choices;
use super::sql::{args, Sql};
use super::{now, parse_scope, Storage, StorageError};
use crate::auth::{self, Caller, Role};

/// How long a password-reset code works, in seconds (a day, as an enrollment code).
pub const RESET_TTL: i64 = 24 * 3600;

/// The languages a user's pages and app speak.
pub const LANGUAGES: &[(&str, &str)] = &[("en", "English"), ("es", "Español")];

/// A user's role, scope and language, as made or changed on the web.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The role.
    pub role: Role,
    /// The scope; `None` (everything) only for an admin.
    pub scope: Option<Scope>,
    /// `en` or `es`.
    pub language: String,
}

/// A new password-reset code: shown once, stored only as its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReset {
    /// The code (64 hex digits: it travels in a link, never typed).
    pub code: String,
    /// When it stops working, unix seconds.
    pub expires_at: i64,
}

impl Account {
    fn check(&self) -> Result<(), StorageError> {
        if !LANGUAGES.iter().any(|(code, _)| *code == self.language) {
            return Err(StorageError::Invalid("the language is en or es".into()));
        }
        match &self.scope {
            None if self.role != Role::Admin => Err(StorageError::Invalid(format!(
                "a {} needs a scope (at least a partnership)",
                self.role
            ))),
            Some(s) if s.partnership.trim().is_empty() => Err(StorageError::Invalid(
                "a scope names its partnership".into(),
            )),
            _ => Ok(()),
        }
    }

    fn scope_json(&self) -> Option<String> {
        self.scope
            .as_ref()
            .map(|s| serde_json::to_string(s).unwrap_or_default())
    }
}

impl Storage {
    /// Make a user with no password (see [`Storage::create_password_reset`] and
    /// enrollment codes); the scope's list entries must be active. Returns the id.
    pub fn invite_user(
        &self,
        username: &str,
        account: &Account,
        act: &Act<'_>,
    ) -> Result<String, StorageError> {
        let username = username.trim();
        if username.is_empty() || username.len() > 200 {
            return Err(StorageError::Invalid(
                "a user name has 1 to 200 characters".into(),
            ));
        }
        account.check()?;
        let id = Uuid::new_v4().to_string();
        let at = now();
        self.transact(|sql| {
            if let Some(scope) = &account.scope {
                check_scope_choices(sql, scope, None)?;
            }
            let inserted = sql.execute(
                "INSERT INTO users (id, username, password_hash, role, scope, created_at, language)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &args![
                    &id,
                    username,
                    NO_PASSWORD,
                    account.role.as_str(),
                    account.scope_json(),
                    at,
                    &account.language
                ],
            );
            match inserted {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StorageError::Invalid(format!(
                        "a user named `{username}` exists already"
                    )))
                }
                other => other?,
            };
            log(sql, act, at)
        })?;
        Ok(id)
    }

    /// Change a user's role, scope and language. `current` is the scope the page
    /// checked: a scope entry it already names may stay even if since deactivated.
    pub fn update_user(
        &self,
        user_id: &str,
        account: &Account,
        current: Option<&Scope>,
        act: &Act<'_>,
    ) -> Result<(), StorageError> {
        account.check()?;
        let at = now();
        self.transact(|sql| {
            if let Some(scope) = &account.scope {
                check_scope_choices(sql, scope, current)?;
            }
            let changed = sql.execute(
                "UPDATE users SET role = ?2, scope = ?3, language = ?4 WHERE id = ?1",
                &args![
                    user_id,
                    account.role.as_str(),
                    account.scope_json(),
                    &account.language
                ],
            )?;
            if changed == 0 {
                return Err(StorageError::Invalid("no such user".into()));
            }
            log(sql, act, at)
        })
    }

    /// Deactivate a user (every device revoked, so their tokens stop at once; their
    /// open enrollment and reset codes voided) or reactivate them (they then need a
    /// new code: their old devices stay revoked). Whether anything changed.
    pub fn set_user_active(
        &self,
        user_id: &str,
        active: bool,
        act: &Act<'_>,
    ) -> Result<bool, StorageError> {
        let at = now();
        self.transact(|sql| {
            let changed = if active {
                sql.execute(
                    "UPDATE users SET deactivated_at = NULL
                     WHERE id = ?1 AND deactivated_at IS NOT NULL",
                    &args![user_id],
                )?
            } else {
                let changed = sql.execute(
                    "UPDATE users SET deactivated_at = ?2 WHERE id = ?1 AND deactivated_at IS NULL",
                    &args![user_id, at],
                )?;
                if changed > 0 {
                    void_codes(sql, user_id, at)?;
                }
                changed
            };
            if changed > 0 {
                log(sql, act, at)?;
            }
            Ok(changed > 0)
        })
    }

    /// A new one-time password-reset code for an active user, valid [`RESET_TTL`].
    pub fn create_password_reset(
        &self,
        user_id: &str,
        act: &Act<'_>,
    ) -> Result<PasswordReset, StorageError> {
        let code = auth::new_token();
        let at = self.clock().now();
        let expires_at = at + RESET_TTL;
        self.transact(|sql| {
            let active = sql
                .row(
                    "SELECT 1 FROM users WHERE id = ?1 AND deactivated_at IS NULL",
                    &args![user_id],
                )?
                .is_some();
            if !active {
                return Err(StorageError::Invalid("no such active user".into()));
            }
            sql.execute(
                "INSERT INTO password_resets (code_hash, user_id, created_by, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                &args![
                    auth::token_hash(&code),
                    user_id,
                    act.actor.user_id.as_str(),
                    at,
                    expires_at
                ],
            )?;
            log(sql, act, at)
        })?;
        Ok(PasswordReset { code, expires_at })
    }

    /// The name of the user a reset code is for, while it works (unused, unexpired,
    /// the user active); `None` otherwise, whichever the reason.
    pub fn password_reset_user(&self, code: &str) -> Result<Option<String>, StorageError> {
        let at = self.clock().now();
        let found = self.with_sql(|sql| {
            sql.row(
                "SELECT u.username FROM password_resets r JOIN users u ON u.id = r.user_id
                 WHERE r.code_hash = ?1 AND r.used_at IS NULL AND r.expires_at > ?2
                   AND u.deactivated_at IS NULL",
                &args![auth::token_hash(code), at],
            )
        })?;
        found.map(|r| r.get(0)).transpose()
    }

    /// Redeem a reset code: the user's password becomes `password_hash` (hashed by
    /// the caller, outside the transaction), the code is used up, and the act is
    /// logged as the user's own. The user's name, or `None` when the code does not
    /// work (unknown, used, expired, user deactivated).
    pub fn reset_password(
        &self,
        code: &str,
        password_hash: &str,
        address: &str,
    ) -> Result<Option<String>, StorageError> {
        let at = self.clock().now();
        self.transact(|sql| {
            // Marking the code used and setting the password commit together: of two
            // tabs racing with one link, the second finds it used.
            let redeemed = sql.row(
                "UPDATE password_resets SET used_at = ?2
                 WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2
                   AND user_id IN (SELECT id FROM users WHERE deactivated_at IS NULL)
                 RETURNING user_id",
                &args![auth::token_hash(code), at],
            )?;
            let Some(redeemed) = redeemed else {
                return Ok(None);
            };
            let user_id: String = redeemed.get(0)?;
            sql.execute(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                &args![&user_id, password_hash],
            )?;
            let user = sql
                .row(
                    "SELECT username, role, scope FROM users WHERE id = ?1",
                    &args![&user_id],
                )?
                .ok_or_else(|| StorageError::Corrupt(format!("reset of unknown user {user_id}")))?;
            let username: String = user.get(0)?;
            let role = user
                .get::<String>(1)?
                .parse::<Role>()
                .map_err(|e| StorageError::Corrupt(format!("user {user_id}: {e}")))?;
            let actor = Caller {
                scope: parse_scope(&user_id, user.get(2)?)?,
                user_id,
                username: username.clone(),
                role,
                device_id: String::new(),
            };
            let act = Act {
                actor: &actor,
                address,
                action: "password.reset",
                subject: &username,
                detail: "set through a one-time link".into(),
            };
            log(sql, &act, at)?;
            Ok(Some(username))
        })
    }
}

/// Revoke a user's devices and void their open codes, at deactivation.
fn void_codes(sql: &dyn Sql, user_id: &str, at: i64) -> Result<(), StorageError> {
    sql.execute(
        "UPDATE devices SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        &args![user_id, at],
    )?;
    sql.execute(
        "UPDATE enrollment_codes SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
        &args![user_id, at],
    )?;
    sql.execute(
        "UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
        &args![user_id, at],
    )?;
    Ok(())
}
