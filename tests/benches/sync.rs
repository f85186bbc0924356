//! Sync benchmark (the Sync issue's bar): a real server process on loopback and real
//! device stores.
//!
//! 1. one device pushes 1,000 household responses;
//! 2. 200 devices with 50 responses each sync at once;
//! 3. a fresh device pulls 10,000 records, then 100,000.
//!
//! Run: `cargo bench -p scenarios --bench sync`; `SYNC_BENCH_SCALE=0.1` for a quick run;
//! `SYNC_BENCH_ONLY=ingest` for the ingest rounds alone (side-by-side runs of two
//! server builds, chosen with `SERVER_BIN`).
//! Figures go to `docs/benchmarks.md`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use scenarios::device::{create_responses, device, test_config, user_signed_in};
use scenarios::fleet::{self, FleetShape};
use scenarios::proxy::Proxy;
use scenarios::server::TestServer;
use serde_json::json;
use sync_core::sync::{CancellationToken, NoProgress, SyncClient, SyncObserver, SyncProgress};
use sync_core::{Answers, Commit, RecordKind, Scope, Store};

fn scope() -> Scope {
    Scope::partnership("p1").with_neighborhood("east")
}

/// Record `n` households offline as the user `by` (a user id).
fn fill_households(store: &Mutex<Store>, n: u64, by: &str) {
    let mut store = store.lock().unwrap();
    for i in 0..n {
        let mut a = Answers::new();
        a.set("name", format!("household {i}"))
            .set("address", format!("{i} Elm St"))
            .set("size", (i % 7) as i64 + 1);
        store
            .create(
                RecordKind::Household,
                scope(),
                None,
                &a,
                &Commit::new(by, "Enrolled"),
            )
            .unwrap();
    }
}

struct Dots(AtomicU64);

/// Notes when the push phase finished (its last batch acknowledged).
struct PushTimer(Instant, Mutex<Option<Duration>>);

impl SyncObserver for PushTimer {
    fn on_progress(&self, p: SyncProgress) {
        if p.phase == sync_core::sync::SyncPhase::Push
            && p.items_done == p.items_total
            && p.items_done > 0
        {
            *self.1.lock().unwrap() = Some(self.0.elapsed());
        }
    }
}

impl SyncObserver for Dots {
    fn on_progress(&self, p: SyncProgress) {
        let step = self.0.fetch_add(1, Ordering::Relaxed);
        if step.is_multiple_of(20) {
            eprintln!(
                "    {:?}: {}/{} items, {} KB",
                p.phase,
                p.items_done,
                p.items_total,
                p.bytes_done / 1024
            );
        }
    }
}

/// A sync with nothing new, through a counting proxy: its bytes at the socket.
async fn reconnect_bytes(
    store: &Mutex<Store>,
    proxy: &Proxy,
    token: &str,
    config: &sync_core::sync::SyncConfig,
) -> u64 {
    proxy.reset_counts();
    let client = SyncClient::new(proxy.url(), token, config.clone()).unwrap();
    let report = client
        .sync(store, &NoProgress, &CancellationToken::new())
        .await
        .unwrap();
    assert_eq!((report.pushed, report.pulled), (0, 0), "nothing new");
    proxy.bytes()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` probes benches; nothing to list.
    }
    let scale: f64 = std::env::var("SYNC_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let n = |x: f64| ((x * scale).round() as u64).max(1);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let url = server.url();
    let bench = user_signed_in(
        &url,
        "bench",
        // Staff see the whole partnership: their fresh devices pull everything.
        "backbone_staff",
        json!({"partnership": "p1"}),
    )
    .await;
    let token = bench.token;
    let mut rows: Vec<String> = Vec::new();
    eprintln!(
        "    server memory after start and sign-in: {} MiB",
        server.peak_memory_kib().unwrap_or(0) / 1024
    );

    // 1. One device pushes 1,000 household responses; five rounds, each from a new
    // device with new responses, since one round is a fraction of a second and varies.
    let count = n(1_000.0);
    const ROUNDS: usize = 5;
    eprintln!("1. one device pushes {count} household responses, {ROUNDS} rounds");
    let mut config = test_config();
    config.push_batch = 1_000;
    let mut rates = Vec::new();
    let mut wire = 0;
    // Bytes at the socket of a sync with nothing new, by records on the server.
    let proxy = Proxy::start(server.addr).await;
    let mut reconnects: Vec<(u64, u64)> = Vec::new();
    for round in 0..ROUNDS {
        let one = device(dir.path(), &format!("one-{round}"));
        let first = round as u64 * count;
        create_responses(&one, first..first + count, &scope(), &bench.user_id);
        let client = SyncClient::new(&url, &token, config.clone()).unwrap();
        let timer = PushTimer(Instant::now(), Mutex::new(None));
        let report = client
            .sync(&one, &timer, &CancellationToken::new())
            .await
            .unwrap();
        // Ingest is the push phase: until the server acknowledged the last batch.
        let took = timer.1.lock().unwrap().expect("the push finished");
        assert_eq!(report.pushed, count);
        rates.push(count as f64 / took.as_secs_f64());
        if round == 0 {
            // Later rounds also pull the earlier rounds' responses.
            wire = report.bytes;
            reconnects.push((count, reconnect_bytes(&one, &proxy, &token, &config).await));
        }
    }
    eprintln!(
        "    server peak memory so far: {} MiB",
        server.peak_memory_kib().unwrap_or(0) / 1024
    );
    let each: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    rates.sort_by(f64::total_cmp);
    rows.push(format!(
        "| one device pushes {count} responses ({ROUNDS} rounds) | median {:.0} responses/s | rounds: {} | {:.0} bytes/response |",
        rates[ROUNDS / 2],
        each.join(", "),
        wire as f64 / count as f64
    ));

    if std::env::var("SYNC_BENCH_ONLY").is_ok_and(|only| only == "ingest") {
        println!("{}", rows.join("\n"));
        return;
    }

    // 2. 200 devices with 50 responses each sync at once: teams of 10 outreach workers,
    // one team per neighborhood; each device sends its 50 and receives its team's 450.
    let shape = FleetShape {
        devices: n(200.0),
        per_device: 50,
        team_size: 10,
        first_seed: 10_000,
    };
    let devices_n = shape.devices;
    eprintln!(
        "2. {devices_n} devices in {} neighborhoods, 50 responses each, sync at once",
        devices_n.div_ceil(10)
    );
    let phones = fleet::prepare(&url, dir.path(), &shape, &|_| {}).await;
    let fleet = tokio::task::block_in_place(|| {
        fleet::sync_all(std::slice::from_ref(&url), &phones, &config, &|_| {})
    });
    if let Some(e) = &fleet.first_error {
        eprintln!("    device error: {e}");
    }
    eprintln!(
        "    server peak memory so far: {} MiB",
        server.peak_memory_kib().unwrap_or(0) / 1024
    );
    let responses = devices_n * 50;
    rows.push(format!(
        "| {devices_n} devices × 50 responses at once (teams of 10 share a neighborhood) | {:.2} s | {:.0} responses/s | p50 {:.2} s, p99 {:.2} s per device sync (push 50, pull the team's 450); {} errors; {:.0} bytes on the wire per response |",
        fleet.wall.as_secs_f64(),
        responses as f64 / fleet.wall.as_secs_f64(),
        fleet.percentile(0.5).as_secs_f64(),
        fleet.percentile(0.99).as_secs_f64(),
        fleet.errors,
        fleet.bytes as f64 / responses as f64
    ));

    // 3. Fresh devices pull 10,000 and 100,000 records.
    for target in [10_000.0, 100_000.0] {
        let want = n(target);
        let have = ROUNDS as u64 * count + responses;
        let origin = device(dir.path(), &format!("origin-{want}"));
        if want > have {
            eprintln!("3. adding {} records for the {want} pull", want - have);
            fill_households(&origin, want - have, &bench.user_id);
            let client = SyncClient::new(&url, &token, config.clone()).unwrap();
            client
                .sync(&origin, &NoProgress, &CancellationToken::new())
                .await
                .unwrap();
        }
        let total = want.max(have);
        eprintln!("3. a fresh device pulls {total} records");
        let fresh = device(dir.path(), &format!("fresh-{want}"));
        let client = SyncClient::new(&url, &token, config.clone()).unwrap();
        let start = Instant::now();
        let report = client
            .sync(&fresh, &Dots(AtomicU64::new(0)), &CancellationToken::new())
            .await
            .unwrap();
        let took = start.elapsed();
        let held = fresh.lock().unwrap().count().unwrap() as u64;
        assert_eq!(held, total, "the fresh device holds every record");
        reconnects.push((
            total,
            reconnect_bytes(&fresh, &proxy, &token, &config).await,
        ));
        rows.push(format!(
            "| fresh device pulls {total} records | {:.2} s | {:.0} records/s | {:.0} bytes/record |",
            took.as_secs_f64(),
            total as f64 / took.as_secs_f64(),
            report.bytes as f64 / total as f64
        ));
    }
    let peak = server.peak_memory_kib().unwrap_or(0);
    // Keep the server's log (SERVER_LOG_LEVEL=info has every request's duration).
    let _ = std::fs::copy(
        server.data_dir.join("server.log"),
        std::env::temp_dir().join("sync-bench-server.log"),
    );
    println!("\n| workload | wall time | rate | notes |\n|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
    println!("\nserver peak resident memory (VmHWM): {} MiB", peak / 1024);
    for (records, bytes) in reconnects {
        println!("reconnect with nothing new, {records} records on the server: {bytes} bytes at the socket, both ways");
    }
    assert!(!server.log_has_panic(), "the server panicked");
}
