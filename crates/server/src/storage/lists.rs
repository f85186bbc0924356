//! The partnership's managed lists: its organizations, neighborhoods and programs
//! (a program may be confidential), each entry a short stable code (what a scope
//! names) and a label (what people read). Scopes chosen on the staff pages come from
//! these lists instead of free text, so that a typo cannot make a scope that matches
//! nothing. An entry is never deleted, only deactivated: users and records may still
//! name it, and their pages still show its label.

use sync_core::Scope;

use super::audit::{log, Act};
use super::sql::{args, Sql};
use super::{now, Storage, StorageError};

/// Which list an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// Partner organizations.
    Organization,
    /// Neighborhoods (or census block groups).
    Neighborhood,
    /// Programs, some confidential.
    Program,
}

impl ListKind {
    /// Every list, in the order pages show them.
    pub const ALL: [ListKind; 3] = [
        ListKind::Organization,
        ListKind::Neighborhood,
        ListKind::Program,
    ];

    /// The name stored and used in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            ListKind::Organization => "organization",
            ListKind::Neighborhood => "neighborhood",
            ListKind::Program => "program",
        }
    }

    /// The list's heading.
    pub fn plural_label(self) -> &'static str {
        match self {
            ListKind::Organization => "Organizations",
            ListKind::Neighborhood => "Neighborhoods",
            ListKind::Program => "Programs",
        }
    }

    /// The list a name means, if any.
    pub fn parse(name: &str) -> Option<ListKind> {
        ListKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// An entry of a managed list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Its list.
    pub kind: ListKind,
    /// The short stable id scopes name.
    pub code: String,
    /// What people read.
    pub label: String,
    /// A confidential program: its records are its staff's alone.
    pub confidential: bool,
    /// Whether new scopes may choose it.
    pub active: bool,
}

/// Whether `code` may name a list entry: 1 to 40 lower-case letters, digits, `-`
/// and `_` (it travels in scopes, URLs and exports unchanged).
pub fn valid_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn check_label(label: &str) -> Result<String, StorageError> {
    let label = label.trim();
    if label.is_empty() || label.chars().count() > 200 {
        return Err(StorageError::Invalid(
            "a label has 1 to 200 characters".into(),
        ));
    }
    Ok(label.to_string())
}

impl Storage {
    /// Every entry of one list (active or not), by label. Filters offer the active
    /// ones; a page showing a stored code looks its label up here.
    pub fn list_entries(&self, kind: ListKind) -> Result<Vec<ListEntry>, StorageError> {
        let rows = self.with_sql(|sql| {
            sql.rows(
                "SELECT code, label, confidential, active FROM managed_lists
                 WHERE kind = ?1 ORDER BY label, code",
                &args![kind.as_str()],
            )
        })?;
        rows.iter()
            .map(|r| {
                Ok(ListEntry {
                    kind,
                    code: r.get(0)?,
                    label: r.get(1)?,
                    confidential: r.get(2)?,
                    active: r.get(3)?,
                })
            })
            .collect()
    }

    /// Add an entry; [`StorageError::Invalid`] for a bad code or label, or a code the
    /// list has already.
    pub fn add_list_entry(
        &self,
        kind: ListKind,
        code: &str,
        label: &str,
        confidential: bool,
        act: &Act<'_>,
    ) -> Result<(), StorageError> {
        if !valid_code(code) {
            return Err(StorageError::Invalid(
                "a code has 1 to 40 lower-case letters, digits, - or _".into(),
            ));
        }
        let label = check_label(label)?;
        let at = now();
        self.transact(|sql| {
            let taken = sql
                .row(
                    "SELECT 1 FROM managed_lists WHERE kind = ?1 AND code = ?2",
                    &args![kind.as_str(), code],
                )?
                .is_some();
            if taken {
                return Err(StorageError::Invalid(format!(
                    "the {} list has the code `{code}` already",
                    kind.as_str()
                )));
            }
            sql.execute(
                "INSERT INTO managed_lists (kind, code, label, confidential, active, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                &args![
                    kind.as_str(),
                    code,
                    &label,
                    confidential && kind == ListKind::Program,
                    true,
                    act.actor.user_id.as_str(),
                    at
                ],
            )?;
            log(sql, act, at)
        })
    }

    /// Change an entry's label (and a program's confidentiality); `false` when there
    /// is no such entry.
    pub fn relabel_list_entry(
        &self,
        kind: ListKind,
        code: &str,
        label: &str,
        confidential: bool,
        act: &Act<'_>,
    ) -> Result<bool, StorageError> {
        let label = check_label(label)?;
        let at = now();
        self.transact(|sql| {
            let changed = sql.execute(
                "UPDATE managed_lists SET label = ?3, confidential = ?4
                 WHERE kind = ?1 AND code = ?2",
                &args![
                    kind.as_str(),
                    code,
                    &label,
                    confidential && kind == ListKind::Program
                ],
            )?;
            if changed > 0 {
                log(sql, act, at)?;
            }
            Ok(changed > 0)
        })
    }

    /// Deactivate or reactivate an entry; `false` when there is no such entry.
    pub fn set_list_entry_active(
        &self,
        kind: ListKind,
        code: &str,
        active: bool,
        act: &Act<'_>,
    ) -> Result<bool, StorageError> {
        let at = now();
        self.transact(|sql| {
            let changed = sql.execute(
                "UPDATE managed_lists SET active = ?3 WHERE kind = ?1 AND code = ?2",
                &args![kind.as_str(), code, active],
            )?;
            if changed > 0 {
                log(sql, act, at)?;
            }
            Ok(changed > 0)
        })
    }
}

/// Check, inside a transaction, that a scope chosen on the web names only active
/// entries of the lists (or keeps what `current` names already, so that editing a
/// user's language does not fail on a since-deactivated neighborhood), and that its
/// family is a household in that scope.
pub(crate) fn check_scope_choices(
    sql: &dyn Sql,
    scope: &Scope,
    current: Option<&Scope>,
) -> Result<(), StorageError> {
    let levels = [
        (
            ListKind::Organization,
            &scope.organization,
            current.and_then(|c| c.organization.as_ref()),
        ),
        (
            ListKind::Neighborhood,
            &scope.neighborhood,
            current.and_then(|c| c.neighborhood.as_ref()),
        ),
        (
            ListKind::Program,
            &scope.program,
            current.and_then(|c| c.program.as_ref()),
        ),
    ];
    for (kind, chosen, kept) in levels {
        let Some(code) = chosen else { continue };
        if kept == Some(code) {
            continue;
        }
        let active = sql
            .row(
                "SELECT 1 FROM managed_lists WHERE kind = ?1 AND code = ?2 AND active = TRUE",
                &args![kind.as_str(), code],
            )?
            .is_some();
        if !active {
            return Err(StorageError::Invalid(format!(
                "`{code}` is not an active entry of the {} list",
                kind.as_str()
            )));
        }
    }
    if let Some(family) = &scope.family {
        if current.and_then(|c| c.family.as_ref()) == Some(family) {
            return Ok(());
        }
        let household = sql.row(
            "SELECT partnership, organization, neighborhood FROM records
             WHERE id = ?1 AND kind = 'household'",
            &args![family],
        )?;
        let within = household.is_some_and(|h| {
            let level = |mine: &Option<String>, i: usize| {
                mine.is_none() || h.get::<Option<String>>(i).ok().flatten() == *mine
            };
            h.get::<String>(0).is_ok_and(|p| p == scope.partnership)
                && level(&scope.organization, 1)
                && level(&scope.neighborhood, 2)
        });
        if !within {
            return Err(StorageError::Invalid(format!(
                "no household `{family}` in this scope"
            )));
        }
    }
    Ok(())
}
