//! Reads for CSV exports: pages of a form's materialized responses within a scope.

use std::sync::Arc;

use forms::CompiledForm;
use sync_core::Scope;

use super::sql::{scope_args, scope_filter, Sql};
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
        let rows = self.with_sql(|c| export_page(c, form_id, scope, after, limit))?;
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
        match newest {
            Some(v) => self.form(id, v),
            None => Ok(None),
        }
    }
}

/// One page of a form's responses within `scope` for an export: after `after` in id
/// order, at most `limit`: (id, form version, created by, created at, neighborhood,
/// fields JSON).
#[allow(clippy::type_complexity)]
fn export_page(
    conn: &dyn Sql,
    form_id: &str,
    scope: Option<&Scope>,
    after: &str,
    limit: i64,
) -> Result<Vec<(String, Option<i64>, String, i64, Option<String>, String)>, StorageError> {
    let sql = format!(
        "SELECT id, form_version, created_by, created_at, neighborhood, fields FROM records
         WHERE kind = 'response' AND form_id = ?1 AND id > ?2{}
         ORDER BY id LIMIT ?8",
        scope_filter("", 3)
    );
    let [p, o, n, f, g] = scope_args(scope);
    conn.rows(
        &sql,
        &[form_id.into(), after.into(), p, o, n, f, g, limit.into()],
    )?
    .iter()
    .map(|r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
        ))
    })
    .collect()
}
