//! The PostgreSQL connection pool on the machine's PostgreSQL: each connection's
//! schema and statement timeout, the URL's own options kept, the bound on
//! connections (a request past it is answered busy, a waiter served when one comes
//! back), bad URLs refused, and use from an async thread.

use std::time::Duration;

mod common;

use common::{fresh_schema, test_database_url as url, SchemaGuard};
use server::storage::pg::{wait, PgError, PgPool, STATEMENT_TIMEOUT_MS};

#[test]
fn connections_work_in_their_schema_with_a_statement_timeout() {
    let schema = SchemaGuard(fresh_schema());
    let pool = PgPool::new(&url(), Some(&schema.0)).unwrap();
    let conn = pool.get().unwrap();
    let path: String = wait(conn.query_one("SHOW search_path", &[]))
        .unwrap()
        .get(0);
    assert_eq!(path, schema.0);
    let timeout: String = wait(conn.query_one("SHOW statement_timeout", &[]))
        .unwrap()
        .get(0);
    assert_eq!(timeout, format!("{}s", STATEMENT_TIMEOUT_MS / 1000));
    // The schema was made with the pool: a table lands in it.
    wait(conn.batch_execute("CREATE TABLE t (x INTEGER)")).unwrap();
    let schema_of_t: String = wait(conn.query_one(
        "SELECT table_schema::text FROM information_schema.tables WHERE table_name = 't'
           AND table_schema = current_schema()",
        &[],
    ))
    .unwrap()
    .get(0);
    assert_eq!(schema_of_t, schema.0);
    assert_eq!(pool.target(), (url().as_str(), Some(schema.0.as_str())));
}

/// A URL's own `options` (a statement timeout here) survive the schema being set.
#[test]
fn the_urls_options_are_kept_beside_the_schema() {
    let schema = SchemaGuard(fresh_schema());
    let base = url();
    let joint = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{joint}options=-c%20statement_timeout%3D4321");
    let pool = PgPool::new(&url, Some(&schema.0)).unwrap();
    let conn = pool.get().unwrap();
    let timeout: String = wait(conn.query_one("SHOW statement_timeout", &[]))
        .unwrap()
        .get(0);
    assert_eq!(timeout, "4321ms");
    let path: String = wait(conn.query_one("SHOW search_path", &[]))
        .unwrap()
        .get(0);
    assert_eq!(path, schema.0);
}

#[test]
fn a_request_past_the_bound_is_busy_until_a_connection_comes_back() {
    let schema = SchemaGuard(fresh_schema());
    let pool = PgPool::with_bounds(&url(), Some(&schema.0), 2, Duration::from_millis(300)).unwrap();
    let mut a = pool.get().unwrap();
    let b = pool.get().unwrap();
    let started = std::time::Instant::now();
    assert!(matches!(pool.get(), Err(PgError::Busy(_))));
    assert!(started.elapsed() >= Duration::from_millis(300));
    // A transaction on a held connection still runs: the bound is on taking one.
    let tx = wait(a.transaction()).unwrap();
    wait(tx.execute("SELECT 1", &[])).unwrap();
    wait(tx.commit()).unwrap();
    drop(b);
    let c = pool.get().unwrap();
    // A waiter is served as soon as a connection comes back.
    let waiter = {
        let pool = std::sync::Arc::new(pool);
        let p = pool.clone();
        let waiter = std::thread::spawn(move || p.run(|c| async move { Ok(c.is_closed()) }));
        std::thread::sleep(Duration::from_millis(50));
        drop(c);
        waiter
    };
    assert!(!waiter.join().unwrap().unwrap());
}

#[test]
fn a_bad_url_or_schema_is_refused() {
    assert!(matches!(
        PgPool::new("not a url", None),
        Err(PgError::Invalid(_))
    ));
    assert!(matches!(
        PgPool::new(&url(), Some("a;drop")),
        Err(PgError::Invalid(_))
    ));
}

#[tokio::test]
async fn it_is_usable_from_an_async_thread() {
    let pool = PgPool::new(&url(), None).unwrap();
    let one: i32 = pool
        .run(|c| async move { Ok(c.query_one("SELECT 1", &[]).await?.get(0)) })
        .unwrap();
    assert_eq!(one, 1);
    let conn = pool.get().unwrap();
    let two: i32 = wait(conn.query_one("SELECT 2", &[])).unwrap().get(0);
    assert_eq!(two, 2);
    drop(conn);
    // Dropped on an async thread: it must not block on its runtime.
    drop(pool);
}
