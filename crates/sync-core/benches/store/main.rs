//! Device-store benchmark (the Core issue's bar).
//!
//! Run: `cargo bench -p sync-core --bench store` (see `docs/benchmarks.md`).
//!
//! 1. Create and save household-survey responses (~40 answers, 1-4 `child` repeat
//!    instances) in a fresh store: latency per create, throughput, bytes on disk.
//! 2. Fill a store with 100,000 responses (one `Store::create` each), close it.
//! 3. In a child process (this binary re-executed), so that its peak memory covers
//!    only this phase: open the filled store 20 times, then change one answer on
//!    2,000 records chosen at random (none in memory), then read VmHWM and VmRSS.
//!    Steps 1 and 3 run with each `Durability` (full, balanced, normal), step 3 each
//!    time on its own copy of the filled file; step 2 uses the default options.
//!
//! Environment: `STORE_BENCH_RECORDS` (default 100000), `STORE_BENCH_CREATES` (2000),
//! `STORE_BENCH_WRITES` (2000), `STORE_BENCH_OPENS` (20), `STORE_BENCH_DIR` (where the
//! temporary directory goes; default the system temp dir), `STORE_BENCH_KEEP=1` keeps
//! the files.

mod breakdown;
mod child;
mod data;
mod measure;
mod parent;
mod report;

use sync_core::{Durability, StoreOptions};

use child::child_main;
use parent::parent_main;

/// Set in the re-executed child: which phase it runs.
const CHILD_ENV: &str = "STORE_BENCH_CHILD";
const CHILD_DB: &str = "STORE_BENCH_CHILD_DB";
const CHILD_IDS: &str = "STORE_BENCH_CHILD_IDS";
const CHILD_DURABILITY: &str = "STORE_BENCH_CHILD_DURABILITY";

/// The answer the write phase changes.
const CHANGED_FIELD: &str = "feel_safe_day";
const LIKERT4: [&str; 4] = [
    "very_safe",
    "somewhat_safe",
    "somewhat_unsafe",
    "very_unsafe",
];

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() {
    let outcome = if std::env::var_os(CHILD_ENV).is_some() {
        child_main()
    } else {
        parent_main()
    };
    if let Err(e) = outcome {
        eprintln!("store bench failed: {e}");
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------------------------
// Settings

struct Settings {
    records: usize,
    creates: usize,
    writes: usize,
    opens: usize,
}

impl Settings {
    fn from_env() -> BenchResult<Self> {
        Ok(Settings {
            records: env_usize("STORE_BENCH_RECORDS", 100_000)?,
            creates: env_usize("STORE_BENCH_CREATES", 2_000)?,
            writes: env_usize("STORE_BENCH_WRITES", 2_000)?,
            opens: env_usize("STORE_BENCH_OPENS", 20)?.max(1),
        })
    }
}

fn env_usize(name: &str, default: usize) -> BenchResult<usize> {
    match std::env::var(name) {
        Ok(text) => Ok(text
            .trim()
            .replace('_', "")
            .parse()
            .map_err(|e| format!("{name}={text}: {e}"))?),
        Err(_) => Ok(default),
    }
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Full => "full",
        Durability::Balanced => "balanced",
        Durability::Normal => "normal",
    }
}

fn options(durability: Durability) -> StoreOptions {
    StoreOptions {
        durability,
        ..StoreOptions::default()
    }
}
