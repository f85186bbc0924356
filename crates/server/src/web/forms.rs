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
use forms::{Form, Item, Labels};
use serde::Deserialize;

use super::html::{escape, url_encode};
use super::session::error_page;
use super::upload::read_upload;
use super::{storage_call, Staff, BACKBONE_ROLES};
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
    let rows: String = listing
        .iter()
        .map(|f| {
            let when = chrono::DateTime::from_timestamp(f.published_at, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{when}</td>\
                 <td class=\"form-files\">{}</td></tr>",
                escape(&f.title),
                escape(&f.id),
                f.version,
                file_links(&f.id, f.version, &f.files)
            )
        })
        .collect();
    let body = format!(
        "<h1>Forms</h1><table id=\"forms\"><thead><tr><th>Title</th><th>Form id</th>\
         <th>Version</th><th>Published</th><th>Files</th></tr></thead><tbody>{rows}</tbody></table>\
         {}",
        upload_form(&staff.csrf)
    );
    staff.page("Forms", maud::PreEscaped(body))
}

/// A version's kept files as download links: the workbook, then its CSV files.
fn file_links(id: &str, version: u32, files: &[FormFileInfo]) -> String {
    files
        .iter()
        .map(|f| {
            let what = match f.kind {
                FormFileKind::Workbook => "workbook",
                FormFileKind::Data => "CSV",
            };
            format!(
                "<a href=\"{}\" download>{}</a> ({what}, {})",
                escape(&file_path(id, version, &f.name)),
                escape(&f.name),
                size_text(f.size)
            )
        })
        .collect::<Vec<_>>()
        .join("<br>")
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

fn upload_form(csrf: &str) -> String {
    format!(
        "<h2>Upload a form</h2><p>An XLSForm workbook (<code>.xlsx</code> or <code>.xls</code>: \
         survey, choices and settings sheets) or a JSON definition. You will see its errors, or a preview, \
         before anything is published. To publish a new version of a form, keep its \
         <code>form_id</code> and raise its <code>version</code>.</p>\
         <form method=\"post\" action=\"/forms/preview\" enctype=\"multipart/form-data\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <label>File <input type=\"file\" name=\"file\" accept=\".xlsx,.xlsm,.xls,.json\" required></label>\
         <label>CSV files the workbook uses (<code>select_one_from_file</code>, \
         <code>pulldata()</code>), if any \
         <input type=\"file\" name=\"files\" multiple accept=\".csv\"></label>\
         <button type=\"submit\">Check and preview</button></form>",
        escape(csrf)
    )
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
    // What was read but is not kept, beside the preview: nothing dropped in silence.
    let warned = if warnings.is_empty() {
        String::new()
    } else {
        let items: String = warnings
            .iter()
            .map(|w| format!("<li>{}</li>", escape(w)))
            .collect();
        format!(
            "<h2>Read but not kept</h2><p>The form publishes; these parts of the workbook \
             are not used on devices yet, or were read differently from how they are \
             written:</p><ul id=\"form-warnings\">{items}</ul>"
        )
    };
    // The files kept with the version if it is published.
    let kept = if files.is_empty() {
        String::new()
    } else {
        let items: String = files
            .iter()
            .map(|f| {
                let what = match f.kind {
                    FormFileKind::Workbook => "the workbook",
                    FormFileKind::Data => "attached CSV",
                };
                format!(
                    "<li>{} ({what}, {})</li>",
                    escape(&f.name),
                    size_text(f.bytes.len() as u64)
                )
            })
            .collect();
        format!(
            "<h2>Files kept with this version</h2><p>They can be downloaded from the forms \
             list once it is published.</p><ul id=\"form-files\">{items}</ul>"
        )
    };
    let body = format!(
        "<h1>Preview: {}</h1>{warned}{kept}{}<form method=\"post\" action=\"/forms/publish\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"definition\" value=\"{}\">\
         <input type=\"hidden\" name=\"files\" value=\"{}\">\
         <button type=\"submit\" id=\"publish\">Publish version {version}</button></form>\
         <p><a href=\"/forms\">Cancel</a></p>",
        escape(&title(&form.title, &form.default_language, &form.id)),
        render(&form),
        escape(&staff.csrf),
        escape(&form.to_json()),
        escape(&carried_files(&files)),
    );
    staff.page("Preview", maud::PreEscaped(body))
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
    let items: String = errors
        .iter()
        .map(|e| format!("<li>{}</li>", escape(e)))
        .collect();
    let body = format!(
        "<h1>The form was not taken</h1><p>Nothing was published. Fix these in the \
         workbook and upload it again:</p><ul class=\"error\" id=\"form-errors\">{items}</ul>{}\
         <p><a href=\"/forms\">Back to the forms</a></p>",
        upload_form(&staff.csrf)
    );
    let mut page = staff.page("Form refused", maud::PreEscaped(body));
    *page.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    page
}

fn title(labels: &Labels, default_language: &str, id: &str) -> String {
    labels
        .get(default_language, default_language)
        .unwrap_or(id)
        .to_string()
}

/// The preview: every item with its type, its text in each language and its rules;
/// groups and repeats indented; each select's choices.
fn render(form: &Form) -> String {
    let mut languages: Vec<(String, String)> = form
        .languages
        .iter()
        .map(|l| (l.code.clone(), l.name.clone()))
        .collect();
    if languages.is_empty() {
        languages.push((form.default_language.clone(), form.default_language.clone()));
    }
    let heads: String = languages
        .iter()
        .map(|(_, name)| format!("<th>{}</th>", escape(name)))
        .collect();
    let mut rows = String::new();
    items(form, &form.items, 0, &languages, &mut rows);
    format!(
        "<p>Form id <code>{}</code>, version {}, default language <code>{}</code>.</p>\
         <table id=\"preview\"><thead><tr><th>Name</th><th>Type</th>{heads}<th>Rules</th>\
         </tr></thead><tbody>{rows}</tbody></table>",
        escape(&form.id),
        form.version,
        escape(&form.default_language)
    )
}

fn texts(labels: &Labels, languages: &[(String, String)]) -> String {
    languages
        .iter()
        .map(|(code, _)| {
            let text = labels
                .exact(code)
                .or_else(|| labels.exact(""))
                .unwrap_or("");
            let missing = if text.is_empty() && !labels.is_empty() {
                " class=\"error\""
            } else {
                ""
            };
            format!("<td{missing}>{}</td>", escape(text))
        })
        .collect()
}

/// What the preview says of an item's hint and appearance, when it has them.
fn hint_and_appearance(hint: &Labels, appearance: Option<&str>, lang: &str) -> Vec<String> {
    let mut said = Vec::new();
    if let Some(text) = hint.get(lang, lang).filter(|t| !t.is_empty()) {
        said.push(format!("hint: {}", escape(text)));
    }
    if let Some(a) = appearance.filter(|a| !a.is_empty()) {
        said.push(format!("appearance <code>{}</code>", escape(a)));
    }
    said
}

fn items(
    form: &Form,
    list: &[Item],
    depth: usize,
    languages: &[(String, String)],
    out: &mut String,
) {
    let pad = format!("padding-left:{}rem", depth as f32 * 1.5);
    for item in list {
        match item {
            Item::Question(q) => {
                let mut rules = Vec::new();
                if q.required {
                    rules.push("required".to_string());
                }
                for (what, expr) in [
                    ("shown if", &q.relevant),
                    ("must hold", &q.constraint),
                    ("computed as", &q.calculation),
                    ("choices where", &q.choice_filter),
                ] {
                    if let Some(e) = expr {
                        rules.push(format!("{what} <code>{}</code>", escape(e)));
                    }
                }
                // A list from an attached file may have thousands of rows: the first few.
                if let Some(choices) = q.qtype.list().and_then(|l| form.list_choices(l)) {
                    const SHOWN: usize = 20;
                    let mut names: Vec<String> = choices
                        .iter()
                        .take(SHOWN)
                        .map(|c| escape(&title(&c.label, &form.default_language, &c.name)))
                        .collect();
                    if choices.len() > SHOWN {
                        names.push(format!("… {} in all", choices.len()));
                    }
                    rules.push(format!("choices: {}", names.join(", ")));
                }
                rules.extend(hint_and_appearance(
                    &q.hint,
                    q.appearance.as_deref(),
                    &form.default_language,
                ));
                out.push_str(&format!(
                    "<tr><td style=\"{pad}\"><code>{}</code></td><td>{}</td>{}<td>{}</td></tr>",
                    escape(&q.name),
                    escape(&q.qtype.to_string()),
                    texts(&q.label, languages),
                    rules.join("; ")
                ));
            }
            Item::Group(g) => {
                let mut rules: Vec<String> = g
                    .relevant
                    .as_ref()
                    .map(|r| format!("shown if <code>{}</code>", escape(r)))
                    .into_iter()
                    .collect();
                rules.extend(hint_and_appearance(
                    &g.hint,
                    g.appearance.as_deref(),
                    &form.default_language,
                ));
                out.push_str(&format!(
                    "<tr><td style=\"{pad}\"><strong>{}</strong></td><td>group</td>{}<td>{}</td></tr>",
                    escape(&g.name),
                    texts(&g.label, languages),
                    rules.join("; ")
                ));
                items(form, &g.items, depth + 1, languages, out);
            }
            Item::Repeat(r) => {
                let mut rules = Vec::new();
                if let Some(e) = &r.relevant {
                    rules.push(format!("shown if <code>{}</code>", escape(e)));
                }
                if let Some(e) = &r.repeat_count {
                    rules.push(format!("repeated <code>{}</code> times", escape(e)));
                }
                rules.extend(hint_and_appearance(
                    &r.hint,
                    r.appearance.as_deref(),
                    &form.default_language,
                ));
                out.push_str(&format!(
                    "<tr><td style=\"{pad}\"><strong>{}</strong></td><td>repeat</td>{}<td>{}</td></tr>",
                    escape(&r.name),
                    texts(&r.label, languages),
                    rules.join("; ")
                ));
                items(form, &r.items, depth + 1, languages, out);
            }
        }
    }
}
