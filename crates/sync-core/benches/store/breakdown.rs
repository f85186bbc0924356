//! What the filled store is made of: each part of a create and a write timed alone
//! (SQLite reads and document work), and where the bytes go (SQLite's dbstat).

use std::path::Path;
use std::time::{Duration, Instant};

use sync_core::record::FieldPath;
use sync_core::{Commit, RecordDoc, RecordKind, RecordMeta};
use uuid::Uuid;

use crate::data::{form, household_response, scope};
use crate::measure::{ms, progress, Rng, Summary};
use crate::{BenchResult, CHANGED_FIELD, LIKERT4};

/// What a create and a write are made of, each part timed alone: SQLite reads of
/// the filled file, and the in-memory document work.
pub(crate) fn components(db: &Path, ids: &[Uuid]) -> BenchResult<Vec<(String, Summary)>> {
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
pub(crate) struct Space {
    /// Table or index (page kind): pages, bytes, payload bytes, unused bytes.
    pub(crate) pages: Vec<(String, u64, u64, u64, u64)>,
    /// Column: total bytes.
    pub(crate) columns: Vec<(String, u64)>,
}

pub(crate) fn space_breakdown(db: &Path) -> BenchResult<Space> {
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
