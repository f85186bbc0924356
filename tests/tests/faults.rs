//! Syncs through a proxy that injects random faults: connections cut at random byte
//! offsets in both directions, random delays, and connections whose requests are sent
//! to the server a second time. Devices keep syncing until they get
//! through; at the end every device and the server hold the same records, nothing is
//! lost and nothing is doubled. `FAULT_SEED` replays a run.

use scenarios::device::{all_records, create_responses, device, sync, user_signed_in, SignedIn};
use scenarios::on_both_databases;
use scenarios::proxy::Proxy;
use scenarios::server::Database;
use serde_json::json;
use std::sync::atomic::Ordering;
use sync_core::Scope;

on_both_databases!(devices_syncing_through_random_faults_lose_nothing_and_double_nothing,);

const DEVICES: u64 = 4;
const RESPONSES: u64 = 150;

async fn devices_syncing_through_random_faults_lose_nothing_and_double_nothing(db: Database) {
    let seed: u64 = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let proxy = Proxy::start(server.addr).await;
    let SignedIn { token, user_id } = user_signed_in(
        &server.url(),
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    let scope = Scope::partnership("p1").with_neighborhood("east");
    let phones: Vec<_> = (0..DEVICES)
        .map(|d| {
            let phone = device(dir.path(), &format!("phone{d}"));
            create_responses(&phone, d * RESPONSES..(d + 1) * RESPONSES, &scope, &user_id);
            phone
        })
        .collect();

    // 10 % of the chunks crossing the proxy cut their connection; every chunk waits up
    // to 5 ms. Each device syncs until one sync gets through whole, twice over (the
    // second round brings every device the others' responses). All of the connections
    // have their requests sent to the server again once they close: every one.
    proxy.inject_faults(100, 5, seed);
    proxy.inject_replays(1000);
    let mut failed_syncs = 0;
    for _round in 0..2 {
        for phone in &phones {
            let mut tries = 0;
            while let Err(e) = sync(phone, &proxy.url(), &token).await {
                tries += 1;
                failed_syncs += 1;
                assert!(tries < 60, "no sync got through in 60 tries: {e}");
            }
        }
    }
    proxy.stop_faults();
    let faults = proxy.state.faults.load(Ordering::SeqCst);
    let cuts = proxy.state.cuts.load(Ordering::SeqCst);
    let replays = proxy.state.replays.load(Ordering::SeqCst);
    println!(
        "seed {seed:#x}: {faults} faults injected ({cuts} cuts, {replays} replayed connections), {failed_syncs} syncs failed and were retried"
    );
    assert!(cuts > 0, "the run injected no cut");
    assert!(replays > 0, "the run replayed no connection");

    // Nothing lost, nothing doubled: one change and one record per response.
    let total = (DEVICES * RESPONSES) as usize;
    let staff = device(dir.path(), "staff");
    sync(&staff, &server.url(), &token).await.unwrap();
    assert_eq!(
        all_records(&staff).len(),
        total,
        "the server holds every response once"
    );
    for phone in &phones {
        // A last sync without faults: whatever the faults left unsaid is said now.
        sync(phone, &server.url(), &token).await.unwrap();
        assert_eq!(phone.lock().unwrap().outbox_len().unwrap(), 0);
        assert_eq!(all_records(phone).len(), total);
    }
    assert_eq!(
        (server.count("changes"), server.count("records")),
        (total as i64, total as i64),
        "nothing doubled in the server's log"
    );
    assert!(!server.log_has_panic(), "the server panicked");
}
