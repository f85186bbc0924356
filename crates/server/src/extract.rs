//! Request and response plumbing: the authenticated caller, bodies read within the
//! limits and decoded, gzip-compressed answers.

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sync_core::protocol::{decode_body, encode_body, MAX_BODY_BYTES};

use crate::app::{AppState, RequestLog};
use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::storage::TokenCheck;

/// How much of an oversized body is read and thrown away before answering 413, so that
/// the client, still sending, gets to read the answer instead of a reset connection
/// ("lingering close"). Past this the connection is simply dropped.
const LINGER_BYTES: u64 = 4 * MAX_BODY_BYTES as u64;

/// Read a body, refusing it (413) once it passes [`MAX_BODY_BYTES`]. Nothing of an
/// oversized body is kept.
pub async fn read_limited(headers: &HeaderMap, body: Body) -> Result<Vec<u8>, ApiError> {
    read_at_most(headers, body, MAX_BODY_BYTES).await
}

/// Read a body, refusing it (413) once it passes `limit` bytes (an attachment's chunk
/// has a limit of its own). Nothing of an oversized body is kept.
pub async fn read_at_most(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::too_large(format!("body too large: more than {limit} bytes"));
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body;
    if let Some(len) = declared.filter(|len| *len > limit as u64) {
        if len <= LINGER_BYTES {
            drain(&mut body, LINGER_BYTES).await;
        }
        return Err(too_large());
    }
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            // The connection failed mid-body: the network's fault, not the
            // device's; `body_incomplete` tells it to send again.
            ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "body_incomplete",
                format!("the body was cut before its end: {e}"),
            )
        })?;
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                drop(out);
                drain(&mut body, LINGER_BYTES).await;
                return Err(too_large());
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

/// Read and discard at most `cap` bytes of what remains of a body.
async fn drain(body: &mut Body, cap: u64) {
    let mut seen = 0u64;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > cap {
                return;
            }
        }
    }
}

/// A request message: read within the limits, decompressed, version-checked, parsed.
pub struct Msg<T>(pub T);

impl<T, S> FromRequest<S> for Msg<T>
where
    T: DeserializeOwned + Send + 'static,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = read_limited(&parts.headers, body).await?;
        let encoding = match parts.headers.get(CONTENT_ENCODING) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| ApiError::bad_message("Content-Encoding is not text"))?
                    .to_string(),
            ),
        };
        // Decompressing and parsing up to 32 MiB is CPU work: off the async threads.
        let message =
            tokio::task::spawn_blocking(move || decode_body::<T>(&bytes, encoding.as_deref()))
                .await
                .map_err(|_| ApiError::internal())??;
        Ok(Msg(message))
    }
}

/// An answer: JSON, gzip-compressed, `Content-Encoding: gzip`.
pub struct Gz<T>(pub T);

impl<T: Serialize> IntoResponse for Gz<T> {
    fn into_response(self) -> Response {
        let body = encode_body(&self.0);
        (
            StatusCode::OK,
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            body,
        )
            .into_response()
    }
}

/// An answer compressed ahead, off the async threads: for answers that can be large
/// (a pull page of megabytes, a push's results, form definitions), which would
/// otherwise hold an async worker for the whole compression. Small answers use [`Gz`].
pub struct GzReady(Vec<u8>);

impl GzReady {
    /// Serialize and compress `message` on a blocking thread.
    pub async fn encode<T: Serialize + Send + 'static>(message: T) -> Result<Self, ApiError> {
        tokio::task::spawn_blocking(move || GzReady(encode_body(&message)))
            .await
            .map_err(|_| ApiError::internal())
    }
}

impl IntoResponse for GzReady {
    fn into_response(self) -> Response {
        (
            StatusCode::OK,
            [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (CONTENT_ENCODING, HeaderValue::from_static("gzip")),
            ],
            self.0,
        )
            .into_response()
    }
}

/// The bearer token of a request, if any.
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)
            .ok_or_else(|| ApiError::unauthorized("no bearer token; sign in"))?
            .to_string();
        let storage = state.storage.clone();
        let check = tokio::task::spawn_blocking(move || storage.authenticate(&token))
            .await
            .map_err(|_| ApiError::internal())??;
        match check {
            TokenCheck::Valid(caller) => {
                if let Some(log) = parts.extensions.get::<RequestLog>() {
                    log.set(&caller.user_id, &caller.device_id);
                }
                Ok(caller)
            }
            TokenCheck::Unknown => Err(ApiError::unauthorized("unknown token; sign in again")),
            TokenCheck::Revoked => Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "device_revoked",
                "this device was revoked; wipe its data and sign in again",
            )),
        }
    }
}

/// A caller who is an admin.
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.role != Role::Admin {
            return Err(ApiError::forbidden("only an admin may do this"));
        }
        Ok(Admin(caller))
    }
}

/// A caller whose role may sync records, within its device's request rate.
pub struct Syncer(pub Caller);

impl FromRequestParts<AppState> for Syncer {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if !caller.role.may_sync() {
            return Err(ApiError::forbidden(format!(
                "a {} does not sync records",
                caller.role
            )));
        }
        if !state
            .sync_rate
            .take(&caller.device_id, state.clock().now_ms())
        {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "too many sync requests from this device; back off and retry",
            ));
        }
        Ok(Syncer(caller))
    }
}
