//! A fleet of phones syncing at once: the workload of the sync benchmark and of the
//! `fleet` simulator. Outreach workers in teams of ten share a neighborhood; each phone
//! records its responses offline, then every phone syncs at the same moment on its own
//! thread (each phone is its own machine), pushing its responses and pulling its
//! team's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use sync_core::sync::{CancellationToken, NoProgress, SyncClient, SyncConfig};
use sync_core::{Scope, Store};

use crate::device::{create_responses, device, device_sign_in};
use crate::server::create_user;

/// The shape of a fleet.
#[derive(Debug, Clone)]
pub struct FleetShape {
    /// How many phones.
    pub devices: u64,
    /// Responses each phone records before the sync.
    pub per_device: u64,
    /// Phones per team (one neighborhood, one user per team).
    pub team_size: u64,
    /// The first response seed (see [`crate::household_survey_answers`]); phone `d`
    /// records seeds `first_seed + d * per_device ..`.
    pub first_seed: u64,
}

/// A phone ready to sync: its store and its device token.
pub struct Phone {
    /// Its store.
    pub store: Arc<Mutex<Store>>,
    /// Its bearer token.
    pub token: String,
}

/// What a fleet sync did.
#[derive(Debug, Clone)]
pub struct FleetReport {
    /// From the first phone's start to the last phone's end.
    pub wall: Duration,
    /// Each phone's sync time, sorted.
    pub times: Vec<Duration>,
    /// HTTP body bytes, all phones, both ways.
    pub bytes: u64,
    /// Phones whose sync failed or had changes refused.
    pub errors: u64,
    /// The first error seen, if any.
    pub first_error: Option<String>,
    /// Responses the phones pushed (acknowledged by the server).
    pub pushed: u64,
    /// Records the phones pulled (their teammates' responses that were on the server
    /// when each pulled).
    pub pulled: u64,
}

impl FleetReport {
    /// A percentile of the phones' sync times (`p` in 0..=1).
    pub fn percentile(&self, p: f64) -> Duration {
        if self.times.is_empty() {
            return Duration::ZERO;
        }
        self.times[((self.times.len() as f64 - 1.0) * p).round() as usize]
    }
}

/// Create the fleet's users (one outreach worker per team, in partnership `p1`,
/// neighborhood `n<team>`), and its phones under `dir`, each with its responses
/// recorded offline. `url` is the server's (the admin account makes the users).
/// `on_phone` is called after each phone is ready.
pub async fn prepare(
    url: &str,
    dir: &std::path::Path,
    shape: &FleetShape,
    on_phone: &dyn Fn(u64),
) -> Vec<Phone> {
    let teams = shape.devices.div_ceil(shape.team_size.max(1));
    let mut phones = Vec::new();
    for team in 0..teams {
        let hood = format!("n{team}");
        let user = format!("team{team}");
        create_user(
            url,
            &user,
            "outreach_worker",
            json!({"partnership": "p1", "neighborhood": hood}),
        )
        .await;
        let scope = Scope::partnership("p1").with_neighborhood(hood);
        let first = team * shape.team_size;
        for d in first..(first + shape.team_size).min(shape.devices) {
            let store = device(dir, &format!("fleet-{d}"));
            let phone = device_sign_in(url, &user, &format!("phone {d}")).await;
            let seeds = shape.first_seed + d * shape.per_device;
            let by = &phone.user_id;
            create_responses(&store, seeds..seeds + shape.per_device, &scope, by);
            phones.push(Phone {
                store: Arc::new(store),
                token: phone.token,
            });
            on_phone(phones.len() as u64);
        }
    }
    phones
}

/// Sync every phone at once, each on its own thread with its own runtime; phone `i`
/// talks to server node `urls[i % urls.len()]`. `on_done` is called with the number
/// of phones finished so far, as each finishes.
pub fn sync_all(
    urls: &[String],
    phones: &[Phone],
    config: &SyncConfig,
    on_done: &(dyn Fn(u64) + Sync),
) -> FleetReport {
    let finished = AtomicU64::new(0);
    let start = Instant::now();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = phones
            .iter()
            .enumerate()
            .map(|(i, phone)| {
                let finished = &finished;
                let url = urls[i % urls.len()].as_str();
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime per phone");
                    let result = runtime.block_on(async {
                        let t = Instant::now();
                        let client = SyncClient::new(url, &phone.token, config.clone())?;
                        let report = client
                            .sync(&phone.store, &NoProgress, &CancellationToken::new())
                            .await?;
                        Ok::<_, sync_core::sync::SyncError>((t.elapsed(), report))
                    });
                    on_done(finished.fetch_add(1, Ordering::SeqCst) + 1);
                    result
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let wall = start.elapsed();
    let mut report = FleetReport {
        wall,
        times: Vec::new(),
        bytes: 0,
        errors: 0,
        first_error: None,
        pushed: 0,
        pulled: 0,
    };
    for result in results {
        match result {
            Ok((took, r)) => {
                report.times.push(took);
                report.bytes += r.bytes;
                report.pushed += r.pushed;
                report.pulled += r.pulled;
                if r.rejected > 0 {
                    report.errors += 1;
                    report
                        .first_error
                        .get_or_insert_with(|| format!("{} changes refused", r.rejected));
                }
            }
            Err(e) => {
                report.errors += 1;
                report.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    report.times.sort();
    report
}
