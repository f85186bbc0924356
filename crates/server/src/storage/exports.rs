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
    /// record, admins only), after the record `after` (`None` for the start), at most
    /// `limit`: each with its fields. A form's records come in (created at, id)
    /// order, other kinds' in id order; pass the last record of a page to get the
    /// next. Form definitions are never exported.
    pub fn export_records(
        &self,
        selection: &Selection,
        scope: Option<&Scope>,
        after: Option<&ResponseMeta>,
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
    after: Option<&ResponseMeta>,
    limit: i64,
) -> Result<Vec<(ResponseMeta, String)>, StorageError> {
    // The pages walk an index in its order: a form's records `records_by_form`
    // (form, created at, id), so a small form among a million records reads only its
    // own; other kinds the id index. Left as they are, the selection's other
    // conditions (`kind = ?`, the scope's `partnership = ?`) would lead SQLite to
    // their own indexes and then a sort of every matching row for every page, which
    // is quadratic over a large export; as one term behind the dialect's hint
    // (SQLite's unary `+`) they are checked on the rows the walked index yields.
    let hint = sql.dialect().walk_ordered_index();
    let mut args: Vec<Value> = Vec::new();
    let (walk, order) = match &selection.form_id {
        Some(form) => {
            args.push(form.into());
            let mut walk = "form_id = ?1".to_string();
            if let Some(last) = after {
                args.push(last.created_at.into());
                args.push(last.id.as_str().into());
                walk.push_str(" AND (created_at, id) > (?2, ?3)");
            }
            (walk, "created_at, id")
        }
        None => {
            args.push(after.map_or("", |last| last.id.as_str()).into());
            ("id > ?1".to_string(), "id")
        }
    };
    let conditions = selection.conditions(sql.dialect(), scope, &mut args);
    args.push(limit.into());
    let query = format!(
        "SELECT id, form_version, created_by, created_at, neighborhood, fields FROM records
         WHERE {walk} AND kind <> 'form' AND {hint}(TRUE{conditions})
         ORDER BY {order} LIMIT ?{}",
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
