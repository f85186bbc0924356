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

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sync_core::record::FieldPath;
use sync_core::{
    Answers, Commit, Durability, FormRef, RecordDoc, RecordFilter, RecordKind, RecordMeta, Scope,
    Store, StoreOptions,
};
use uuid::Uuid;

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

// ---------------------------------------------------------------------------------
// Measurement helpers

/// A deterministic generator (splitmix64): the same data on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Latency figures of one measured loop.
#[derive(Debug, Clone, Copy, Default)]
struct Summary {
    n: usize,
    total: Duration,
    p50: Duration,
    p99: Duration,
    max: Duration,
    /// Samples over [`SLOW`].
    slow: usize,
}

/// The write target: what counts as a slow sample.
const SLOW: Duration = Duration::from_millis(2);

impl Summary {
    /// Nearest-rank percentiles of the samples.
    fn of(samples: &[Duration]) -> Self {
        if samples.is_empty() {
            return Summary::default();
        }
        let mut sorted = samples.to_vec();
        sorted.sort_unstable();
        let rank = |p: usize| sorted[(sorted.len() * p).div_ceil(100).max(1) - 1];
        Summary {
            n: sorted.len(),
            total: samples.iter().sum(),
            p50: rank(50),
            p99: rank(99),
            max: sorted[sorted.len() - 1],
            slow: sorted.iter().filter(|d| **d > SLOW).count(),
        }
    }

    fn per_second(&self) -> f64 {
        self.n as f64 / self.total.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// One line for the child's report to its parent.
    fn encode(&self, label: &str) -> String {
        format!(
            "SUMMARY {label} {} {} {} {} {} {}",
            self.n,
            self.total.as_nanos(),
            self.p50.as_nanos(),
            self.p99.as_nanos(),
            self.max.as_nanos(),
            self.slow
        )
    }

    fn decode(fields: &[&str]) -> Option<Self> {
        let num = |i: usize| fields.get(i)?.parse::<u64>().ok();
        Some(Summary {
            n: num(0)? as usize,
            total: Duration::from_nanos(num(1)?),
            p50: Duration::from_nanos(num(2)?),
            p99: Duration::from_nanos(num(3)?),
            max: Duration::from_nanos(num(4)?),
            slow: num(5)? as usize,
        })
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Peak and current resident memory of this process, in kB (VmHWM, VmRSS).
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// Bytes of the store file and its WAL and shared-memory files.
fn store_bytes(db: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(PathBuf::from(name)).ok()
        })
        .map(|m| m.len())
        .sum()
}

fn progress(line: &str) {
    eprintln!("[store bench] {line}");
}

/// How long the disk takes to make a small write durable right now: 200 appends of
/// 4 KiB, each followed by `fdatasync`. The machine is shared, and every
/// `Durability::Full` commit pays this once.
fn fsync_probe(dir: &Path) -> BenchResult<Summary> {
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let page = [0x5au8; 4096];
    let mut samples = Vec::with_capacity(200);
    for _ in 0..200 {
        let started = Instant::now();
        file.write_all(&page)?;
        file.sync_data()?;
        samples.push(started.elapsed());
    }
    drop(file);
    std::fs::remove_file(&path)?;
    Ok(Summary::of(&samples))
}

/// The 1, 5 and 15 minute load averages: the machine is shared, so say how busy it was.
fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cores, CPU model and memory of this machine.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    format!(
        "{cores} cores, {model}, {:.1} GiB memory",
        mem_kb as f64 / 1048576.0
    )
}

// ---------------------------------------------------------------------------------
// The data: a household-survey response

const NEIGHBORHOODS: [&str; 12] = [
    "bg-010", "bg-011", "bg-012", "bg-020", "bg-021", "bg-030", "bg-031", "bg-040", "bg-041",
    "bg-050", "bg-051", "bg-060",
];

fn scope(rng: &mut Rng) -> Scope {
    Scope::partnership("promise-east")
        .with_organization("org-outreach")
        .with_neighborhood(rng.pick(&NEIGHBORHOODS))
        .with_family(Uuid::from_u64_pair(rng.next(), rng.next()).to_string())
}

fn form() -> FormRef {
    FormRef {
        id: "household_survey".into(),
        version: 3,
    }
}

/// A space-separated `select_multiple` answer of 1 to `max` distinct choices.
fn select_multiple(rng: &mut Rng, choices: &[&str], max: usize) -> String {
    let count = 1 + rng.below(max);
    let mut chosen: Vec<&str> = Vec::with_capacity(count);
    while chosen.len() < count {
        let c = rng.pick(choices);
        if !chosen.contains(&c) {
            chosen.push(c);
        }
    }
    chosen.join(" ")
}

/// One household-survey response: the form's household answers, ODK-style
/// metadata answers and 1-4 `child` repeat instances (uniformly), about 40 answers.
fn household_response(rng: &mut Rng, serial: usize) -> Answers {
    let mut a = Answers::new();
    let day = 1 + rng.below(28);
    let minute = rng.below(600);
    let start = format!(
        "2025-03-{day:02}T{:02}:{:02}:{:02}-07:00",
        9 + minute / 60,
        minute % 60,
        rng.below(60)
    );
    let end = format!(
        "2025-03-{day:02}T{:02}:{:02}:{:02}-07:00",
        9 + (minute + 20) / 60,
        (minute + 20) % 60,
        rng.below(60)
    );
    // ODK metadata and visit bookkeeping.
    a.set("start", start)
        .set("end", end)
        .set("today", format!("2025-03-{day:02}"))
        .set("deviceid", format!("android-{:016x}", rng.next()))
        .set("username", format!("worker-{:02}", rng.below(40)))
        .set(
            "instance_id",
            format!("uuid:{}", Uuid::from_u64_pair(rng.next(), rng.next())),
        )
        .set("visit_number", (1 + rng.below(3)) as i64)
        .set("duration_min", (12 + rng.below(30)) as i64)
        .set(
            "interviewer_notes",
            format!("Visit {serial}: family met at home, follow-up on pre-K enrollment requested."),
        );
    // The household questions.
    let children = 1 + rng.below(4);
    let home_language = rng.pick(&["en", "es", "vi", "ar", "so", "other"]);
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", rng.pick(&["en", "es"]))
        .set("home_language", home_language)
        .set(
            "location",
            format!(
                "45.{:06} -122.{:06} {}.0 {}.{}",
                rng.below(1_000_000),
                rng.below(1_000_000),
                20 + rng.below(60),
                3 + rng.below(10),
                rng.below(10)
            ),
        )
        .set(CHANGED_FIELD, rng.pick(&LIKERT4))
        .set("home_internet", rng.pick(&["yes", "no"]))
        .set(
            "home_devices",
            select_multiple(rng, &["computer", "tablet", "smartphone"], 3),
        )
        .set("children_count", children as i64);
    if home_language == "other" {
        a.set("home_language_other", "Tagalog");
    }
    let grades = [
        "none", "prek", "k", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
    ];
    let kids = (0..children)
        .map(|_| {
            let age = rng.below(19);
            let mut c = Answers::new();
            let usual_place = rng.pick(&["yes", "yes", "yes", "no", "dk"]);
            c.set("age_years", age as i64)
                .set("hispanic", rng.pick(&["yes", "no", "refuse"]))
                .set(
                    "race",
                    select_multiple(rng, &["aian", "asian", "black", "nhpi", "white", "mena"], 2),
                )
                .set("grade", grades[age.saturating_sub(3).min(grades.len() - 1)])
                .set("usual_place", usual_place)
                .set(
                    "early_learning",
                    rng.pick(&[
                        "none",
                        "head_start",
                        "public_prek",
                        "child_care_center",
                        "relative_care",
                    ]),
                )
                .set(
                    "read_times",
                    rng.pick(&["never", "once_twice", "three_plus", "daily"]),
                )
                .set("college_talk", rng.pick(&["yes", "no"]));
            if usual_place == "yes" {
                c.set(
                    "place_type",
                    rng.pick(&["doctor_office", "clinic", "er", "other"]),
                );
            }
            c
        })
        .collect();
    a.set_repeat("child", kids);
    a
}

/// Scalar answers in a response, repeat instances included.
fn count_answers(answers: &Answers) -> usize {
    answers
        .iter()
        .map(|(_, answer)| match answer {
            sync_core::Answer::Value(_) => 1,
            sync_core::Answer::Repeat(items) => items.iter().map(count_answers).sum(),
        })
        .sum()
}

/// Create one response; returns its id and the index in [`LIKERT4`] of its
/// `feel_safe_day` answer (so that the write phase can always change it).
fn create_one(store: &mut Store, rng: &mut Rng, serial: usize) -> BenchResult<(Uuid, u8)> {
    let answers = household_response(rng, serial);
    let feel_safe = match answers.value(CHANGED_FIELD) {
        Some(sync_core::Value::Text(t)) => LIKERT4.iter().position(|c| c == t).unwrap_or(0) as u8,
        _ => 0,
    };
    let scope = scope(rng);
    let commit = Commit::new("worker-17", "Recorded household survey");
    let id = store.create(RecordKind::Response, scope, Some(form()), &answers, &commit)?;
    Ok((id, feel_safe))
}

// ---------------------------------------------------------------------------------
// Parent: phases 1 and 2, then a child per durability for phase 3, then the table

struct CreateResult {
    durability: Durability,
    latency: Summary,
    bytes: u64,
}

struct ChildResult {
    durability: Durability,
    summaries: BTreeMap<String, Summary>,
    values: BTreeMap<String, u64>,
}

impl ChildResult {
    fn summary(&self, label: &str) -> Summary {
        self.summaries.get(label).copied().unwrap_or_default()
    }

    fn value(&self, label: &str) -> u64 {
        self.values.get(label).copied().unwrap_or(0)
    }
}

fn parent_main() -> BenchResult<()> {
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
fn list_ids(db: &Path) -> BenchResult<Vec<Uuid>> {
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

/// What a create and a write are made of, each part timed alone: SQLite reads of
/// the filled file, and the in-memory document work.
fn components(db: &Path, ids: &[Uuid]) -> BenchResult<Vec<(String, Summary)>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut out = Vec::new();
    let mut scan = |label: &str, sql: &str| -> BenchResult<()> {
        let started = Instant::now();
        let mut stmt = conn.prepare(sql)?;
        let mut rows = stmt.query([])?;
        let mut bytes = 0usize;
        while let Some(row) = rows.next()? {
            bytes += row.get_ref(0)?.as_bytes().map_or(0, <[u8]>::len);
        }
        let elapsed = started.elapsed();
        progress(&format!("{label}: {} ({bytes} bytes)", ms(elapsed)));
        out.push((label.to_string(), Summary::of(&[elapsed])));
        Ok(())
    };
    scan(
        "scan every id (SQL, no parsing)",
        "SELECT id FROM records ORDER BY id",
    )?;
    scan(
        "scan every fields column (SQL, no parsing)",
        "SELECT fields FROM records ORDER BY id",
    )?;

    let count = ids.len().min(2_000);
    let mut rng = Rng(5);
    let mut parts: [Vec<Duration>; 7] = Default::default();
    let path = FieldPath::field(CHANGED_FIELD);
    let mut stmt = conn.prepare("SELECT snapshot FROM records WHERE id = ?1")?;
    for n in 0..count {
        let id = ids[rng.below(ids.len())].to_string();
        let started = Instant::now();
        let snapshot: Vec<u8> = stmt.query_row([&id], |r| r.get(0))?;
        parts[0].push(started.elapsed());

        let started = Instant::now();
        let mut doc = RecordDoc::load(&snapshot, std::iter::empty::<&[u8]>(), None)?;
        parts[1].push(started.elapsed());

        let started = Instant::now();
        let commit = Commit::new("worker-17", "Corrected feel_safe_day");
        let value = LIKERT4[n % LIKERT4.len()];
        doc.edit(&commit, |e| e.set(&path, value))?;
        parts[2].push(started.elapsed());

        let started = Instant::now();
        let json = serde_json::to_string(&doc.fields())?;
        parts[3].push(started.elapsed());
        std::hint::black_box(json);

        let started = Instant::now();
        std::hint::black_box(doc.save());
        parts[4].push(started.elapsed());

        let answers = household_response(&mut rng, n);
        let meta = RecordMeta {
            kind: RecordKind::Response,
            id: Uuid::new_v4(),
            scope: scope(&mut rng),
            form: Some(form()),
            created_by: "worker-17".into(),
            created_at: commit.time,
        };
        let started = Instant::now();
        let mut created = RecordDoc::create(meta, &answers, &commit, None)?;
        parts[5].push(started.elapsed());
        let started = Instant::now();
        std::hint::black_box(created.save());
        std::hint::black_box(created.changes_since(&[]));
        std::hint::black_box(serde_json::to_string(&created.fields())?);
        parts[6].push(started.elapsed());
    }
    let labels = [
        "write: read one snapshot row (SQLite, by id)",
        "write: decode the snapshot (RecordDoc::load)",
        "write: set one answer + commit (RecordDoc::edit)",
        "write: fields() + JSON for the fields column",
        "compaction: save a snapshot (RecordDoc::save)",
        "create: build the document (RecordDoc::create)",
        "create: save + changes_since + fields JSON",
    ];
    for (label, samples) in labels.iter().zip(&parts) {
        out.push((label.to_string(), Summary::of(samples)));
    }
    Ok(out)
}

/// Space in a store file: pages by table or index and page kind (SQLite's dbstat),
/// and the bytes of the large columns.
struct Space {
    /// Table or index (page kind): pages, bytes, payload bytes, unused bytes.
    pages: Vec<(String, u64, u64, u64, u64)>,
    /// Column: total bytes.
    columns: Vec<(String, u64)>,
}

fn space_breakdown(db: &Path) -> BenchResult<Space> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut pages = Vec::new();
    {
        let mut stmt = conn.prepare(
            "SELECT name, pagetype, count(*), sum(pgsize), sum(payload), sum(unused)
             FROM dbstat GROUP BY name, pagetype HAVING sum(pgsize) > 65536 ORDER BY 4 DESC",
        )?;
        let found = stmt.query_map([], |r| {
            let number = |i: usize| r.get::<_, i64>(i).map(|v| v as u64);
            Ok((
                format!("{} ({})", r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                number(2)?,
                number(3)?,
                number(4)?,
                number(5)?,
            ))
        })?;
        for row in found {
            pages.push(row?);
        }
    }
    let total = |sql: &str| {
        conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .map(|v| v.unwrap_or(0) as u64)
    };
    let columns = vec![
        (
            "records.snapshot".into(),
            total("SELECT sum(length(snapshot)) FROM records")?,
        ),
        (
            "records.fields (JSON)".into(),
            total("SELECT sum(length(fields)) FROM records")?,
        ),
        (
            "outbox.bytes".into(),
            total("SELECT sum(length(bytes)) FROM outbox")?,
        ),
    ];
    Ok(Space { pages, columns })
}

fn run_child(db: &Path, ids: &Path, durability: Durability) -> BenchResult<ChildResult> {
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

// ---------------------------------------------------------------------------------
// Child: open, then change one answer on records not in memory

fn child_main() -> BenchResult<()> {
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

// ---------------------------------------------------------------------------------
// The report

struct ReportInput<'a> {
    settings: &'a Settings,
    answers: (f64, usize, usize),
    creates: &'a [CreateResult],
    fill_time: Duration,
    filled_bytes: u64,
    breakdown: &'a Space,
    list_time: Duration,
    children: &'a [ChildResult],
    loads: &'a [(String, String)],
    components: &'a [(String, Summary)],
    probes: &'a [(String, Summary)],
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn print_report(r: &ReportInput<'_>) {
    let s = r.settings;
    let records = s.records.max(1) as u64;
    let (mean, min, max) = r.answers;
    println!();
    println!("## Device store benchmark");
    println!();
    println!("Machine: {}", machine());
    println!();
    let loads: Vec<String> = r
        .loads
        .iter()
        .map(|(at, load)| format!("{at}: {load}"))
        .collect();
    println!("Load average (1, 5, 15 min): {}", loads.join("; "));
    println!();
    println!(
        "records={} creates={} writes={} opens={}; responses hold {mean:.1} answers on average ({min}-{max}), 1-4 `child` instances",
        s.records, s.creates, s.writes, s.opens
    );
    println!();
    println!("| figure | durability | p50 | p99 | max | other |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for c in r.creates {
        println!(
            "| create + save one response (fresh store, {} creates) | {} | {} | {} | {} | {:.0} creates/s; {} over 2 ms; {} bytes/record on disk |",
            c.latency.n,
            durability_name(c.durability),
            ms(c.latency.p50),
            ms(c.latency.p99),
            ms(c.latency.max),
            c.latency.per_second(),
            c.latency.slow,
            c.bytes / c.latency.n.max(1) as u64
        );
    }
    println!(
        "| fill: {} creates, one record each | {} | | | | {:.1} s, {:.0} records/s; file {:.1} MiB, {} bytes/record |",
        s.records,
        durability_name(StoreOptions::default().durability),
        r.fill_time.as_secs_f64(),
        s.records as f64 / r.fill_time.as_secs_f64(),
        r.filled_bytes as f64 / 1048576.0,
        r.filled_bytes / records
    );
    println!(
        "| list every id (`Store::list`, pages of 1000) | | | | | {:.2} s |",
        r.list_time.as_secs_f64()
    );
    for c in r.children {
        let d = durability_name(c.durability);
        let open = c.summary("open");
        println!(
            "| `Store::open`, {} records (x{}) | {d} | {} | | {} | |",
            s.records,
            open.n,
            ms(open.p50),
            ms(open.max)
        );
        let write = c.summary("write");
        println!(
            "| change one answer, record not in memory (x{}) | {d} | {} | {} | {} | {:.0} writes/s; {} over 2 ms; {} made no change |",
            write.n,
            ms(write.p50),
            ms(write.p99),
            ms(write.max),
            write.per_second(),
            write.slow,
            c.value("unchanged_writes")
        );
        println!(
            "| resident memory after open + writes | {d} | | | | VmHWM {}, VmRSS {} (at process start: VmHWM {}) |",
            mib(c.value("hwm_kb")),
            mib(c.value("rss_kb")),
            mib(c.value("start_hwm_kb"))
        );
    }
    println!();
    println!("Disk, 4 KiB append + fdatasync (x200), what each `full` commit pays at least:");
    println!();
    println!("| when | p50 | p99 | max |");
    println!("| --- | --- | --- | --- |");
    for (when, x) in r.probes {
        println!("| {when} | {} | {} | {} |", ms(x.p50), ms(x.p99), ms(x.max));
    }
    println!();
    println!("Diagnostics (after the memory reading, same child processes):");
    println!();
    println!("| figure | durability | p50 | p99 | max | over 2 ms |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for c in r.children {
        let d = durability_name(c.durability);
        for (label, what) in [
            ("load_only", "load a record not in memory (no write)"),
            (
                "cached_write",
                "change one answer, record already in memory",
            ),
        ] {
            let x = c.summary(label);
            println!(
                "| {what} (x{}) | {d} | {} | {} | {} | {} |",
                x.n,
                ms(x.p50),
                ms(x.p99),
                ms(x.max),
                x.slow
            );
        }
        println!(
            "| close after the writes (WAL checkpoint) | {d} | {} | | | |",
            ms(Duration::from_nanos(c.value("close_ns")))
        );
    }
    println!();
    println!("Components, timed alone in the parent process (warm OS cache):");
    println!();
    println!("| part | n | p50 | p99 | max |");
    println!("| --- | --- | --- | --- | --- |");
    for (label, x) in r.components {
        println!(
            "| {label} | {} | {} | {} | {} |",
            x.n,
            ms(x.p50),
            ms(x.p99),
            ms(x.max)
        );
    }
    println!();
    println!("Space in the filled store ({} records):", s.records);
    println!();
    println!("| table or index (page kind) | pages | bytes | per record | payload | unused |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (part, pages, bytes, payload, unused) in &r.breakdown.pages {
        println!(
            "| {part} | {pages} | {bytes} | {} | {payload} | {unused} |",
            bytes / records
        );
    }
    println!();
    println!("| column | bytes | per record |");
    println!("| --- | --- | --- |");
    for (column, bytes) in &r.breakdown.columns {
        println!("| {column} | {bytes} | {} |", bytes / records);
    }
    println!();
    println!("Targets:");
    println!();
    println!("| target | measured | verdict |");
    println!("| --- | --- | --- |");
    for c in r.children {
        let d = durability_name(c.durability);
        let open = c.summary("open");
        let write = c.summary("write");
        let hwm = c.value("hwm_kb");
        println!(
            "| open under 200 ms ({d}) | median {}, max {} | {} |",
            ms(open.p50),
            ms(open.max),
            verdict(open.max < Duration::from_millis(200))
        );
        println!(
            "| answer write under 2 ms at p99 ({d}) | p99 {} | {} |",
            ms(write.p99),
            verdict(write.p99 < Duration::from_millis(2))
        );
        println!(
            "| under 64 MB resident, {} records stored ({d}) | VmHWM {} | {} |",
            s.records,
            mib(hwm),
            verdict(hwm * 1024 < 64 * 1_000_000)
        );
    }
}
