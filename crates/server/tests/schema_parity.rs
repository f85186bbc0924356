//! One schema of record: after every migration, SQLite and PostgreSQL hold the same
//! tables, with the same columns (name, kind of type, NOT NULL, primary key) and the
//! same indexes (columns, uniqueness). A migration written for one database and not the
//! other fails here.

mod common;

use std::collections::BTreeMap;

use common::{drop_schema, fresh_schema, on_postgres, test_database_url};
use server::storage::Storage;

/// A column: its type as one of SQLite's storage classes, NOT NULL, its place in the
/// primary key (0 when not in it).
type Column = (String, bool, u32);

/// A table's columns by name, and its indexes as (unique, columns).
#[derive(Debug, Default, PartialEq)]
struct Table {
    columns: BTreeMap<String, Column>,
    indexes: Vec<(bool, Vec<String>)>,
}

/// A declared type as a storage class (SQLite's affinity rules, PostgreSQL's names).
fn class(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let class = if t.contains("int") || t == "boolean" || t == "bool" {
        "integer"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") || t == "jsonb" {
        "text"
    } else if t.contains("blob") || t == "bytea" {
        "blob"
    } else if t.contains("real") || t.contains("floa") || t.contains("doub") {
        "real"
    } else {
        "numeric"
    };
    class.to_string()
}

fn sqlite_tables(path: &std::path::Path) -> BTreeMap<String, Table> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let names: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut tables = BTreeMap::new();
    for name in names {
        let mut table = Table::default();
        let mut info = conn
            .prepare(&format!("PRAGMA table_info(\"{name}\")"))
            .unwrap();
        let rows = info
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, bool>(3)?,
                    r.get::<_, u32>(5)?,
                ))
            })
            .unwrap();
        for row in rows {
            let (column, declared, not_null, pk) = row.unwrap();
            // A primary key column is NOT NULL in PostgreSQL whatever it says.
            table
                .columns
                .insert(column, (class(&declared), not_null || pk > 0, pk));
        }
        let mut list = conn
            .prepare(&format!("PRAGMA index_list(\"{name}\")"))
            .unwrap();
        let indexes: Vec<(String, bool, String)> = list
            .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for (index, unique, origin) in indexes {
            // The primary key's own index is compared as the primary key.
            if origin == "pk" {
                continue;
            }
            let mut cols = conn
                .prepare(&format!("PRAGMA index_info(\"{index}\")"))
                .unwrap();
            let columns: Vec<String> = cols
                .query_map([], |r| r.get(2))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            table.indexes.push((unique, columns));
        }
        table.indexes.sort();
        tables.insert(name, table);
    }
    tables
}

fn postgres_tables(schema: &str) -> BTreeMap<String, Table> {
    let schema = schema.to_string();
    on_postgres(Some(schema.clone()), move |c| async move {
        let mut tables: BTreeMap<String, Table> = BTreeMap::new();
        let columns = c
            .query(
                "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text \
                 FROM information_schema.columns WHERE table_schema = $1",
                &[&schema],
            )
            .await
            .unwrap();
        for row in columns {
            let (table, column, declared, nullable): (String, String, String, String) =
                (row.get(0), row.get(1), row.get(2), row.get(3));
            tables
                .entry(table)
                .or_default()
                .columns
                .insert(column, (class(&declared), nullable == "NO", 0));
        }
        // Primary keys, with each column's place in the key.
        let keys = c
            .query(
                "SELECT t.relname::text, a.attname::text, k.n::int4 \
                 FROM pg_index i \
                 JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_namespace s ON s.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE s.nspname = $1 AND i.indisprimary",
                &[&schema],
            )
            .await
            .unwrap();
        for row in keys {
            let (table, column, n): (String, String, i32) = (row.get(0), row.get(1), row.get(2));
            if let Some(col) = tables
                .get_mut(&table)
                .and_then(|t| t.columns.get_mut(&column))
            {
                col.2 = n as u32;
            }
        }
        let indexes = c
            .query(
                "SELECT t.relname::text, i.indisunique, \
                        array_agg(a.attname::text ORDER BY k.n) \
                 FROM pg_index i \
                 JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_namespace s ON s.oid = t.relnamespace \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
                 WHERE s.nspname = $1 AND NOT i.indisprimary \
                 GROUP BY i.indexrelid, t.relname, i.indisunique",
                &[&schema],
            )
            .await
            .unwrap();
        for row in indexes {
            let (table, unique, columns): (String, bool, Vec<String>) =
                (row.get(0), row.get(1), row.get(2));
            tables
                .entry(table)
                .or_default()
                .indexes
                .push((unique, columns));
        }
        for table in tables.values_mut() {
            table.indexes.sort();
        }
        tables
    })
    .expect("PostgreSQL at TEST_DATABASE_URL")
}

/// Tables only PostgreSQL has, by design: how it orders and migrates, not what it
/// stores.
const ONLY_ON_POSTGRES: [(&str, &str); 2] = [
    (
        "feed_sequence",
        "the feed's counter row, locked by each writing transaction so feed numbers follow \
         commit order (SQLite has one writer)",
    ),
    (
        "schema_migrations",
        "the migrations applied (SQLite counts them in `user_version`)",
    ),
];

#[test]
fn sqlite_and_postgresql_migrate_to_the_same_schema() {
    let dir = tempfile::tempdir().unwrap();
    drop(Storage::open(dir.path()).unwrap());
    let sqlite = sqlite_tables(&dir.path().join(server::storage::DB_FILE));

    let schema = fresh_schema();
    drop(Storage::open_postgres(&test_database_url(), Some(&schema)).unwrap());
    let mut postgres = postgres_tables(&schema);
    drop_schema(&schema);
    for (table, _why) in ONLY_ON_POSTGRES {
        assert!(postgres.remove(table).is_some(), "{table} on PostgreSQL");
    }
    // The comparison has something to compare: the log and the records, in full.
    let changes = &sqlite["changes"];
    assert!(sqlite.len() >= 15, "{:?}", sqlite.keys());
    assert!(changes.columns.len() >= 6 && !changes.indexes.is_empty());
    assert_eq!(changes.columns["seq"], ("integer".to_string(), true, 1));

    let mut differences = Vec::new();
    for name in sqlite.keys().chain(postgres.keys()) {
        match (sqlite.get(name), postgres.get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                for col in a.columns.keys().chain(b.columns.keys()) {
                    let (x, y) = (a.columns.get(col), b.columns.get(col));
                    if x != y {
                        differences.push(format!("{name}.{col}: SQLite {x:?}, PostgreSQL {y:?}"));
                    }
                }
                if a.indexes != b.indexes {
                    differences.push(format!(
                        "{name} indexes: SQLite {:?}, PostgreSQL {:?}",
                        a.indexes, b.indexes
                    ));
                }
            }
            (a, b) => differences.push(format!(
                "table {name}: on SQLite {}, on PostgreSQL {}",
                a.is_some(),
                b.is_some()
            )),
        }
    }
    differences.sort();
    differences.dedup();
    assert!(
        differences.is_empty(),
        "the schemas differ:\n{}",
        differences.join("\n")
    );
}
