//! Child: open, then change one answer on records not in memory.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sync_core::record::FieldPath;
use sync_core::{Commit, Durability, Store};
use uuid::Uuid;

use crate::measure::{memory_kb, mib, ms, progress, store_bytes, Rng, Summary};
use crate::{
    durability_name, options, BenchResult, Settings, CHANGED_FIELD, CHILD_DB, CHILD_DURABILITY,
    CHILD_IDS, LIKERT4,
};

pub(crate) fn child_main() -> BenchResult<()> {
    let settings = Settings::from_env()?;
    let db = PathBuf::from(std::env::var_os(CHILD_DB).ok_or("no store path")?);
    let ids_file = PathBuf::from(std::env::var_os(CHILD_IDS).ok_or("no ids file")?);
    let durability = match std::env::var(CHILD_DURABILITY)?.as_str() {
        "normal" => Durability::Normal,
        "balanced" => Durability::Balanced,
        _ => Durability::Full,
    };
    let name = durability_name(durability);
    let mut out = std::io::stdout().lock();
    let (hwm, rss) = memory_kb();
    writeln!(out, "VALUE start_hwm_kb {hwm}")?;
    writeln!(out, "VALUE start_rss_kb {rss}")?;

    // Open: each time a new connection on the closed file.
    let mut opens = Vec::with_capacity(settings.opens);
    for _ in 0..settings.opens {
        let started = Instant::now();
        let store = Store::open_with(&db, options(durability))?;
        opens.push(started.elapsed());
        drop(store);
    }
    let opens = Summary::of(&opens);
    writeln!(out, "{}", opens.encode("open"))?;
    progress(&format!(
        "phase 3 ({name}): open x{}: p50 {}, max {}",
        opens.n,
        ms(opens.p50),
        ms(opens.max)
    ));

    // The ids the parent's creates returned, each with its current `feel_safe_day`.
    let bytes = std::fs::read(&ids_file)?;
    let mut ids = Vec::with_capacity(bytes.len() / 17);
    let mut current = Vec::with_capacity(bytes.len() / 17);
    for record in bytes.chunks_exact(17) {
        ids.push(Uuid::from_slice(&record[..16])?);
        current.push(usize::from(record[16]));
    }
    // Distinct records in random order (a partial Fisher-Yates shuffle): the first
    // `writes` for the measured writes, the next ones for the diagnostics below.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    let mut rng = Rng(11);
    let wanted = (settings.writes * 3).min(order.len());
    for i in 0..wanted {
        let j = i + rng.below(order.len() - i);
        order.swap(i, j);
    }
    let writes = settings.writes.min(order.len());

    // The measured writes: a freshly opened store, so no record is in memory.
    let started = Instant::now();
    let mut store = Store::open_with(&db, options(durability))?;
    writeln!(
        out,
        "VALUE open_for_writes_ns {}",
        started.elapsed().as_nanos()
    )?;
    let path = FieldPath::field(CHANGED_FIELD);
    let mut samples = Vec::with_capacity(writes);
    let mut unchanged = 0u64;
    for (n, &i) in order[..writes].iter().enumerate() {
        // Always a different answer, so that every write commits a change.
        let value = LIKERT4[(current[i] + 1 + n % 3) % LIKERT4.len()];
        let commit = Commit::new("worker-17", "Corrected feel_safe_day");
        let started = Instant::now();
        let changed = store.set(ids[i], &path, value, &commit)?;
        samples.push(started.elapsed());
        if !changed {
            unchanged += 1;
        }
        if (n + 1) % 500 == 0 {
            progress(&format!("phase 3 ({name}): {}/{writes} writes", n + 1));
        }
    }
    let write = Summary::of(&samples);
    writeln!(out, "{}", write.encode("write"))?;
    // Which writes were slow, and how far apart: a WAL checkpoint shows as a spike
    // every so many writes.
    let spikes: Vec<String> = samples
        .iter()
        .enumerate()
        .filter(|(_, d)| **d > Duration::from_millis(15))
        .map(|(n, d)| format!("#{n} {:.1} ms", d.as_secs_f64() * 1e3))
        .collect();
    progress(&format!(
        "phase 3 ({name}): {} writes over 2 ms; over 15 ms: {}",
        write.slow,
        spikes.join(", ")
    ));
    writeln!(out, "VALUE unchanged_writes {unchanged}")?;
    let (hwm, rss) = memory_kb();
    writeln!(out, "VALUE hwm_kb {hwm}")?;
    writeln!(out, "VALUE rss_kb {rss}")?;
    progress(&format!(
        "phase 3 ({name}): {} writes, p50 {}, p99 {}, max {}; VmHWM {}, VmRSS {}",
        write.n,
        ms(write.p50),
        ms(write.p99),
        ms(write.max),
        mib(hwm),
        mib(rss)
    ));

    // Diagnostics, after the memory reading: what a write is made of.
    // (a) Loading a record not in memory, without writing.
    let diag_end = (writes * 2).min(wanted);
    let mut loads = Vec::new();
    for &i in &order[writes..diag_end] {
        let started = Instant::now();
        store.with_record(ids[i], |_| ())?;
        loads.push(started.elapsed());
    }
    writeln!(out, "{}", Summary::of(&loads).encode("load_only"))?;
    // (b) The same write on a record already in memory (loaded just before, untimed).
    let mut cached = Vec::new();
    for (n, &i) in order[diag_end..wanted].iter().enumerate() {
        store.with_record(ids[i], |_| ())?;
        let commit = Commit::new("worker-17", "Corrected feel_safe_day");
        let started = Instant::now();
        let value = LIKERT4[(current[i] + 1 + n % 3) % LIKERT4.len()];
        store.set(ids[i], &path, value, &commit)?;
        cached.push(started.elapsed());
    }
    writeln!(out, "{}", Summary::of(&cached).encode("cached_write"))?;
    // (c) Closing the store (SQLite checkpoints the WAL into the file).
    let started = Instant::now();
    drop(store);
    writeln!(out, "VALUE close_ns {}", started.elapsed().as_nanos())?;
    writeln!(out, "VALUE file_bytes_after {}", store_bytes(&db))?;
    out.flush()?;
    Ok(())
}
