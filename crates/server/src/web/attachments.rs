//! Attachments on a record's page (an image, or a link; "uploading (N of M bytes)"
//! while a device is still sending it) and `GET /records/{id}/attachments/{name}`,
//! which serves one to a staff member who may see the record.
//!
//! An attachment is served only through a record whose answers name it, that the
//! staff member may see, and that the device which uploaded the bytes for it wrote:
//! attachments are named by the hash of their bytes, so naming the hash in a record
//! must never be enough (see `storage::attachments`). A record out of scope answers
//! like a missing one. The bytes are streamed a stored chunk at a time (each at most
//! 4 MiB), never held whole.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::Response;
use forms::Answers;
use maud::{html, Markup};
use sync_core::protocol::attachment_sha256;
use uuid::Uuid;

use super::records::flatten;
use super::session::error_page;
use super::{storage_call, Staff, RECORD_ROLES};
use crate::app::AppState;
use crate::storage::{Storage, UploadState};

/// Extensions shown inline as an image, and their types.
const IMAGES: &[(&str, &str)] = &[
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("gif", "image/gif"),
];

fn image_type(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.')?.1;
    IMAGES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t)
}

/// The attachment names (`<sha256>.<ext>`) among a record's answers.
pub fn names_in(fields: &serde_json::Value) -> Vec<String> {
    let answers: Answers = serde_json::from_value(fields.clone()).unwrap_or_default();
    let mut all = Vec::new();
    flatten(&answers, "", &mut all);
    let mut names: Vec<String> = all
        .into_iter()
        .map(|(_, v)| v)
        .filter(|v| attachment_sha256(v).is_some())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The cell of a field whose answer names an attachment: the image, a link, or how
/// far its upload is. `None` when the answer is not an attachment's name.
pub fn cell(record_id: &str, value: &str, states: &HashMap<String, UploadState>) -> Option<Markup> {
    let sha = attachment_sha256(value)?;
    let href = format!("/records/{record_id}/attachments/{value}");
    Some(html! {
        @match states.get(sha) {
            Some(s) if s.complete => @if image_type(value).is_some() {
                a.attachment href=(href) {
                    img src=(href) alt=(value) style="max-width:20rem;max-height:20rem";
                }
            } @else {
                a.attachment href=(href) { (value) } " (" (s.size) " bytes)"
            },
            Some(s) => span.attachment-pending {
                (value) " uploading (" (s.received) " of " (s.size) " bytes)"
            },
            None => span.attachment-pending { (value) " not uploaded yet" },
        }
    })
}

/// `GET /records/{id}/attachments/{name}`: the attachment's bytes, for a staff member
/// who may see the record, when the record's answers name it and it is readable
/// through this record (its uploading device wrote the record), streamed.
pub async fn attachment(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, name)): Path<(String, String)>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let not_found = || error_page(StatusCode::NOT_FOUND, "No such attachment.");
    let (Ok(uuid), Some(sha)) = (id.parse::<Uuid>(), attachment_sha256(&name)) else {
        return not_found();
    };
    let sha = sha.to_string();
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let wanted = name.clone();
    let readable_sha = sha.clone();
    let size = storage_call(move || {
        let Some(row) = storage.record_seen_by(&caller, uuid)? else {
            return Ok(None);
        };
        if !names_in(&row.fields).contains(&wanted) {
            return Ok(None);
        }
        storage.readable_attachment(uuid, &readable_sha)
    })
    .await;
    let size = match size {
        Ok(Some(size)) => size,
        Ok(None) => return not_found(),
        Err(page) => return page,
    };
    tracing::info!(user = %staff.caller.user_id, record = %uuid, attachment = %name, "attachment served");
    // The name is hex, a dot and [a-z0-9]: safe inside the quoted filename.
    let (content_type, disposition) = match image_type(&name) {
        Some(t) => (t, format!("inline; filename=\"{name}\"")),
        None => (
            "application/octet-stream",
            format!("attachment; filename=\"{name}\""),
        ),
    };
    let mut response = Response::new(stream(state.storage.clone(), sha, size));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Declared ahead: a stream cut short (the bytes purged meanwhile) is then a
    // broken download, never a shorter file taken for the whole.
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The `size` bytes of attachment `sha256` as a body, read a stored chunk (at most
/// 4 MiB) at a time as the client takes them: a 50 MiB photo costs one chunk of
/// memory, not 50 MiB, and each read holds a blocking thread only while it reads (a
/// slow client holds none). A chunk that is missing (purged meanwhile) or a database
/// failure ends the body with an error.
fn stream(storage: Storage, sha256: String, size: u64) -> Body {
    // (storage, hash, next offset); `None` once the body has ended with an error.
    let start = Some((storage, sha256, 0u64));
    Body::from_stream(futures_util::stream::unfold(
        start,
        move |state| async move {
            let (storage, sha256, offset) = state?;
            if offset >= size {
                return None;
            }
            let read = {
                let (storage, sha256) = (storage.clone(), sha256.clone());
                tokio::task::spawn_blocking(move || storage.attachment_chunk(&sha256, offset)).await
            };
            let failed = |why: &str| Some((Err(std::io::Error::other(why.to_string())), None));
            match read {
                Ok(Ok(Some(chunk))) if !chunk.is_empty() => {
                    let next = offset + chunk.len() as u64;
                    Some((Ok(Bytes::from(chunk)), Some((storage, sha256, next))))
                }
                Ok(Ok(_)) => {
                    tracing::warn!(attachment = %sha256, offset, "attachment gone while it was served");
                    failed("attachment gone")
                }
                Ok(Err(e)) => {
                    tracing::error!(error = %e, attachment = %sha256, offset, "reading an attachment failed");
                    failed("read failed")
                }
                Err(e) => {
                    tracing::error!(error = %e, attachment = %sha256, "an attachment read task failed");
                    failed("read failed")
                }
            }
        },
    ))
}
