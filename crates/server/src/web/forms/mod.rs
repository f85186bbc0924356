//! The forms page: the published versions; upload an XLSForm workbook (or a JSON
//! definition), see its errors by sheet, row and column or a preview of every question
//! in each language, and publish it. Devices get a published version at their next
//! sync; responses keep the version they were started on.
//!
//! The preview carries the read definition in a hidden field, so publishing needs no
//! draft kept on the server: the posted definition is checked again before it is
//! stored. A workbook and the CSV files uploaded with it ride along the same way
//! (base64 in a hidden field); publishing reads them again and keeps them beside the
//! version, and the list offers each version's files back as downloads.

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form as Posted;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use forms::Form;
use maud::{html, Markup};
use serde::Deserialize;

use super::html::url_encode;
use super::layout::csrf_field;
use super::session::error_page;
use super::upload::read_upload;
use super::{storage_call, Staff, BACKBONE_ROLES};
use preview::{render, title};

mod preview;
use crate::app::AppState;
use crate::handlers::forms::{
    file_response, read_upload_blocking, Attached, FormUpload, MAX_FORM_BYTES, MAX_UPLOAD_BYTES,
};
use crate::storage::{FormFile, FormFileInfo, FormFileKind, PublishError, Published};

/// The most the preview's upload may hold: a workbook and its attached files.
pub(super) const PREVIEW_LIMIT: usize = MAX_UPLOAD_BYTES;

/// The most the publish form may hold: the upload again in base64 (4/3 of its size)
/// and the definition read from it.
pub(super) const PUBLISH_LIMIT: usize = MAX_UPLOAD_BYTES / 3 * 4 + 4 * MAX_FORM_BYTES;

/// `GET /forms`: the published versions and the upload form.
pub async fn list(State(state): State<AppState>, staff: Staff) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let storage = state.storage.clone();
    let listing = match storage_call(move || storage.form_listing()).await {
        Ok(listing) => listing,
        Err(page) => return page,
    };
    let body = html! {
        h1 { "Forms" }
        div.scroll {
            table id="forms" {
                thead {
                    tr {
                        @for h in ["Title", "Form id", "Version", "Published", "Files"] { th { (h) } }
                    }
                }
                tbody {
                    @for f in &listing {
                        tr {
                            td { (f.title) }
                            td { code { (f.id) } }
                            td { (f.version) }
                            td { (published_at(f.published_at)) }
                            td.form-files { (file_links(&f.id, f.version, &f.files)) }
                        }
                    }
                }
            }
        }
        (upload_form(&staff.csrf))
    };
    staff.page("Forms", body)
}

fn published_at(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// A version's kept files as download links: the workbook, then its CSV files.
fn file_links(id: &str, version: u32, files: &[FormFileInfo]) -> Markup {
    html! {
        @for (i, f) in files.iter().enumerate() {
            @if i > 0 { br; }
            @let what = match f.kind {
                FormFileKind::Workbook => "workbook",
                FormFileKind::Data => "CSV",
            };
            a href=(file_path(id, version, &f.name)) download { (f.name) }
            " (" (what) ", " (size_text(f.size)) ")"
        }
    }
}

/// The page path of a kept file, each part percent-encoded.
fn file_path(id: &str, version: u32, name: &str) -> String {
    format!(
        "/forms/{}/{version}/files/{}",
        url_encode(id),
        url_encode(name)
    )
}

fn size_text(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

/// `GET /forms/{id}/{version}/files/{name}`: a file kept beside a version (the
/// uploaded workbook or an attached CSV) as a download.
pub async fn download(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, version, name)): Path<(String, String, String)>,
) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let not_found = || error_page(StatusCode::NOT_FOUND, "That version has no such file.");
    let Ok(version) = version.parse::<u32>() else {
        return not_found();
    };
    let storage = state.storage.clone();
    match storage_call(move || storage.form_file(&id, version, &name)).await {
        Ok(Some(file)) => file_response(file),
        Ok(None) => not_found(),
        Err(page) => page,
    }
}

fn upload_form(csrf: &str) -> Markup {
    html! {
        h2 { "Upload a form" }
        p {
            "An XLSForm workbook (" code { ".xlsx" } " or " code { ".xls" } ": survey, choices \
             and settings sheets) or a JSON definition. You will see its errors, or a preview, \
             before anything is published. To publish a new version of a form, keep its "
            code { "form_id" } " and raise its " code { "version" } "."
        }
        form method="post" action="/forms/preview" enctype="multipart/form-data" {
            (csrf_field(csrf))
            label { "File " input type="file" name="file" accept=".xlsx,.xlsm,.xls,.json" required; }
            label {
                "CSV files the workbook uses (" code { "select_one_from_file" } ", "
                code { "pulldata()" } "), if any "
                input type="file" name="files" multiple accept=".csv";
            }
            button type="submit" { "Check and preview" }
        }
    }
}

/// `POST /forms/preview`: read the uploaded file; its errors, or its preview with a
/// publish button.
pub async fn preview(State(state): State<AppState>, staff: Staff, form: Multipart) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    let upload = match read_upload(form).await {
        Ok(upload) => upload,
        Err(page) => return page,
    };
    if let Err(page) = staff.check_csrf(&upload.csrf) {
        return page;
    }
    if upload.file.is_empty() {
        return error_page(StatusCode::BAD_REQUEST, "Choose a file to upload.");
    }
    let attached = upload
        .files
        .into_iter()
        .map(|(name, bytes)| Attached { name, bytes })
        .collect();
    let FormUpload {
        form,
        warnings,
        files,
    } = match read_upload_blocking(upload.file, upload.file_name, attached).await {
        Ok(Ok(read)) => read,
        Ok(Err(errors)) => return refused(&staff, &errors),
        Err(_) => {
            return error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not read the file just now; try again in a moment.",
            )
        }
    };
    // Tell now, not at publish time, when the version is taken.
    let storage = state.storage.clone();
    let (id, version) = (form.id.clone(), form.version);
    let listing = match storage_call(move || storage.form_listing()).await {
        Ok(listing) => listing,
        Err(page) => return page,
    };
    if let Some(latest) = listing.iter().find(|f| f.id == id).map(|f| f.version) {
        if latest >= version {
            return refused(
                &staff,
                &[format!(
                    "settings sheet, version: `{id}` is at version {latest}; give this one a \
                     higher version than {version}"
                )],
            );
        }
    }
    let body = html! {
        h1 { "Preview: " (title(&form.title, &form.default_language, &form.id)) }
        // What was read but is not kept, beside the preview: nothing dropped in silence.
        @if !warnings.is_empty() {
            h2 { "Read but not kept" }
            p {
                "The form publishes; these parts of the workbook are not used on devices \
                 yet, or were read differently from how they are written:"
            }
            ul id="form-warnings" { @for w in &warnings { li { (w) } } }
        }
        // The files kept with the version if it is published.
        @if !files.is_empty() {
            h2 { "Files kept with this version" }
            p { "They can be downloaded from the forms list once it is published." }
            ul id="form-files" {
                @for f in &files {
                    @let what = match f.kind {
                        FormFileKind::Workbook => "the workbook",
                        FormFileKind::Data => "attached CSV",
                    };
                    li { (f.name) " (" (what) ", " (size_text(f.bytes.len() as u64)) ")" }
                }
            }
        }
        (render(&form))
        form method="post" action="/forms/publish" {
            (csrf_field(&staff.csrf))
            input type="hidden" name="definition" value=(form.to_json());
            input type="hidden" name="files" value=(carried_files(&files));
            button type="submit" id="publish" { "Publish version " (version) }
        }
        p { a href="/forms" { "Cancel" } }
    };
    staff.page("Preview", body)
}

/// The fields of the publish form. When `files` carries the uploaded workbook, the
/// form is read from it again (with the CSV files beside it) and they are kept with
/// the version; otherwise `definition` is published as it is.
#[derive(Deserialize)]
pub struct PublishForm {
    csrf: String,
    #[serde(default)]
    definition: String,
    #[serde(default)]
    files: String,
}

/// A file carried from the preview to the publish form.
#[derive(serde::Serialize, Deserialize)]
struct Carried {
    name: String,
    kind: FormFileKind,
    /// The bytes in URL-safe base64 without padding (nothing to percent-encode).
    data: String,
}

/// The files to keep, for the publish form's hidden field (empty when none).
fn carried_files(files: &[FormFile]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let carried: Vec<Carried> = files
        .iter()
        .map(|f| Carried {
            name: f.name.clone(),
            kind: f.kind,
            data: URL_SAFE_NO_PAD.encode(&f.bytes),
        })
        .collect();
    serde_json::to_string(&carried).unwrap_or_default()
}

/// The workbook and attached files back from the publish form's hidden field.
fn uncarried_files(text: &str) -> Result<(Attached, Vec<Attached>), String> {
    let carried: Vec<Carried> =
        serde_json::from_str(text).map_err(|e| format!("the posted files: {e}"))?;
    let mut workbook = None;
    let mut data = Vec::new();
    for c in carried {
        let bytes = URL_SAFE_NO_PAD
            .decode(&c.data)
            .map_err(|_| format!("the posted file `{}` is not base64", c.name))?;
        let file = Attached {
            name: c.name,
            bytes,
        };
        match c.kind {
            FormFileKind::Workbook if workbook.is_none() => workbook = Some(file),
            FormFileKind::Workbook => return Err("two workbooks were posted".into()),
            FormFileKind::Data => data.push(file),
        }
    }
    let workbook = workbook.ok_or("the posted files hold no workbook")?;
    Ok((workbook, data))
}

/// `POST /forms/publish`: publish the previewed definition.
pub async fn publish(
    State(state): State<AppState>,
    staff: Staff,
    Posted(posted): Posted<PublishForm>,
) -> Response {
    if let Err(page) = staff.require(BACKBONE_ROLES) {
        return page;
    }
    if let Err(page) = staff.check_csrf(&posted.csrf) {
        return page;
    }
    let (form, files) = if posted.files.is_empty() {
        match Form::from_json(&posted.definition) {
            Ok(form) => (form, Vec::new()),
            Err(e) => return refused(&staff, &[format!("the definition: {e}")]),
        }
    } else {
        // The workbook itself, read again with its files: what is kept is what it says.
        let (workbook, attached) = match uncarried_files(&posted.files) {
            Ok(files) => files,
            Err(e) => return refused(&staff, &[e]),
        };
        match read_upload_blocking(workbook.bytes, workbook.name, attached).await {
            Ok(Ok(upload)) => (upload.form, upload.files),
            Ok(Err(errors)) => return refused(&staff, &errors),
            Err(_) => {
                return error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server could not read the file just now; try again in a moment.",
                )
            }
        }
    };
    let (id, version) = (form.id.clone(), form.version);
    let kept = files.len();
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || storage.publish_form_with_files(form, files)).await {
        Ok(Ok(published)) => {
            tracing::info!(user = %staff.caller.user_id, form = %id, version, files = kept, new = (published == Published::New), "publish (web)");
            Redirect::to("/forms").into_response()
        }
        Ok(Err(PublishError::Invalid(errors))) => refused(&staff, &errors),
        Ok(Err(PublishError::Storage(e))) => {
            tracing::error!(error = %e, "publishing a form failed");
            error_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "The server could not publish the form just now; try again in a moment.",
            )
        }
        Ok(Err(e)) => refused(&staff, &[e.to_string()]),
        Err(_) => error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server could not publish the form just now; try again in a moment.",
        ),
    }
}

/// The page of a refused upload: every error, and the upload form again.
fn refused(staff: &Staff, errors: &[String]) -> Response {
    let body = html! {
        h1 { "The form was not taken" }
        p { "Nothing was published. Fix these in the workbook and upload it again:" }
        ul class="error" id="form-errors" { @for e in errors { li { (e) } } }
        (upload_form(&staff.csrf))
        p { a href="/forms" { "Back to the forms" } }
    };
    let mut page = staff.page("Form refused", body);
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    page
}
