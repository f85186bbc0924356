//! Reads for CSV exports: pages of a form's materialized responses within a scope.

use std::sync::Arc;

use forms::CompiledForm;
use rusqlite::{params, Connection};
use sync_core::Scope;

use super::sqlite::scope_params;
use super::{Storage, StorageError};

impl Storage {
    /// One page of a form's responses within `scope`, after the id `after` (`""` for
    /// the start), at most `limit`, for an export: each with its answers.
    pub fn export_page(
        &self,
        form_id: &str,
        scope: Option<&Scope>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(crate::export::ResponseMeta, forms::Answers)>, StorageError> {
        let rows = self.read(|c| export_page(c, form_id, scope, after, limit))?;
        rows.into_iter()
            .map(
                |(id, form_version, created_by, created_at, neighborhood, fields)| {
                    let answers = serde_json::from_str(&fields).map_err(|e| {
                        StorageError::Corrupt(format!("fields of record {id}: {e}"))
                    })?;
                    let meta = crate::export::ResponseMeta {
                        id,
                        form_version,
                        created_by,
                        created_at,
                        neighborhood,
                    };
                    Ok((meta, answers))
                },
            )
            .collect()
    }

    /// The newest version of a form, if the server has it.
    pub fn latest_form(&self, id: &str) -> Result<Option<Arc<CompiledForm>>, StorageError> {
        let newest = self
            .form_ids()?
            .into_iter()
            .filter(|(f, _)| f == id)
            .map(|(_, v)| v)
            .max();
        Ok(newest.and_then(|v| self.form(id, v)))
    }
}

/// One page of a form's responses within `scope` for an export: after `after` in id
/// order, at most `limit`: (id, form version, created by, created at, neighborhood,
/// fields JSON).
#[allow(clippy::type_complexity)]
fn export_page(
    conn: &Connection,
    form_id: &str,
    scope: Option<&Scope>,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, Option<i64>, String, i64, Option<String>, String)>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, form_version, created_by, created_at, neighborhood, fields FROM records
         WHERE kind = 'response' AND form_id = ?1 AND id > ?2
           AND (?3 IS NULL OR partnership = ?3)
           AND (?4 IS NULL OR organization = ?4)
           AND (?5 IS NULL OR neighborhood = ?5)
           AND (?6 IS NULL OR family = ?6)
           AND (?3 IS NULL OR program IS ?7)
         ORDER BY id LIMIT ?8",
    )?;
    let (p, o, n, f, g) = scope_params(scope);
    let rows = stmt
        .query_map(params![form_id, after, p, o, n, f, g, limit], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}
