//! Our side of the side-by-side benchmark (`bench/peers/`): writes the survey
//! responses every system is given, and pushes, pulls and reconnects with a real
//! device store against our server, printing one JSON line of timings per command.
//!
//! - `peer-client docs --count N --out FILE`: N responses as JSON lines
//!   `{"id": ..., "answers": {...}}`, the same answers `push` records;
//! - `peer-client push --url URL --direct-url URL --store FILE --count N`: record the N
//!   responses offline in a new device store (not timed), then push them (timed);
//! - `peer-client pull --url URL --direct-url URL --store FILE --expect N`: a fresh
//!   device pulls everything (timed);
//! - `peer-client reconnect --url URL --direct-url URL --store FILE`: sync again with
//!   nothing new.
//!
//! `--url` is where the timed traffic goes (the benchmark's counting proxy);
//! `--direct-url` is the server itself, for setting up the user and the device's token,
//! which is not counted. The server must run with `--admin-password
//! admin-test-password`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use scenarios::device::{create_responses, device, device_sign_in, test_config, SignedIn};
use scenarios::household_survey_answers;
use scenarios::server::create_user;
use serde_json::json;
use sync_core::sync::{
    CancellationToken, SyncClient, SyncConfig, SyncObserver, SyncPhase, SyncProgress,
};
use sync_core::{Scope, Store};

#[derive(Parser, Debug)]
#[command(
    name = "peer-client",
    version,
    about = "Our client in the side-by-side benchmark"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write the responses as JSON lines.
    Docs {
        #[arg(long)]
        count: u64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Record `count` responses offline, then push them.
    Push {
        #[command(flatten)]
        to: Target,
        #[arg(long)]
        count: u64,
    },
    /// A fresh device pulls everything.
    Pull {
        #[command(flatten)]
        to: Target,
        #[arg(long)]
        expect: u64,
    },
    /// Sync again with nothing new.
    Reconnect {
        #[command(flatten)]
        to: Target,
    },
}

#[derive(clap::Args, Debug)]
struct Target {
    /// Where the timed traffic goes.
    #[arg(long)]
    url: String,
    /// The server itself, for setup.
    #[arg(long)]
    direct_url: String,
    /// The device store (a SQLite file).
    #[arg(long)]
    store: PathBuf,
}

const USER: &str = "peer-bench";

impl Target {
    /// A device token for this store (one device per store file) and its user's id
    /// (the author of the responses the store records), making the user on first
    /// use. Kept beside the store (token, then id, a line each) so a reconnect is the
    /// same device.
    async fn sign_in(&self) -> SignedIn {
        let saved = self.store.with_extension("token");
        if let Ok(text) = std::fs::read_to_string(&saved) {
            if let Some((token, user_id)) = text.split_once('\n') {
                return SignedIn {
                    token: token.to_string(),
                    user_id: user_id.trim_end().to_string(),
                };
            }
        }
        let probe = reqwest::Client::new()
            .post(format!("{}/v1/auth/token", self.direct_url))
            .json(&json!({"v": 1, "username": USER, "password": format!("{USER}-password"), "device_name": "probe"}))
            .send()
            .await;
        if !probe.is_ok_and(|r| r.status().is_success()) {
            create_user(
                &self.direct_url,
                USER,
                "backbone_staff",
                json!({"partnership": "p1"}),
            )
            .await;
        }
        let name = self.store.display().to_string();
        let me = device_sign_in(&self.direct_url, USER, &name).await;
        let _ = std::fs::write(&saved, format!("{}\n{}\n", me.token, me.user_id));
        me
    }

    fn open(&self) -> std::sync::Mutex<Store> {
        let dir = self.store.parent().unwrap_or(std::path::Path::new("."));
        let name = self
            .store
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("device");
        device(dir, name)
    }
}

fn config() -> SyncConfig {
    SyncConfig {
        push_batch: 1_000,
        ..test_config()
    }
}

/// Notes when the push phase finished (its last batch acknowledged).
struct PushEnd(Instant, std::sync::Mutex<Option<f64>>);

impl SyncObserver for PushEnd {
    fn on_progress(&self, p: SyncProgress) {
        if p.phase == SyncPhase::Push && p.items_done == p.items_total && p.items_done > 0 {
            if let Ok(mut end) = self.1.lock() {
                *end = Some(self.0.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
}

/// Sync once; the time is the whole sync's, or up to the push's end when `push_only`
/// (a push's sync goes on to pull back the feed, which is not the push).
async fn sync(
    to: &Target,
    store: &std::sync::Mutex<Store>,
    push_only: bool,
) -> Result<(f64, u64, u64)> {
    let token = to.sign_in().await.token;
    let client = SyncClient::new(&to.url, token, config())?;
    let observer = PushEnd(Instant::now(), std::sync::Mutex::new(None));
    let report = client
        .sync(store, &observer, &CancellationToken::new())
        .await
        .context("sync")?;
    let whole = observer.0.elapsed().as_secs_f64() * 1000.0;
    let pushed_at = *observer.1.lock().map_err(|_| anyhow::anyhow!("lock"))?;
    let ms = match (push_only, pushed_at) {
        (true, Some(ms)) => ms,
        _ => whole,
    };
    if report.rejected > 0 {
        bail!("{} changes refused", report.rejected);
    }
    Ok((ms, report.pushed, report.pulled))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    match Args::parse().command {
        Command::Docs { count, out } => {
            let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
            for seed in 0..count {
                let id = uuid::Uuid::from_u64_pair(seed, 0);
                let answers = serde_json::to_value(household_survey_answers(seed))?;
                serde_json::to_writer(&mut file, &json!({"id": id, "answers": answers}))?;
                file.write_all(b"\n")?;
            }
            file.flush()?;
        }
        Command::Push { to, count } => {
            let store = to.open();
            let scope = Scope::partnership("p1").with_neighborhood("east");
            let me = to.sign_in().await;
            create_responses(&store, 0..count, &scope, &me.user_id);
            let (ms, pushed, _) = sync(&to, &store, true).await?;
            if pushed != count {
                bail!("pushed {pushed} of {count}");
            }
            println!("{}", json!({"phase": "push", "docs": count, "ms": ms}));
        }
        Command::Pull { to, expect } => {
            let store = to.open();
            let (ms, _, _) = sync(&to, &store, false).await?;
            let held = store.lock().map_err(|_| anyhow::anyhow!("lock"))?.count()? as u64;
            if held != expect {
                bail!("holds {held} records, expected {expect}");
            }
            println!("{}", json!({"phase": "pull", "docs": held, "ms": ms}));
        }
        Command::Reconnect { to } => {
            let store = to.open();
            let (ms, pushed, pulled) = sync(&to, &store, false).await?;
            if pushed + pulled != 0 {
                bail!("a reconnect with nothing new moved {pushed} + {pulled} changes");
            }
            println!("{}", json!({"phase": "reconnect", "ms": ms}));
        }
    }
    Ok(())
}
