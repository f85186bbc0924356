//! The fleet simulator: N phones with real device stores (SQLite files) each record M
//! household surveys offline (realistic answers, 1 to 4 children), then all sync at
//! once to a real server process on loopback; then a fresh staff device pulls
//! everything. Reports wall time, responses per second, per-phone sync time (p50,
//! p99), bytes on the wire per response, the server's peak memory, and checks that the
//! server holds every response exactly once.
//!
//! ```sh
//! cargo run --release -p scenarios --bin fleet -- --devices 200 --responses 50
//! # on PostgreSQL, phones spread over two server nodes:
//! cargo run --release -p scenarios --bin fleet -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/test --nodes 2
//! ```

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use scenarios::device::{all_records, device, test_config};
use scenarios::fleet::{prepare, sync_all, FleetShape};
use scenarios::server::{user_with_token, TestServer};
use serde_json::json;
use sync_core::sync::{CancellationToken, SyncClient, SyncObserver, SyncProgress};
use sync_core::Value;

/// Simulate a fleet of phones syncing at once against a fresh server.
#[derive(Parser, Debug)]
#[command(name = "fleet", version)]
struct Args {
    /// Phones in the fleet.
    #[arg(long, default_value_t = 200)]
    devices: u64,
    /// Household surveys each phone records offline before syncing.
    #[arg(long, default_value_t = 50)]
    responses: u64,
    /// Phones per team; a team shares a neighborhood and sees its responses.
    #[arg(long, default_value_t = 10)]
    team_size: u64,
    /// Where the server's data and the phones' stores go (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Run the server on this PostgreSQL database (in a fresh schema, dropped at the
    /// end) instead of a SQLite file.
    #[arg(long)]
    database_url: Option<String>,
    /// Server nodes (on PostgreSQL); phone `i` syncs with node `i % nodes`.
    #[arg(long, default_value_t = 1, requires = "database_url")]
    nodes: usize,
}

/// Prints a pull's progress on one line.
struct PullProgress(AtomicU64);

impl SyncObserver for PullProgress {
    fn on_progress(&self, p: SyncProgress) {
        if self.0.fetch_add(1, Ordering::Relaxed).is_multiple_of(10) {
            eprint!(
                "\r    {:?}: {}/{} items, {} KiB   ",
                p.phase,
                p.items_done,
                p.items_total,
                p.bytes_done / 1024
            );
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    let temp = tempfile::tempdir()?;
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| temp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let schema = format!("fleet_{}", std::process::id());
    let servers: Vec<TestServer> = match &args.database_url {
        Some(db) => (0..args.nodes.max(1))
            .map(|n| TestServer::start_postgres(&dir.join(format!("node{n}")), db, &schema))
            .collect(),
        None => vec![TestServer::start(&dir.join("server"))],
    };
    let urls: Vec<String> = servers.iter().map(TestServer::url).collect();
    let url = urls[0].clone();
    let server = &servers[0];
    match &args.database_url {
        Some(_) => eprintln!(
            "{} node(s) on PostgreSQL schema {schema}: {urls:?}",
            urls.len()
        ),
        None => eprintln!("server on {url}, data in {}", dir.display()),
    }

    let shape = FleetShape {
        devices: args.devices,
        per_device: args.responses,
        team_size: args.team_size,
        first_seed: 0,
    };
    let total = shape.devices * shape.per_device;
    eprintln!(
        "recording {} surveys offline on {} phones ...",
        total, shape.devices
    );
    let started = Instant::now();
    let phones = prepare(&url, &dir, &shape, &|n| {
        if n.is_multiple_of(10) || n == shape.devices {
            eprint!("\r    {n}/{} phones ready   ", shape.devices);
        }
    })
    .await;
    eprintln!("({:.1} s)", started.elapsed().as_secs_f64());

    eprintln!("all {} phones sync at once ...", phones.len());
    let config = test_config();
    let fleet = tokio::task::block_in_place(|| {
        sync_all(&urls, &phones, &config, &|n| {
            if n.is_multiple_of(10) || n == shape.devices {
                eprint!("\r    {n}/{} phones done   ", shape.devices);
            }
        })
    });
    eprintln!();
    let fleet_peak = servers
        .iter()
        .map(|s| s.peak_memory_kib().unwrap_or(0))
        .max()
        .unwrap_or(0);

    eprintln!("a fresh staff device pulls everything ...");
    let token = user_with_token(
        &url,
        "fleet-staff",
        "backbone_staff",
        json!({"partnership": "p1"}),
    )
    .await;
    let fresh = device(&dir, "fresh-staff");
    let client = SyncClient::new(&url, &token, config.clone())?;
    let t = Instant::now();
    let pulled = client
        .sync(
            &fresh,
            &PullProgress(AtomicU64::new(0)),
            &CancellationToken::new(),
        )
        .await
        .context("the fresh device's pull")?;
    let pull_time = t.elapsed();
    eprintln!();

    // Every response on the server once: the fresh device holds one record per
    // response, each with a distinct seed, and the server's log one change each.
    let held = all_records(&fresh);
    let seeds: HashSet<i64> = held
        .iter()
        .filter_map(|r| match r.fields.value("_seed") {
            Some(Value::Int(s)) => Some(*s),
            _ => None,
        })
        .collect();
    let changes = server.count("changes");
    if let Some(db) = &args.database_url {
        let client = server::storage::pg::connect(db, None).await?;
        client
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
    }
    let peak = servers
        .iter()
        .map(|s| s.peak_memory_kib().unwrap_or(0))
        .max()
        .unwrap_or(0);

    println!("| figure | value |\n|---|---|");
    println!(
        "| fleet | {} phones × {} responses = {total}, teams of {} |",
        shape.devices, shape.per_device, shape.team_size
    );
    println!(
        "| server | {} |",
        match &args.database_url {
            Some(_) => format!("{} node(s) on one PostgreSQL", servers.len()),
            None => "one node on SQLite".to_string(),
        }
    );
    println!(
        "| fleet sync wall time | {:.2} s ({:.0} responses/s pushed) |",
        fleet.wall.as_secs_f64(),
        total as f64 / fleet.wall.as_secs_f64()
    );
    println!(
        "| per-phone sync time p50 / p99 | {:.2} / {:.2} s |",
        fleet.percentile(0.5).as_secs_f64(),
        fleet.percentile(0.99).as_secs_f64()
    );
    println!(
        "| bytes on the wire per response (push and team pull, HTTP bodies) | {:.0} |",
        fleet.bytes as f64 / total as f64
    );
    println!(
        "| records pulled per phone (its team's responses on the server when it pulled) | {:.1} of {} |",
        fleet.pulled as f64 / args.devices.max(1) as f64,
        shape.per_device * (shape.team_size.min(args.devices).max(1) - 1)
    );
    println!("| errors | {} |", fleet.errors);
    println!(
        "| fresh device pulls {} records | {:.2} s ({:.0} records/s, {:.0} bytes/record) |",
        held.len(),
        pull_time.as_secs_f64(),
        held.len() as f64 / pull_time.as_secs_f64(),
        pulled.bytes as f64 / held.len().max(1) as f64
    );
    println!(
        "| server peak memory (VmHWM) | {} MiB after the fleet, {} MiB at the end |",
        fleet_peak / 1024,
        peak / 1024
    );
    println!(
        "| every response on the server once | {} records on the fresh device, {} distinct responses, {} changes in the server's log |",
        held.len(),
        seeds.len(),
        changes
    );
    if let Some(e) = &fleet.first_error {
        bail!("{} phones failed; first error: {e}", fleet.errors);
    }
    if fleet.pushed != total || held.len() as u64 != total || seeds.len() as u64 != total {
        bail!(
            "expected {total} responses once each: pushed {}, pulled {}, distinct {}",
            fleet.pushed,
            held.len(),
            seeds.len()
        );
    }
    if changes as u64 != total {
        bail!("the server's log holds {changes} changes for {total} responses");
    }
    if servers.iter().any(TestServer::log_has_panic) {
        bail!(
            "the server panicked; see {}",
            server.data_dir.join("server.log").display()
        );
    }
    Ok(())
}
