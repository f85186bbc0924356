//! Exports of every record kind, within the signed-in user's scope and filtered as
//! the tables are (the query's `status`, `since`, `until`, `neighborhood`, `worker`,
//! `q`, read by [`Selection::from_query`]); values, or labels in the user's language
//! with `labels=1`:
//!
//! - `GET /exports`: the page of every kind and form, with the filters;
//! - `GET /exports/{what}.csv`: the records' file, `what` a form id, `households` or
//!   `people`; `GET /exports/{form}/{repeat}.csv`: a repeat group's file, joined to
//!   the records' by `_parent_id` (`/exports/{form}` and `/exports/{form}/{repeat}`,
//!   the older addresses, are the same CSV files);
//! - `GET /exports/{what}.xlsx`: one workbook, a sheet of records and one per repeat.
//!
//! Every download is logged in the audit log (`export.download`) before a byte goes
//! out. A CSV file is streamed a page of records at a time, so that an export of a
//! million records holds one page in memory.

use std::collections::HashMap;
use std::io::{Read, Seek};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use forms::{Answers, CompiledForm};
use maud::html;
use sync_core::{RecordKind, Scope};

use super::layout::{data_table, filter_bar, Filter};
use super::session::error_page;
use super::{storage_call, url_encode, Staff, RECORD_ROLES};
use crate::app::AppState;
use crate::export::xlsx::{Book, BookError};
use crate::export::{csv_line, line, Layout, ResponseMeta, Wording};
use crate::storage::{Act, Selection, Storage, StorageError};

/// Records read per page of an export.
const PAGE: i64 = 500;
/// Bytes of a built workbook sent at a time.
const CHUNK: usize = 64 * 1024;
const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// What an export is of: a kind without a form, or a form's records.
#[derive(Clone)]
enum Subject {
    Kind(RecordKind),
    Form(Arc<CompiledForm>),
}

/// The two formats.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Xlsx,
}

/// One export asked for: of what, which file, how worded, which records.
struct Request {
    name: String,
    layout: Layout,
    repeat: Option<String>,
    format: Format,
    wording: Wording,
    selection: Selection,
}

/// `GET /exports/{file}`: `households.csv`, `people.xlsx`, `{form}.csv`,
/// `{form}.xlsx`, or (the older address) `{form}`, the CSV file.
pub async fn records(
    State(state): State<AppState>,
    staff: Staff,
    Path(file): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (name, format) = split_file(&file);
    export(state, staff, name.to_string(), None, format, query).await
}

/// `GET /exports/{form}/{file}`: a repeat group's CSV file, `{repeat}.csv` or (the
/// older address) `{repeat}`. A workbook has every repeat as a sheet already.
pub async fn repeat(
    State(state): State<AppState>,
    staff: Staff,
    Path((form, file)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match split_file(&file) {
        (repeat, Format::Csv) => {
            let repeat = Some(repeat.to_string());
            export(state, staff, form, repeat, Format::Csv, query).await
        }
        (_, Format::Xlsx) => error_page(
            StatusCode::NOT_FOUND,
            "A repeat group is a sheet of its form's workbook.",
        ),
    }
}

fn split_file(file: &str) -> (&str, Format) {
    if let Some(name) = file.strip_suffix(".xlsx") {
        (name, Format::Xlsx)
    } else {
        (file.strip_suffix(".csv").unwrap_or(file), Format::Csv)
    }
}

/// The kind or form an export's name means, if any.
fn subject(storage: &Storage, name: &str) -> Result<Option<Subject>, StorageError> {
    Ok(match name {
        "households" => Some(Subject::Kind(RecordKind::Household)),
        "people" => Some(Subject::Kind(RecordKind::Person)),
        _ if forms::is_form_id(name) => storage.latest_form(name)?.map(Subject::Form),
        _ => None,
    })
}

async fn export(
    state: AppState,
    staff: Staff,
    name: String,
    repeat: Option<String>,
    format: Format,
    query: HashMap<String, String>,
) -> Response {
    if let Err(refused) = staff.require(RECORD_ROLES) {
        return refused;
    }
    let mut selection = match Selection::from_query(&query) {
        Ok(s) => s,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    let labels = query.get("labels").is_some_and(|v| v == "1");
    let storage = state.storage.clone();
    let (found, user) = (name.clone(), staff.caller.user_id.clone());
    let looked_up = storage_call(move || {
        let language = if labels {
            Some(storage.user_language(&user)?)
        } else {
            None
        };
        Ok((subject(&storage, &found)?, language))
    })
    .await;
    let (subject, language) = match looked_up {
        Ok((Some(subject), language)) => (subject, language),
        Ok((None, _)) => return error_page(StatusCode::NOT_FOUND, "No such form or kind."),
        Err(page) => return page,
    };
    let layout = match &subject {
        Subject::Kind(kind) => {
            selection.kind = Some(kind.as_str().to_string());
            Layout::of_kind(*kind)
        }
        Subject::Form(form) => {
            selection.form_id = Some(form.form().id.clone());
            Some(Layout::of(form.form()))
        }
    };
    let Some(layout) = layout else {
        return error_page(StatusCode::NOT_FOUND, "No such form or kind.");
    };
    if let Some(r) = &repeat {
        if !layout.repeat_names().any(|n| n == r) {
            return error_page(StatusCode::NOT_FOUND, "The form has no such repeat group.");
        }
    }
    let request = Request {
        name,
        layout,
        repeat,
        format,
        wording: language.map_or_else(Wording::values, |l| Wording::labels(&l)),
        selection,
    };
    if let Err(page) = log_download(&state, &staff, &request).await {
        return page;
    }
    match format {
        Format::Csv => csv(state, staff.caller.scope, request),
        Format::Xlsx => xlsx(state, staff.caller.scope, request).await,
    }
}

/// Log the download in the audit log: what, which format, which filters.
async fn log_download(state: &AppState, staff: &Staff, request: &Request) -> Result<(), Response> {
    let subject = match &request.repeat {
        Some(r) => format!("{}/{r}", request.name),
        None => request.name.clone(),
    };
    let detail = format!(
        "format={}; {}; filters: {}",
        if request.format == Format::Csv {
            "csv"
        } else {
            "xlsx"
        },
        if request.wording.labels {
            "labels"
        } else {
            "values"
        },
        request.selection.to_query()
    );
    let (storage, caller, address) = (
        state.storage.clone(),
        staff.caller.clone(),
        staff.address.clone(),
    );
    storage_call(move || {
        storage.audit(&Act {
            actor: &caller,
            address: &address,
            action: "export.download",
            subject: &subject,
            detail,
        })
    })
    .await
}

/// Read every record of `selection` within `scope`, a page at a time, handing each
/// page to `each`; stop early when it says so (`false`).
fn each_page<E: From<StorageError>>(
    storage: &Storage,
    selection: &Selection,
    scope: Option<&Scope>,
    mut each: impl FnMut(&[(ResponseMeta, Answers)]) -> Result<bool, E>,
) -> Result<(), E> {
    let mut after: Option<ResponseMeta> = None;
    loop {
        let page = storage.export_records(selection, scope, after.as_ref(), PAGE)?;
        let Some((last, _)) = page.last() else {
            return Ok(());
        };
        after = Some(last.clone());
        if !each(&page)? {
            return Ok(());
        }
    }
}

fn attachment(content_type: &str, file: &str, body: Body) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A body sent as the blocking `produce` hands it chunks (`false` back when the
/// client went away), at most a few chunks ahead of the client.
fn streamed(
    produce: impl FnOnce(&dyn Fn(Result<Bytes, std::io::Error>) -> bool) + Send + 'static,
) -> Body {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || produce(&|chunk| tx.blocking_send(chunk).is_ok()));
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Body::from_stream(stream)
}

/// The CSV file, streamed as it is read.
fn csv(state: AppState, scope: Option<Scope>, request: Request) -> Response {
    let Request {
        name,
        layout,
        repeat,
        wording,
        selection,
        ..
    } = request;
    let titles = match &repeat {
        None => Some(layout.main_titles(&wording)),
        Some(r) => layout.repeat_titles(r, &wording),
    };
    let header_line = line(&titles.unwrap_or_default());
    let file = match &repeat {
        None => format!("{name}.csv"),
        Some(r) => format!("{name}-{r}.csv"),
    };
    let storage = state.storage.clone();
    let body = streamed(move |send| {
        if !send(Ok(Bytes::from(header_line))) {
            return;
        }
        let read = each_page(&storage, &selection, scope.as_ref(), |page| {
            let mut chunk = String::new();
            for (meta, answers) in page {
                match &repeat {
                    None => chunk.push_str(&csv_line(&layout.main_cells(meta, answers, &wording))),
                    Some(r) => {
                        for row in layout.repeat_cells(r, &meta.id, answers, &wording) {
                            chunk.push_str(&csv_line(&row));
                        }
                    }
                }
            }
            // The client went away: stop reading.
            Ok::<_, StorageError>(send(Ok(Bytes::from(chunk))))
        });
        if let Err(e) = read {
            tracing::error!(error = %e, export = %name, "export failed");
            send(Err(std::io::Error::other("export failed")));
        }
    });
    attachment("text/csv; charset=utf-8", &file, body)
}

/// Why a workbook was not built.
#[derive(Debug, thiserror::Error)]
enum BuildError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Book(#[from] BookError),
    #[error("temporary file: {0}")]
    Io(#[from] std::io::Error),
}

/// The workbook. An `.xlsx` file is a zip archive whose directory comes last, so it
/// cannot be sent as its rows are read, as CSV is: it is built first, in a blocking
/// task (the writing is CPU and disk work), each sheet in constant-memory mode and
/// the finished file in an unnamed temporary file (on disk, not in memory, however
/// large), and then streamed from that file a chunk at a time. Building it first
/// also means a failure is an error page, not a cut-off download.
async fn xlsx(state: AppState, scope: Option<Scope>, request: Request) -> Response {
    let storage = state.storage.clone();
    let Request {
        name,
        layout,
        wording,
        selection,
        ..
    } = request;
    let sheet = name.clone();
    let built = tokio::task::spawn_blocking(move || -> Result<std::fs::File, BuildError> {
        let repeats: Vec<String> = layout.repeat_names().map(str::to_string).collect();
        let mut sheets = vec![(sheet, layout.main_titles(&wording))];
        for r in &repeats {
            let titles = layout.repeat_titles(r, &wording).unwrap_or_default();
            sheets.push((r.clone(), titles));
        }
        let mut book = Book::new(&sheets)?;
        each_page(&storage, &selection, scope.as_ref(), |page| {
            for (meta, answers) in page {
                book.row(0, &layout.main_cells(meta, answers, &wording))?;
                for (i, r) in repeats.iter().enumerate() {
                    for row in layout.repeat_cells(r, &meta.id, answers, &wording) {
                        book.row(i + 1, &row)?;
                    }
                }
            }
            Ok::<_, BuildError>(true)
        })?;
        let mut file = tempfile::tempfile()?;
        book.finish(&mut file)?;
        file.rewind()?;
        Ok(file)
    })
    .await;
    let mut file = match built {
        Ok(Ok(file)) => file,
        Ok(Err(BuildError::Book(e @ BookError::TooManyRows(_)))) => {
            return error_page(StatusCode::BAD_REQUEST, &e.to_string())
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, export = %name, "export failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The export failed.");
        }
        Err(e) => {
            tracing::error!(error = %e, export = %name, "export task failed");
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "The export failed.");
        }
    };
    let body = streamed(move |send| {
        let mut buf = vec![0; CHUNK];
        loop {
            match file.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if !send(Ok(Bytes::copy_from_slice(&buf[..n]))) {
                        return;
                    }
                }
                Err(e) => {
                    send(Err(e));
                    return;
                }
            }
        }
    });
    attachment(XLSX_TYPE, &format!("{name}.xlsx"), body)
}

/// `GET /exports`: every kind and form with its CSV files and workbook, the filters
/// (carried into every link) and the choice of values or labels.
pub async fn page(
    State(state): State<AppState>,
    staff: Staff,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = staff.require(RECORD_ROLES) {
        return refused;
    }
    let selection = match Selection::from_query(&query) {
        Ok(s) => s,
        Err(message) => return error_page(StatusCode::BAD_REQUEST, &message),
    };
    let labels = query.get("labels").is_some_and(|v| v == "1");
    let (storage, user) = (state.storage.clone(), staff.caller.user_id.clone());
    let listed = storage_call(move || {
        let language = storage.user_language(&user)?;
        let mut ids: Vec<String> = storage.form_ids()?.into_iter().map(|(id, _)| id).collect();
        ids.sort();
        ids.dedup();
        let mut forms = Vec::new();
        for id in ids {
            if let Some(form) = storage.latest_form(&id)? {
                let form = form.form();
                let title = form
                    .title
                    .get(&language, &form.default_language)
                    .unwrap_or(&form.id)
                    .to_string();
                let repeats: Vec<String> = Layout::of(form)
                    .repeat_names()
                    .map(str::to_string)
                    .collect();
                forms.push((id, title, repeats));
            }
        }
        Ok(forms)
    })
    .await;
    let forms = match listed {
        Ok(forms) => forms,
        Err(page) => return page,
    };
    let mut suffix = selection.to_query();
    if labels {
        suffix = if suffix.is_empty() {
            "labels=1".into()
        } else {
            format!("{suffix}&labels=1")
        };
    }
    let with_query = |path: String| {
        if suffix.is_empty() {
            path
        } else {
            format!("{path}?{suffix}")
        }
    };
    let mut rows = vec![
        (
            "households".to_string(),
            "Households".to_string(),
            Vec::new(),
        ),
        ("people".to_string(), "People".to_string(), Vec::new()),
    ];
    rows.extend(forms);
    let table = data_table(
        None,
        &["Records", "CSV", "Spreadsheet"],
        rows.iter().map(|(id, title, repeats)| {
            let main = with_query(format!("/exports/{}.csv", url_encode(id)));
            let book = with_query(format!("/exports/{}.xlsx", url_encode(id)));
            vec![
                html! { (title) @if title != id { " " code { (id) } } },
                html! {
                    a id={ "csv-" (id) } href=(main) { (id) ".csv" }
                    @for r in repeats {
                        br;
                        a id={ "csv-" (id) "-" (r) }
                            href=(with_query(format!("/exports/{}/{}.csv", url_encode(id), url_encode(r))))
                            { (id) "/" (r) ".csv" }
                    }
                },
                html! { a id={ "xlsx-" (id) } href=(book) { (id) ".xlsx" } },
            ]
        }),
    );
    let value = |key: &str| query.get(key).map(String::as_str).unwrap_or("");
    let any = |label: &str| (String::new(), label.to_string());
    let bar = filter_bar(
        "/exports",
        &[
            Filter::Choice(
                "status",
                "Status",
                vec![
                    any("Any"),
                    ("draft".into(), "Draft".into()),
                    ("final".into(), "Final".into()),
                ],
                value("status"),
            ),
            Filter::Date("since", "From", value("since")),
            Filter::Date("until", "To", value("until")),
            Filter::Text("neighborhood", "Neighborhood", value("neighborhood")),
            Filter::Text("worker", "Worker (user id)", value("worker")),
            Filter::Text("q", "Search", value("q")),
            Filter::Choice(
                "labels",
                "Write",
                vec![any("Values (names)"), ("1".into(), "Labels".into())],
                if labels { "1" } else { "" },
            ),
        ],
    );
    staff.page(
        "Exports",
        html! {
            h1 { "Exports" }
            p {
                "Every export holds the records within your scope that the filters choose. "
                "CSV files are laid out as ODK and Kobo exports are: one file of records, "
                "and one per repeat group joined to it by " code { "_parent_id" } ". "
                "A spreadsheet has the same as one sheet each."
            }
            (bar)
            (table)
        },
    )
}
