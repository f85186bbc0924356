//! The router: endpoints, shared state, request logging.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::handlers;
use crate::limits::{Attempts, SyncRate};
use crate::password_pool::PasswordPool;
use crate::storage::Storage;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The storage.
    pub storage: Storage,
    /// Failed sign-ins and enrollment codes, for rate limits.
    pub attempts: Arc<Attempts>,
    /// Sync requests per device, for rate limits.
    pub sync_rate: Arc<SyncRate>,
    /// The largest attachment taken, in bytes.
    pub max_attachment_bytes: u64,
    /// Every password hash and check runs through it, a few at a time.
    pub passwords: Arc<PasswordPool>,
}

impl AppState {
    /// The state over `storage`, taking attachments of at most `max_attachment_bytes`.
    pub fn new(storage: Storage, max_attachment_bytes: u64) -> Self {
        AppState {
            storage,
            attempts: Arc::new(Attempts::default()),
            sync_rate: Arc::new(SyncRate::default()),
            max_attachment_bytes,
            passwords: Arc::new(PasswordPool::default()),
        }
    }

    /// The clock the rules read (the storage's, so that a test moves both).
    pub fn clock(&self) -> &Clock {
        self.storage.clock()
    }
}

/// Filled by authentication so that the request log can say who called.
#[derive(Clone, Default)]
pub struct RequestLog(Arc<Mutex<Option<(String, String)>>>);

impl RequestLog {
    /// Record the caller's user and device ids.
    pub fn set(&self, user: &str, device: &str) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((user.to_string(), device.to_string()));
        }
    }

    fn get(&self) -> (String, String) {
        self.0
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or_default()
    }
}

/// The application's router over `storage`, with the default limits.
pub fn router(storage: Storage) -> Router {
    router_with(storage, sync_core::protocol::DEFAULT_MAX_ATTACHMENT_BYTES)
}

/// The application's router over `storage`, taking attachments of at most
/// `max_attachment_bytes`.
pub fn router_with(storage: Storage, max_attachment_bytes: u64) -> Router {
    router_with_state(AppState::new(storage, max_attachment_bytes))
}

/// The application's router over a prepared state.
pub fn router_with_state(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(handlers::health::healthz))
        .route("/v1/auth/token", post(handlers::auth::token))
        .route("/v1/auth/enroll", post(handlers::auth::enroll))
        .route("/v1/admin/users", post(handlers::admin::create_user))
        .route(
            "/v1/admin/devices/revoke",
            post(handlers::admin::revoke_device),
        )
        .route("/v1/admin/purge", post(handlers::admin::purge))
        .route("/v1/sync/push", post(handlers::sync::push))
        .route("/v1/sync/pull", post(handlers::sync::pull))
        .route("/v1/sync/repair", post(handlers::sync::repair))
        .route("/v1/sync/forms", post(handlers::forms::missing))
        .route("/v1/admin/forms", post(handlers::forms::publish))
        .route(
            "/v1/admin/forms/{id}/{version}",
            get(handlers::forms::version),
        )
        .route(
            "/v1/admin/forms/{id}/{version}/files/{name}",
            get(handlers::forms::file),
        )
        .route("/v1/attachments", post(handlers::attachments::begin))
        .route(
            "/v1/attachments/{sha256}",
            put(handlers::attachments::chunk),
        )
        .merge(crate::web::routes())
        .merge(crate::field_app::routes())
        .fallback(not_found)
        // Bodies are read by `extract::read_limited`, which answers 413 in JSON.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// Log each request: method, path, status, duration, user and device (never a token,
/// a password or a body).
async fn log_request(mut req: Request, next: Next) -> Response {
    let log = RequestLog::default();
    req.extensions_mut().insert(log.clone());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let start = Instant::now();
    let response = next.run(req).await;
    let (user, device) = log.get();
    let status = response.status().as_u16();
    let duration_ms = start.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(%method, %path, status, duration_ms, user, device, "request");
    } else {
        tracing::info!(%method, %path, status, duration_ms, user, device, "request");
    }
    response
}
