//! A crash loop (Reliability): a fleet of devices keeps recording and syncing while the
//! server is killed with SIGKILL at random moments and restarted, `CRASH_KILLS` times
//! (50 by default). Before each kill the test notes what every device has been told is
//! acknowledged; after each restart all of it must be in the server's log. At the end
//! every device and the server hold the same records, each once.
//! `CRASH_SEED` replays a run's kill times.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scenarios::device::{all_records, create_responses, device, sync, user_signed_in};
use scenarios::pg::{test_database_url, Schema};
use scenarios::server::{device_token, TestServer};
use scenarios::Seeded;
use serde_json::json;
use sync_core::{Scope, Store};
use uuid::Uuid;

const DEVICES: u64 = 8;
/// Responses a device records between two syncs.
const PER_ROUND: u64 = 5;

fn kills() -> u64 {
    std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(50)
}

/// One phone of the fleet: its store, its user's id (the author of what it records)
/// and the ids it created.
struct Phone {
    store: Mutex<Store>,
    user_id: String,
    created: Mutex<Vec<Uuid>>,
}

impl Phone {
    fn record(&self, seeds: std::ops::Range<u64>, scope: &Scope) {
        let ids = create_responses(&self.store, seeds, scope, &self.user_id);
        self.created.lock().unwrap().extend(ids);
    }

    /// The records this phone created whose change the server has acknowledged (they
    /// left the outbox). The created list is read first, so a record created in
    /// between is simply not counted.
    fn acknowledged(&self) -> Vec<Uuid> {
        let created = self.created.lock().unwrap().clone();
        let waiting: HashSet<Uuid> = self
            .store
            .lock()
            .unwrap()
            .outbox(usize::MAX >> 1)
            .unwrap()
            .into_iter()
            .map(|item| item.record_id)
            .collect();
        created
            .into_iter()
            .filter(|id| !waiting.contains(id))
            .collect()
    }
}

fn server_log_records(server: &TestServer) -> HashSet<Uuid> {
    server
        .logged_record_ids()
        .iter()
        .map(|id| Uuid::parse_str(id).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_fifty_times_during_fleet_sync_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    crash_loop(dir, server, kills()).await;
}

/// The same on PostgreSQL: a kill drops the node's connections, and PostgreSQL rolls
/// back whatever transaction was open. Half as many kills, to keep CI's time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_node_killed_during_fleet_sync_loses_no_acknowledged_change() {
    let dir = tempfile::tempdir().unwrap();
    let schema = Schema::fresh();
    let server =
        TestServer::start_postgres(&dir.path().join("server"), &test_database_url(), &schema.0);
    crash_loop(dir, server, kills().div_ceil(2)).await;
}

/// Run the fleet against `server`, killing and restarting it `kills` times.
async fn crash_loop(dir: tempfile::TempDir, server: TestServer, kills: u64) {
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let url = server.url();
    let ana = user_signed_in(
        &url,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await
    .user_id;
    let mut tokens = Vec::new();
    for d in 0..DEVICES {
        tokens.push(device_token(&url, "ana", &format!("phone{d}")).await);
    }
    let scope = Scope::partnership("p1").with_neighborhood("east");
    let phones: Arc<Vec<Phone>> = Arc::new(
        (0..DEVICES)
            .map(|d| Phone {
                store: device(dir.path(), &format!("phone{d}")),
                user_id: ana.clone(),
                created: Mutex::new(Vec::new()),
            })
            .collect(),
    );

    // The fleet: each phone records a few responses, syncs, and goes again, until the
    // kills are over. A failed sync (the server is down or died mid-request) is simply
    // tried again in the next round.
    let stop = Arc::new(AtomicBool::new(false));
    let in_flight = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut fleet = Vec::new();
    for d in 0..DEVICES {
        let (phones, stop, in_flight, failed) = (
            phones.clone(),
            stop.clone(),
            in_flight.clone(),
            failed.clone(),
        );
        let (url, token, scope) = (url.clone(), tokens[d as usize].clone(), scope.clone());
        fleet.push(tokio::spawn(async move {
            let phone = &phones[d as usize];
            let mut next_seed = d * 1_000_000;
            while !stop.load(Ordering::SeqCst) {
                phone.record(next_seed..next_seed + PER_ROUND, &scope);
                next_seed += PER_ROUND;
                in_flight.fetch_add(1, Ordering::SeqCst);
                let result = sync(&phone.store, &url, &token).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                match result {
                    Ok(report) => assert!(
                        !report.repaired,
                        "phone{d} had to repair: the server lost its cursor"
                    ),
                    Err(_) => {
                        failed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }

    // The killer, on its own thread (starting a server blocks).
    let killer = {
        let phones = phones.clone();
        let in_flight = in_flight.clone();
        std::thread::spawn(move || {
            let mut server = server;
            let mut rng = Seeded::new(seed);
            let mut busy_at_kill = 0;
            let mut checked = 0usize;
            for _ in 0..kills {
                std::thread::sleep(Duration::from_millis(100 + rng.below(400)));
                let acknowledged: Vec<Uuid> = phones.iter().flat_map(Phone::acknowledged).collect();
                if in_flight.load(Ordering::SeqCst) > 0 {
                    busy_at_kill += 1;
                }
                server.restart(); // SIGKILL, then the same binary on the same port and data.
                let logged = server_log_records(&server);
                let missing: Vec<&Uuid> = acknowledged
                    .iter()
                    .filter(|id| !logged.contains(id))
                    .collect();
                assert!(
                    missing.is_empty(),
                    "acknowledged changes lost by a crash (seed {seed}): {missing:?}"
                );
                checked = checked.max(acknowledged.len());
            }
            (server, busy_at_kill, checked)
        })
    };
    let (server, busy_at_kill, checked) = tokio::task::spawn_blocking(move || killer.join())
        .await
        .unwrap()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    stop.store(true, Ordering::SeqCst);
    for task in fleet {
        task.await.unwrap();
    }

    // The server stays up now: every phone syncs until it gets through, twice over (the
    // second round brings each phone what the others pushed last).
    for _round in 0..2 {
        for (d, phone) in phones.iter().enumerate() {
            let mut tries = 0;
            while let Err(e) = sync(&phone.store, &url, &tokens[d]).await {
                tries += 1;
                assert!(tries < 10, "phone{d} cannot sync after the crashes: {e}");
            }
        }
    }
    let created: HashSet<Uuid> = phones
        .iter()
        .flat_map(|p| p.created.lock().unwrap().clone())
        .collect();
    let total = created.len();
    let logged = server_log_records(&server);
    assert_eq!(logged.len(), total, "the server's log holds every response");
    assert_eq!(
        logged, created,
        "the server holds exactly what was recorded"
    );
    assert_eq!(
        (server.count("changes"), server.count("records")),
        (total as i64, total as i64),
        "nothing doubled"
    );
    for (d, phone) in phones.iter().enumerate() {
        assert_eq!(phone.store.lock().unwrap().outbox_len().unwrap(), 0);
        let held: HashSet<Uuid> = all_records(&phone.store)
            .into_iter()
            .map(|r| r.meta.id)
            .collect();
        assert_eq!(held, created, "phone{d} holds every record");
    }
    assert!(!server.log_has_panic(), "the server panicked");
    assert!(
        busy_at_kill * 2 >= kills,
        "most kills should land during a sync ({busy_at_kill} of {kills})"
    );
    println!(
        "crash loop (seed {seed}): {kills} SIGKILLs ({busy_at_kill} with a sync in flight), {} failed syncs retried, up to {checked} acknowledged responses checked after a restart, {total} responses on the server and on all {DEVICES} phones, each once",
        failed.load(Ordering::SeqCst)
    );
}
