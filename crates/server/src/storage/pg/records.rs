//! The materialized records on PostgreSQL: the reads of `super::super::sqlite` for
//! records (a row, heads for repair, counts), returning the same types.

use sync_core::Scope;
use tokio_postgres::Client;

use super::PgError;
use crate::storage::sqlite::RecordRow;

fn scope_at(r: &tokio_postgres::Row, first: usize) -> Scope {
    Scope {
        partnership: r.get(first),
        organization: r.get(first + 1),
        neighborhood: r.get(first + 2),
        family: r.get(first + 3),
        program: r.get(first + 4),
    }
}

/// A record's materialized row.
pub async fn record(c: &Client, id: &str) -> Result<Option<RecordRow>, PgError> {
    let row = c
        .query_opt(
            "SELECT id, kind, partnership, organization, neighborhood, family, program,
                 form_id, form_version, created_by, created_at, updated_at, heads, fields,
                 has_conflicts, issues
               FROM records WHERE id = $1",
            &[&id],
        )
        .await?;
    Ok(row.map(|r| {
        let form_id: Option<String> = r.get(7);
        let form_version: Option<i32> = r.get(8);
        RecordRow {
            id: r.get(0),
            kind: r.get(1),
            scope: scope_at(&r, 2),
            form: form_id.zip(form_version.map(|v| v as u32)),
            created_by: r.get(9),
            created_at: r.get(10),
            updated_at: r.get(11),
            heads: serde_json::from_str(r.get::<_, &str>(12)).unwrap_or_default(),
            fields: serde_json::from_str(r.get::<_, &str>(13)).unwrap_or_default(),
            has_conflicts: r.get(14),
            issues: serde_json::from_str(r.get::<_, &str>(15)).unwrap_or_default(),
        }
    }))
}

/// Each record's heads and scope, in the order asked (`None` for one not there).
pub async fn record_heads(
    c: &Client,
    ids: &[String],
) -> Result<Vec<Option<(Vec<String>, Scope)>>, PgError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = c
            .query_opt(
                "SELECT heads, partnership, organization, neighborhood, family, program
                   FROM records WHERE id = $1",
                &[id],
            )
            .await?;
        out.push(row.map(|r| {
            let heads = serde_json::from_str(r.get::<_, &str>(0)).unwrap_or_default();
            (heads, scope_at(&r, 1))
        }));
    }
    Ok(out)
}

/// How many rows `table` holds (`changes` or `records`).
pub async fn count(c: &Client, table: &'static str) -> Result<i64, PgError> {
    Ok(c.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
        .await?
        .get(0))
}
