//! Reads for the staff pages' record list and record page: keyset pages of records
//! (newest change first) with filters and search, and who sent each of a record's
//! changes.
//!
//! A page is `WHERE (updated_at, id) < cursor ORDER BY updated_at DESC, id DESC
//! LIMIT n` over an index that starts with the same columns (by kind, with
//! conflicts, or all), so it costs the same on page 1 and page 20,000. Scope columns
//! are compared as `+column` so that SQLite walks the ordered index instead of the
//! scope index and a sort. A search reads at most [`SEARCH_SCAN`] records per page
//! and hands back a cursor to go on from, so a rare word never scans a million rows
//! in one request.

use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use sync_core::Scope;

use super::{Storage, StorageError};

/// The most records one search page reads.
pub const SEARCH_SCAN: usize = 5_000;

/// What the record list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// One kind (`household`, `response`...), or all.
    pub kind: Option<String>,
    /// Only records with conflicting values.
    pub conflicts: bool,
    /// Only this neighborhood.
    pub neighborhood: Option<String>,
    /// Text the record's id starts with, or its answers hold (case-insensitive).
    pub search: Option<String>,
}

/// Where a page of the record list starts: after this (updated at, id).
pub type ListCursor = (i64, String);

/// One line of the record list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedRecord {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// The form, for responses, check-ins and case notes.
    pub form_id: Option<String>,
    /// Neighborhood of its scope.
    pub neighborhood: Option<String>,
    /// Last change received, unix seconds.
    pub updated_at: i64,
    /// Whether a field holds concurrent values.
    pub has_conflicts: bool,
    /// A few answers that name it (a household's name, a response's status).
    pub summary: String,
}

/// A page of the record list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecordList {
    /// The records, newest change first.
    pub records: Vec<ListedRecord>,
    /// Where the next page starts, if there may be one.
    pub next: Option<ListCursor>,
}

/// Who sent one logged change of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeOrigin {
    /// The change hash (hex).
    pub hash: String,
    /// The user's name.
    pub username: String,
    /// The device's name.
    pub device: String,
    /// When the server took it, unix seconds.
    pub received_at: i64,
}

impl Storage {
    /// One page of the records within `scope` that pass `filter`, after `after`.
    pub fn list_records(
        &self,
        scope: Option<&Scope>,
        filter: &RecordFilter,
        after: Option<&ListCursor>,
        limit: usize,
    ) -> Result<RecordList, StorageError> {
        self.read(|c| list(c, scope, filter, after, limit))
    }

    /// Who sent each logged change of a record, by hash.
    pub fn change_origins(&self, record_id: &str) -> Result<Vec<ChangeOrigin>, StorageError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT c.hash, u.username, d.name, c.received_at FROM changes c
                 LEFT JOIN users u ON u.id = c.user_id LEFT JOIN devices d ON d.id = c.device_id
                 WHERE c.record_id = ?1 ORDER BY c.seq",
            )?;
            let rows = stmt
                .query_map([record_id], |r| {
                    Ok(ChangeOrigin {
                        hash: hex::encode(r.get::<_, Vec<u8>>(0)?),
                        username: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        device: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                        received_at: r.get(3)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// User names by user id, for showing who wrote what.
    pub fn usernames(&self) -> Result<std::collections::HashMap<String, String>, StorageError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT id, username FROM users")?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
    }
}

fn list(
    conn: &Connection,
    scope: Option<&Scope>,
    filter: &RecordFilter,
    after: Option<&ListCursor>,
    limit: usize,
) -> Result<RecordList, StorageError> {
    let mut sql = String::from(
        "SELECT id, kind, form_id, neighborhood, updated_at, has_conflicts, fields FROM records WHERE 1",
    );
    let mut args: Vec<SqlValue> = Vec::new();
    let mut arg = |sql: &mut String, clause: &str, value: SqlValue| {
        args.push(value);
        sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
    };
    if let Some(kind) = &filter.kind {
        arg(&mut sql, " AND kind = ?", kind.clone().into());
    }
    if filter.conflicts {
        sql.push_str(" AND has_conflicts = 1");
    }
    if let Some(hood) = &filter.neighborhood {
        arg(&mut sql, " AND +neighborhood = ?", hood.clone().into());
    }
    if let Some(s) = scope {
        arg(
            &mut sql,
            " AND +partnership = ?",
            s.partnership.clone().into(),
        );
        for (column, value) in [
            ("organization", &s.organization),
            ("neighborhood", &s.neighborhood),
            ("family", &s.family),
        ] {
            if let Some(v) = value {
                arg(&mut sql, &format!(" AND +{column} = ?"), v.clone().into());
            }
        }
        // A confidential program's records only for that program's staff (`IS`: a
        // scope without a program sees only records without one).
        let program = s.program.clone().map_or(SqlValue::Null, SqlValue::Text);
        arg(&mut sql, " AND +program IS ?", program);
    }
    if let Some((at, id)) = after {
        args.push((*at).into());
        args.push(id.clone().into());
        sql.push_str(&format!(
            " AND (updated_at, id) < (?{}, ?{})",
            args.len() - 1,
            args.len()
        ));
    }
    sql.push_str(" ORDER BY updated_at DESC, id DESC");
    let needle = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_lowercase);
    let scan = if needle.is_some() {
        SEARCH_SCAN
    } else {
        limit + 1
    };
    sql.push_str(&format!(" LIMIT {scan}"));

    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
    let mut records = Vec::new();
    let mut examined = 0;
    let mut last: Option<ListCursor> = None;
    while let Some(row) = rows.next()? {
        examined += 1;
        let id: String = row.get(0)?;
        let updated_at: i64 = row.get(4)?;
        let fields: String = row.get(6)?;
        if let Some(needle) = &needle {
            let hit = id.starts_with(needle.as_str()) || fields.to_lowercase().contains(needle);
            if !hit {
                last = Some((updated_at, id));
                continue;
            }
        }
        if records.len() == limit {
            // One more than a page: there is a next page, from the last one shown.
            return Ok(RecordList {
                next: records
                    .last()
                    .map(|r: &ListedRecord| (r.updated_at, r.id.clone())),
                records,
            });
        }
        records.push(ListedRecord {
            summary: summary(&fields),
            kind: row.get(1)?,
            form_id: row.get(2)?,
            neighborhood: row.get(3)?,
            has_conflicts: row.get(5)?,
            updated_at,
            id: id.clone(),
        });
        last = Some((updated_at, id));
    }
    // A search that read its whole allowance may have more beyond it.
    let next = (needle.is_some() && examined == scan)
        .then_some(last)
        .flatten();
    Ok(RecordList { records, next })
}

/// A few answers that name a record: its name and address (households, people),
/// else its status (responses).
fn summary(fields: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(fields)
    else {
        return String::new();
    };
    let mut parts: Vec<String> = ["name", "full_name", "first_name", "address", "_status"]
        .iter()
        .filter_map(|k| match map.get(*k) {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
        .collect();
    parts.truncate(3);
    let text = parts.join(" · ");
    text.chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn summaries_name_the_record() {
        assert_eq!(
            summary(r#"{"name":"Park","address":"12 Elm St","x":1}"#),
            "Park · 12 Elm St"
        );
        assert_eq!(summary(r#"{"_status":"final","consent":"yes"}"#), "final");
        assert_eq!(summary("not json"), "");
    }
}
