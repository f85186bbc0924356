//! `/v1/sync/*`: push, pull, repair.

use axum::extract::State;
use std::time::Duration;

use sync_core::protocol::{
    PullRequest, PushRequest, PushResponse, PushStatus, RepairRequest, RepairResponse,
    MAX_PULL_WAIT_MS, MAX_PUSH_CHANGES, MAX_REPAIR_RECORDS, PROTOCOL_VERSION,
};

use super::blocking;
use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{GzReady, Msg, Syncer};

/// Take a batch of changes: one result per change, in order.
pub async fn push(
    State(state): State<AppState>,
    Syncer(caller): Syncer,
    Msg(req): Msg<PushRequest>,
) -> Result<GzReady, ApiError> {
    if req.changes.len() > MAX_PUSH_CHANGES {
        return Err(ApiError::too_large(format!(
            "{} changes in one push; at most {MAX_PUSH_CHANGES}",
            req.changes.len()
        )));
    }
    let storage = state.storage.clone();
    let who = caller.clone();
    let results = blocking(move || storage.push(&who, req.changes)).await?;
    let count = |s: PushStatus| results.iter().filter(|r| r.status == s).count();
    tracing::info!(
        user = %caller.user_id,
        device = %caller.device_id,
        accepted = count(PushStatus::Accepted),
        already_had = count(PushStatus::AlreadyHad),
        rejected = count(PushStatus::Rejected),
        "push"
    );
    GzReady::encode(PushResponse {
        v: PROTOCOL_VERSION,
        results,
    })
    .await
}

/// One page of the feed after the cursor; with `wait_ms` and nothing new, the answer
/// waits for the next commit (or the timeout, or the server's shutdown).
pub async fn pull(
    State(state): State<AppState>,
    Syncer(caller): Syncer,
    Msg(req): Msg<PullRequest>,
) -> Result<GzReady, ApiError> {
    let storage = state.storage.clone();
    let actor = match req.actor.as_deref() {
        None => None,
        Some(hex) => Some(parse_actor(hex).ok_or_else(|| {
            ApiError::bad_message("`actor` must be an Automerge actor id in hex (1-64 bytes)")
        })?),
    };
    // Subscribed before the read: a change that commits after it wakes the wait.
    let mut marks = storage.feed_watch();
    let wait = req
        .wait_ms
        .map(|ms| Duration::from_millis(u64::from(ms.min(MAX_PULL_WAIT_MS))));
    let read = move || {
        let (storage, caller, req, actor) =
            (storage.clone(), caller.clone(), req.clone(), actor.clone());
        blocking(move || {
            storage.pull(
                &caller,
                req.cursor.as_deref(),
                req.limit,
                req.max_bytes,
                actor.as_deref(),
            )
        })
    };
    let page = read().await?;
    let nothing = page.changes.is_empty() && page.tombstones.is_empty() && !page.more;
    let Some(wait) = wait.filter(|_| nothing) else {
        return GzReady::encode(page).await;
    };
    if marks.borrow().closing {
        return GzReady::encode(page).await;
    }
    match tokio::time::timeout(wait, marks.changed()).await {
        // A commit moved the feed (or the server is closing): read again.
        Ok(Ok(())) if !marks.borrow().closing => GzReady::encode(read().await?).await,
        _ => GzReady::encode(page).await,
    }
}

/// An actor id from its hex text: 1 to 64 bytes.
fn parse_actor(text: &str) -> Option<Vec<u8>> {
    let bytes = hex::decode(text).ok()?;
    (1..=64).contains(&bytes.len()).then_some(bytes)
}

/// The server's heads of the records asked about.
pub async fn repair(
    State(state): State<AppState>,
    Syncer(caller): Syncer,
    Msg(req): Msg<RepairRequest>,
) -> Result<GzReady, ApiError> {
    if req.records.len() > MAX_REPAIR_RECORDS {
        return Err(ApiError::too_large(format!(
            "{} records in one repair request; at most {MAX_REPAIR_RECORDS}",
            req.records.len()
        )));
    }
    let storage = state.storage.clone();
    let records = blocking(move || storage.repair(&caller, &req.records)).await?;
    GzReady::encode(RepairResponse {
        v: PROTOCOL_VERSION,
        records,
    })
    .await
}
