//! Form versions fetched from the server (published after the app was built), kept so
//! a response started on one can be finished on it offline.

use rusqlite::params;

use super::Store;
use crate::error::Result;

/// A form definition as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredForm {
    /// The form id.
    pub id: String,
    /// Its version.
    pub version: u32,
    /// The definition as JSON (`forms::Form`'s layout).
    pub definition: String,
}

impl Store {
    /// Keep fetched form versions, all or none (one durable transaction). A version
    /// already held is left as it is: a published version never changes.
    pub fn save_forms(&mut self, forms: &[StoredForm]) -> Result<()> {
        let time = chrono::Utc::now().timestamp();
        self.durably(|store| {
            let tx = store.conn.transaction()?;
            {
                let mut insert = tx.prepare(
                    "INSERT OR IGNORE INTO forms (id, version, definition, received_at)
                     VALUES (?1, ?2, ?3, ?4)",
                )?;
                for f in forms {
                    insert.execute(params![f.id, f.version, f.definition, time])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Every fetched form version, by id then version.
    pub fn stored_forms(&self) -> Result<Vec<StoredForm>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, version, definition FROM forms ORDER BY id, version")?;
        let rows = stmt.query_map([], |r| {
            Ok(StoredForm {
                id: r.get(0)?,
                version: r.get(1)?,
                definition: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetched_forms_are_kept_once_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("device.db");
        let form = |version: u32, text: &str| StoredForm {
            id: "survey".into(),
            version,
            definition: text.into(),
        };
        {
            let mut store = Store::open(&path).unwrap();
            assert!(store.stored_forms().unwrap().is_empty());
            store
                .save_forms(&[form(2, "{v2}"), form(1, "{v1}")])
                .unwrap();
            // A version already held does not change.
            store.save_forms(&[form(2, "{other}")]).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.stored_forms().unwrap(),
            vec![form(1, "{v1}"), form(2, "{v2}")]
        );
    }
}
