//! The indicators an administrator put on the public community scorecard: a row of
//! `public_indicators` means "on the scorecard". What the page shows of them is
//! `crate::scorecard`'s; here is only which ones.

use super::audit::{log, Act};
use super::sql::args;
use super::{Storage, StorageError};

impl Storage {
    /// The ids of the indicators on the public scorecard, sorted.
    pub fn public_indicators(&self) -> Result<Vec<String>, StorageError> {
        self.with_sql(|sql| {
            sql.rows(
                "SELECT indicator FROM public_indicators ORDER BY indicator",
                &[],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect()
        })
    }

    /// Put exactly `ids` on the public scorecard (and take every other indicator off),
    /// in one transaction with the act's audit line. An id the pages do not know is
    /// refused, and nothing changes. An indicator that stays on keeps who turned it on
    /// and when.
    pub fn set_public_indicators(&self, ids: &[String], act: &Act<'_>) -> Result<(), StorageError> {
        if let Some(unknown) = ids
            .iter()
            .find(|id| crate::curves::find_indicator(id).is_none())
        {
            return Err(StorageError::Invalid(format!(
                "there is no indicator `{unknown}`"
            )));
        }
        let mut wanted: Vec<&str> = ids.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let at = self.clock().now();
        self.transact(|sql| {
            let current: Vec<String> = sql
                .rows("SELECT indicator FROM public_indicators", &[])?
                .iter()
                .map(|r| r.get(0))
                .collect::<Result<_, StorageError>>()?;
            for id in current.iter().filter(|c| !wanted.contains(&c.as_str())) {
                sql.execute(
                    "DELETE FROM public_indicators WHERE indicator = ?1",
                    &args![id.as_str()],
                )?;
            }
            for id in &wanted {
                sql.execute(
                    "INSERT INTO public_indicators (indicator, enabled_by, enabled_at)
                     VALUES (?1, ?2, ?3) ON CONFLICT (indicator) DO NOTHING",
                    &args![*id, act.actor.user_id.as_str(), at],
                )?;
            }
            log(sql, act, at)
        })
    }
}
