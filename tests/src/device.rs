//! Device stores and sync clients for scenarios.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use sync_core::store::RecordFilter;
use sync_core::sync::{
    CancellationToken, NoProgress, SyncClient, SyncConfig, SyncError, SyncReport,
};
use sync_core::{Commit, FormRef, RecordKind, RecordSummary, Scope, Store, StoreOptions};

use crate::household_survey_answers;

/// Open a device store (a real SQLite file) at `dir/name.db`.
pub fn device(dir: &Path, name: &str) -> Mutex<Store> {
    let options = StoreOptions {
        durability: sync_core::Durability::Normal,
        ..StoreOptions::default()
    };
    Mutex::new(Store::open_with(dir.join(format!("{name}.db")), options).unwrap())
}

/// A sync configuration for tests: quick retries.
pub fn test_config() -> SyncConfig {
    SyncConfig {
        attempts: 4,
        backoff: Duration::from_millis(50),
        request_timeout: Duration::from_secs(30),
        ..SyncConfig::default()
    }
}

/// Sync a store once with the default test configuration.
pub async fn sync(store: &Mutex<Store>, url: &str, token: &str) -> Result<SyncReport, SyncError> {
    let client = SyncClient::new(url, token, test_config())?;
    client
        .sync(store, &NoProgress, &CancellationToken::new())
        .await
}

/// Every record in a store, in id order.
pub fn all_records(store: &Mutex<Store>) -> Vec<RecordSummary> {
    let store = store.lock().unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list(&RecordFilter {
                after,
                limit: 1000,
                ..RecordFilter::default()
            })
            .unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.meta.id);
        out.extend(page);
    }
    out
}

/// Record household-survey responses offline, one per seed (see
/// [`household_survey_answers`]), in `scope`; their ids.
pub fn create_responses(
    store: &Mutex<Store>,
    seeds: std::ops::Range<u64>,
    scope: &Scope,
) -> Vec<uuid::Uuid> {
    let mut store = store.lock().unwrap();
    let form = Some(FormRef {
        id: "household_survey".into(),
        version: 1,
    });
    seeds
        .map(|seed| {
            store
                .create(
                    RecordKind::Response,
                    scope.clone(),
                    form.clone(),
                    &household_survey_answers(seed),
                    &Commit::new("w1", "Survey"),
                )
                .unwrap()
        })
        .collect()
}
