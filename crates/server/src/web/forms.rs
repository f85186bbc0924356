//! The forms page: the published versions; upload an XLSForm workbook (or a JSON
//! definition), see its errors by sheet, row and column or a preview of every question
//! in each language, and publish it. Devices get a published version at their next
//! sync; responses keep the version they were started on.
//!
//! The preview carries the read definition in a hidden field, so publishing needs no
//! draft kept on the server: the posted definition is checked again before it is
//! stored.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form as Posted;
use forms::{Form, Item, Labels};
use serde::Deserialize;

use super::html::escape;
use super::session::error_page;
use super::upload::read_upload;
use super::{storage_call, Staff, BACKBONE_ROLES};
use crate::app::AppState;
use crate::handlers::forms::read_form_blocking;
use crate::storage::{PublishError, Published};

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
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{when}</td></tr>",
                escape(&f.title),
                escape(&f.id),
                f.version
            )
        })
        .collect();
    let body = format!(
        "<h1>Forms</h1><table id=\"forms\"><thead><tr><th>Title</th><th>Form id</th>\
         <th>Version</th><th>Published</th></tr></thead><tbody>{rows}</tbody></table>\
         {}",
        upload_form(&staff.csrf)
    );
    staff.page("Forms", &body)
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
    let (form, warnings) = match read_form_blocking(upload.file, upload.file_name).await {
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
    let body = format!(
        "<h1>Preview: {}</h1>{warned}{}<form method=\"post\" action=\"/forms/publish\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <input type=\"hidden\" name=\"definition\" value=\"{}\">\
         <button type=\"submit\" id=\"publish\">Publish version {version}</button></form>\
         <p><a href=\"/forms\">Cancel</a></p>",
        escape(&title(&form.title, &form.default_language, &form.id)),
        render(&form),
        escape(&staff.csrf),
        escape(&form.to_json()),
    );
    staff.page("Preview", &body)
}

/// The fields of the publish form.
#[derive(Deserialize)]
pub struct PublishForm {
    csrf: String,
    definition: String,
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
    let form = match Form::from_json(&posted.definition) {
        Ok(form) => form,
        Err(e) => return refused(&staff, &[format!("the definition: {e}")]),
    };
    let (id, version) = (form.id.clone(), form.version);
    let storage = state.storage.clone();
    match tokio::task::spawn_blocking(move || storage.publish_form(form)).await {
        Ok(Ok(published)) => {
            tracing::info!(user = %staff.caller.user_id, form = %id, version, new = (published == Published::New), "publish (web)");
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
    let mut page = staff.page("Form refused", &body);
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
                if let Some(choices) = q.qtype.list().and_then(|l| form.choices.get(l)) {
                    let names: Vec<String> = choices
                        .iter()
                        .map(|c| escape(&title(&c.label, &form.default_language, &c.name)))
                        .collect();
                    rules.push(format!("choices: {}", names.join(", ")));
                }
                out.push_str(&format!(
                    "<tr><td style=\"{pad}\"><code>{}</code></td><td>{}</td>{}<td>{}</td></tr>",
                    escape(&q.name),
                    escape(&q.qtype.to_string()),
                    texts(&q.label, languages),
                    rules.join("; ")
                ));
            }
            Item::Group(g) => {
                let rule = g
                    .relevant
                    .as_ref()
                    .map(|r| format!("shown if <code>{}</code>", escape(r)))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "<tr><td style=\"{pad}\"><strong>{}</strong></td><td>group</td>{}<td>{rule}</td></tr>",
                    escape(&g.name),
                    texts(&g.label, languages)
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
