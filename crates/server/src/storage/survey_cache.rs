//! The survey indicators' input, kept in memory: every finalized household-survey
//! response's children, digested ([`indicators::ChildFacts`]), with the response's
//! scope and year. A page then counts bits over a hundred thousand responses in
//! milliseconds instead of parsing every response's answers again.
//!
//! The cache knows the feed's last sequence number it has seen. Before each use it
//! asks for the feed's high-water mark (one row: cheap); when they differ it re-reads
//! only the records the new changes and tombstones touched, so a push or a purge on
//! any server node reaches every node's cache. The first use reads every
//! household-survey response once.

use std::collections::HashMap;
use std::sync::Arc;

use indicators::{ChildFacts, Digester};
use sync_core::Scope;

use super::sql::{args, Row, Sql};
use super::{lock, Storage, StorageError};

/// The form the survey indicators read.
pub const SURVEY_FORM: &str = "household_survey";

/// Past this many touched records a refresh reads everything again.
const FULL_READ_OVER: usize = 20_000;

/// One finalized response: where, when, and its children digested.
#[derive(Debug, Clone)]
struct Cached {
    scope: Scope,
    year: i32,
    children: Arc<[ChildFacts]>,
}

/// The cache (behind the storage's mutex).
#[derive(Debug, Default)]
pub(super) struct SurveyCache {
    /// The last log sequence number folded in; `None` before the first read.
    seq: Option<i64>,
    responses: HashMap<String, Cached>,
    digester: Digester,
}

/// The children of the finalized responses a caller may see, by response.
#[derive(Debug, Clone, Default)]
pub struct SurveyFacts {
    /// (the response's year, its children), one per response.
    pub responses: Vec<(i32, Arc<[ChildFacts]>)>,
}

impl SurveyFacts {
    /// The years that have responses, oldest first.
    pub fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self.responses.iter().map(|(y, _)| *y).collect();
        years.sort_unstable();
        years.dedup();
        years
    }

    /// The children of one year's responses.
    pub fn children_in(&self, year: i32) -> impl Iterator<Item = &ChildFacts> + Clone {
        self.responses
            .iter()
            .filter(move |(y, _)| *y == year)
            .flat_map(|(_, children)| children.iter())
    }
}

impl Storage {
    /// The digested children of every finalized household-survey response within
    /// `scope` (all for `None`), with each response's year.
    pub fn survey_facts(&self, scope: Option<&Scope>) -> Result<SurveyFacts, StorageError> {
        let mut cache = lock(&self.inner.survey);
        self.with_sql(|c| refresh(c, &mut cache))?;
        let responses = cache
            .responses
            .values()
            .filter(|r| scope.is_none_or(|s| s.contains(&r.scope)))
            .map(|r| (r.year, r.children.clone()))
            .collect();
        Ok(SurveyFacts { responses })
    }
}

fn refresh(conn: &dyn Sql, cache: &mut SurveyCache) -> Result<(), StorageError> {
    let newest: i64 = conn
        .row(conn.dialect().high_water_sql(), &[])?
        .map_or(Ok(0), |r| r.get(0))?;
    match cache.seq {
        Some(seen) if seen == newest => return Ok(()),
        Some(seen) if seen < newest => {
            let touched = touched_since(conn, seen)?;
            if touched.len() <= FULL_READ_OVER {
                let one = final_responses(conn, " AND id = ?2");
                for id in touched {
                    let row = conn.row(&one, &args![SURVEY_FORM, id.as_str()])?;
                    let read = row.map(|r| from_row(r, &mut cache.digester)).transpose()?;
                    match read {
                        Some((_, cached)) => cache.responses.insert(id, cached),
                        None => cache.responses.remove(&id),
                    };
                }
                cache.seq = Some(newest);
                return Ok(());
            }
        }
        _ => {}
    }
    cache.responses.clear();
    read_all(conn, cache)?;
    cache.seq = Some(newest);
    Ok(())
}

/// The records changed or purged after `seq`: a purge on another server node shows
/// here by its tombstones.
fn touched_since(conn: &dyn Sql, seq: i64) -> Result<Vec<String>, StorageError> {
    conn.rows(
        "SELECT record_id FROM changes WHERE seq > ?1
         UNION SELECT record_id FROM tombstones WHERE seq > ?1",
        &args![seq],
    )?
    .iter()
    .map(|r| r.get(0))
    .collect()
}

const COLUMNS: &str =
    "id, fields, created_at, partnership, organization, neighborhood, family, program";

fn from_row(mut row: Row, digester: &mut Digester) -> Result<(String, Cached), StorageError> {
    let id: String = row.get(0)?;
    let fields = row.take_text(1)?;
    let created_at: i64 = row.get(2)?;
    let scope = row.scope(3)?;
    let answers: forms::Answers = serde_json::from_str(&fields)
        .map_err(|e| StorageError::Corrupt(format!("fields of record {id}: {e}")))?;
    let children: Vec<ChildFacts> = indicators::children(&answers, scope.neighborhood.as_deref())
        .iter()
        .map(|child| digester.digest(child))
        .collect();
    let year = chrono::DateTime::from_timestamp(created_at, 0)
        .map_or(1970, |t| chrono::Datelike::year(&t));
    Ok((
        id,
        Cached {
            scope,
            year,
            children: children.into(),
        },
    ))
}

/// The finalized household-survey responses' query, with `more` conditions.
fn final_responses(conn: &dyn Sql, more: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM records WHERE kind = 'response' AND form_id = ?1
           AND {} = 'final'{more}",
        conn.dialect().json_text("fields", "_status")
    )
}

fn read_all(conn: &dyn Sql, cache: &mut SurveyCache) -> Result<(), StorageError> {
    conn.each(
        &final_responses(conn, ""),
        &args![SURVEY_FORM],
        &mut |row| {
            let (id, cached) = from_row(row, &mut cache.digester)?;
            cache.responses.insert(id, cached);
            Ok(())
        },
    )
}
