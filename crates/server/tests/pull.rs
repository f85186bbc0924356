//! Router-level tests of pulling: paging, scope and cursors: every request goes
//! through the real router and a real SQLite file in a temporary directory.

mod common;

use axum::http::StatusCode;
use common::*;
use sync_core::protocol::{PullResponse, RecordHeads, RepairRequest, RepairResponse};
use uuid::Uuid;

on_both_backends!(
    pull_pages_by_count_and_by_bytes,
    pull_shows_only_records_in_the_callers_scope,
    a_device_is_not_sent_its_own_changes_and_its_cursor_moves_past_them,
    a_waiting_pull_answers_when_a_change_commits,
    shutting_down_answers_waiting_pulls_at_once,
);

async fn pull_pages_by_count_and_by_bytes(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let worker_id = s.user_id(&worker);
    let mut ids = Vec::new();
    let mut batch = Vec::new();
    for _ in 0..10 {
        let (doc, c) = household(&worker_id, east());
        ids.push(doc.id());
        batch.push((doc.id(), c));
    }
    let refs: Vec<(Uuid, &automerge::Change)> = batch.iter().map(|(id, c)| (*id, c)).collect();
    s.push_ok(&worker, &refs).await;

    let first = s.pull_ok(&worker, None, 3, 1 << 20).await;
    assert_eq!(first.changes.len(), 3);
    assert!(first.more);
    assert!(first.remaining >= 7, "{}", first.remaining);
    assert!(first.tombstones.is_empty());
    let (pages, last) = pull_all(&s, &worker, 3, 1 << 20).await;
    assert_eq!(
        pages.iter().map(|p| p.changes.len()).collect::<Vec<_>>(),
        vec![3, 3, 3, 1]
    );
    let got: Vec<Uuid> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.record))
        .collect();
    assert_eq!(got, ids, "feed order is push order");
    assert_eq!(pages.last().unwrap().remaining, 0);
    // Each change as pushed.
    assert_eq!(pages[0].changes[0].change.0, batch[0].1.raw_bytes());
    // Nothing new: an empty page, same cursor.
    let empty = s.pull_ok(&worker, Some(&last), 3, 1 << 20).await;
    assert!(empty.changes.is_empty() && !empty.more);
    assert_eq!(empty.cursor, last);
    // By bytes: one byte allowed still gives one change per page.
    let (pages, _) = pull_all(&s, &worker, 100, 1).await;
    assert_eq!(pages.len(), 10);
    assert!(pages.iter().all(|p| p.changes.len() == 1));
    // Bytes for about two changes.
    let size = batch[0].1.raw_bytes().len() as u64;
    let page = s.pull_ok(&worker, None, 100, size * 2 + size / 2).await;
    assert_eq!(page.changes.len(), 2);
    // A limit above the cap is capped, zero is one.
    let page = s.pull_ok(&worker, None, 0, 1 << 20).await;
    assert_eq!(page.changes.len(), 1);
}

async fn pull_shows_only_records_in_the_callers_scope(s: TestServer) {
    let east_worker = s.user("e", "outreach_worker", Some(east())).await;
    let west_worker = s.user("w", "outreach_worker", Some(west())).await;
    let (east_id, west_id) = (s.user_id(&east_worker), s.user_id(&west_worker));
    let other_partnership = s
        .user(
            "o",
            "backbone_staff",
            Some(sync_core::Scope::partnership("p2")),
        )
        .await;
    let backbone = s
        .user(
            "b",
            "backbone_staff",
            Some(sync_core::Scope::partnership("p1")),
        )
        .await;
    let mut east_ids = Vec::new();
    let mut west_ids = Vec::new();
    for i in 0..6 {
        if i % 2 == 0 {
            let (d, c) = household(&east_id, east());
            s.push_ok(&east_worker, &[(d.id(), &c)]).await;
            east_ids.push(d.id());
        } else {
            let (d, c) = household(&west_id, west());
            s.push_ok(&west_worker, &[(d.id(), &c)]).await;
            west_ids.push(d.id());
        }
    }
    let records = |pages: &[PullResponse]| -> Vec<Uuid> {
        pages
            .iter()
            .flat_map(|p| p.changes.iter().map(|c| c.record))
            .collect()
    };
    let (pages, _) = pull_all(&s, &east_worker, 2, 1 << 20).await;
    assert_eq!(records(&pages), east_ids);
    let (pages, _) = pull_all(&s, &west_worker, 1000, 1 << 20).await;
    assert_eq!(records(&pages), west_ids);
    let (pages, cursor) = pull_all(&s, &other_partnership, 1000, 1 << 20).await;
    assert!(records(&pages).is_empty());
    assert!(
        cursor.ends_with(":6"),
        "an empty page still advances: {cursor}"
    );
    let (pages, _) = pull_all(&s, &backbone, 1000, 1 << 20).await;
    assert_eq!(records(&pages).len(), 6);
    let (pages, _) = pull_all(&s, &s.admin, 1000, 1 << 20).await;
    assert_eq!(records(&pages).len(), 6);

    // Repair: heads of visible records, [] for others and for unknown ones.
    let mut unknown = Uuid::new_v4();
    unknown = Uuid::from_u128(unknown.as_u128() | 1);
    let ask = RepairRequest {
        v: 1,
        records: vec![
            RecordHeads {
                record: east_ids[0],
                heads: vec![],
            },
            RecordHeads {
                record: west_ids[0],
                heads: vec![],
            },
            RecordHeads {
                record: unknown,
                heads: vec![],
            },
        ],
    };
    let r: RepairResponse = s
        .post("/v1/sync/repair", Some(&east_worker), &ask)
        .await
        .message();
    assert_eq!(r.records.len(), 3);
    assert_eq!(r.records[0].heads.len(), 1);
    assert!(
        r.records[1].heads.is_empty(),
        "not visible to the east worker"
    );
    assert!(r.records[2].heads.is_empty());
    assert_eq!(r.records[2].record, unknown);
}

#[tokio::test]
async fn unknown_cursors_are_409_and_a_restored_database_gets_a_new_epoch() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let worker_id = s.user_id(&worker);
    let (d, c) = household(&worker_id, east());
    s.push_ok(&worker, &[(d.id(), &c)]).await;
    let page = s.pull_ok(&worker, None, 10, 1 << 20).await;
    assert!(page.cursor.ends_with(":1"));
    let epoch = s.storage.epoch().to_string();
    for bad in [
        "other-epoch:1".to_string(),
        format!("{epoch}:2"),
        format!("{epoch}:-1"),
        format!("{epoch}:x"),
        "garbage".to_string(),
    ] {
        let r = s.pull(&worker, Some(&bad), 10, 1 << 20).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{bad}");
        assert_eq!(r.error().error, "unknown_cursor");
    }
    // Restore from backup: a new epoch; the old cursor is unknown.
    let TestServer { dir, storage, .. } = s;
    drop(storage);
    let new = server::Storage::new_epoch(dir.path()).unwrap();
    assert_ne!(new, epoch);
    let s = TestServer::open(dir).await;
    assert_eq!(s.storage.epoch(), new);
    let worker = s.sign_in("w", "password-123").await.unwrap().token;
    let r = s.pull(&worker, Some(&page.cursor), 10, 1 << 20).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error().error, "unknown_cursor");
    let again = s.pull_ok(&worker, None, 10, 1 << 20).await;
    assert_eq!(again.changes.len(), 1);
    assert_eq!(again.cursor, format!("{new}:1"));
}

async fn a_device_is_not_sent_its_own_changes_and_its_cursor_moves_past_them(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let worker_id = s.user_id(&worker);
    let batch: Vec<_> = (0..5).map(|_| household(&worker_id, east())).collect();
    let refs: Vec<(Uuid, &automerge::Change)> =
        batch.iter().map(|(doc, c)| (doc.id(), c)).collect();
    s.push_ok(&worker, &refs).await;
    let pull = |actor: Option<String>, cursor: Option<String>| sync_core::protocol::PullRequest {
        v: 1,
        cursor,
        limit: 100,
        max_bytes: 1 << 20,
        actor,
        wait_ms: None,
    };
    // The second and the last change are "this device's own".
    let own = |i: usize| Some(batch[i].1.actor_id().to_hex_string());
    let page: PullResponse = s
        .post("/v1/sync/pull", Some(&worker), &pull(own(1), None))
        .await
        .message();
    let got: Vec<Uuid> = page.changes.iter().map(|c| c.record).collect();
    let others: Vec<Uuid> = [0, 2, 3, 4].iter().map(|&i| batch[i].0.id()).collect();
    assert_eq!(got, others);
    let page: PullResponse = s
        .post("/v1/sync/pull", Some(&worker), &pull(own(4), None))
        .await
        .message();
    assert_eq!(page.changes.len(), 4);
    assert!(
        !page.more,
        "the cursor moved past the device's own last change"
    );
    let next: PullResponse = s
        .post(
            "/v1/sync/pull",
            Some(&worker),
            &pull(own(4), Some(page.cursor.clone())),
        )
        .await
        .message();
    assert!(next.changes.is_empty() && next.cursor == page.cursor);
    // Without an actor, everything.
    let page: PullResponse = s
        .post("/v1/sync/pull", Some(&worker), &pull(None, None))
        .await
        .message();
    assert_eq!(page.changes.len(), 5);
    // A malformed actor is a clear 400.
    for bad in ["", "abc", "zz", &"ab".repeat(65)] {
        let r = s
            .post(
                "/v1/sync/pull",
                Some(&worker),
                &pull(Some(bad.to_string()), None),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.error().error, "bad_message");
    }
}

fn waiting_pull(cursor: &str, wait_ms: u32) -> sync_core::protocol::PullRequest {
    sync_core::protocol::PullRequest {
        v: sync_core::protocol::PROTOCOL_VERSION,
        cursor: Some(cursor.to_string()),
        limit: 100,
        max_bytes: 1 << 20,
        actor: None,
        wait_ms: Some(wait_ms),
    }
}

async fn a_waiting_pull_answers_when_a_change_commits(s: TestServer) {
    let writer = s.user("w", "outreach_worker", Some(east())).await;
    let reader = s.user("r", "outreach_worker", Some(east())).await;
    let writer_id = s.user_id(&writer);
    let caught_up = s.pull_ok(&reader, None, 100, 1 << 20).await.cursor;

    // The pull is sent first and finds nothing; the push lands 300 ms later.
    let (doc, change) = household(&writer_id, east());
    let started = std::time::Instant::now();
    let request = waiting_pull(&caught_up, 20_000);
    let (reply, ()) = tokio::join!(s.post("/v1/sync/pull", Some(&reader), &request), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        s.push_ok(&writer, &[(doc.id(), &change)]).await;
    });
    let page: PullResponse = reply.message();
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    assert_eq!(page.changes.len(), 1, "the pull waited for the push");
    assert_eq!(page.changes[0].record, doc.id());
    assert_ne!(page.cursor, caught_up);

    // Nothing comes: the answer is an empty page after the wait, cursor unchanged.
    let started = std::time::Instant::now();
    let empty: PullResponse = s
        .post(
            "/v1/sync/pull",
            Some(&reader),
            &waiting_pull(&page.cursor, 300),
        )
        .await
        .message();
    assert!(started.elapsed() >= std::time::Duration::from_millis(290));
    assert!(empty.changes.is_empty() && !empty.more);
    assert_eq!(empty.cursor, page.cursor);

    // Something already there: no wait at all.
    let (doc2, change2) = household(&writer_id, east());
    s.push_ok(&writer, &[(doc2.id(), &change2)]).await;
    let at_once: PullResponse = s
        .post(
            "/v1/sync/pull",
            Some(&reader),
            &waiting_pull(&page.cursor, 20_000),
        )
        .await
        .message();
    assert_eq!(at_once.changes.len(), 1);

    // A change out of the reader's scope wakes the wait but brings nothing: an empty
    // page, which the device answers by waiting again.
    let west_writer = s.user("ww", "outreach_worker", Some(west())).await;
    let (doc3, change3) = household(&s.user_id(&west_writer), west());
    let request = waiting_pull(&at_once.cursor, 20_000);
    let (reply, ()) = tokio::join!(s.post("/v1/sync/pull", Some(&reader), &request), async {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        s.push_ok(&west_writer, &[(doc3.id(), &change3)]).await;
    });
    let page: PullResponse = reply.message();
    assert!(page.changes.is_empty(), "{:?}", page.changes);
}

async fn shutting_down_answers_waiting_pulls_at_once(s: TestServer) {
    let reader = s.user("r", "outreach_worker", Some(east())).await;
    let cursor = s.pull_ok(&reader, None, 100, 1 << 20).await.cursor;
    let started = std::time::Instant::now();
    let request = waiting_pull(&cursor, 25_000);
    let (reply, ()) = tokio::join!(s.post("/v1/sync/pull", Some(&reader), &request), async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        s.storage.close_feed();
    });
    let page: PullResponse = reply.message();
    assert!(page.changes.is_empty());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "the pull was not held to its 25 s wait"
    );
    // And later waits do not wait at all while the server closes.
    let started = std::time::Instant::now();
    let _: PullResponse = s
        .post(
            "/v1/sync/pull",
            Some(&reader),
            &waiting_pull(&cursor, 25_000),
        )
        .await
        .message();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[tokio::test]
async fn a_restored_postgres_database_gets_a_new_epoch() {
    let schema = SchemaGuard(fresh_schema());
    let open = || server::Storage::open_postgres(&test_database_url(), Some(&schema.0)).unwrap();
    let storage = open();
    storage
        .create_user(
            "w",
            "password-123",
            server::auth::Role::OutreachWorker,
            Some(&east()),
        )
        .unwrap();
    let session = storage
        .sign_in("w", "password-123", "phone")
        .unwrap()
        .unwrap();
    let caller = match storage.authenticate(&session.token).unwrap() {
        server::storage::TokenCheck::Valid(c) => c,
        other => panic!("{other:?}"),
    };
    let old = storage.epoch().to_string();
    let cursor = storage.pull(&caller, None, 10, 1000, None).unwrap().cursor;
    drop(storage);
    // What `server restore-epoch --database-url ...` does after a restore.
    let new = server::Storage::new_epoch_postgres(&test_database_url(), Some(&schema.0)).unwrap();
    assert_ne!(new, old);
    let storage = open();
    assert_eq!(storage.epoch(), new);
    assert!(matches!(
        storage.pull(&caller, Some(&cursor), 10, 1000, None),
        Err(server::StorageError::UnknownCursor(_))
    ));
}
