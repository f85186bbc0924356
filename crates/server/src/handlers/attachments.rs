//! `/v1/attachments`: a device uploads an attachment (a consent signature, a photo) in
//! chunks, resuming after a cut from what the server holds. See `docs/protocol.md`.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_ENCODING;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sync_core::protocol::{
    is_sha256_hex, AttachmentBegin, AttachmentStatus, MAX_CHUNK_BYTES, PROTOCOL_VERSION,
};

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::{read_at_most, Gz, Msg, Syncer};
use crate::storage::{AttachmentError, NewAttachment, UploadState};

fn status(s: UploadState) -> Gz<AttachmentStatus> {
    Gz(AttachmentStatus {
        v: PROTOCOL_VERSION,
        received: s.received,
        complete: s.complete,
    })
}

/// An attachment error as its status and JSON body; a wrong offset also says where the
/// server stands (`received`), so the device realigns without asking.
fn refusal(e: AttachmentError) -> Response {
    let message = e.to_string();
    match e {
        AttachmentError::Storage(inner) => ApiError::from(inner).into_response(),
        AttachmentError::Invalid(_) | AttachmentError::PastEnd { .. } => {
            ApiError::bad_message(message).into_response()
        }
        AttachmentError::TooLarge { .. } => ApiError::too_large(message).into_response(),
        // 413 like a single attachment too large: the device leaves this one pending
        // and goes on with its sync.
        AttachmentError::QuotaExceeded { .. } => {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "attachment_quota", message)
                .into_response()
        }
        AttachmentError::OutOfScope(_) => ApiError::forbidden(message).into_response(),
        AttachmentError::NotBegun(_) => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", message).into_response()
        }
        AttachmentError::HashMismatch(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "hash_mismatch", message)
                .into_response()
        }
        AttachmentError::WrongOffset { received, .. } => (
            StatusCode::CONFLICT,
            Json(serde_json::json!({
                "error": "wrong_offset",
                "message": message,
                "received": received,
            })),
        )
            .into_response(),
    }
}

async fn run(
    f: impl FnOnce() -> Result<UploadState, AttachmentError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(s)) => status(s).into_response(),
        Ok(Err(e)) => refusal(e),
        Err(e) => {
            tracing::error!(error = %e, "an attachment task failed");
            ApiError::internal().into_response()
        }
    }
}

/// `POST /v1/attachments`: begin an upload, or learn how far it is.
pub async fn begin(
    State(state): State<AppState>,
    Syncer(caller): Syncer,
    Msg(req): Msg<AttachmentBegin>,
) -> Response {
    let storage = state.storage.clone();
    let max = state.max_attachment_bytes;
    tracing::debug!(device = %caller.device_id, attachment = %req.sha256, size = req.size, "attachment begin");
    run(move || {
        let new = NewAttachment {
            sha256: &req.sha256,
            size: req.size,
            record_id: req.record_id,
            name: &req.name,
        };
        storage.begin_attachment(&caller, &new, max)
    })
    .await
}

/// `PUT /v1/attachments/{sha256}?offset=N`: append a chunk of raw bytes to the
/// caller's own upload of that attachment (no other device's).
pub async fn chunk(
    State(state): State<AppState>,
    Syncer(caller): Syncer,
    Path(sha256): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !is_sha256_hex(&sha256) {
        return ApiError::bad_message("an attachment is named by 64 lower-case hex digits")
            .into_response();
    }
    let offset = query.as_deref().unwrap_or("").split('&').find_map(|pair| {
        pair.strip_prefix("offset=")
            .and_then(|v| v.parse::<u64>().ok())
    });
    let Some(offset) = offset else {
        return ApiError::bad_message("`?offset=N` (a byte offset) is required").into_response();
    };
    // Photos are compressed already: chunks travel as they are.
    if let Some(encoding) = headers.get(CONTENT_ENCODING) {
        if !encoding.as_bytes().eq_ignore_ascii_case(b"identity") {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_encoding",
                "an attachment chunk is sent as raw bytes, without Content-Encoding",
            )
            .into_response();
        }
    }
    // A body cut mid-way (the connection dropped) fails here: nothing is appended and
    // the upload stays at its last whole chunk.
    let bytes = match read_at_most(&headers, body, MAX_CHUNK_BYTES).await {
        Ok(bytes) => bytes,
        Err(e) => return e.into_response(),
    };
    let storage = state.storage.clone();
    tracing::debug!(device = %caller.device_id, attachment = %sha256, offset, len = bytes.len(), "attachment chunk");
    run(move || {
        let result = storage.append_attachment(&caller, &sha256, offset, &bytes);
        if let Ok(s) = &result {
            if s.complete && s.received == offset + bytes.len() as u64 {
                tracing::info!(device = %caller.device_id, attachment = %sha256, size = s.size, "attachment complete");
            }
        }
        result
    })
    .await
}
