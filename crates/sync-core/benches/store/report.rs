//! The report: the Markdown tables printed at the end of a run.

use std::time::Duration;

use sync_core::StoreOptions;

use crate::breakdown::Space;
use crate::measure::{machine, mib, ms, Summary};
use crate::parent::{ChildResult, CreateResult};
use crate::{durability_name, Settings};

pub(crate) struct ReportInput<'a> {
    pub(crate) settings: &'a Settings,
    pub(crate) answers: (f64, usize, usize),
    pub(crate) creates: &'a [CreateResult],
    pub(crate) fill_time: Duration,
    pub(crate) filled_bytes: u64,
    pub(crate) breakdown: &'a Space,
    pub(crate) list_time: Duration,
    pub(crate) children: &'a [ChildResult],
    pub(crate) loads: &'a [(String, String)],
    pub(crate) components: &'a [(String, Summary)],
    pub(crate) probes: &'a [(String, Summary)],
}

pub(crate) fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

pub(crate) fn print_report(r: &ReportInput<'_>) {
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
