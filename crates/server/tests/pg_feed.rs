//! The change feed on PostgreSQL with several writers: commits forced to finish out of
//! sequence order cannot make a reader skip a change.
//!
//! The database is `TEST_DATABASE_URL` (`.ci/run` sets it; by default the machine's
//! PostgreSQL, `postgres://postgres@127.0.0.1:5432/test`); each test works in a schema
//! of its own and drops it at the end.

use std::collections::BTreeSet;
use std::time::Duration;

mod common;

use common::{fresh_schema as schema_name, test_database_url as url, SchemaGuard};
use server::storage::pg::feed::{self, LoggedChange};
use server::storage::pg::{connect, schema, Client};

/// A fresh schema, migrated; dropped when the guard is.
async fn fresh_schema() -> SchemaGuard {
    let guard = SchemaGuard(schema_name());
    let mut client = connect(&url(), Some(&guard.0)).await.unwrap();
    let found = schema::migrate(&mut client).await.unwrap();
    assert_eq!(found, 0);
    assert_eq!(
        schema::migrate(&mut client).await.unwrap(),
        schema::SCHEMA_VERSION
    );
    guard
}

fn change(n: u64) -> LoggedChange {
    LoggedChange {
        hash: n.to_be_bytes().to_vec(),
        record_id: format!("record-{}", n % 7),
        bytes: vec![n as u8; 16],
        user_id: "u".into(),
        device_id: "d".into(),
        actor: None,
        received_at: 1_700_000_000,
    }
}

/// Everything a reader gets by paging from `cursor` until it is caught up.
async fn read_all(client: &Client, mut cursor: i64, page: i64) -> (Vec<i64>, i64) {
    let mut seen = Vec::new();
    loop {
        let (changes, next) = feed::read_after(client, cursor, page).await.unwrap();
        assert!(next >= cursor, "a cursor never moves back");
        let caught_up = changes.is_empty();
        seen.extend(changes.into_iter().map(|(seq, _)| seq));
        cursor = next;
        if caught_up {
            return (seen, cursor);
        }
    }
}

#[tokio::test]
async fn a_plain_sequence_lets_a_reader_skip_a_late_commit() {
    // The failure the scheme prevents, shown with a plain SERIAL column: it proves the
    // check below can see a skip.
    let guard = fresh_schema().await;
    let name = guard.0.clone();
    let mut a = connect(&url(), Some(&name)).await.unwrap();
    let mut b = connect(&url(), Some(&name)).await.unwrap();
    let reader = connect(&url(), Some(&name)).await.unwrap();
    reader
        .batch_execute("CREATE TABLE plain_log (seq BIGSERIAL PRIMARY KEY, what TEXT)")
        .await
        .unwrap();
    let ta = a.transaction().await.unwrap();
    ta.execute("INSERT INTO plain_log (what) VALUES ('first')", &[])
        .await
        .unwrap();
    let tb = b.transaction().await.unwrap();
    tb.execute("INSERT INTO plain_log (what) VALUES ('second')", &[])
        .await
        .unwrap();
    tb.commit().await.unwrap();
    let read = |cursor: i64| {
        let reader = &reader;
        async move {
            reader
                .query(
                    "SELECT seq FROM plain_log WHERE seq > $1 ORDER BY seq",
                    &[&cursor],
                )
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, i64>(0))
                .collect::<Vec<_>>()
        }
    };
    let first_read = read(0).await;
    assert_eq!(first_read, [2]);
    ta.commit().await.unwrap();
    assert!(
        read(2).await.is_empty(),
        "seq 1 committed late and was skipped"
    );
}

#[tokio::test]
async fn a_writer_that_draws_later_commits_later_and_no_reader_skips() {
    let guard = fresh_schema().await;
    let name = guard.0.clone();
    let mut a = connect(&url(), Some(&name)).await.unwrap();
    let reader = connect(&url(), Some(&name)).await.unwrap();

    // A draws 1 and holds its transaction open.
    let ta = a.transaction().await.unwrap();
    let first = feed::draw(&ta, 1).await.unwrap();
    assert_eq!(first, 1);
    feed::append(&ta, first, &change(1)).await.unwrap();

    // B, on another connection (another node), tries to draw: it must wait for A.
    let url_b = url();
    let name_b = name.clone();
    let b = tokio::spawn(async move {
        let mut b = connect(&url_b, Some(&name_b)).await.unwrap();
        let tb = b.transaction().await.unwrap();
        let seq = feed::draw(&tb, 1).await.unwrap();
        feed::append(&tb, seq, &change(2)).await.unwrap();
        tb.commit().await.unwrap();
        seq
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!b.is_finished(), "B drew while A held the sequence");
    let (seen, cursor) = read_all(&reader, 0, 10).await;
    assert!(
        seen.is_empty() && cursor == 0,
        "nothing is committed yet: {seen:?}"
    );

    ta.commit().await.unwrap();
    let second = b.await.unwrap();
    assert_eq!(second, 2, "B counts on from A's committed number");
    let (seen, cursor) = read_all(&reader, cursor, 10).await;
    assert_eq!((seen, cursor), (vec![1, 2], 2));
}

#[tokio::test]
async fn many_writers_with_delays_and_rollbacks_never_make_a_reader_skip() {
    let guard = fresh_schema().await;
    let name = guard.0.clone();
    let listener = feed::listen(&url(), Some(&name)).await.unwrap();
    let writers = 8;
    let per_writer = 25u64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (url, name) = (url(), name.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = connect(&url, Some(&name)).await.unwrap();
            let mut committed = Vec::new();
            for i in 0..per_writer {
                let n = w * 1000 + i;
                let tx = client.transaction().await.unwrap();
                let count = 1 + (n % 3) as i64;
                let first = feed::draw(&tx, count).await.unwrap();
                for k in 0..count {
                    feed::append(&tx, first + k, &change(n * 10 + k as u64))
                        .await
                        .unwrap();
                }
                // Hold the numbers a while, so other writers pile up behind.
                tokio::time::sleep(Duration::from_micros(200 * (n % 5))).await;
                if n % 10 == 3 {
                    tx.rollback().await.unwrap();
                } else {
                    feed::notify(&tx, &feed::channel(Some(&name)), first + count - 1)
                        .await
                        .unwrap();
                    tx.commit().await.unwrap();
                    committed.extend(first..first + count);
                }
            }
            committed
        }));
    }
    // A reader pages as the writers go, never moving its cursor back.
    let reader = connect(&url(), Some(&name)).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        let (more, next) = read_all(&reader, cursor, 7).await;
        seen.extend(more);
        cursor = next;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let mut committed = BTreeSet::new();
    for t in tasks {
        committed.extend(t.await.unwrap());
    }
    let (rest, _) = read_all(&reader, cursor, 7).await;
    seen.extend(rest);

    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "read in order: {seen:?}"
    );
    let seen: BTreeSet<i64> = seen.into_iter().collect();
    let missed: Vec<_> = committed.difference(&seen).collect();
    assert!(missed.is_empty(), "the reader skipped {missed:?}");
    assert_eq!(seen, committed, "and read nothing uncommitted");
    assert!(committed.len() > 300, "{}", committed.len());

    // The listener heard the last mark announced.
    let mut marks = listener.marks();
    let last = *committed.iter().next_back().unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        while *marks.borrow_and_update() < last {
            marks.changed().await.unwrap();
        }
    })
    .await
    .expect("the notification of the last commit");
    drop(listener);
}

/// A URL's own `options` (a statement timeout here) survive the schema being set.
#[tokio::test]
async fn the_urls_options_are_kept_beside_the_schema() {
    let guard = fresh_schema().await;
    let base = url();
    let joint = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{joint}options=-c%20statement_timeout%3D4321");
    let client = connect(&url, Some(&guard.0)).await.unwrap();
    let timeout: String = client
        .query_one("SHOW statement_timeout", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(timeout, "4321ms");
    let path: String = client
        .query_one("SHOW search_path", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(path, guard.0);
}
