//! [`SyncClient`]: one device's sync with the server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use automerge::{Change, ChangeHash};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::http::Transport;
use super::{SyncError, SyncObserver, SyncPhase, SyncProgress};
use crate::protocol::{
    Bytes, PullRequest, PullResponse, PushRequest, PushResponse, PushStatus, PushedChange,
    RecordHeads, RepairRequest, RepairResponse, PROTOCOL_VERSION,
};
use crate::store::Store;

/// Tuning for sync. The defaults suit a phone on a poor connection.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Changes per push request.
    pub push_batch: usize,
    /// Items per pull page.
    pub pull_limit: u32,
    /// Change bytes per pull page.
    pub pull_max_bytes: u64,
    /// Attempts per request before giving up.
    pub attempts: u32,
    /// First backoff delay; doubles with each retry.
    pub backoff: Duration,
    /// Time limit of one request.
    pub request_timeout: Duration,
    /// Time limit to connect.
    pub connect_timeout: Duration,
    /// Bytes per attachment chunk (at most the protocol's 4 MiB): a cut connection
    /// costs at most one chunk sent again.
    pub attachment_chunk: usize,
    /// Certificate authorities to trust beside Mozilla's roots, as PEM text (one or
    /// more `CERTIFICATE` blocks): a partnership's own CA, or a test's.
    pub extra_root_certificates_pem: Option<String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            push_batch: 500,
            pull_limit: 1_000,
            pull_max_bytes: 2 * 1024 * 1024,
            attempts: 5,
            backoff: Duration::from_millis(250),
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            attachment_chunk: 1024 * 1024,
            extra_root_certificates_pem: None,
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Changes the server accepted or already had.
    pub pushed: u64,
    /// Changes the server refused (now in quarantine).
    pub rejected: u64,
    /// Why: each record with a refused change and the server's reason, once per
    /// record and reason, in the order refused.
    pub refusals: Vec<(Uuid, String)>,
    /// Changes received that were new to this device.
    pub pulled: u64,
    /// Records removed by tombstones.
    pub removed: u64,
    /// Bytes sent and received (HTTP bodies).
    pub bytes: u64,
    /// Whether the repair path ran.
    pub repaired: bool,
    /// Attachments the server now holds whole (sent now, or found there).
    pub attachments_uploaded: u64,
    /// Attachment bytes sent (chunks only; also counted in `bytes`).
    pub attachment_bytes: u64,
    /// Attachments the server refused (too large, out of scope); they stay on the
    /// device and are tried again at the next sync.
    pub attachments_refused: u64,
    /// Form versions fetched (published on the server since the last sync).
    pub forms_received: u64,
}

/// The HTTP client natively: rustls on ring with the config's roots and time limits.
#[cfg(not(target_arch = "wasm32"))]
fn http_client(config: &SyncConfig) -> Result<reqwest::Client, SyncError> {
    let tls = super::tls::client_config(config.extra_root_certificates_pem.as_deref())?;
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        .build()
        .map_err(|e| SyncError::Protocol(format!("HTTP client: {e}")))
}

/// The HTTP client in the browser: its fetch, which does TLS with the browser's own
/// roots (extra roots cannot be given to it) and has no connect timeout of its own
/// (the request timeout, set per request, bounds the connection too).
#[cfg(target_arch = "wasm32")]
fn http_client(config: &SyncConfig) -> Result<reqwest::Client, SyncError> {
    if config.extra_root_certificates_pem.is_some() {
        return Err(SyncError::Protocol(
            "extra root certificates cannot be given to the browser: it trusts its own".into(),
        ));
    }
    reqwest::Client::builder()
        .build()
        .map_err(|e| SyncError::Protocol(format!("HTTP client: {e}")))
}

/// A page of the feed being fetched in the background: a tokio task natively; in the
/// browser a future run by `spawn_local`, its answer sent back on a channel.
#[cfg(not(target_arch = "wasm32"))]
type PageFetch = tokio::task::JoinHandle<Result<(PullResponse, u64), SyncError>>;
#[cfg(target_arch = "wasm32")]
type PageFetch = tokio::sync::oneshot::Receiver<Result<(PullResponse, u64), SyncError>>;

/// A device's connection to the server.
#[derive(Debug, Clone)]
pub struct SyncClient {
    pub(super) transport: Transport,
    pub(super) config: SyncConfig,
}

pub(super) struct Run<'a> {
    store: &'a Mutex<Store>,
    observer: &'a dyn SyncObserver,
    pub(super) cancel: &'a CancellationToken,
    pub(super) report: SyncReport,
}

impl Run<'_> {
    pub(super) fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave SQLite half-written (every write
        // is a transaction), so a poisoned lock is safe to use.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn progress(
        &self,
        phase: SyncPhase,
        items_done: u64,
        items_total: u64,
        bytes_total: u64,
    ) {
        self.observer.on_progress(SyncProgress {
            phase,
            items_done,
            items_total,
            bytes_done: self.report.bytes,
            bytes_total: bytes_total.max(self.report.bytes),
        });
    }

    pub(super) fn check_cancel(&self) -> Result<(), SyncError> {
        if self.cancel.is_cancelled() {
            Err(SyncError::Cancelled)
        } else {
            Ok(())
        }
    }
}

impl SyncClient {
    /// A client for the server at `base_url` (`https://host`, or `http://host:port`)
    /// with a device token. HTTPS trusts Mozilla's roots and the config's
    /// [`SyncConfig::extra_root_certificates_pem`]; a server whose certificate is not
    /// trusted fails the request at once (as [`SyncError::Offline`]: a captive portal
    /// looks the same), with no retry.
    pub fn new(
        base_url: impl Into<String>,
        token: impl Into<String>,
        config: SyncConfig,
    ) -> Result<Self, SyncError> {
        let http = http_client(&config)?;
        Ok(SyncClient {
            transport: Transport {
                base_url: base_url.into(),
                token: token.into(),
                http,
                attempts: config.attempts,
                backoff: config.backoff,
                #[cfg(target_arch = "wasm32")]
                request_timeout: config.request_timeout,
            },
            config,
        })
    }

    /// Sign a device in with a user's name and password (`POST /v1/auth/token`): the
    /// answer carries the device's token, the user's role and scope. Make this client
    /// with an empty token.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        device_name: &str,
        cancel: &CancellationToken,
    ) -> Result<crate::protocol::TokenResponse, SyncError> {
        let request = crate::protocol::TokenRequest {
            v: PROTOCOL_VERSION,
            username: username.into(),
            password: password.into(),
            device_name: device_name.into(),
        };
        let (answer, _) = self
            .transport
            .post("/v1/auth/token", &request, cancel)
            .await?;
        Ok(answer)
    }

    /// Enroll this device with a one-time code (from the staff users page) instead of
    /// a password.
    pub async fn enroll(
        &self,
        code: &str,
        device_name: &str,
        cancel: &CancellationToken,
    ) -> Result<crate::protocol::TokenResponse, SyncError> {
        let request = crate::protocol::EnrollRequest {
            v: PROTOCOL_VERSION,
            code: code.into(),
            device_name: device_name.into(),
        };
        let (answer, _) = self
            .transport
            .post("/v1/auth/enroll", &request, cancel)
            .await?;
        Ok(answer)
    }

    /// Push the outbox, upload pending attachments (record data first: it is small and
    /// matters most), then pull until caught up.
    pub async fn sync(
        &self,
        store: &Mutex<Store>,
        observer: &dyn SyncObserver,
        cancel: &CancellationToken,
    ) -> Result<SyncReport, SyncError> {
        let mut run = Run {
            store,
            observer,
            cancel,
            report: SyncReport::default(),
        };
        self.push(&mut run).await?;
        self.upload_attachments(&mut run).await?;
        match self.pull_phase(&mut run, SyncPhase::Pull).await {
            Err(SyncError::Refused {
                status: 409, code, ..
            }) if code == "unknown_cursor" => {
                self.repair(&mut run).await?;
            }
            other => other?,
        }
        self.fetch_forms(&mut run).await?;
        Ok(run.report)
    }

    async fn push(&self, run: &mut Run<'_>) -> Result<(), SyncError> {
        let (total, total_bytes) = run.store().outbox_size()?;
        let (total, bytes_total) = (total as u64, run.report.bytes + total_bytes as u64);
        let mut done = 0;
        run.progress(SyncPhase::Push, 0, total, bytes_total);
        loop {
            run.check_cancel()?;
            let batch = run.store().outbox(self.config.push_batch)?;
            if batch.is_empty() {
                return Ok(());
            }
            let request = PushRequest {
                v: PROTOCOL_VERSION,
                changes: batch
                    .iter()
                    .map(|item| PushedChange {
                        record: item.record_id,
                        change: Bytes(item.bytes.clone()),
                    })
                    .collect(),
            };
            let (response, bytes): (PushResponse, u64) = self
                .transport
                .post("/v1/sync/push", &request, run.cancel)
                .await?;
            run.report.bytes += bytes;
            if response.results.len() != batch.len() {
                return Err(SyncError::Protocol(format!(
                    "{} results for {} changes",
                    response.results.len(),
                    batch.len()
                )));
            }
            let mut acknowledged: Vec<ChangeHash> = Vec::new();
            let mut refused: Vec<(ChangeHash, String)> = Vec::new();
            for (item, result) in batch.iter().zip(response.results) {
                match result.status {
                    PushStatus::Accepted | PushStatus::AlreadyHad => acknowledged.push(item.hash),
                    PushStatus::Rejected => {
                        let reason = result.reason.unwrap_or_else(|| "refused".into());
                        tracing::warn!(record = %item.record_id, %reason, "server refused a change");
                        let refusal = (item.record_id, reason.clone());
                        if !run.report.refusals.contains(&refusal) {
                            run.report.refusals.push(refusal);
                        }
                        refused.push((item.hash, reason));
                    }
                }
            }
            {
                let mut store = run.store();
                store.acknowledge(&acknowledged)?;
                store.quarantine(&refused)?;
            }
            run.report.pushed += acknowledged.len() as u64;
            run.report.rejected += refused.len() as u64;
            done += batch.len() as u64;
            run.progress(SyncPhase::Push, done, total.max(done), bytes_total);
        }
    }

    async fn pull_phase(&self, run: &mut Run<'_>, phase: SyncPhase) -> Result<(), SyncError> {
        let mut done = 0u64;
        let start_bytes = run.report.bytes;
        let cursor = run.store().cursor()?;
        // The server leaves out this device's own changes: it has them.
        let actor = run.store().actor().to_hex_string();
        let mut next = Some(self.fetch_page(cursor, &actor, run.cancel));
        while let Some(fetching) = next.take() {
            run.check_cancel()?;
            let (page, bytes) = fetching
                .await
                .map_err(|e| SyncError::Protocol(format!("pull task: {e}")))??;
            run.report.bytes += bytes;
            // Ask for the next page now, so the network and the server work while this
            // page is applied. Pages are still applied one after the other, in order.
            if page.more {
                next = Some(self.fetch_page(Some(page.cursor.clone()), &actor, run.cancel));
            }
            let items = (page.changes.len() + page.tombstones.len()) as u64;
            let grouped = group_by_record(page.changes)?;
            let tombstones: Vec<Uuid> = page.tombstones.iter().map(|t| t.record).collect();
            // Cancellation is checked before, never during, the page's transaction.
            run.check_cancel()?;
            let applied = run
                .store()
                .apply_remote(grouped, &tombstones, Some(&page.cursor))?;
            run.report.pulled += applied.new_changes as u64;
            run.report.removed += applied.removed as u64;
            done += items;
            let per_item = (run.report.bytes - start_bytes) / done.max(1);
            let bytes_total = run.report.bytes + page.remaining * per_item;
            run.progress(phase, done, done + page.remaining, bytes_total);
        }
        Ok(())
    }

    /// Start fetching the feed page after `cursor` in the background.
    fn fetch_page(
        &self,
        cursor: Option<String>,
        actor: &str,
        cancel: &CancellationToken,
    ) -> PageFetch {
        let transport = self.transport.clone();
        let cancel = cancel.clone();
        let request = PullRequest {
            v: PROTOCOL_VERSION,
            cursor,
            limit: self.config.pull_limit,
            max_bytes: self.config.pull_max_bytes,
            actor: Some(actor.to_string()),
            wait_ms: None,
        };
        let fetch = async move { transport.post("/v1/sync/pull", &request, &cancel).await };
        #[cfg(not(target_arch = "wasm32"))]
        {
            tokio::spawn(fetch)
        }
        #[cfg(target_arch = "wasm32")]
        {
            let (send, receive) = tokio::sync::oneshot::channel();
            wasm_bindgen_futures::spawn_local(async move {
                // The receiver is gone when the sync stopped early: nothing to tell.
                let _ = send.send(fetch.await);
            });
            receive
        }
    }

    /// The repair path (`docs/protocol.md`): read the feed again from the start, then
    /// compare heads and queue whatever the server lost, then push it.
    async fn repair(&self, run: &mut Run<'_>) -> Result<(), SyncError> {
        tracing::warn!("the server does not know this device's cursor: repairing");
        run.report.repaired = true;
        run.store().reset_cursor()?;
        self.pull_phase(run, SyncPhase::Repair).await?;
        let mut after = None;
        loop {
            run.check_cancel()?;
            let heads = run.store().record_heads(after, 1_000)?;
            let Some(last) = heads.last() else { break };
            after = Some(last.0);
            let request = RepairRequest {
                v: PROTOCOL_VERSION,
                records: heads
                    .iter()
                    .map(|(id, heads)| RecordHeads {
                        record: *id,
                        heads: heads.iter().map(|h| h.to_string()).collect(),
                    })
                    .collect(),
            };
            let (answer, bytes): (RepairResponse, u64) = self
                .transport
                .post("/v1/sync/repair", &request, run.cancel)
                .await?;
            run.report.bytes += bytes;
            let ours: HashMap<Uuid, Vec<ChangeHash>> = heads.into_iter().collect();
            for theirs in answer.records {
                let Some(mine) = ours.get(&theirs.record) else {
                    continue;
                };
                let their_heads: Vec<ChangeHash> = theirs
                    .heads
                    .iter()
                    .map(|h| {
                        h.parse()
                            .map_err(|_| SyncError::Protocol(format!("bad head {h}")))
                    })
                    .collect::<Result<_, _>>()?;
                let mut a = their_heads.clone();
                let mut b = mine.clone();
                a.sort();
                b.sort();
                if a != b {
                    run.store().requeue_missing(theirs.record, &their_heads)?;
                }
            }
        }
        self.push(run).await
    }
}

/// Decode a page's changes and group them by record, keeping feed order. Parsing a
/// change (its checksum, its hash, its columns) is CPU work per change, so a page's
/// changes are parsed on every core, while the next page is still on the wire.
fn group_by_record(
    changes: Vec<crate::protocol::PulledChange>,
) -> Result<Vec<(Uuid, Vec<Change>)>, SyncError> {
    let parsed = crate::parallel::map(changes, |item| {
        crate::record::parse_change(item.change.0)
            .map(|change| (item.record, change))
            .map_err(|e| {
                SyncError::Protocol(format!("undecodable change for {}: {e}", item.record))
            })
    });
    let mut order: Vec<Uuid> = Vec::new();
    let mut groups: HashMap<Uuid, Vec<Change>> = HashMap::new();
    for item in parsed {
        let (record, change) = item?;
        groups
            .entry(record)
            .or_insert_with(|| {
                order.push(record);
                Vec::new()
            })
            .push(change);
    }
    Ok(order
        .into_iter()
        .filter_map(|id| groups.remove(&id).map(|c| (id, c)))
        .collect())
}
