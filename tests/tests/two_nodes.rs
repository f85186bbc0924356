//! Two server processes on one PostgreSQL database: 100 phones sync through either
//! node at random, round after round, while they keep recording; every phone ends
//! with every record its user may see, none lost, none doubled. And a pull waiting on
//! one node wakes when a push lands on the other (LISTEN/NOTIFY).
//!
//! The database is `TEST_DATABASE_URL` (by default the machine's PostgreSQL); the
//! test works in a schema of its own and drops it at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scenarios::device::{all_records, create_responses, device, device_sign_in, sync};
use scenarios::pg::{test_database_url as url, Schema};
use scenarios::server::{create_user, device_token, read_json, TestServer};
use serde_json::json;
use sync_core::{Scope, Store};

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Phone {
    store: Mutex<Store>,
    user: &'static str,
    /// The user's id: the author of what the phone records.
    user_id: String,
    scope: Scope,
    token_on: [String; 2],
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_phones_sync_through_two_nodes_and_lose_nothing() {
    let schema = Schema::fresh();
    let dir = tempfile::tempdir().unwrap();
    let nodes = [
        TestServer::start_postgres(&dir.path().join("a"), &url(), &schema.0),
        TestServer::start_postgres(&dir.path().join("b"), &url(), &schema.0),
    ];
    let urls = [nodes[0].url(), nodes[1].url()];
    let east = Scope::partnership("p1").with_neighborhood("east");
    let west = Scope::partnership("p1").with_neighborhood("west");
    let everyone = Scope::partnership("p1");
    create_user(&urls[0], "east", "outreach_worker", json!(east)).await;
    create_user(&urls[1], "west", "outreach_worker", json!(west)).await;
    create_user(&urls[0], "boss", "backbone_staff", json!(everyone)).await;

    let mut dice = Dice(0x9e37_79b9_7f4a_7c15);
    let mut phones = Vec::new();
    for i in 0..100 {
        let (user, scope) = match i % 5 {
            0 | 1 => ("east", east.clone()),
            2 | 3 => ("west", west.clone()),
            _ => ("boss", everyone.clone()),
        };
        let name = format!("phone{i}");
        // Each phone signs in on one node; its token works on both.
        let first = (dice.next() % 2) as usize;
        let signed_in = device_sign_in(&urls[first], user, &name).await;
        let token = signed_in.token;
        phones.push(Phone {
            store: device(dir.path(), &name),
            user,
            user_id: signed_in.user_id,
            scope,
            token_on: [token.clone(), token],
        });
    }

    let mut made: BTreeMap<uuid::Uuid, Scope> = BTreeMap::new();
    let mut seed = 0u64;
    for round in 0..4 {
        // Everyone records a little, offline.
        for phone in &phones {
            let n = 1 + dice.next() % 2;
            for id in create_responses(&phone.store, seed..seed + n, &phone.scope, &phone.user_id) {
                made.insert(id, phone.scope.clone());
            }
            seed += n;
        }
        // Then all sync at once, each through a node picked at random.
        let picks: Vec<usize> = phones.iter().map(|_| (dice.next() % 2) as usize).collect();
        let syncs = phones.iter().zip(&picks).map(|(phone, &node)| {
            let url = urls[node].clone();
            async move {
                sync(&phone.store, &url, &phone.token_on[node])
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"))
            }
        });
        let reports = futures_join_all(syncs).await;
        assert!(reports.iter().all(|r| r.rejected == 0), "round {round}");
    }
    // Two quiet rounds through random nodes: everyone has caught up.
    for _ in 0..2 {
        for phone in &phones {
            let node = (dice.next() % 2) as usize;
            sync(&phone.store, &urls[node], &phone.token_on[node])
                .await
                .unwrap();
        }
    }

    let total = made.len() as i64;
    assert_eq!(schema.count("records"), total);
    assert_eq!(
        schema.count("changes"),
        total,
        "each record's one change, logged once"
    );
    for (i, phone) in phones.iter().enumerate() {
        let held: BTreeSet<uuid::Uuid> = all_records(&phone.store)
            .iter()
            .map(|r| r.meta.id)
            .collect();
        let visible: BTreeSet<uuid::Uuid> = made
            .iter()
            .filter(|(_, scope)| phone.scope.contains(scope))
            .map(|(id, _)| *id)
            .collect();
        let missing: Vec<_> = visible.difference(&held).collect();
        let extra: Vec<_> = held.difference(&visible).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "phone{i} ({}): missing {missing:?}, not its own {extra:?}",
            phone.user
        );
        assert_eq!(phone.store.lock().unwrap().outbox_len().unwrap(), 0);
    }
    for node in &nodes {
        assert!(!node.log_has_panic());
    }
}

/// Run every future at once and collect their outputs in order.
async fn futures_join_all<F: std::future::Future>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output> {
    let mut outputs = Vec::new();
    let futures: Vec<_> = futures.map(Box::pin).collect();
    let mut pending: Vec<_> = futures.into_iter().map(Some).collect();
    let mut results: Vec<Option<F::Output>> = (0..pending.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut all = true;
        for (slot, result) in pending.iter_mut().zip(results.iter_mut()) {
            if let Some(future) = slot {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(out) => {
                        *result = Some(out);
                        *slot = None;
                    }
                    std::task::Poll::Pending => all = false,
                }
            }
        }
        if all {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    outputs.extend(
        results
            .into_iter()
            .map(|r| r.expect("every future finished")),
    );
    outputs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_waiting_on_one_node_wakes_when_the_other_takes_a_push() {
    let schema = Schema::fresh();
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start_postgres(&dir.path().join("a"), &url(), &schema.0);
    let b = TestServer::start_postgres(&dir.path().join("b"), &url(), &schema.0);
    let east = Scope::partnership("p1").with_neighborhood("east");
    create_user(&a.url(), "east", "outreach_worker", json!(east)).await;
    let writer = device_sign_in(&a.url(), "east", "writer").await;
    let reader_token = device_token(&b.url(), "east", "reader").await;

    let pull = |cursor: Option<String>, wait_ms: Option<u32>| {
        let (url, token) = (b.url(), reader_token.clone());
        async move {
            let body = sync_core::protocol::encode_body(&sync_core::protocol::PullRequest {
                v: 1,
                cursor,
                limit: 100,
                max_bytes: 1 << 20,
                actor: None,
                wait_ms,
            });
            let answer = reqwest::Client::new()
                .post(format!("{url}/v1/sync/pull"))
                .bearer_auth(token)
                .header("content-encoding", "gzip")
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            read_json(answer).await
        }
    };
    let caught_up = pull(None, None).await;
    let cursor = caught_up["cursor"].as_str().unwrap().to_string();

    let writer_store = device(dir.path(), "writer");
    let waiting = tokio::spawn(pull(Some(cursor), Some(20_000)));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the pull waits on node B");
    let pushed_at = Instant::now();
    create_responses(&writer_store, 0..1, &east, &writer.user_id);
    sync(&writer_store, &a.url(), &writer.token).await.unwrap();
    let page = waiting.await.unwrap();
    assert_eq!(page["changes"].as_array().map(Vec::len), Some(1), "{page}");
    assert!(
        pushed_at.elapsed() < Duration::from_secs(10),
        "woken by node A's commit, not by the 20 s timeout"
    );
}
