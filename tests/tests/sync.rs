//! End-to-end sync scenarios: a real server process on 127.0.0.1 and several device
//! stores (real SQLite files), as the Sync issue lists them.

use std::collections::BTreeSet;

use scenarios::device::{all_records, create_responses, device, sync, user_signed_in, SignedIn};
use scenarios::on_both_databases;
use scenarios::proxy::Proxy;
use scenarios::server::{Database, TestServer};
use serde_json::json;
use sync_core::record::FieldPath;
use sync_core::{Answers, Commit, RecordKind, Scope, Value};
use uuid::Uuid;

fn scope() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

fn worker_scope() -> serde_json::Value {
    json!({"partnership": "p1", "neighborhood": "east"})
}

fn household(name: &str) -> Answers {
    let mut a = Answers::new();
    a.set("name", name).set("address", "12 Elm St");
    a
}

fn server_change_hashes(server: &TestServer) -> BTreeSet<Vec<u8>> {
    server.logged_change_hashes().into_iter().collect()
}

on_both_databases!(
    three_devices_edit_one_household_offline_and_converge_with_the_conflict_on_the_server,
    a_push_whose_answer_is_cut_is_retried_and_nothing_is_lost_or_doubled,
    the_server_killed_mid_push_keeps_every_acknowledged_change_and_the_push_completes,
    bad_bodies_get_clear_errors_and_write_nothing,
    offline_and_cancelled_syncs_end_in_clear_errors_and_a_later_sync_delivers_everything,
);

async fn three_devices_edit_one_household_offline_and_converge_with_the_conflict_on_the_server(
    db: Database,
) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let url = server.url();
    let users = [
        user_signed_in(&url, "ana", "outreach_worker", worker_scope()).await,
        user_signed_in(&url, "ben", "outreach_worker", worker_scope()).await,
        user_signed_in(&url, "cai", "outreach_worker", worker_scope()).await,
    ];
    let tokens = users.clone().map(|u| u.token);
    let devices = [
        device(dir.path(), "a"),
        device(dir.path(), "b"),
        device(dir.path(), "c"),
    ];
    let id = devices[0]
        .lock()
        .unwrap()
        .create(
            RecordKind::Household,
            scope(),
            None,
            &household("Lopez"),
            &Commit::new(&users[0].user_id, "Enrolled"),
        )
        .unwrap();
    for (d, t) in devices.iter().zip(&tokens) {
        sync(d, &url, t).await.unwrap();
    }
    // Offline: two write the same field, one writes another field.
    let edits = [
        ("phone", "555-0101"),
        ("phone", "555-0202"),
        ("address", "14 Elm St"),
    ];
    for (i, (field, value)) in edits.iter().enumerate() {
        devices[i]
            .lock()
            .unwrap()
            .set(
                id,
                &FieldPath::field(*field),
                *value,
                &Commit::new(&users[i].user_id, "Edit"),
            )
            .unwrap();
    }
    // Different orders, then a second round so everyone hears everyone.
    for i in [2, 0, 1, 0, 2, 1] {
        sync(&devices[i], &url, &tokens[i]).await.unwrap();
    }
    let fields: Vec<Answers> = devices
        .iter()
        .map(|d| d.lock().unwrap().fields(id).unwrap())
        .collect();
    assert_eq!(fields[0], fields[1]);
    assert_eq!(fields[1], fields[2]);
    assert_eq!(fields[0].value("address"), Some(&Value::from("14 Elm St")));
    let heads: BTreeSet<String> = devices
        .iter()
        .map(|d| {
            let mut h = d
                .lock()
                .unwrap()
                .with_record(id, |doc| doc.heads())
                .unwrap();
            h.sort();
            format!("{h:?}")
        })
        .collect();
    assert_eq!(heads.len(), 1, "devices hold different histories");
    for d in &devices {
        let conflicts = d.lock().unwrap().conflicts(id).unwrap();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].path, "phone");
        let values: BTreeSet<String> = conflicts[0]
            .values
            .iter()
            .map(|v| v.value.as_text())
            .collect();
        assert_eq!(
            values,
            BTreeSet::from(["555-0101".to_string(), "555-0202".to_string()])
        );
    }
    // The server's record holds the same state and shows the conflict.
    let has_conflicts: Vec<bool> = server.column(&format!(
        "SELECT has_conflicts FROM records WHERE id = '{id}'"
    ));
    let has_conflicts = has_conflicts[0];
    let fields_json = server
        .column::<String>(&format!("SELECT fields FROM records WHERE id = '{id}'"))
        .remove(0);
    assert!(has_conflicts, "the server's record must show the conflict");
    let server_fields: Answers = serde_json::from_str(&fields_json).unwrap();
    assert_eq!(server_fields, fields[0]);
}

async fn a_push_whose_answer_is_cut_is_retried_and_nothing_is_lost_or_doubled(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let proxy = Proxy::start(server.addr).await;
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(&server.url(), "ana", "outreach_worker", worker_scope()).await;
    let phone = device(dir.path(), "phone");
    create_responses(&phone, 0..300, &scope(), &ana);
    // The server's answer to the first push is cut after 200 bytes: the server has
    // stored the batch, the phone never heard so.
    proxy.cut_next_response_after(200);
    let report = sync(&phone, &proxy.url(), &token).await.unwrap();
    assert_eq!(
        proxy.state.cuts.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_eq!(report.pushed, 300);
    assert_eq!(phone.lock().unwrap().outbox_len().unwrap(), 0);
    let logged = server.count("changes");
    let records = server.count("records");
    assert_eq!(
        (logged, records),
        (300, 300),
        "nothing lost, nothing doubled"
    );
    let staff = device(dir.path(), "staff");
    sync(&staff, &server.url(), &token).await.unwrap();
    assert_eq!(all_records(&staff).len(), 300);
}

async fn the_server_killed_mid_push_keeps_every_acknowledged_change_and_the_push_completes(
    db: Database,
) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = db.start(&dir.path().join("server"));
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(&server.url(), "ana", "outreach_worker", worker_scope()).await;
    let phone = std::sync::Arc::new(device(dir.path(), "phone"));
    create_responses(&phone, 0..2_000, &scope(), &ana);
    let all: BTreeSet<Vec<u8>> = phone
        .lock()
        .unwrap()
        .outbox(10_000)
        .unwrap()
        .iter()
        .map(|i| i.hash.as_ref().to_vec())
        .collect();
    assert_eq!(all.len(), 2_000);

    let url = server.url();
    let pushing = {
        let phone = phone.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let mut config = scenarios::device::test_config();
            config.push_batch = 50;
            config.attempts = 2;
            let client = sync_core::sync::SyncClient::new(url, token, config).unwrap();
            client
                .sync(
                    &phone,
                    &sync_core::sync::NoProgress,
                    &sync_core::sync::CancellationToken::new(),
                )
                .await
        })
    };
    // Kill the server once part of the outbox is acknowledged.
    loop {
        let left = phone.lock().unwrap().outbox_len().unwrap();
        if left < 1_500 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    server.kill();
    let outcome = pushing.await.unwrap();
    assert!(
        outcome.is_err(),
        "the sync cannot finish with the server dead"
    );
    let left: BTreeSet<Vec<u8>> = phone
        .lock()
        .unwrap()
        .outbox(10_000)
        .unwrap()
        .iter()
        .map(|i| i.hash.as_ref().to_vec())
        .collect();
    assert!(!left.is_empty() && left.len() < 1_500);
    let acknowledged: BTreeSet<Vec<u8>> = all.difference(&left).cloned().collect();
    let stored = server_change_hashes(&server);
    let missing = acknowledged.difference(&stored).count();
    assert_eq!(
        missing, 0,
        "{missing} acknowledged changes are not on the server"
    );

    server.restart();
    let report = sync(&phone, &server.url(), &token).await.unwrap();
    assert_eq!(report.rejected, 0);
    assert_eq!(phone.lock().unwrap().outbox_len().unwrap(), 0);
    assert_eq!(
        server_change_hashes(&server),
        all,
        "the server holds every change exactly once"
    );
    assert!(!server.log_has_panic());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_device_pulls_ten_thousand_records_and_a_reconnect_moves_under_two_kilobytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(&server.url(), "ana", "outreach_worker", worker_scope()).await;
    let origin = device(dir.path(), "origin");
    {
        let mut store = origin.lock().unwrap();
        for i in 0..10_000 {
            store
                .create(
                    RecordKind::Household,
                    scope(),
                    None,
                    &household(&format!("h{i}")),
                    &Commit::new(&ana, "Enrolled"),
                )
                .unwrap();
        }
    }
    sync(&origin, &server.url(), &token).await.unwrap();

    let fresh = device(dir.path(), "fresh");
    let pages = std::sync::atomic::AtomicU64::new(0);
    struct Count<'a>(&'a std::sync::atomic::AtomicU64);
    impl sync_core::sync::SyncObserver for Count<'_> {
        fn on_progress(&self, p: sync_core::sync::SyncProgress) {
            if p.phase == sync_core::sync::SyncPhase::Pull {
                self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }
    }
    let client =
        sync_core::sync::SyncClient::new(server.url(), &token, scenarios::device::test_config())
            .unwrap();
    let report = client
        .sync(
            &fresh,
            &Count(&pages),
            &sync_core::sync::CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(report.pulled, 10_000);
    assert!(
        pages.load(std::sync::atomic::Ordering::SeqCst) >= 10,
        "pulled in pages of 1,000"
    );
    let (a, b) = (all_records(&origin), all_records(&fresh));
    assert_eq!(a.len(), 10_000);
    assert_eq!(
        a.iter().map(|r| (&r.meta, &r.fields)).collect::<Vec<_>>(),
        b.iter().map(|r| (&r.meta, &r.fields)).collect::<Vec<_>>()
    );

    // One field changes elsewhere; the fresh device reconnects through a byte counter.
    let changed = a[1234].meta.id;
    origin
        .lock()
        .unwrap()
        .set(
            changed,
            &FieldPath::field("phone"),
            "555-0199",
            &Commit::new(&ana, "Phone"),
        )
        .unwrap();
    sync(&origin, &server.url(), &token).await.unwrap();
    let proxy = Proxy::start(server.addr).await;
    let report = sync(&fresh, &proxy.url(), &token).await.unwrap();
    assert_eq!(report.pulled, 1);
    let moved = proxy.bytes();
    assert!(moved < 2_048, "a reconnect moved {moved} bytes");
    eprintln!("reconnect after one change with 10,000 records held: {moved} bytes at the socket");
    assert_eq!(
        fresh
            .lock()
            .unwrap()
            .fields(changed)
            .unwrap()
            .value("phone"),
        Some(&Value::from("555-0199"))
    );
}

async fn bad_bodies_get_clear_errors_and_write_nothing(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(&server.url(), "ana", "outreach_worker", worker_scope()).await;
    let http = reqwest::Client::new();
    let push = format!("{}/v1/sync/push", server.url());
    let good = sync_core::protocol::encode_body(&sync_core::protocol::PushRequest {
        v: 1,
        changes: vec![],
    });
    let wrong_version = sync_core::protocol::encode_body(&json!({"v": 99, "changes": []}));
    type Case = (
        &'static str,
        Vec<u8>,
        Option<&'static str>,
        u16,
        &'static str,
    );
    let cases: Vec<Case> = vec![
        ("malformed json", b"{\"v\": 1, \"changes\": [".to_vec(), None, 400, "bad_message"),
        ("not a message", b"[1,2,3]".to_vec(), None, 400, "bad_message"),
        ("truncated gzip", good[..good.len() / 2].to_vec(), Some("gzip"), 400, "bad_compression"),
        ("wrong version", wrong_version, Some("gzip"), 400, "wrong_version"),
        ("oversized", vec![b' '; 9 * 1024 * 1024], None, 413, "too_large"),
        ("bad base64", br#"{"v": 1, "changes": [{"record": "6a1f0a0e-4b7e-4c3e-9f8a-1b2c3d4e5f60", "change": "%%%"}]}"#.to_vec(), None, 400, "bad_message"),
    ];
    for (name, body, encoding, status, code) in cases {
        let mut request = http.post(&push).bearer_auth(&token).body(body);
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        let error: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{name}: not JSON: {e}"));
        assert_eq!(error["error"], code, "{name}: {error}");
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{name}: {error}"
        );
    }
    let no_token = http
        .post(&push)
        .body(good.clone())
        .header("content-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(no_token.status().as_u16(), 401);
    let logged = server.count("changes");
    assert_eq!(logged, 0, "nothing written");
    // And it goes on serving.
    let health = http
        .get(format!("{}/healthz", server.url()))
        .send()
        .await
        .unwrap();
    assert!(health.status().is_success());
    let phone = device(dir.path(), "phone");
    create_responses(&phone, 0..3, &scope(), &ana);
    assert_eq!(sync(&phone, &server.url(), &token).await.unwrap().pushed, 3);
    assert!(!server.log_has_panic());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_from_backup_devices_repair_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    let mut server = TestServer::start(&data);
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(&server.url(), "ana", "outreach_worker", worker_scope()).await;
    let phone = device(dir.path(), "phone");
    create_responses(&phone, 0..50, &scope(), &ana);
    sync(&phone, &server.url(), &token).await.unwrap();

    // Back up the database (server stopped, files copied), then go on working.
    server.kill();
    let backup = dir.path().join("backup");
    std::fs::create_dir_all(&backup).unwrap();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("server.db")
        {
            std::fs::copy(&path, backup.join(path.file_name().unwrap())).unwrap();
        }
    }
    server.restart();
    create_responses(&phone, 50..80, &scope(), &ana);
    let first_id: Uuid = all_records(&phone)[0].meta.id;
    phone
        .lock()
        .unwrap()
        .set(
            first_id,
            &FieldPath::field("feel_safe_day"),
            "very_safe",
            &Commit::new(&ana, "Edit"),
        )
        .unwrap();
    sync(&phone, &server.url(), &token).await.unwrap();
    let witness = device(dir.path(), "witness");
    sync(&witness, &server.url(), &token).await.unwrap();
    assert_eq!(all_records(&witness).len(), 80);

    // Disaster: restore the backup, mark the new epoch, start again.
    server.kill();
    for entry in std::fs::read_dir(&data).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("server.db")
        {
            std::fs::remove_file(&path).unwrap();
        }
    }
    for entry in std::fs::read_dir(&backup).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, data.join(path.file_name().unwrap())).unwrap();
    }
    TestServer::command(&data, &["restore-epoch"]);
    server.restart();
    let before = server.count("records");
    assert_eq!(before, 50, "the restored server lost the last 30 records");

    let report = sync(&phone, &server.url(), &token).await.unwrap();
    assert!(
        report.repaired,
        "an unknown cursor must trigger the repair path"
    );
    let report = sync(&witness, &server.url(), &token).await.unwrap();
    assert!(report.repaired);
    let after = server.count("records");
    assert_eq!(after, 80, "the devices gave back what the server lost");
    let newcomer = device(dir.path(), "newcomer");
    sync(&newcomer, &server.url(), &token).await.unwrap();
    let (a, b) = (all_records(&phone), all_records(&newcomer));
    assert_eq!(
        a.iter().map(|r| &r.fields).collect::<Vec<_>>(),
        b.iter().map(|r| &r.fields).collect::<Vec<_>>()
    );
    assert_eq!(
        b.iter()
            .find(|r| r.meta.id == first_id)
            .unwrap()
            .fields
            .value("feel_safe_day"),
        Some(&Value::from("very_safe"))
    );
}

async fn offline_and_cancelled_syncs_end_in_clear_errors_and_a_later_sync_delivers_everything(
    db: Database,
) {
    use sync_core::sync::{CancellationToken, SyncClient, SyncError, SyncObserver, SyncProgress};
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let SignedIn {
        token,
        user_id: ana,
    } = user_signed_in(&server.url(), "ana", "outreach_worker", worker_scope()).await;
    let phone = device(dir.path(), "phone");
    create_responses(&phone, 0..400, &scope(), &ana);

    // Nobody listens on this port: offline, after retries, with the outbox intact.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = sync(&phone, &dead_url, &token).await.unwrap_err();
    assert!(matches!(err, SyncError::Offline { .. }), "{err}");
    assert!(err.to_string().contains("saved on this device"), "{err}");
    assert_eq!(phone.lock().unwrap().outbox_len().unwrap(), 400);

    // Cancelled after the first batch.
    struct CancelAfterFirst(CancellationToken, std::sync::Mutex<Vec<SyncProgress>>);
    impl SyncObserver for CancelAfterFirst {
        fn on_progress(&self, p: SyncProgress) {
            let mut seen = self.1.lock().unwrap();
            seen.push(p);
            if p.items_done > 0 {
                self.0.cancel();
            }
        }
    }
    let cancel = CancellationToken::new();
    let observer = CancelAfterFirst(cancel.clone(), Default::default());
    let mut config = scenarios::device::test_config();
    config.push_batch = 100;
    let client = SyncClient::new(server.url(), &token, config).unwrap();
    let err = client.sync(&phone, &observer, &cancel).await.unwrap_err();
    assert!(matches!(err, SyncError::Cancelled), "{err}");
    let left = phone.lock().unwrap().outbox_len().unwrap();
    assert_eq!(left, 300, "one batch of 100 went before the cancel");
    let seen = observer.1.lock().unwrap().clone();
    assert_eq!((seen[0].items_done, seen[0].items_total), (0, 400));
    assert!(seen[0].bytes_total > 0);
    assert_eq!(seen.last().unwrap().items_done, 100);

    // A later sync delivers everything, nothing twice.
    let report = sync(&phone, &server.url(), &token).await.unwrap();
    assert_eq!(report.pushed, 300);
    let logged = server.count("changes");
    assert_eq!(logged, 400);
}
