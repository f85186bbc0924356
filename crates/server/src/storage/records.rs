//! The materialized records as the API and the staff pages read them one by one: a
//! row, a document, the heads for repair, and counts. Written once for both databases.

use sync_core::protocol::RecordHeads;
use sync_core::{RecordDoc, Scope};
use uuid::Uuid;

use super::sql::{args, Row};
use super::{push, Storage, StorageError};
use crate::auth::Caller;

/// The materialized row of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordRow {
    /// Record id.
    pub id: String,
    /// Kind name.
    pub kind: String,
    /// Scope.
    pub scope: Scope,
    /// Form id and version.
    pub form: Option<(String, u32)>,
    /// Creator.
    pub created_by: String,
    /// Creation time (record metadata), unix seconds.
    pub created_at: i64,
    /// Last change received, unix seconds.
    pub updated_at: i64,
    /// Heads, hex.
    pub heads: Vec<String>,
    /// The current fields, JSON.
    pub fields: serde_json::Value,
    /// Whether a field holds concurrent values.
    pub has_conflicts: bool,
    /// Soft validation issues, JSON.
    pub issues: serde_json::Value,
}

/// A record's row by id, in the columns [`record_row`] reads, in order.
const RECORD_BY_ID: &str = "SELECT id, kind, partnership, organization, neighborhood, family,
     program, form_id, form_version, created_by, created_at, updated_at, heads, fields,
     has_conflicts, issues
     FROM records WHERE id = ?1";

/// A stored JSON column, read back (damaged JSON reads as null, as the pages show it).
fn json(row: &Row, i: usize) -> Result<serde_json::Value, StorageError> {
    Ok(serde_json::from_str(&row.get::<String>(i)?).unwrap_or_default())
}

fn record_row(r: &Row) -> Result<RecordRow, StorageError> {
    let form_id: Option<String> = r.get(7)?;
    let form_version: Option<i64> = r.get(8)?;
    Ok(RecordRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        scope: r.scope(2)?,
        form: form_id.zip(form_version.map(|v| v as u32)),
        created_by: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        heads: serde_json::from_value(json(r, 12)?).unwrap_or_default(),
        fields: json(r, 13)?,
        has_conflicts: r.get(14)?,
        issues: json(r, 15)?,
    })
}

impl Storage {
    /// A record's materialized row.
    pub fn record(&self, id: Uuid) -> Result<Option<RecordRow>, StorageError> {
        self.with_sql(|c| {
            c.row(RECORD_BY_ID, &args![id.to_string()])?
                .map(|r| record_row(&r))
                .transpose()
        })
    }

    /// Record `id`'s row when `caller` may see it: `None` both when it does not exist
    /// and when it is out of scope, so that a denied read reveals nothing.
    pub fn record_seen_by(
        &self,
        caller: &crate::auth::Caller,
        id: Uuid,
    ) -> Result<Option<RecordRow>, StorageError> {
        Ok(self.record(id)?.filter(|row| caller.may_see(&row.scope)))
    }

    /// A record's document as the server holds it (snapshot plus later changes).
    pub fn record_doc(&self, id: Uuid) -> Result<Option<RecordDoc>, StorageError> {
        self.read_log(|log| push::load_doc(log, &id.to_string()))
    }

    /// The server's heads of each record, `[]` for records unknown or not visible.
    pub fn repair(
        &self,
        caller: &Caller,
        records: &[RecordHeads],
    ) -> Result<Vec<RecordHeads>, StorageError> {
        self.with_sql(|c| {
            records
                .iter()
                .map(|r| {
                    let found = c.row(
                        "SELECT heads, partnership, organization, neighborhood, family, program
                           FROM records WHERE id = ?1",
                        &args![r.record.to_string()],
                    )?;
                    let heads = match found {
                        Some(row) if caller.may_see(&row.scope(1)?) => {
                            serde_json::from_value(json(&row, 0)?).unwrap_or_default()
                        }
                        _ => Vec::new(),
                    };
                    Ok(RecordHeads {
                        record: r.record,
                        heads,
                    })
                })
                .collect()
        })
    }

    /// How many changes the log holds.
    pub fn change_count(&self) -> Result<i64, StorageError> {
        self.count("changes")
    }

    /// How many records there are.
    pub fn record_count(&self) -> Result<i64, StorageError> {
        self.count("records")
    }

    fn count(&self, table: &'static str) -> Result<i64, StorageError> {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        self.with_sql(|c| c.row(&sql, &[])?.map_or(Ok(0), |r| r.get(0)))
    }
}
