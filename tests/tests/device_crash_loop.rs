//! A device crash loop (Reliability): a phone's process is killed with SIGKILL in the
//! middle of its push and in the middle of its pull, again and again, each time at a
//! random moment after a random number of batches or pages. Each restart opens the
//! same SQLite file and syncs on. At the end the phone holds every record once, its
//! outbox is empty, the server holds each of its responses once, and every record is
//! whole. `DEVICE_CRASH_SEED` replays a run's kill points.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use scenarios::device::{all_records, create_responses, device, sync, test_config, user_signed_in};
use scenarios::server::{device_token, TestServer};
use scenarios::{household_survey_answers, Seeded};
use serde_json::json;
use sync_core::sync::{CancellationToken, SyncClient, SyncObserver, SyncPhase, SyncProgress};
use sync_core::{Scope, Store, Value};

/// Responses the phone records offline before its first sync.
const OWN: u64 = 1_000;
/// Responses other devices pushed before, for the phone to pull.
const OTHERS: u64 = 1_000;
const CHILD_ENV: &str = "DEVICE_CRASH_STORE";

/// Prints each progress report on its own line, flushed, for the parent to read.
struct PrintProgress;

impl SyncObserver for PrintProgress {
    fn on_progress(&self, p: SyncProgress) {
        let phase = match p.phase {
            SyncPhase::Push => "push",
            SyncPhase::Pull => "pull",
            SyncPhase::Repair => "repair",
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "progress {phase} {} {}", p.items_done, p.items_total);
        let _ = out.flush();
    }
}

/// The child: open the phone's store, record its responses if it has none yet, then
/// sync (small batches and pages, so there are many points to be killed at). Run only
/// by the parent below (it is `#[ignore]`d in a normal run).
#[test]
#[ignore = "run as a child process by the crash loop below"]
fn device_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let url = std::env::var("DEVICE_CRASH_URL").unwrap();
    let token = std::env::var("DEVICE_CRASH_TOKEN").unwrap();
    let store = Mutex::new(Store::open(&path).unwrap());
    if let Ok(by) = std::env::var("DEVICE_CRASH_RECORD") {
        let scope = Scope::partnership("p1").with_neighborhood("east");
        create_responses(&store, 0..OWN, &scope, &by);
        println!("recorded");
        return;
    }
    let config = sync_core::sync::SyncConfig {
        push_batch: 20,
        pull_limit: 50,
        ..test_config()
    };
    let client = SyncClient::new(url, token, config).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime
        .block_on(client.sync(&store, &PrintProgress, &CancellationToken::new()))
        .unwrap();
    println!("synced {} {}", report.pushed, report.pulled);
}

/// Run the child until it exits, or kill it once it reports `kill_at` progress lines
/// of `phase` (then wait a random moment up to 15 ms, so the kill lands inside a
/// request or a page's transaction as often as between them). Returns whether it was
/// killed, and the last progress line it printed.
fn run_child(
    store: &Path,
    url: &str,
    token: &str,
    kill: Option<(&str, u64, u64)>,
    record_as: Option<&str>,
) -> (bool, String) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "device_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, store)
        .env("DEVICE_CRASH_URL", url)
        .env("DEVICE_CRASH_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(user_id) = record_as {
        command.env("DEVICE_CRASH_RECORD", user_id);
    }
    let mut child = command.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut seen = 0;
    let mut last = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some((phase, at, wait_ms)) = kill {
            // Past the push while waiting to kill it there: kill in the pull instead.
            let pull_instead = phase == "push" && line.starts_with("progress pull ");
            if line.starts_with(&format!("progress {phase} ")) {
                seen += 1;
            }
            if seen == at || pull_instead {
                std::thread::sleep(Duration::from_millis(wait_ms));
                child.kill().unwrap(); // SIGKILL: no destructor, no flush.
                let _ = child.wait();
                return (true, line);
            }
        }
        if line.starts_with("progress") || line.starts_with("synced") {
            last = line;
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the phone's process failed ({last})");
    (false, last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_killed_mid_push_and_mid_pull_loses_nothing_and_doubles_nothing() {
    let seed: u64 = std::env::var("DEVICE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    let mut rng = Seeded::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let url = server.url();
    let scope = json!({"partnership": "p1", "neighborhood": "east"});
    let other = user_signed_in(&url, "ana", "outreach_worker", scope).await;
    let (other_token, ana) = (other.token, other.user_id);
    let token = device_token(&url, "ana", "phone").await;

    // Other devices' work, already on the server, for the phone to pull.
    let other = device(dir.path(), "other");
    let east = Scope::partnership("p1").with_neighborhood("east");
    create_responses(&other, 100_000..100_000 + OTHERS, &east, &ana);
    sync(&other, &url, &other_token).await.unwrap();

    let phone = dir.path().join("phone.db");
    let (url2, token2, phone2) = (url.clone(), token.clone(), phone.clone());
    let kills = tokio::task::spawn_blocking(move || {
        let (url, token, phone) = (url2, token2, phone2);
        run_child(&phone, &url, &token, None, Some(&ana));
        let mut kills = Vec::new();
        // Mid-push until the outbox is through, then mid-pull until the feed is. Each
        // run is killed after 1-3 batches or pages (a push reports once before its
        // first batch, a pull only after each page).
        let mut phase = "push";
        loop {
            let at = rng.below(3) + if phase == "push" { 2 } else { 1 };
            let wait = rng.below(15);
            let (killed, last) = run_child(&phone, &url, &token, Some((phase, at, wait)), None);
            if !killed {
                break;
            }
            if last.starts_with("progress pull") {
                phase = "pull";
            }
            kills.push(format!("{phase}: {last} +{wait}ms"));
            assert!(
                kills.len() < 300,
                "the sync makes no progress between kills"
            );
        }
        // And once more, undisturbed, to the end.
        let (killed, last) = run_child(&phone, &url, &token, None, None);
        assert!(!killed && last.starts_with("synced"), "{last}");
        kills
    })
    .await
    .unwrap();
    let mid_push = kills.iter().filter(|k| k.starts_with("push")).count();
    let mid_pull = kills.iter().filter(|k| k.starts_with("pull")).count();
    assert!(mid_push >= 5, "killed only {mid_push} times mid-push");
    assert!(mid_pull >= 5, "killed only {mid_pull} times mid-pull");

    // The phone holds every record once, each whole, and has nothing left to send.
    let store = Mutex::new(Store::open(&phone).unwrap());
    assert_eq!(store.lock().unwrap().outbox_len().unwrap(), 0);
    let held = all_records(&store);
    let ids: HashSet<_> = held.iter().map(|r| r.meta.id).collect();
    assert_eq!(ids.len(), held.len());
    assert_eq!(
        held.len() as u64,
        OWN + OTHERS,
        "the phone holds every record"
    );
    let mut seeds = HashSet::new();
    for record in &held {
        let Some(Value::Int(seed)) = record.fields.value("_seed").cloned() else {
            panic!("record {} is not whole", record.meta.id);
        };
        assert_eq!(record.fields, household_survey_answers(seed as u64));
        assert_eq!(
            store.lock().unwrap().history(record.meta.id).unwrap().len(),
            1
        );
        seeds.insert(seed);
    }
    assert_eq!(
        seeds.len() as u64,
        OWN + OTHERS,
        "no response is there twice"
    );

    // The server holds each response once.
    let total = (OWN + OTHERS) as i64;
    assert_eq!(
        (server.count("changes"), server.count("records")),
        (total, total)
    );
    // A staff-side check that the server and the phone agree record by record.
    let other_held: HashSet<_> = {
        sync(&other, &url, &other_token).await.unwrap();
        all_records(&other).into_iter().map(|r| r.meta.id).collect()
    };
    assert_eq!(other_held, ids);
    assert!(!server.log_has_panic(), "the server panicked");
    println!(
        "device crash loop (seed {seed}): {} SIGKILLs ({mid_push} mid-push, {mid_pull} mid-pull); {} records on the phone and the server, each once",
        kills.len(),
        held.len()
    );
}
