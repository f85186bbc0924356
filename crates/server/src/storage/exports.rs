//! Reads for the exports: pages of the records a [`Selection`] holds within the
//! caller's scope (the same conditions as the tables', so an export holds what the
//! table shows), and the language a user reads labels in.

use forms::Answers;
use sync_core::Scope;

use super::sql::{Sql, Value};
use super::{Selection, Storage, StorageError};
use crate::export::ResponseMeta;

impl Storage {
    /// One page of the records `selection` holds within `scope` (`None`: every
    /// record, admins only), after the id `after` (`""` for the start) in id order, at
    /// most `limit`: each with its fields. Form definitions are never exported.
    pub fn export_records(
        &self,
        selection: &Selection,
        scope: Option<&Scope>,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(ResponseMeta, Answers)>, StorageError> {
        let rows = self.with_sql(|sql| export_rows(sql, selection, scope, after, limit))?;
        rows.into_iter()
            .map(|(meta, fields)| {
                let answers = serde_json::from_str(&fields).map_err(|e| {
                    StorageError::Corrupt(format!("fields of record {}: {e}", meta.id))
                })?;
                Ok((meta, answers))
            })
            .collect()
    }

    /// The language `user_id` reads labels in (`en` when the user is not found).
    pub fn user_language(&self, user_id: &str) -> Result<String, StorageError> {
        let rows = self.with_sql(|sql| {
            sql.rows(
                "SELECT language FROM users WHERE id = ?1",
                &[user_id.into()],
            )
        })?;
        match rows.first() {
            Some(row) => Ok(row.get::<Option<String>>(0)?.unwrap_or_else(|| "en".into())),
            None => Ok("en".into()),
        }
    }
}

fn export_rows(
    sql: &dyn Sql,
    selection: &Selection,
    scope: Option<&Scope>,
    after: &str,
    limit: i64,
) -> Result<Vec<(ResponseMeta, String)>, StorageError> {
    let mut args: Vec<Value> = vec![after.into()];
    let conditions = selection.conditions(sql.dialect(), scope, &mut args);
    args.push(limit.into());
    // The pages walk the id index in order. Left as they are, the selection's
    // conditions (`kind = ?`, the scope's `partnership = ?`) would lead SQLite to
    // their own indexes and then a sort of every matching row for every page, which
    // is quadratic over a large export; as one term behind the dialect's hint
    // (SQLite's unary `+`) they are checked on the rows the id index yields instead.
    let hint = sql.dialect().walk_ordered_index();
    let query = format!(
        "SELECT id, form_version, created_by, created_at, neighborhood, fields FROM records
         WHERE id > ?1 AND kind <> 'form' AND {hint}(TRUE{conditions})
         ORDER BY id LIMIT ?{}",
        args.len()
    );
    sql.rows(&query, &args)?
        .iter()
        .map(|r| {
            let meta = ResponseMeta {
                id: r.get(0)?,
                form_version: r.get(1)?,
                created_by: r.get(2)?,
                created_at: r.get(3)?,
                neighborhood: r.get(4)?,
            };
            Ok((meta, r.get(5)?))
        })
        .collect()
}
