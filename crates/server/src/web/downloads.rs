//! `GET /exports/{form}` and `GET /exports/{form}/{repeat}`: a form's responses as
//! CSV within the signed-in user's scope, streamed a page of records at a time so
//! that an export of a million responses holds one page in memory.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use super::session::error_page;
use super::Staff;
use crate::app::AppState;
use crate::auth::Role;
use crate::export::Layout;

/// Records read per page of an export.
const PAGE: i64 = 500;

/// The responses file of a form.
pub async fn responses(
    State(state): State<AppState>,
    staff: Staff,
    Path(form): Path<String>,
) -> Response {
    export(state, staff, form, None).await
}

/// A repeat group's file of a form.
pub async fn repeat(
    State(state): State<AppState>,
    staff: Staff,
    Path((form, repeat)): Path<(String, String)>,
) -> Response {
    export(state, staff, form, Some(repeat)).await
}

async fn export(
    state: AppState,
    staff: Staff,
    form_id: String,
    repeat: Option<String>,
) -> Response {
    if staff.caller.role == Role::ReportsOnly {
        return error_page(
            StatusCode::FORBIDDEN,
            "Your account sees aggregates only, not records.",
        );
    }
    let storage = state.storage.clone();
    let id = form_id.clone();
    let form = match tokio::task::spawn_blocking(move || storage.latest_form(&id)).await {
        Ok(Ok(Some(form))) => form,
        Ok(Ok(None)) => return error_page(StatusCode::NOT_FOUND, "No such form."),
        _ => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The export failed."),
    };
    let layout = Layout::of(form.form());
    let header_line = match &repeat {
        None => layout.main_header(),
        Some(r) => match layout.repeat_header(r) {
            Some(h) => h,
            None => return error_page(StatusCode::NOT_FOUND, "The form has no such repeat group."),
        },
    };
    let file = match &repeat {
        None => format!("{form_id}.csv"),
        Some(r) => format!("{form_id}-{r}.csv"),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    tokio::task::spawn_blocking(move || {
        if tx.blocking_send(Ok(Bytes::from(header_line))).is_err() {
            return;
        }
        let mut after = String::new();
        loop {
            let page = match storage.export_page(&form_id, scope.as_ref(), &after, PAGE) {
                Ok(page) => page,
                Err(e) => {
                    tracing::error!(error = %e, form = %form_id, "export failed");
                    let _ = tx.blocking_send(Err(std::io::Error::other("export failed")));
                    return;
                }
            };
            let Some((last, _)) = page.last() else { return };
            after = last.id.clone();
            let mut chunk = String::new();
            for (meta, answers) in &page {
                match &repeat {
                    None => chunk.push_str(&layout.main_row(meta, answers)),
                    Some(r) => chunk.push_str(&layout.repeat_rows(r, &meta.id, answers)),
                }
            }
            // The client went away: stop reading.
            if tx.blocking_send(Ok(Bytes::from(chunk))).is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}
