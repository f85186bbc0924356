//! Parent: phases 1 and 2, then a child per durability for phase 3, then the table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use sync_core::{Durability, RecordFilter, Store};
use uuid::Uuid;

use crate::breakdown::{components, space_breakdown};
use crate::data::{count_answers, create_one, household_response};
use crate::measure::{fsync_probe, loadavg, machine, ms, progress, store_bytes, Rng, Summary};
use crate::report::{print_report, ReportInput};
use crate::{
    durability_name, options, BenchResult, Settings, CHILD_DB, CHILD_DURABILITY, CHILD_ENV,
    CHILD_IDS,
};

pub(crate) struct CreateResult {
    pub(crate) durability: Durability,
    pub(crate) latency: Summary,
    pub(crate) bytes: u64,
}

pub(crate) struct ChildResult {
    pub(crate) durability: Durability,
    pub(crate) summaries: BTreeMap<String, Summary>,
    pub(crate) values: BTreeMap<String, u64>,
}

impl ChildResult {
    pub(crate) fn summary(&self, label: &str) -> Summary {
        self.summaries.get(label).copied().unwrap_or_default()
    }

    pub(crate) fn value(&self, label: &str) -> u64 {
        self.values.get(label).copied().unwrap_or(0)
    }
}

pub(crate) fn parent_main() -> BenchResult<()> {
    let settings = Settings::from_env()?;
    let mut loads = vec![("start".to_string(), loadavg())];
    let mut probes = Vec::new();
    progress(&format!(
        "machine: {}; load average {}",
        machine(),
        loads[0].1
    ));
    let base = std::env::var_os("STORE_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    std::fs::create_dir_all(&base)?;
    let dir = tempfile::Builder::new()
        .prefix("store-bench-")
        .tempdir_in(&base)?;
    progress(&format!(
        "records={} creates={} writes={} opens={} dir={}",
        settings.records,
        settings.creates,
        settings.writes,
        settings.opens,
        dir.path().display()
    ));

    // Answers per response, over a sample drawn the same way as the data.
    let mut sample_rng = Rng(7);
    let counts: Vec<usize> = (0..10_000)
        .map(|i| count_answers(&household_response(&mut sample_rng, i)))
        .collect();
    let mean_answers = counts.iter().sum::<usize>() as f64 / counts.len() as f64;
    let (min_answers, max_answers) = (
        counts.iter().copied().min().unwrap_or(0),
        counts.iter().copied().max().unwrap_or(0),
    );
    progress(&format!(
        "answers per response: mean {mean_answers:.1}, min {min_answers}, max {max_answers}"
    ));

    probes.push(("at start".to_string(), fsync_probe(dir.path())?));
    // Phase 1: create and save responses in a fresh store.
    let mut creates = Vec::new();
    for (seed, durability) in [
        (1, Durability::Full),
        (4, Durability::Balanced),
        (2, Durability::Normal),
    ] {
        let db = dir
            .path()
            .join(format!("creates-{}.db", durability_name(durability)));
        let mut store = Store::open_with(&db, options(durability))?;
        let mut rng = Rng(seed);
        let mut samples = Vec::with_capacity(settings.creates);
        for i in 0..settings.creates {
            let started = Instant::now();
            create_one(&mut store, &mut rng, i)?;
            samples.push(started.elapsed());
        }
        drop(store);
        let latency = Summary::of(&samples);
        let bytes = store_bytes(&db);
        progress(&format!(
            "phase 1 ({}): {} creates, p50 {}, p99 {}, max {}, {:.0}/s, {} bytes/record",
            durability_name(durability),
            latency.n,
            ms(latency.p50),
            ms(latency.p99),
            ms(latency.max),
            latency.per_second(),
            bytes / settings.creates.max(1) as u64
        ));
        creates.push(CreateResult {
            durability,
            latency,
            bytes,
        });
    }

    // Phase 2: fill a store, one create per record, the real path (default options).
    let filled = dir.path().join("filled.db");
    let mut ids = Vec::with_capacity(settings.records);
    let mut feel_safe_day = Vec::with_capacity(settings.records);
    loads.push(("after phase 1".into(), loadavg()));
    let fill_started = Instant::now();
    {
        let mut store = Store::open(&filled)?;
        let mut rng = Rng(3);
        let mut last = Instant::now();
        let step = (settings.records / 10).max(1);
        for i in 0..settings.records {
            let (id, feel_safe) = create_one(&mut store, &mut rng, i)?;
            ids.push(id);
            feel_safe_day.push(feel_safe);
            if (i + 1) % step == 0 || i + 1 == settings.records {
                let rate = step.min(i + 1) as f64 / last.elapsed().as_secs_f64();
                progress(&format!(
                    "phase 2: filled {}/{} records, {:.0} s elapsed, {rate:.0} records/s lately",
                    i + 1,
                    settings.records,
                    fill_started.elapsed().as_secs_f64()
                ));
                last = Instant::now();
            }
        }
    }
    let fill_time = fill_started.elapsed();
    let filled_bytes = store_bytes(&filled);
    progress(&format!(
        "phase 2: {} records in {:.1} s ({:.0}/s), file {:.1} MiB",
        settings.records,
        fill_time.as_secs_f64(),
        settings.records as f64 / fill_time.as_secs_f64(),
        filled_bytes as f64 / 1048576.0
    ));
    let breakdown = space_breakdown(&filled)?;

    // Listing every id with keyset pagination (what a picker or an export does).
    let listed_started = Instant::now();
    let listed = list_ids(&filled)?;
    let list_time = listed_started.elapsed();
    let mut sorted_ids = ids.clone();
    sorted_ids.sort_unstable_by_key(|id| id.to_string());
    if listed != sorted_ids {
        return Err(format!(
            "Store::list returned {} ids, create returned {}",
            listed.len(),
            ids.len()
        )
        .into());
    }
    progress(&format!(
        "listed {} ids in pages of 1000 in {:.2} s",
        listed.len(),
        list_time.as_secs_f64()
    ));

    let components = components(&filled, &ids)?;
    loads.push(("after components".into(), loadavg()));

    let ids_file = dir.path().join("ids.bin");
    // 17 bytes a record: the id, then the index of its current `feel_safe_day`.
    let mut bytes = Vec::with_capacity(ids.len() * 17);
    for (id, feel_safe) in ids.iter().zip(&feel_safe_day) {
        bytes.extend_from_slice(id.as_bytes());
        bytes.push(*feel_safe);
    }
    std::fs::write(&ids_file, bytes)?;

    // Phase 3: open and write in a fresh process, one per durability, each on a copy.
    loads.push(("before phase 3".into(), loadavg()));
    let mut children = Vec::new();
    for durability in [Durability::Full, Durability::Balanced, Durability::Normal] {
        let copy = dir
            .path()
            .join(format!("writes-{}.db", durability_name(durability)));
        std::fs::copy(&filled, &copy)?;
        // Flush the copy now: otherwise the child's first checkpoint fsync pays for
        // writing the whole copied file back.
        std::fs::File::open(&copy)?.sync_all()?;
        let probe = fsync_probe(dir.path())?;
        progress(&format!(
            "disk: 4 KiB append + fdatasync p50 {}, p99 {}",
            ms(probe.p50),
            ms(probe.p99)
        ));
        probes.push((
            format!("before phase 3 ({})", durability_name(durability)),
            probe,
        ));
        progress(&format!(
            "phase 3 ({}): starting child process",
            durability_name(durability)
        ));
        children.push(run_child(&copy, &ids_file, durability)?);
        loads.push((
            format!("after phase 3 ({})", durability_name(durability)),
            loadavg(),
        ));
    }

    print_report(&ReportInput {
        settings: &settings,
        answers: (mean_answers, min_answers, max_answers),
        creates: &creates,
        fill_time,
        filled_bytes,
        breakdown: &breakdown,
        list_time,
        children: &children,
        loads: &loads,
        components: &components,
        probes: &probes,
    });

    if std::env::var_os("STORE_BENCH_KEEP").is_some() {
        let kept = dir.keep();
        progress(&format!("kept {}", kept.display()));
    }
    Ok(())
}

/// Every record id, through `Store::list` pages keyed by the last id seen.
pub(crate) fn list_ids(db: &Path) -> BenchResult<Vec<Uuid>> {
    let store = Store::open(db)?;
    let mut ids = Vec::new();
    let mut after = None;
    loop {
        let page = store.list(&RecordFilter {
            after,
            limit: 1000,
            ..RecordFilter::default()
        })?;
        let Some(last) = page.last() else { break };
        after = Some(last.meta.id);
        ids.extend(page.iter().map(|r| r.meta.id));
    }
    Ok(ids)
}

pub(crate) fn run_child(db: &Path, ids: &Path, durability: Durability) -> BenchResult<ChildResult> {
    let output = Command::new(std::env::current_exe()?)
        .env(CHILD_ENV, "writes")
        .env(CHILD_DB, db)
        .env(CHILD_IDS, ids)
        .env(CHILD_DURABILITY, durability_name(durability))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "child ({}) failed: {}",
            durability_name(durability),
            output.status
        )
        .into());
    }
    let mut result = ChildResult {
        durability,
        summaries: BTreeMap::new(),
        values: BTreeMap::new(),
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            ["SUMMARY", label, rest @ ..] => {
                let summary =
                    Summary::decode(rest).ok_or_else(|| format!("bad child line: {line}"))?;
                result.summaries.insert((*label).to_string(), summary);
            }
            ["VALUE", label, value] => {
                result.values.insert((*label).to_string(), value.parse()?);
            }
            _ => {}
        }
    }
    Ok(result)
}
