//! Forms: devices fetch the published versions they lack (`POST /v1/sync/forms`);
//! admins and backbone staff publish a version (`POST /v1/admin/forms`, an XLSForm
//! workbook or a JSON definition as the body).

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use forms::Form;
use serde::Serialize;
use sync_core::protocol::{FormsRequest, FormsResponse, PROTOCOL_VERSION};
use sync_core::RecordKind;

use super::blocking;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{read_at_most, Gz, GzReady, Msg, Syncer};
use crate::storage::{PublishError, Published};

/// Largest form file accepted (an XLSForm workbook of a long survey is ~100 KB).
pub const MAX_FORM_BYTES: usize = 5 * 1024 * 1024;

/// Most form versions a device may say it holds.
const MAX_HAVE: usize = 10_000;

/// A form read from an uploaded file: an XLSForm workbook (`.xlsx`/`.xlsm`, a zip, or
/// old Excel `.xls`) or a JSON definition, with the workbook's warnings (what was read
/// but is not kept). `file_name` is the uploaded file's name, the form id when the
/// workbook's settings give none. Errors name the sheet, row and column (or the JSON line).
pub(crate) fn read_form_file(
    bytes: &[u8],
    file_name: &str,
) -> Result<(Form, Vec<String>), Vec<String>> {
    const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];
    if bytes.starts_with(b"PK") || bytes.starts_with(OLE2) {
        return forms::xlsform::read_workbook(bytes, file_name)
            .map(|r| (r.form, r.warnings.iter().map(ToString::to_string).collect()))
            .map_err(|errs| errs.iter().map(ToString::to_string).collect());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        vec![
            "the file is neither an XLSForm workbook (.xlsx, .xls) nor a JSON definition"
                .to_string(),
        ]
    })?;
    Form::from_json(text)
        .map(|form| (form, Vec::new()))
        .map_err(|e| vec![format!("the JSON definition: {e}")])
}

/// What reading a form file gives: the form and its warnings, or its errors.
pub(crate) type FormRead = Result<(Form, Vec<String>), Vec<String>>;

/// [`read_form_file`] off the async threads: a workbook takes a while to unpack.
pub(crate) async fn read_form_blocking(
    bytes: Vec<u8>,
    file_name: String,
) -> Result<FormRead, ApiError> {
    tokio::task::spawn_blocking(move || read_form_file(&bytes, &file_name))
        .await
        .map_err(|_| ApiError::internal())
}

/// `POST /v1/sync/forms`: the published form versions the device lacks.
pub async fn missing(
    State(state): State<AppState>,
    Syncer(_caller): Syncer,
    Msg(req): Msg<FormsRequest>,
) -> Result<GzReady, ApiError> {
    if req.have.len() > MAX_HAVE {
        return Err(ApiError::too_large(format!(
            "{} form versions named; at most {MAX_HAVE}",
            req.have.len()
        )));
    }
    let storage = state.storage.clone();
    let (forms, more) = blocking(move || storage.forms_missing(&req.have)).await?;
    GzReady::encode(FormsResponse {
        v: PROTOCOL_VERSION,
        forms,
        more,
    })
    .await
}

/// The answer to a publication.
#[derive(Debug, Serialize)]
pub struct PublishResponse {
    /// Protocol version.
    pub v: u32,
    /// The form id.
    pub id: String,
    /// The version published.
    pub version: u32,
    /// False when this very definition was published before (nothing changed).
    pub new: bool,
    /// What the workbook has that was read but is not kept (sheet, row, column).
    pub warnings: Vec<String>,
}

/// The publish request's query: `?file_name=household.xlsx`, the form id when the
/// workbook's settings give none.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PublishQuery {
    /// The uploaded file's name.
    #[serde(default)]
    pub file_name: String,
}

/// `POST /v1/admin/forms`: publish a form version (admins and backbone staff). A form
/// with errors is 422 `invalid_form`, its errors one per line.
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PublishQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Gz<PublishResponse>, ApiError> {
    if !caller.role.may_write(RecordKind::Form) {
        return Err(ApiError::forbidden(
            "only admins and backbone staff publish forms",
        ));
    }
    let bytes = read_at_most(&headers, body, MAX_FORM_BYTES).await?;
    let (form, warnings) = read_form_blocking(bytes, query.file_name)
        .await?
        .map_err(invalid)?;
    let (id, version) = (form.id.clone(), form.version);
    let storage = state.storage.clone();
    let published = tokio::task::spawn_blocking(move || storage.publish_form(form))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(publish_error)?;
    tracing::info!(user = %caller.user_id, form = %id, version, "publish");
    Ok(Gz(PublishResponse {
        v: PROTOCOL_VERSION,
        id,
        version,
        new: published == Published::New,
        warnings,
    }))
}

fn invalid(errors: Vec<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_form",
        errors.join("\n"),
    )
}

/// The answer for a refused publication.
pub(crate) fn publish_error(e: PublishError) -> ApiError {
    match e {
        PublishError::Invalid(errors) => invalid(errors),
        e @ (PublishError::VersionTaken { .. } | PublishError::Older { .. }) => {
            ApiError::new(StatusCode::CONFLICT, "version_exists", e.to_string())
        }
        PublishError::Storage(e) => e.into(),
    }
}
