//! Measurement helpers: the deterministic generator, latency summaries, and
//! readings of this process, the disk and the machine (`/proc`, file sizes, fsync).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::BenchResult;

/// A deterministic generator (splitmix64): the same data on every run.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub(crate) fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Latency figures of one measured loop.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Summary {
    pub(crate) n: usize,
    pub(crate) total: Duration,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) max: Duration,
    /// Samples over [`SLOW`].
    pub(crate) slow: usize,
}

/// The write target: what counts as a slow sample.
pub(crate) const SLOW: Duration = Duration::from_millis(2);

impl Summary {
    /// Nearest-rank percentiles of the samples.
    pub(crate) fn of(samples: &[Duration]) -> Self {
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

    pub(crate) fn per_second(&self) -> f64 {
        self.n as f64 / self.total.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// One line for the child's report to its parent.
    pub(crate) fn encode(&self, label: &str) -> String {
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

    pub(crate) fn decode(fields: &[&str]) -> Option<Self> {
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

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

/// Peak and current resident memory of this process, in kB (VmHWM, VmRSS).
pub(crate) fn memory_kb() -> (u64, u64) {
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

pub(crate) fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

/// Bytes of the store file and its WAL and shared-memory files.
pub(crate) fn store_bytes(db: &Path) -> u64 {
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

pub(crate) fn progress(line: &str) {
    eprintln!("[store bench] {line}");
}

/// How long the disk takes to make a small write durable right now: 200 appends of
/// 4 KiB, each followed by `fdatasync`. The machine is shared, and every
/// `Durability::Full` commit pays this once.
pub(crate) fn fsync_probe(dir: &Path) -> BenchResult<Summary> {
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
pub(crate) fn loadavg() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cores, CPU model and memory of this machine.
pub(crate) fn machine() -> String {
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
