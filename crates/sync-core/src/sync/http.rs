//! One request to the server, with retries, backoff and cancellation.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::SyncError;
use crate::protocol::{decode_body, encode_body, ErrorBody};

/// The transport: base URL, token, HTTP client, retry policy.
#[derive(Debug, Clone)]
pub(crate) struct Transport {
    pub base_url: String,
    pub token: String,
    pub http: reqwest::Client,
    pub attempts: u32,
    pub backoff: Duration,
    /// Time limit of one request: natively the client carries it; in the browser each
    /// request does (reqwest aborts the fetch when it passes).
    #[cfg(target_arch = "wasm32")]
    pub request_timeout: Duration,
}

/// Wait `delay` (between retries): tokio's timer natively, the browser's
/// `setTimeout` in wasm32, which has no tokio runtime.
#[cfg(not(target_arch = "wasm32"))]
async fn sleep(delay: Duration) {
    tokio::time::sleep(delay).await
}

/// Wait `delay` (between retries): tokio's timer natively, the browser's
/// `setTimeout` in wasm32, which has no tokio runtime.
#[cfg(target_arch = "wasm32")]
async fn sleep(delay: Duration) {
    gloo_timers::future::sleep(delay).await
}

/// The TLS failure inside a request's error, if that is why it failed. In the browser
/// the fetch does TLS and tells nothing of why: never.
#[cfg(not(target_arch = "wasm32"))]
fn tls_failure(e: &reqwest::Error) -> Option<String> {
    super::tls::tls_failure(e)
}

#[cfg(target_arch = "wasm32")]
fn tls_failure(_: &reqwest::Error) -> Option<String> {
    None
}

/// How a successful answer's body (said to be gzip by its header) is encoded: gzip
/// natively. The browser's fetch always inflates a gzip body itself, keeping the
/// header: there the body is gzip only if it starts with gzip's magic bytes (JSON never
/// does).
fn answer_encoding(body: &[u8]) -> Option<&'static str> {
    if cfg!(target_arch = "wasm32") && !body.starts_with(&[0x1f, 0x8b]) {
        None
    } else {
        Some("gzip")
    }
}

/// What a request's body is.
#[derive(Debug, Clone, Copy)]
enum Body {
    /// A protocol message, gzip-compressed JSON (POST).
    Json,
    /// Raw bytes (PUT), sent as they are.
    Raw,
}

/// A failed attempt: retry it, or give up with this error.
enum Attempt {
    Retry(SyncError),
    Fail(SyncError),
}

impl Transport {
    /// POST `message` to `path` and decode the answer. Returns the answer and the bytes
    /// moved (request body + response body).
    pub async fn post<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        path: &str,
        message: &Req,
        cancel: &CancellationToken,
    ) -> Result<(Resp, u64), SyncError> {
        self.send(path, encode_body(message), Body::Json, cancel)
            .await
    }

    /// PUT raw bytes (an attachment's chunk, not compressed) to `path` and decode the
    /// answer, with the same retries as [`Self::post`]. Returns the answer and the
    /// bytes moved.
    pub async fn put_bytes<Resp: DeserializeOwned>(
        &self,
        path: &str,
        bytes: Vec<u8>,
        cancel: &CancellationToken,
    ) -> Result<(Resp, u64), SyncError> {
        self.send(path, bytes, Body::Raw, cancel).await
    }

    async fn send<Resp: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
        kind: Body,
        cancel: &CancellationToken,
    ) -> Result<(Resp, u64), SyncError> {
        let mut last = SyncError::Offline {
            attempts: 0,
            last: "not tried".into(),
        };
        for attempt in 0..self.attempts.max(1) {
            if attempt > 0 {
                let delay = self.backoff * 2u32.saturating_pow(attempt - 1);
                tokio::select! {
                    _ = cancel.cancelled() => return Err(SyncError::Cancelled),
                    _ = sleep(delay) => {}
                }
            }
            let outcome = tokio::select! {
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
                outcome = self.once(path, body.clone(), kind) => outcome,
            };
            match outcome {
                Ok((bytes, received)) => {
                    let decoded = decode_body(&bytes, answer_encoding(&bytes))
                        .map_err(|e| SyncError::Protocol(e.to_string()))?;
                    return Ok((decoded, body.len() as u64 + received));
                }
                Err(Attempt::Fail(e)) => return Err(e),
                Err(Attempt::Retry(e)) => {
                    tracing::debug!(path, attempt, error = %e, "sync request failed, will retry");
                    last = e;
                }
            }
        }
        Err(match last {
            SyncError::Offline { last, .. } => SyncError::Offline {
                attempts: self.attempts,
                last,
            },
            SyncError::Server {
                status, message, ..
            } => SyncError::Server {
                status,
                attempts: self.attempts,
                message,
            },
            other => other,
        })
    }

    async fn once(&self, path: &str, body: Vec<u8>, kind: Body) -> Result<(Vec<u8>, u64), Attempt> {
        let url = format!("{}{}", self.base_url.trim_end_matches('/'), path);
        let offline = |e: reqwest::Error| match tls_failure(&e) {
            // Trying again will not make the certificate trusted.
            Some(why) => Attempt::Fail(SyncError::Offline {
                attempts: 1,
                last: format!("the server's TLS certificate is not accepted: {why}"),
            }),
            None => Attempt::Retry(SyncError::Offline {
                attempts: 0,
                last: e.to_string(),
            }),
        };
        let request = match kind {
            Body::Json => self
                .http
                .post(url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(reqwest::header::CONTENT_ENCODING, "gzip"),
            Body::Raw => self
                .http
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream"),
        };
        #[cfg(target_arch = "wasm32")]
        let request = request.timeout(self.request_timeout);
        let response = request
            .bearer_auth(&self.token)
            .header(reqwest::header::ACCEPT_ENCODING, "gzip")
            .body(body)
            .send()
            .await
            .map_err(offline)?;
        let status = response.status();
        let gzip = response
            .headers()
            .get(reqwest::header::CONTENT_ENCODING)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        // A body cut mid-way is a network failure like any other: retry.
        let bytes = response.bytes().await.map_err(offline)?.to_vec();
        // In the browser these are the bytes after the fetch inflated them.
        let received = bytes.len() as u64;
        if status.is_success() {
            if !gzip {
                return Err(Attempt::Fail(SyncError::Protocol(
                    "the answer was not gzip-compressed".into(),
                )));
            }
            return Ok((bytes, received));
        }
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_else(|_| ErrorBody {
            error: "unknown".into(),
            message: String::from_utf8_lossy(&bytes).chars().take(200).collect(),
        });
        let code = status.as_u16();
        Err(match (code, error.error.as_str()) {
            (401, "device_revoked") => Attempt::Fail(SyncError::DeviceRevoked),
            (401, _) => Attempt::Fail(SyncError::Unauthorized(error.message)),
            (429, _) | (500..=599, _) => Attempt::Retry(SyncError::Server {
                status: code,
                attempts: 0,
                message: error.message,
            }),
            // The server saw the body end early: the network failed, as offline.
            (400, "body_incomplete") => Attempt::Retry(SyncError::Offline {
                attempts: 0,
                last: error.message,
            }),
            // A body cut on its way in is worth one more try.
            (400, "bad_compression") => Attempt::Retry(SyncError::Refused {
                status: code,
                code: error.error,
                message: error.message,
            }),
            _ => Attempt::Fail(SyncError::Refused {
                status: code,
                code: error.error,
                message: error.message,
            }),
        })
    }
}
