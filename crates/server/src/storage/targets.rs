//! What backbone staff set beside the data: each indicator's baseline and yearly
//! targets, the administrative indicators' uploaded rows, and the smallest cell the
//! pages show.

use std::collections::{BTreeMap, HashMap};

use indicators::AggregateRow;

use super::sql::args;
use super::{now, settings, Storage, StorageError};

/// The smallest n a page shows when nobody has set one (the common state rule).
pub const DEFAULT_MIN_CELL: u64 = 10;

/// An indicator's baseline and targets, in percent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Targets {
    /// The baseline's year and value.
    pub baseline: Option<(i32, f64)>,
    /// The target for each year.
    pub by_year: BTreeMap<i32, f64>,
    /// Who set them last (a user name).
    pub updated_by: String,
    /// When, unix seconds.
    pub updated_at: i64,
}

impl Targets {
    /// The baseline and targets as the curves read them: which target holds for a year
    /// is [`indicators::trend::Targets::for_year`]'s rule, the one rule every page
    /// uses.
    pub fn trend(&self) -> indicators::trend::Targets {
        indicators::trend::Targets {
            baseline: self
                .baseline
                .map(|(year, value)| indicators::trend::Baseline { year, value }),
            by_year: self.by_year.clone(),
        }
    }
}

impl Storage {
    /// Every indicator's baseline and targets, by indicator id.
    pub fn targets(&self) -> Result<HashMap<String, Targets>, StorageError> {
        self.with_sql(|c| {
            let mut all = HashMap::new();
            for r in c.rows(
                "SELECT indicator, baseline_year, baseline_value, targets, updated_by, updated_at
                 FROM indicator_targets",
                &[],
            )? {
                let id: String = r.get(0)?;
                let year: Option<i32> = r.get(1)?;
                let value: Option<f64> = r.get(2)?;
                let json: String = r.get(3)?;
                let by_year = serde_json::from_str(&json)
                    .map_err(|e| StorageError::Corrupt(format!("targets of {id}: {e}")))?;
                all.insert(
                    id,
                    Targets {
                        baseline: year.zip(value),
                        by_year,
                        updated_by: r.get(4)?,
                        updated_at: r.get(5)?,
                    },
                );
            }
            Ok(all)
        })
    }

    /// Set an indicator's baseline and targets (percentages from 0 to 100).
    pub fn set_targets(
        &self,
        indicator: &str,
        targets: &Targets,
        by: &str,
    ) -> Result<(), StorageError> {
        let values = targets
            .baseline
            .iter()
            .map(|(_, v)| v)
            .chain(targets.by_year.values());
        if values.into_iter().any(|v| !(0.0..=100.0).contains(v)) {
            return Err(StorageError::Invalid(
                "baselines and targets are percentages from 0 to 100".into(),
            ));
        }
        let json = serde_json::to_string(&targets.by_year)
            .map_err(|e| StorageError::Invalid(e.to_string()))?;
        self.transact(|tx| {
            tx.execute(
                "INSERT INTO indicator_targets
                     (indicator, baseline_year, baseline_value, targets, updated_by, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (indicator) DO UPDATE SET
                     baseline_year = excluded.baseline_year,
                     baseline_value = excluded.baseline_value,
                     targets = excluded.targets, updated_by = excluded.updated_by,
                     updated_at = excluded.updated_at",
                &args![
                    indicator,
                    targets.baseline.map(|b| b.0),
                    targets.baseline.map(|b| b.1),
                    json.as_str(),
                    by,
                    now()
                ],
            )?;
            Ok(())
        })
    }

    /// The uploaded rows of an administrative indicator, every year.
    pub fn aggregate_rows(&self, indicator: &str) -> Result<Vec<AggregateRow>, StorageError> {
        self.with_sql(|c| {
            c.rows(
                "SELECT indicator, year, grouping, category, numerator, denominator
                 FROM aggregate_rows WHERE indicator = ?1 ORDER BY year, grouping, category",
                &args![indicator],
            )?
            .iter()
            .map(|r| {
                Ok(AggregateRow {
                    indicator: r.get(0)?,
                    year: r.get(1)?,
                    group: r.get(2)?,
                    category: r.get(3)?,
                    numerator: r.get::<i64>(4)?.max(0) as u64,
                    denominator: r.get::<i64>(5)?.max(0) as u64,
                })
            })
            .collect()
        })
    }

    /// Take an uploaded file's rows: for each (indicator, year) the file holds, its rows
    /// replace the stored ones, in one transaction. Returns how many (indicator, year)
    /// pairs were replaced.
    pub fn replace_aggregates(
        &self,
        rows: &[AggregateRow],
        by: &str,
    ) -> Result<usize, StorageError> {
        let mut pairs: Vec<(&str, i32)> = rows
            .iter()
            .map(|r| (r.indicator.as_str(), r.year))
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let time = now();
        self.transact(|tx| {
            for (indicator, year) in &pairs {
                tx.execute(
                    "DELETE FROM aggregate_rows WHERE indicator = ?1 AND year = ?2",
                    &args![*indicator, *year],
                )?;
            }
            for r in rows {
                tx.execute(
                    "INSERT INTO aggregate_rows
                         (indicator, year, grouping, category, numerator, denominator,
                          uploaded_by, uploaded_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    &args![
                        &r.indicator,
                        r.year,
                        &r.group,
                        &r.category,
                        r.numerator as i64,
                        r.denominator as i64,
                        by,
                        time
                    ],
                )?;
            }
            Ok(pairs.len())
        })
    }

    /// The smallest n the pages show.
    pub fn min_cell(&self) -> Result<u64, StorageError> {
        self.with_sql(|c| {
            Ok(settings::get(c, "min_cell")?
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_MIN_CELL))
        })
    }

    /// Set the smallest n the pages show (1 to 100).
    pub fn set_min_cell(&self, n: u64) -> Result<(), StorageError> {
        if !(1..=100).contains(&n) {
            return Err(StorageError::Invalid(
                "the smallest cell shown is between 1 and 100".into(),
            ));
        }
        self.transact(|tx| settings::set(tx, "min_cell", &n.to_string()))
    }
}
