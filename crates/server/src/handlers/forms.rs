//! Forms: devices fetch the published versions they lack (`POST /v1/sync/forms`);
//! admins and backbone staff publish a version (`POST /v1/admin/forms`, an XLSForm
//! workbook or a JSON definition as the body, or `multipart/form-data` with the
//! workbook and its attached CSV files), read a version back with the files kept
//! beside it (`GET /v1/admin/forms/{id}/{version}`) and download each of them
//! (`GET /v1/admin/forms/{id}/{version}/files/{name}`).

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use forms::{Form, MAX_DATA_FILE_BYTES};
use serde::Serialize;
use sync_core::protocol::{FormsRequest, FormsResponse, PROTOCOL_VERSION};
use sync_core::RecordKind;

use super::blocking;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{read_at_most, Gz, GzReady, Msg, Syncer};
use crate::storage::{FormFile, FormFileInfo, FormFileKind, PublishError, Published};

/// Largest form file accepted (an XLSForm workbook of a long survey is ~100 KB).
pub const MAX_FORM_BYTES: usize = 5 * 1024 * 1024;

/// Most CSV files attached to one workbook.
pub const MAX_DATA_FILES: usize = 20;

/// Largest upload of a workbook with its attached files (`multipart/form-data`): the
/// workbook, every file at its largest, and 1 MiB for the parts' headers.
pub const MAX_UPLOAD_BYTES: usize =
    MAX_FORM_BYTES + MAX_DATA_FILES * MAX_DATA_FILE_BYTES + 1024 * 1024;

/// Longest file name kept, in bytes.
const MAX_FILE_NAME: usize = 255;

/// Most form versions a device may say it holds.
const MAX_HAVE: usize = 10_000;

/// A file attached to an uploaded workbook: its name as sent and its bytes.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    /// The name the browser or client gave it (a path is cut to its last part).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// An uploaded form, read: the form, its warnings (what was read but is not kept), and
/// the files to keep beside it (the workbook, then the attached CSVs it uses).
#[derive(Debug)]
pub(crate) struct FormUpload {
    /// The form.
    pub form: Form,
    /// Warnings by sheet, row and column.
    pub warnings: Vec<String>,
    /// The files to keep with the version; none for a JSON definition.
    pub files: Vec<FormFile>,
}

/// What reading an upload gives: the form, or every error (sheet, row and column).
pub(crate) type UploadRead = Result<FormUpload, Vec<String>>;

const OLE2: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0];

/// Whether the bytes are an XLSForm workbook (`.xlsx`/`.xlsm`, a zip, or `.xls`).
fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK") || bytes.starts_with(OLE2)
}

/// A file name as kept: its last path part (some browsers send a whole path), trimmed.
/// Refused when empty, too long, a dot name, or with control characters.
pub(crate) fn plain_file_name(name: &str) -> Result<String, String> {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let shown: String = last.chars().take(80).collect();
    if last.is_empty() || last == "." || last == ".." {
        return Err(format!("`{}`: a file needs a name", name.escape_debug()));
    }
    if last.len() > MAX_FILE_NAME {
        return Err(format!(
            "`{shown}...`: a file name may have at most {MAX_FILE_NAME} bytes"
        ));
    }
    if last.chars().any(char::is_control) {
        return Err(format!(
            "`{}`: a file name may not hold control characters",
            shown.escape_debug()
        ));
    }
    Ok(last.to_string())
}

/// Read an uploaded form: an XLSForm workbook (`.xlsx`/`.xlsm`, a zip, or old Excel
/// `.xls`) with the CSV files attached to it, or a JSON definition (no files).
/// `file_name` is the uploaded file's name, the form id when the workbook's settings
/// give none. The files' count and sizes are checked here ([`MAX_DATA_FILES`],
/// [`MAX_DATA_FILE_BYTES`]); their names must be unique. Errors name the sheet, row
/// and column (or the JSON line, or the file).
pub(crate) fn read_form_upload(
    bytes: Vec<u8>,
    file_name: &str,
    attached: Vec<Attached>,
) -> UploadRead {
    if !is_workbook(&bytes) {
        if !attached.is_empty() {
            return Err(vec![
                "CSV files are attached to an XLSForm workbook; this is not one (a JSON \
                 definition carries its files' data in `data_files`)"
                    .to_string(),
            ]);
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            vec![
                "the file is neither an XLSForm workbook (.xlsx, .xls) nor a JSON definition"
                    .to_string(),
            ]
        })?;
        return Form::from_json(text)
            .map(|form| FormUpload {
                form,
                warnings: Vec::new(),
                files: Vec::new(),
            })
            .map_err(|e| vec![format!("the JSON definition: {e}")]);
    }
    let attached = check_attached(file_name, attached)?;
    let (form, warnings, used) = read_workbook_with(&bytes, file_name, &attached)?;
    let workbook_name = plain_file_name(file_name).unwrap_or_else(|_| {
        let ext = if bytes.starts_with(OLE2) {
            "xls"
        } else {
            "xlsx"
        };
        format!("{}.{ext}", form.id)
    });
    let mut files = vec![FormFile {
        name: workbook_name,
        kind: FormFileKind::Workbook,
        bytes,
    }];
    // The reader has warned of each file it did not use.
    files.extend(
        attached
            .into_iter()
            .filter(|file| used.contains(&file.name))
            .map(|file| FormFile {
                name: file.name,
                kind: FormFileKind::Data,
                bytes: file.bytes,
            }),
    );
    Ok(FormUpload {
        form,
        warnings,
        files,
    })
}

/// The attached files' count, sizes and names (plain, unique, not the workbook's).
fn check_attached(workbook: &str, attached: Vec<Attached>) -> Result<Vec<Attached>, Vec<String>> {
    let mut errors = Vec::new();
    if attached.len() > MAX_DATA_FILES {
        errors.push(format!(
            "{} files attached; at most {MAX_DATA_FILES}",
            attached.len()
        ));
    }
    let mut names = vec![plain_file_name(workbook).unwrap_or_default()];
    let mut out = Vec::with_capacity(attached.len());
    for file in attached {
        let name = match plain_file_name(&file.name) {
            Ok(name) => name,
            Err(e) => {
                errors.push(format!("attached file {e}"));
                continue;
            }
        };
        if file.bytes.len() > MAX_DATA_FILE_BYTES {
            errors.push(format!(
                "attached file `{name}` is {} bytes; at most {MAX_DATA_FILE_BYTES} (2 MiB)",
                file.bytes.len()
            ));
        }
        if names.contains(&name) {
            errors.push(format!(
                "attached file `{name}`: two files have this name; names must differ"
            ));
        }
        names.push(name.clone());
        out.push(Attached {
            name,
            bytes: file.bytes,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The one place the XLSForm reader meets the attached files: each read as CSV
/// ([`forms::DataFile::from_csv`]; one that is not is an error with its name and why),
/// then the workbook read with them. Gives the form, its warnings (an attached file
/// the form does not use is one) and the names of the files its reading used (the
/// ones kept).
fn read_workbook_with(
    bytes: &[u8],
    file_name: &str,
    attached: &[Attached],
) -> Result<(Form, Vec<String>, Vec<String>), Vec<String>> {
    let mut errors = Vec::new();
    let mut files = Vec::with_capacity(attached.len());
    for file in attached {
        match forms::DataFile::from_csv(&file.name, &file.bytes) {
            Ok(data) => files.push(data),
            // Its reasons start with the file's name in backquotes.
            Err(e) if e.starts_with('`') => errors.push(format!("attached file {e}")),
            Err(e) => errors.push(format!("attached file `{}`: {e}", file.name)),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let reading = forms::xlsform::read_workbook(bytes, file_name, &files)
        .map_err(|errs| errs.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    Ok((
        reading.form,
        reading.warnings.iter().map(ToString::to_string).collect(),
        reading.files_used,
    ))
}

/// [`read_form_upload`] off the async threads: a workbook takes a while to unpack.
pub(crate) async fn read_upload_blocking(
    bytes: Vec<u8>,
    file_name: String,
    attached: Vec<Attached>,
) -> Result<UploadRead, ApiError> {
    tokio::task::spawn_blocking(move || read_form_upload(bytes, &file_name, attached))
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

/// `POST /v1/admin/forms`: publish a form version (admins and backbone staff). The
/// body is the file itself (`?file_name=` its name), or `multipart/form-data` with a
/// part `form` (the workbook, its filename the file name) and parts `file` (the CSV
/// files attached to it). A form with errors is 422 `invalid_form`, its errors one per
/// line.
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<PublishQuery>,
    request: Request,
) -> Result<Gz<PublishResponse>, ApiError> {
    if !caller.role.may_write(RecordKind::Form) {
        return Err(ApiError::forbidden(
            "only admins and backbone staff publish forms",
        ));
    }
    let (parts, body) = request.into_parts();
    let (bytes, file_name, attached) = if is_multipart(&parts.headers) {
        let body = read_at_most(&parts.headers, body, MAX_UPLOAD_BYTES).await?;
        let request = Request::from_parts(parts, Body::from(body));
        read_multipart(request, query.file_name).await?
    } else {
        let bytes = read_at_most(&parts.headers, body, MAX_FORM_BYTES).await?;
        (bytes, query.file_name, Vec::new())
    };
    let upload = read_upload_blocking(bytes, file_name, attached)
        .await?
        .map_err(invalid)?;
    let (id, version) = (upload.form.id.clone(), upload.form.version);
    let kept = upload.files.len();
    let storage = state.storage.clone();
    let published = tokio::task::spawn_blocking(move || {
        storage.publish_form_with_files(upload.form, upload.files)
    })
    .await
    .map_err(|_| ApiError::internal())?
    .map_err(publish_error)?;
    tracing::info!(user = %caller.user_id, form = %id, version, files = kept, "publish");
    Ok(Gz(PublishResponse {
        v: PROTOCOL_VERSION,
        id,
        version,
        new: published == Published::New,
        warnings: upload.warnings,
    }))
}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// The parts of a publication: `form` (the workbook; its filename, else `file_name`)
/// and any number of `file` (attached CSV files, each with a filename).
async fn read_multipart(
    request: Request,
    file_name: String,
) -> Result<(Vec<u8>, String, Vec<Attached>), ApiError> {
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_message(e.body_text()))?;
    let mut form: Option<(Vec<u8>, String)> = None;
    let mut attached = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_message(e.body_text()))?
    {
        let part = field.name().unwrap_or("").to_string();
        let name = field.file_name().map(str::to_string);
        let bytes = field
            .bytes()
            .await
            .map_err(|e| ApiError::bad_message(e.body_text()))?
            .to_vec();
        match part.as_str() {
            "form" if form.is_some() => {
                return Err(ApiError::bad_message("more than one `form` part"))
            }
            "form" => {
                if bytes.len() > MAX_FORM_BYTES {
                    return Err(ApiError::too_large(format!(
                        "the form file is {} bytes; at most {MAX_FORM_BYTES}",
                        bytes.len()
                    )));
                }
                form = Some((bytes, name.unwrap_or_else(|| file_name.clone())));
            }
            "file" => {
                let Some(name) = name else {
                    return Err(ApiError::bad_message(
                        "a `file` part needs a filename (Content-Disposition: form-data; \
                         name=\"file\"; filename=\"places.csv\")",
                    ));
                };
                attached.push(Attached { name, bytes });
            }
            other => {
                return Err(ApiError::bad_message(format!(
                    "unknown part `{}`: the parts are `form` (the workbook) and `file` \
                     (each attached CSV file)",
                    other.chars().take(40).collect::<String>()
                )))
            }
        }
    }
    let (bytes, name) =
        form.ok_or_else(|| ApiError::bad_message("no `form` part: the workbook goes in one"))?;
    Ok((bytes, name, attached))
}

/// A published version read back: its definition and the files kept beside it.
#[derive(Debug, Serialize)]
pub struct FormVersionResponse {
    /// Protocol version.
    pub v: u32,
    /// The form id.
    pub id: String,
    /// The version.
    pub version: u32,
    /// When it was published (unix seconds).
    pub published_at: i64,
    /// The definition (`forms::Form` as JSON).
    pub definition: serde_json::Value,
    /// The files kept beside it: the workbook first, then the attached CSVs by name.
    pub files: Vec<FormFileInfo>,
}

fn no_such_version(id: &str, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!(
            "no version {} of form `{}` is published",
            version.chars().take(20).collect::<String>(),
            id.chars().take(80).collect::<String>()
        ),
    )
}

fn may_read_forms(caller: &Caller) -> Result<(), ApiError> {
    if caller.role.may_write(RecordKind::Form) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only admins and backbone staff read published forms' files",
        ))
    }
}

/// `GET /v1/admin/forms/{id}/{version}`: a published version's definition and the
/// files kept beside it (admins and backbone staff).
pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version)): Path<(String, String)>,
) -> Result<Gz<FormVersionResponse>, ApiError> {
    may_read_forms(&caller)?;
    let Ok(number) = version.parse::<u32>() else {
        return Err(no_such_version(&id, &version));
    };
    let storage = state.storage.clone();
    let wanted = id.clone();
    let found = blocking(move || {
        let Some(definition) = storage.form_definition(&wanted, number)? else {
            return Ok(None);
        };
        let files = storage.form_files(&wanted, number)?;
        Ok::<_, crate::storage::StorageError>(Some((definition, files)))
    })
    .await?;
    let Some(((definition, published_at), files)) = found else {
        return Err(no_such_version(&id, &version));
    };
    let definition = serde_json::from_str(&definition).map_err(|e| {
        tracing::error!(form = %id, version = number, error = %e, "a stored definition is not JSON");
        ApiError::internal()
    })?;
    Ok(Gz(FormVersionResponse {
        v: PROTOCOL_VERSION,
        id,
        version: number,
        published_at,
        definition,
        files,
    }))
}

/// `GET /v1/admin/forms/{id}/{version}/files/{name}`: a file kept beside a version, as
/// uploaded (admins and backbone staff); 404 when there is none of that name.
pub async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, version, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    may_read_forms(&caller)?;
    let not_found = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "version {} of form `{}` has no file `{}`",
                version.chars().take(20).collect::<String>(),
                id.chars().take(80).collect::<String>(),
                name.chars().take(80).collect::<String>()
            ),
        )
    };
    let Ok(number) = version.parse::<u32>() else {
        return Err(not_found());
    };
    let storage = state.storage.clone();
    let (wanted, file_name) = (id.clone(), name.clone());
    let file = blocking(move || storage.form_file(&wanted, number, &file_name)).await?;
    file.map(file_response).ok_or_else(not_found)
}

/// A kept file as a download: its bytes, a content type by its kind and extension,
/// and `Content-Disposition: attachment` with its name.
pub(crate) fn file_response(file: FormFile) -> Response {
    let lower = file.name.to_ascii_lowercase();
    let content_type = match file.kind {
        FormFileKind::Data => "text/csv; charset=utf-8",
        FormFileKind::Workbook if lower.ends_with(".xls") => "application/vnd.ms-excel",
        FormFileKind::Workbook if lower.ends_with(".xlsm") => {
            "application/vnd.ms-excel.sheet.macroEnabled.12"
        }
        FormFileKind::Workbook => {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        }
    };
    let disposition = HeaderValue::from_str(&content_disposition(&file.name))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (CONTENT_DISPOSITION, disposition),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        ],
        file.bytes,
    )
        .into_response()
}

/// `attachment; filename="..."; filename*=UTF-8''...`: a plain ASCII name for old
/// clients (anything else as `_`), the exact name percent-encoded (RFC 6266).
fn content_disposition(name: &str) -> String {
    let plain: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}")
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
