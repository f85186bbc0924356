//! The change feed on PostgreSQL with several writers, through the server's own path
//! (`Storage::push` and `Storage::pull`, as the sync handlers call them): no reader
//! paging with its cursor skips a change whose commit finishes late, and none reads a
//! change twice.
//!
//! The database is `TEST_DATABASE_URL` (`.ci/run` sets it; by default the machine's
//! PostgreSQL, `postgres://postgres@127.0.0.1:5432/test`); each test works in a schema
//! of its own and drops it at the end.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

mod common;

use automerge::Change;
use common::{east, edit, fresh_schema, household, test_database_url, SchemaGuard};
use server::auth::{Caller, Role};
use server::storage::pg::{feed, wait, PgPool};
use server::storage::TokenCheck;
use server::Storage;
use sync_core::protocol::{Bytes, PushStatus, PushedChange};
use sync_core::record::parse_change;
use sync_core::RecordDoc;
use uuid::Uuid;

const PASSWORD: &str = "password-123";

/// The tests' database URL with the schema as the connections' `application_name`:
/// the test finds the server's sessions that wait on a lock by it.
fn named_url(schema: &str) -> String {
    let base = test_database_url();
    let joint = if base.contains('?') { '&' } else { '?' };
    format!("{base}{joint}application_name={schema}")
}

/// A server node on the test's schema (several may share it, as nodes share a
/// database).
fn node(schema: &SchemaGuard) -> Storage {
    Storage::open_postgres(&named_url(&schema.0), Some(&schema.0)).unwrap()
}

/// A new outreach worker in the east, signed in on `device`.
fn worker(storage: &Storage, name: &str, device: &str) -> Caller {
    storage
        .create_user(name, PASSWORD, Role::OutreachWorker, Some(&east()))
        .unwrap();
    signed_in(storage, name, device)
}

/// `name` signed in on another device.
fn signed_in(storage: &Storage, name: &str, device: &str) -> Caller {
    let session = storage.sign_in(name, PASSWORD, device).unwrap().unwrap();
    match storage.authenticate(&session.token).unwrap() {
        TokenCheck::Valid(caller) => caller,
        other => panic!("{other:?}"),
    }
}

/// Push `changes` as `caller`; the hashes of those accepted (each must be: they are
/// valid and new).
fn push(storage: &Storage, caller: &Caller, changes: &[(Uuid, &Change)]) -> Vec<String> {
    let pushed = changes
        .iter()
        .map(|(record, change)| PushedChange {
            record: *record,
            change: Bytes(change.raw_bytes().to_vec()),
        })
        .collect();
    let results = storage.push(caller, pushed).unwrap();
    for r in &results {
        assert_eq!(r.status, PushStatus::Accepted, "{r:?}");
    }
    results.into_iter().map(|r| r.hash).collect()
}

/// A device reading the feed with its cursor, as a phone does.
struct Reader {
    caller: Caller,
    cursor: Option<String>,
    /// The hash of every change read, in the order read.
    seen: Vec<String>,
}

impl Reader {
    /// Small pages, so the cursor moves many times while the writers go.
    const PAGE: u32 = 3;

    fn new(caller: Caller) -> Reader {
        Reader {
            caller,
            cursor: None,
            seen: Vec::new(),
        }
    }

    /// Page through the feed until the server says nothing more remains.
    fn catch_up(&mut self, storage: &Storage) {
        loop {
            let page = storage
                .pull(
                    &self.caller,
                    self.cursor.as_deref(),
                    Self::PAGE,
                    u64::MAX,
                    None,
                )
                .unwrap();
            if let Some(before) = &self.cursor {
                assert!(
                    seq(&page.cursor) >= seq(before),
                    "a cursor never moves back"
                );
            }
            self.seen.extend(
                page.changes
                    .iter()
                    .map(|c| parse_change(c.change.0.clone()).unwrap().hash().to_string()),
            );
            self.cursor = Some(page.cursor);
            if !page.more {
                return;
            }
        }
    }

    /// Every change in `accepted` read exactly once, and nothing else.
    fn assert_read_each_once(&self, accepted: &BTreeSet<String>) {
        let mut times: HashMap<&str, usize> = HashMap::new();
        for hash in &self.seen {
            *times.entry(hash).or_default() += 1;
        }
        let twice: Vec<_> = times.iter().filter(|(_, n)| **n > 1).collect();
        assert!(twice.is_empty(), "read more than once: {twice:?}");
        let missed: Vec<_> = accepted
            .iter()
            .filter(|h| !times.contains_key(h.as_str()))
            .collect();
        assert!(
            missed.is_empty(),
            "device {} skipped {} of {} accepted changes, first {:?}",
            self.caller.device_id,
            missed.len(),
            accepted.len(),
            &missed[..missed.len().min(3)]
        );
        assert_eq!(
            self.seen.len(),
            accepted.len(),
            "read only accepted changes"
        );
    }
}

/// The sequence number in a cursor `"<epoch>:<seq>"`.
fn seq(cursor: &str) -> i64 {
    cursor.rsplit_once(':').unwrap().1.parse().unwrap()
}

/// Wait (at most 20 s) until `done`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting until {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How many of the server's sessions on `schema` wait on a lock.
fn waiting_on_locks(side: &PgPool, schema: &str) -> i64 {
    let conn = side.get().unwrap();
    wait(conn.query_one(
        "SELECT count(*) FROM pg_stat_activity
          WHERE application_name = $1 AND wait_event_type = 'Lock'",
        &[&schema],
    ))
    .unwrap()
    .get(0)
}

/// A push that took its sequence number and then waits on a row lock commits after a
/// later push has been taken (on another node): a reader that pages in between must
/// not move its cursor past the late one's number.
#[test]
fn a_push_that_commits_late_is_not_skipped() {
    let schema = SchemaGuard(fresh_schema());
    let (one, two) = (node(&schema), node(&schema));
    let a = worker(&one, "a", "phone-a");
    let b = worker(&two, "b", "phone-b");
    let mut reader = Reader::new(worker(&one, "r", "phone-r"));
    let mut accepted = BTreeSet::new();

    let (mut doc, create) = household(&a.user_id, east());
    accepted.extend(push(&one, &a, &[(doc.id(), &create)]));
    reader.catch_up(&one);
    reader.assert_read_each_once(&accepted);

    // Another session (an operator, a report) holds the record's row, which A's push
    // updates after it has drawn its sequence number.
    let side = PgPool::new(&test_database_url(), Some(&schema.0)).unwrap();
    let mut holder = side.get().unwrap();
    let held = wait(holder.transaction()).unwrap();
    wait(held.execute(
        "SELECT 1 FROM records WHERE id = $1 FOR UPDATE",
        &[&doc.id().to_string()],
    ))
    .unwrap();

    let edited = edit(&mut doc, &a.user_id, "address", "14 Elm St");
    let late = {
        let (one, a, id) = (one.clone(), a.clone(), doc.id());
        std::thread::spawn(move || push(&one, &a, &[(id, &edited)]))
    };
    wait_until("A's push waits on the held row", || {
        waiting_on_locks(&side, &schema.0) == 1
    });

    // B, on the other node, pushes a new record: it waits for A (the feed's order is
    // commit order), or, were the order broken, commits first.
    let (doc_b, create_b) = household(&b.user_id, east());
    let early = {
        let (two, b) = (two.clone(), b.clone());
        std::thread::spawn(move || push(&two, &b, &[(doc_b.id(), &create_b)]))
    };
    wait_until("B's push waits behind A's or has committed", || {
        early.is_finished() || waiting_on_locks(&side, &schema.0) == 2
    });
    reader.catch_up(&two);

    wait(held.commit()).unwrap();
    accepted.extend(late.join().unwrap());
    accepted.extend(early.join().unwrap());
    assert_eq!(accepted.len(), 3);
    reader.catch_up(&one);
    reader.assert_read_each_once(&accepted);
}

/// Writers on two nodes push at once while readers on both page through the feed:
/// each reader reads every accepted change exactly once, and every node hears the
/// last commit's mark on the feed's channel.
#[test]
fn concurrent_pushes_and_pulls_lose_nothing() {
    const WRITERS: usize = 4;
    const READERS: usize = 3;
    const PUSHES: usize = 12;
    let schema = SchemaGuard(fresh_schema());
    let nodes = [node(&schema), node(&schema)];
    // The listener a node runs (lib.rs), on a runtime of its own here.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(feed::listen(&test_database_url(), Some(&schema.0)))
        .unwrap();

    let writers: Vec<Caller> = (0..WRITERS)
        .map(|i| worker(&nodes[0], &format!("w{i}"), &format!("phone-w{i}")))
        .collect();
    let readers: Vec<Caller> = (0..READERS)
        .map(|i| worker(&nodes[0], &format!("r{i}"), &format!("phone-r{i}")))
        .collect();
    let done = std::sync::atomic::AtomicBool::new(false);

    let (accepted, readers) = std::thread::scope(|s| {
        let writing: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(w, caller)| {
                let storage = &nodes[w % 2];
                s.spawn(move || {
                    let mut docs: Vec<RecordDoc> = Vec::new();
                    let mut accepted = Vec::new();
                    for i in 0..PUSHES {
                        // A new record and edits of up to two earlier ones: one to
                        // three changes, pushes of different sizes.
                        let (doc, create) = household(&caller.user_id, east());
                        let mut changes = vec![(doc.id(), create)];
                        for k in 0..(i % 3).min(docs.len()) {
                            let j = (i + k) % docs.len();
                            let value = format!("{i} Elm St");
                            let change = edit(&mut docs[j], &caller.user_id, "address", &value);
                            changes.push((docs[j].id(), change));
                        }
                        docs.push(doc);
                        let refs: Vec<(Uuid, &Change)> =
                            changes.iter().map(|(id, c)| (*id, c)).collect();
                        accepted.extend(push(storage, caller, &refs));
                    }
                    accepted
                })
            })
            .collect();
        let reading: Vec<_> = readers
            .into_iter()
            .enumerate()
            .map(|(r, caller)| {
                let (storage, done) = (&nodes[r % 2], &done);
                s.spawn(move || {
                    let mut reader = Reader::new(caller);
                    loop {
                        // Read before the last page: a page begun after the writers
                        // finished sees everything.
                        let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                        reader.catch_up(storage);
                        if finished {
                            return reader;
                        }
                        std::thread::sleep(Duration::from_millis(2));
                    }
                })
            })
            .collect();
        let accepted: BTreeSet<String> = writing
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        let readers: Vec<Reader> = reading.into_iter().map(|r| r.join().unwrap()).collect();
        (accepted, readers)
    });

    let expected: usize = (0..PUSHES).map(|i| 1 + (i % 3).min(i)).sum::<usize>() * WRITERS;
    assert_eq!(accepted.len(), expected);
    for reader in &readers {
        reader.assert_read_each_once(&accepted);
    }

    // The listener heard the last mark announced.
    let last = seq(readers[0].cursor.as_deref().unwrap());
    let mut marks = listener.marks();
    let heard = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), async {
            while *marks.borrow_and_update() < last {
                marks.changed().await.unwrap();
            }
        })
        .await
    });
    heard.expect("the notification of the last commit");
    drop(listener);
}
