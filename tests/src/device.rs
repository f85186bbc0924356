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
use crate::server::{create_user, read_json};

/// A device signed in: its token, and its user's id, the author every change the
/// device pushes must name (the server refuses a change authored as anyone else).
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The device's bearer token.
    pub token: String,
    /// The user's id.
    pub user_id: String,
}

/// Sign in on a device named `device`: its token and the user's id.
pub async fn sign_in(base: &str, username: &str, password: &str, device: &str) -> SignedIn {
    let response = reqwest::Client::new()
        .post(format!("{base}/v1/auth/token"))
        .json(&serde_json::json!({
            "v": 1, "username": username, "password": password, "device_name": device
        }))
        .send()
        .await
        .unwrap();
    let answer = read_json(response).await;
    let field = |name: &str| {
        answer[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name}: {answer}"))
            .to_string()
    };
    SignedIn {
        token: field("token"),
        user_id: field("user_id"),
    }
}

/// Sign in a user made by [`create_user`] (password `{username}-password`) on a
/// device named `device`.
pub async fn device_sign_in(base: &str, username: &str, device: &str) -> SignedIn {
    sign_in(base, username, &format!("{username}-password"), device).await
}

/// Create a user (as admin) and sign a phone in for them, as
/// [`crate::server::user_with_token`] does, with the user's id beside the token.
pub async fn user_signed_in(
    base: &str,
    username: &str,
    role: &str,
    scope: serde_json::Value,
) -> SignedIn {
    create_user(base, username, role, scope).await;
    device_sign_in(base, username, &format!("{username}'s phone")).await
}

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
/// [`household_survey_answers`]), in `scope`, as the user `by` (a user id: the
/// user whose device will push them); their ids.
pub fn create_responses(
    store: &Mutex<Store>,
    seeds: std::ops::Range<u64>,
    scope: &Scope,
    by: &str,
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
                    &Commit::new(by, "Survey"),
                )
                .unwrap()
        })
        .collect()
}
