//! Portable SQL: one query text for SQLite and PostgreSQL, for the storage's reads and
//! writes that need nothing only one database has (the staff pages' targets and
//! exports, attachments, purges, the indicator cache).
//!
//! A query is written once with numbered parameters `?1, ?2...` (SQLite's spelling;
//! they become `$1, $2...` for PostgreSQL) in the SQL both databases speak: `CAST(?1
//! AS TEXT)` where PostgreSQL could not tell a parameter's type, `IS NOT DISTINCT FROM`
//! for a comparison that treats two NULLs as equal, `TRUE` and `FALSE`, quoted
//! `"offset"`. What differs (reading a JSON field, the feed's sequence) is asked of
//! [`Dialect`]. Values travel as [`Value`] and rows come back as [`Row`]s, so a
//! module's SQL and its mapping to types live in one place, not one per database.
//!
//! The hot paths (push, pull) do not use this: they are written over
//! [`super::log_tx::LogTx`] with each database's typed statements.

use std::fmt::Write as _;

use tokio_postgres::types::{IsNull, ToSql, Type};

use super::pg::wait;
use super::StorageError;

pub(crate) use super::dialect::Dialect;

/// A value bound to a parameter or read from a column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// SQL NULL.
    Null,
    /// An integer (any width).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
    /// A boolean (an integer 0 or 1 on SQLite).
    Bool(bool),
}

macro_rules! value_from {
    ($($t:ty => $arm:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                let f: fn($t) -> Value = $arm;
                f(v)
            }
        })*
    };
}

value_from! {
    i64 => Value::Int,
    i32 => |v| Value::Int(v.into()),
    u32 => |v| Value::Int(v.into()),
    f64 => Value::Real,
    bool => Value::Bool,
    String => Value::Text,
    &str => |v| Value::Text(v.to_string()),
    &String => |v| Value::Text(v.clone()),
    Vec<u8> => Value::Blob,
    &[u8] => |v| Value::Blob(v.to_vec()),
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// The arguments of a query: `args![a, b]` is `[Value::from(a), Value::from(b)]`.
macro_rules! args {
    ($($v:expr),* $(,)?) => { [$($crate::storage::sql::Value::from($v)),*] };
}
pub(crate) use args;

/// One row a query returned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row(Vec<Value>);

impl Row {
    /// Column `i` as `T`; a missing column or another type is
    /// [`StorageError::Corrupt`].
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T, StorageError> {
        let value = self
            .0
            .get(i)
            .ok_or_else(|| StorageError::Corrupt(format!("a query row has no column {i}")))?;
        T::from_value(value).ok_or_else(|| {
            StorageError::Corrupt(format!(
                "column {i} holds {value:?}, not {}",
                std::any::type_name::<T>()
            ))
        })
    }

    /// The scope held in columns `first..first + 5` (partnership, organization,
    /// neighborhood, family, program).
    pub fn scope(&self, first: usize) -> Result<sync_core::Scope, StorageError> {
        Ok(sync_core::Scope {
            partnership: self.get(first)?,
            organization: self.get(first + 1)?,
            neighborhood: self.get(first + 2)?,
            family: self.get(first + 3)?,
            program: self.get(first + 4)?,
        })
    }

    /// Take column `i`'s text out of the row (a large answer set is not copied).
    pub fn take_text(&mut self, i: usize) -> Result<String, StorageError> {
        match self.0.get_mut(i) {
            Some(Value::Text(t)) => Ok(std::mem::take(t)),
            other => Err(StorageError::Corrupt(format!(
                "column {i} holds {other:?}, not text"
            ))),
        }
    }

    /// Take column `i`'s bytes out of the row (a large blob is not copied).
    pub fn take_blob(&mut self, i: usize) -> Result<Vec<u8>, StorageError> {
        match self.0.get_mut(i) {
            Some(Value::Blob(b)) => Ok(std::mem::take(b)),
            other => Err(StorageError::Corrupt(format!(
                "column {i} holds {other:?}, not bytes"
            ))),
        }
    }
}

/// A Rust type a column reads as.
pub(crate) trait FromValue: Sized {
    /// The value as this type, if it is one.
    fn from_value(v: &Value) -> Option<Self>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Option<i64> {
        match v {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl FromValue for i32 {
    fn from_value(v: &Value) -> Option<i32> {
        i64::from_value(v).and_then(|i| i32::try_from(i).ok())
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Option<f64> {
        match v {
            Value::Real(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            _ => None,
        }
    }
}

impl FromValue for bool {
    fn from_value(v: &Value) -> Option<bool> {
        match v {
            Value::Bool(b) => Some(*b),
            Value::Int(i) => Some(*i != 0),
            _ => None,
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Option<String> {
        match v {
            Value::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Option<Vec<u8>> {
        match v {
            Value::Blob(b) => Some(b.clone()),
            _ => None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Option<Option<T>> {
        match v {
            Value::Null => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// A connection or transaction on either database.
pub(crate) trait Sql {
    /// Which database this is.
    fn dialect(&self) -> Dialect;
    /// Run a query and hand each row to `f` as it is read (a large result is never
    /// held whole).
    fn each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(Row) -> Result<(), StorageError>,
    ) -> Result<(), StorageError>;
    /// Run a statement; how many rows it changed.
    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64, StorageError>;

    /// Run a query; its rows.
    fn rows(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>, StorageError> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |row| {
            out.push(row);
            Ok(())
        })?;
        Ok(out)
    }

    /// The first row of a query, if any.
    fn row(&self, sql: &str, args: &[Value]) -> Result<Option<Row>, StorageError> {
        Ok(self.rows(sql, args)?.into_iter().next())
    }
}

impl Sql for rusqlite::Connection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(Row) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        let mut stmt = self.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => Value::Null,
                    rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                    rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                    rusqlite::types::ValueRef::Text(t) => Value::Text(
                        String::from_utf8(t.to_vec())
                            .map_err(|e| StorageError::Corrupt(format!("text column: {e}")))?,
                    ),
                    rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
                });
            }
            f(Row(values))?;
        }
        Ok(())
    }

    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64, StorageError> {
        let changed = self
            .prepare_cached(sql)?
            .execute(rusqlite::params_from_iter(args.iter()))?;
        Ok(changed as u64)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::from(*i),
            Value::Real(f) => ToSqlOutput::from(*f),
            Value::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
            Value::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            Value::Bool(b) => ToSqlOutput::from(i64::from(*b)),
        })
    }
}

/// A PostgreSQL client or transaction, its calls waited on in turn (see
/// [`super::pg::wait`]).
pub(crate) struct PgSql<'a, C>(pub &'a C);

impl<C: tokio_postgres::GenericClient + Sync> Sql for PgSql<'_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(Row) -> Result<(), StorageError>,
    ) -> Result<(), StorageError> {
        use futures_util::StreamExt;
        let sql = numbered_for_postgres(sql);
        let params = args.iter().map(|a| a as &(dyn ToSql + Sync));
        let rows = wait(self.0.query_raw(sql.as_str(), params))?;
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = wait(rows.next()) {
            f(from_pg_row(&row?)?)?;
        }
        Ok(())
    }

    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64, StorageError> {
        let sql = numbered_for_postgres(sql);
        let params: Vec<&(dyn ToSql + Sync)> = args.iter().map(|a| a as _).collect();
        wait(self.0.execute(sql.as_str(), &params)).map_err(StorageError::from)
    }
}

fn from_pg_row(row: &tokio_postgres::Row) -> Result<Row, StorageError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)
                .map(|v| v.map(Value::Bool))
        } else if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i).map(|v| v.map(Value::Int))
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)
                .map(|v| v.map(|i| Value::Int(i.into())))
        } else if *ty == Type::INT2 {
            row.try_get::<_, Option<i16>>(i)
                .map(|v| v.map(|i| Value::Int(i.into())))
        } else if *ty == Type::FLOAT8 {
            row.try_get::<_, Option<f64>>(i).map(|v| v.map(Value::Real))
        } else if *ty == Type::FLOAT4 {
            row.try_get::<_, Option<f32>>(i)
                .map(|v| v.map(|f| Value::Real(f.into())))
        } else if *ty == Type::BYTEA {
            row.try_get::<_, Option<Vec<u8>>>(i)
                .map(|v| v.map(Value::Blob))
        } else if <String as tokio_postgres::types::FromSql>::accepts(ty) {
            row.try_get::<_, Option<String>>(i)
                .map(|v| v.map(Value::Text))
        } else {
            return Err(StorageError::Corrupt(format!(
                "column `{}` has type {ty}, which the portable queries do not read",
                column.name()
            )));
        };
        values.push(value?.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Real(f) if *ty == Type::FLOAT4 => (*f as f32).to_sql(ty, out),
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(t) => t.to_sql(ty, out),
            Value::Blob(b) => b.to_sql(ty, out),
            Value::Bool(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each value checks its column's type in `to_sql`, which says which failed.
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

/// `?N` parameters as PostgreSQL's `$N`, outside quoted text and names.
fn numbered_for_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '?' => {
                out.push('$');
                continue;
            }
            None => {}
        }
        out.push(c);
    }
    out
}

/// The scope filter of a query over rows with scope columns (`alias.partnership`...):
/// the rows within the scope bound at parameters `?first` to `?first+4` by
/// [`scope_args`] (every row when they are all NULL). A scope without a program sees
/// only rows without one: a confidential program's records are its staff's alone.
pub(crate) fn scope_filter(alias: &str, first: usize) -> String {
    let column = |name: &str| {
        if alias.is_empty() {
            name.to_string()
        } else {
            format!("{alias}.{name}")
        }
    };
    let mut sql = String::new();
    for (i, name) in ["partnership", "organization", "neighborhood", "family"]
        .iter()
        .enumerate()
    {
        let n = first + i;
        let _ = write!(
            sql,
            " AND (CAST(?{n} AS TEXT) IS NULL OR {} = ?{n})",
            column(name)
        );
    }
    let _ = write!(
        sql,
        " AND (CAST(?{first} AS TEXT) IS NULL OR {} IS NOT DISTINCT FROM CAST(?{} AS TEXT))",
        column("program"),
        first + 4
    );
    sql
}

/// The five arguments [`scope_filter`] reads, for `scope` (all NULL for every row).
pub(crate) fn scope_args(scope: Option<&sync_core::Scope>) -> [Value; 5] {
    match scope {
        None => [
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ],
        Some(s) => [
            Value::from(s.partnership.as_str()),
            s.organization.as_deref().into(),
            s.neighborhood.as_deref().into(),
            s.family.as_deref().into(),
            s.program.as_deref().into(),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_outside_quotes() {
        assert_eq!(
            numbered_for_postgres("SELECT '?' , \"a?\" FROM t WHERE x = ?1 AND y = ?12"),
            "SELECT '?' , \"a?\" FROM t WHERE x = $1 AND y = $12"
        );
    }

    #[test]
    fn sqlite_round_trips_every_value_kind() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB, f INTEGER, n TEXT)")
            .unwrap();
        Sql::execute(
            &c,
            "INSERT INTO t VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &args![7i64, 2.5, "x", vec![1u8, 2], true, None::<String>],
        )
        .unwrap();
        let row = c
            .row("SELECT i, r, s, b, f, n FROM t", &[])
            .unwrap()
            .unwrap();
        assert_eq!(row.get::<i64>(0).unwrap(), 7);
        assert_eq!(row.get::<f64>(1).unwrap(), 2.5);
        assert_eq!(row.get::<String>(2).unwrap(), "x");
        assert_eq!(row.get::<Vec<u8>>(3).unwrap(), vec![1, 2]);
        assert!(row.get::<bool>(4).unwrap());
        assert_eq!(row.get::<Option<String>>(5).unwrap(), None);
        assert!(matches!(row.get::<i64>(2), Err(StorageError::Corrupt(_))));
        assert!(matches!(row.get::<i64>(9), Err(StorageError::Corrupt(_))));
    }

    #[test]
    fn the_scope_filter_keeps_to_the_scope_on_sqlite() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        c.execute_batch(
            "CREATE TABLE r (id TEXT, partnership TEXT, organization TEXT, neighborhood TEXT,
                 family TEXT, program TEXT);
             INSERT INTO r VALUES ('a', 'p', NULL, 'east', NULL, NULL),
                                  ('b', 'p', NULL, 'west', NULL, NULL),
                                  ('c', 'p', NULL, 'east', NULL, 'confidential');",
        )
        .unwrap();
        let ids = |scope: Option<&sync_core::Scope>| -> Vec<String> {
            let sql = format!(
                "SELECT id FROM r WHERE TRUE{} ORDER BY id",
                scope_filter("", 1)
            );
            c.rows(&sql, &scope_args(scope))
                .unwrap()
                .iter()
                .map(|r| r.get(0).unwrap())
                .collect()
        };
        assert_eq!(ids(None), ["a", "b", "c"]);
        let mut east = sync_core::Scope::partnership("p");
        east.neighborhood = Some("east".into());
        assert_eq!(ids(Some(&east)), ["a"]);
        east.program = Some("confidential".into());
        assert_eq!(ids(Some(&east)), ["c"]);
    }
}
