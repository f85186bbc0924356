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

use sync_core::Scope;

use super::sql::{args, Dialect, Value};
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
        let query = ListQuery::new(scope, filter, after, limit);
        let rows = self.with_sql(|c| {
            let (sql, args) = query.sql(c.dialect());
            c.rows(&sql, &args)?
                .iter()
                .map(|r| {
                    Ok(ListRow {
                        id: r.get(0)?,
                        kind: r.get(1)?,
                        form_id: r.get(2)?,
                        neighborhood: r.get(3)?,
                        updated_at: r.get(4)?,
                        has_conflicts: r.get(5)?,
                        fields: r.get(6)?,
                    })
                })
                .collect::<Result<Vec<_>, StorageError>>()
        })?;
        Ok(query.page(rows))
    }

    /// Who sent each logged change of a record, by hash.
    pub fn change_origins(&self, record_id: &str) -> Result<Vec<ChangeOrigin>, StorageError> {
        self.with_sql(|c| {
            c.rows(
                "SELECT c.hash, u.username, d.name, c.received_at FROM changes c
                 LEFT JOIN users u ON u.id = c.user_id LEFT JOIN devices d ON d.id = c.device_id
                 WHERE c.record_id = ?1 ORDER BY c.seq",
                &args![record_id],
            )?
            .iter()
            .map(|r| {
                Ok(ChangeOrigin {
                    hash: hex::encode(r.get::<Vec<u8>>(0)?),
                    username: r.get::<Option<String>>(1)?.unwrap_or_default(),
                    device: r.get::<Option<String>>(2)?.unwrap_or_default(),
                    received_at: r.get(3)?,
                })
            })
            .collect()
        })
    }

    /// User names by user id, for showing who wrote what.
    pub fn usernames(&self) -> Result<std::collections::HashMap<String, String>, StorageError> {
        self.with_sql(|c| {
            c.rows("SELECT id, username FROM users", &[])?
                .iter()
                .map(|r| Ok((r.get(0)?, r.get(1)?)))
                .collect()
        })
    }
}

/// One row the record list's query returns.
struct ListRow {
    id: String,
    kind: String,
    form_id: Option<String>,
    neighborhood: Option<String>,
    updated_at: i64,
    has_conflicts: bool,
    fields: String,
}

/// A page of the record list: its query, then its rows made into the page.
struct ListQuery<'a> {
    scope: Option<&'a Scope>,
    filter: &'a RecordFilter,
    after: Option<&'a ListCursor>,
    limit: usize,
    needle: Option<String>,
}

impl<'a> ListQuery<'a> {
    fn new(
        scope: Option<&'a Scope>,
        filter: &'a RecordFilter,
        after: Option<&'a ListCursor>,
        limit: usize,
    ) -> Self {
        let needle = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_lowercase);
        ListQuery {
            scope,
            filter,
            after,
            limit,
            needle,
        }
    }

    /// Rows to read: a page and one more, or a search's allowance.
    fn scan(&self) -> usize {
        if self.needle.is_some() {
            SEARCH_SCAN
        } else {
            self.limit + 1
        }
    }

    /// The query and its arguments. On SQLite, scope columns are compared as `+column`
    /// so that it walks the ordered index (see the module docs).
    fn sql(&self, dialect: Dialect) -> (String, Vec<Value>) {
        let hint = dialect.walk_ordered_index();
        let mut sql = String::from(
            "SELECT id, kind, form_id, neighborhood, updated_at, has_conflicts, fields FROM records WHERE TRUE",
        );
        let mut args: Vec<Value> = Vec::new();
        let mut arg = |sql: &mut String, clause: &str, value: Value| {
            args.push(value);
            sql.push_str(&clause.replace('?', &format!("?{}", args.len())));
        };
        if let Some(kind) = &self.filter.kind {
            arg(&mut sql, " AND kind = ?", kind.into());
        }
        if self.filter.conflicts {
            sql.push_str(&format!(" AND {}", dialect.is_true("has_conflicts")));
        }
        if let Some(hood) = &self.filter.neighborhood {
            arg(
                &mut sql,
                &format!(" AND {hint}neighborhood = ?"),
                hood.into(),
            );
        }
        if let Some(s) = self.scope {
            arg(
                &mut sql,
                &format!(" AND {hint}partnership = ?"),
                (&s.partnership).into(),
            );
            for (column, value) in [
                ("organization", &s.organization),
                ("neighborhood", &s.neighborhood),
                ("family", &s.family),
            ] {
                if let Some(v) = value {
                    arg(&mut sql, &format!(" AND {hint}{column} = ?"), v.into());
                }
            }
            // A confidential program's records only for that program's staff (a scope
            // without a program sees only records without one).
            arg(
                &mut sql,
                &format!(" AND {hint}program IS NOT DISTINCT FROM CAST(? AS TEXT)"),
                s.program.as_deref().into(),
            );
        }
        if let Some((at, id)) = self.after {
            arg(&mut sql, " AND (updated_at, id) < (?", (*at).into());
            arg(&mut sql, ", ?)", id.into());
        }
        sql.push_str(&format!(
            " ORDER BY updated_at DESC, id DESC LIMIT {}",
            self.scan()
        ));
        (sql, args)
    }

    /// The page from the rows read.
    fn page(&self, rows: Vec<ListRow>) -> RecordList {
        let mut records = Vec::new();
        let mut examined = 0;
        let mut last: Option<ListCursor> = None;
        for row in rows {
            examined += 1;
            if let Some(needle) = &self.needle {
                let hit = row.id.starts_with(needle.as_str())
                    || row.fields.to_lowercase().contains(needle);
                if !hit {
                    last = Some((row.updated_at, row.id));
                    continue;
                }
            }
            if records.len() == self.limit {
                // One more than a page: there is a next page, from the last one shown.
                return RecordList {
                    next: records
                        .last()
                        .map(|r: &ListedRecord| (r.updated_at, r.id.clone())),
                    records,
                };
            }
            last = Some((row.updated_at, row.id.clone()));
            records.push(ListedRecord {
                summary: summary(&row.fields),
                kind: row.kind,
                form_id: row.form_id,
                neighborhood: row.neighborhood,
                has_conflicts: row.has_conflicts,
                updated_at: row.updated_at,
                id: row.id,
            });
        }
        // A search that read its whole allowance may have more beyond it.
        let next = (self.needle.is_some() && examined == self.scan())
            .then_some(last)
            .flatten();
        RecordList { records, next }
    }
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
