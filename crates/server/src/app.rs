//! The router: endpoints, shared state, request logging.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use tower_http::classify::ServerErrorsFailureClass;
use tower_http::trace::TraceLayer;
use tracing::field::Empty;
use tracing::Span;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::handlers;
use crate::limits::{Attempts, SyncRate};
use crate::password_pool::PasswordPool;
use crate::scorecard::ScorecardCache;
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
    /// The public community scorecard's rendered pages.
    pub scorecard: Arc<ScorecardCache>,
}

impl AppState {
    /// The state over `storage`, taking attachments of at most `max_attachment_bytes`.
    pub fn new(storage: Storage, max_attachment_bytes: u64) -> Self {
        AppState {
            scorecard: Arc::new(ScorecardCache::new(
                storage.clone(),
                crate::web::render_scorecard,
            )),
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

/// How authentication names the caller in the request's log: every request carries
/// one (an extension), and [`RequestLog::set`] records the user and device ids into
/// the request's span, so the line logged on response says who called.
#[derive(Clone, Copy, Default)]
pub struct RequestLog;

impl RequestLog {
    /// Record the caller's user and device ids (ids only: never a token).
    pub fn set(&self, user: &str, device: &str) {
        // Authentication runs inside the request's span (the trace layer enters it
        // while the handler is polled), so the current span is the request's.
        let span = Span::current();
        span.record("user", tracing::field::display(user));
        span.record("device", tracing::field::display(device));
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
        // The public scorecard, outside the staff pages' headers (it may be cached
        // and framed).
        .merge(crate::web::public_routes())
        .merge(crate::field_app::routes())
        .fallback(not_found)
        // Bodies are read by `extract::read_limited`, which answers 413 in JSON.
        .layer(DefaultBodyLimit::disable())
        .layer(Extension(RequestLog))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                .on_body_chunk(())
                .on_eos(())
                .on_failure(log_failure),
        )
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The request log's span: the method and the path (not the query string), and the
/// user and device once authentication names them. Never a token, a password or a
/// body. One line is logged on response with the status and latency, at info, or at
/// error for a 5xx.
fn request_span(req: &Request) -> Span {
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        user = Empty,
        device = Empty,
    )
}

fn log_response(response: &Response, latency: Duration, _span: &Span) {
    let status = response.status().as_u16();
    let duration_ms = latency.as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(status, duration_ms, "request");
    } else {
        tracing::info!(status, duration_ms, "request");
    }
}

/// A 5xx is already logged on response; what is left is a body that failed while it
/// was sent (an attachment stream cut short).
fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &Span) {
    if let ServerErrorsFailureClass::Error(error) = class {
        let duration_ms = latency.as_secs_f64() * 1000.0;
        tracing::error!(%error, duration_ms, "response body failed");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::auth::Role;

    /// Log lines written into memory, for reading back.
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_request_is_logged_with_its_caller_and_never_its_token() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(dir.path()).unwrap();
        storage
            .create_user("ana", "password-123", Role::Admin, None)
            .unwrap();
        let session = storage
            .sign_in("ana", "password-123", "test phone")
            .unwrap()
            .unwrap();
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let app = router(storage);
        let request = Request::get("/v1/admin/forms/nothing/1?secret=in-the-query")
            .header("authorization", format!("Bearer {}", session.token))
            .body(Body::empty())
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let page = app
            .oneshot(Request::get("/sign-in").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let headers = page.headers();
        assert_eq!(headers["x-frame-options"], "DENY");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["referrer-policy"], "no-referrer");
        assert_eq!(headers["cache-control"], "no-store");
        assert!(headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'"));

        let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = log.lines().filter(|l| l.contains("request")).collect();
        assert_eq!(lines.len(), 2, "{log}");
        let api = lines[0];
        assert!(api.contains("INFO"), "{api}");
        assert!(api.contains("method=GET"), "{api}");
        assert!(api.contains("path=/v1/admin/forms/nothing/1"), "{api}");
        assert!(api.contains(&format!("user={}", session.user_id)), "{api}");
        assert!(
            api.contains(&format!("device={}", session.device_id)),
            "{api}"
        );
        assert!(api.contains("status=404"), "{api}");
        assert!(api.contains("duration_ms="), "{api}");
        assert!(!log.contains(&session.token), "{log}");
        assert!(!log.contains("in-the-query"), "{log}");
        assert!(lines[1].contains("path=/sign-in") && lines[1].contains("status=200"));
        assert!(!lines[1].contains("user="), "{}", lines[1]);
    }
}
