//! `GET /records` (the records the user may see, newest change first, with filters,
//! search and keyset pages), `GET /records/{id}` (a record's fields, conflicts and
//! history) and `POST /records/{id}/resolve` (choose a conflicting field's value).
//!
//! A record outside the user's scope answers exactly as a missing one does.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use forms::{Answer, Answers, Value};
use serde::Deserialize;
use sync_core::protocol::PushStatus;
use sync_core::{Conflict, HistoryEntry, RecordKind};
use uuid::Uuid;

use super::html::{escape, url_encode};
use super::session::error_page;
use super::{storage_call, Staff, BACKBONE_ROLES, RECORD_ROLES};
use crate::app::AppState;
use crate::storage::{ChangeOrigin, ListCursor, RecordFilter, RecordRow, UploadState};

/// Records on one page of the list.
const PAGE: usize = 50;

/// The list's query string.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    conflicts: Option<String>,
    #[serde(default)]
    neighborhood: String,
    #[serde(default)]
    q: String,
    /// `<updated_at>:<id>` of the last record of the page before.
    #[serde(default)]
    after: String,
}

fn when(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).map_or_else(
        || t.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn nonempty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.chars().take(200).collect())
}

fn query_string(q: &ListQuery, after: Option<&ListCursor>) -> String {
    let mut pairs = vec![
        ("kind", q.kind.clone()),
        ("neighborhood", q.neighborhood.clone()),
        ("q", q.q.clone()),
    ];
    if q.conflicts.is_some() {
        pairs.push(("conflicts", "1".into()));
    }
    if let Some((at, id)) = after {
        pairs.push(("after", format!("{at}:{id}")));
    }
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", url_encode(&v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /records`.
pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let kind = nonempty(&q.kind);
    if let Some(k) = &kind {
        if k.parse::<RecordKind>().is_err() {
            return error_page(StatusCode::BAD_REQUEST, "No such kind of record.");
        }
    }
    let filter = RecordFilter {
        kind,
        conflicts: q.conflicts.is_some(),
        neighborhood: nonempty(&q.neighborhood),
        search: nonempty(&q.q),
    };
    let after = q
        .after
        .split_once(':')
        .and_then(|(at, id)| Some((at.parse::<i64>().ok()?, id.to_string())));
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    let read_filter = filter.clone();
    let list = storage_call(move || {
        storage.list_records(scope.as_ref(), &read_filter, after.as_ref(), PAGE)
    })
    .await;
    let list = match list {
        Ok(list) => list,
        Err(page) => return page,
    };
    let kinds: String = std::iter::once(("", "any kind"))
        .chain(RecordKind::ALL.iter().map(|k| (k.as_str(), k.as_str())))
        .map(|(value, label)| {
            let selected = if q.kind == value { " selected" } else { "" };
            format!("<option value=\"{value}\"{selected}>{label}</option>")
        })
        .collect();
    let mut body = format!(
        "<h1>Records</h1><form method=\"get\" action=\"/records\" id=\"filters\">\
         <label>Kind <select name=\"kind\">{kinds}</select></label>\
         <label>Neighborhood <input name=\"neighborhood\" value=\"{}\"></label>\
         <label>Search <input name=\"q\" type=\"search\" value=\"{}\" placeholder=\"id or answer text\"></label>\
         <label><input type=\"checkbox\" name=\"conflicts\" value=\"1\"{}> Only records with conflicts</label>\
         <button type=\"submit\">Show</button></form>",
        escape(&q.neighborhood),
        escape(&q.q),
        if filter.conflicts { " checked" } else { "" }
    );
    if list.records.is_empty() {
        body.push_str("<p id=\"no-records\">No records on this page.</p>");
    } else {
        body.push_str(
            "<table id=\"records\"><thead><tr><th>Record</th><th>Kind</th><th>Form</th>\
             <th>Neighborhood</th><th>Summary</th><th>Last change</th><th>Conflicts</th></tr>\
             </thead><tbody>",
        );
        for r in &list.records {
            body.push_str(&format!(
                "<tr><td><a class=\"record\" href=\"/records/{id}\">{short}</a></td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&r.kind),
                escape(r.form_id.as_deref().unwrap_or("")),
                escape(r.neighborhood.as_deref().unwrap_or("")),
                escape(&r.summary),
                when(r.updated_at),
                if r.has_conflicts { "yes" } else { "" },
                id = escape(&r.id),
                short = escape(r.id.get(..8).unwrap_or(&r.id)),
            ));
        }
        body.push_str("</tbody></table>");
    }
    if let Some(next) = &list.next {
        let more = if filter.search.is_some() {
            "Search further"
        } else {
            "Next page"
        };
        body.push_str(&format!(
            "<p><a id=\"next\" href=\"/records?{}\">{more}</a></p>",
            escape(&query_string(&q, Some(next)))
        ));
    }
    staff.page("Records", maud::PreEscaped(body))
}

fn text_of(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Decimal(d) => d.to_string(),
        Value::Text(t) => t.clone(),
    }
}

/// Every scalar answer with its path (`child[2]/age_years`, as conflicts name them).
pub(super) fn flatten(answers: &Answers, prefix: &str, out: &mut Vec<(String, String)>) {
    for (name, answer) in answers.iter() {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        match answer {
            Answer::Value(v) => out.push((path, text_of(v))),
            Answer::Repeat(items) => {
                for (i, item) in items.iter().enumerate() {
                    flatten(item, &format!("{path}[{}]", i + 1), out);
                }
            }
        }
    }
}

/// What a record's page shows.
struct Review {
    row: RecordRow,
    history: Vec<HistoryEntry>,
    conflicts: Vec<Conflict>,
    origins: Vec<ChangeOrigin>,
    names: HashMap<String, String>,
    /// How far each attachment its answers name is uploaded.
    attachments: HashMap<String, UploadState>,
}

fn conflicts_html(
    id: &str,
    conflicts: &[Conflict],
    names: &HashMap<String, String>,
    csrf: &str,
) -> String {
    if conflicts.is_empty() {
        return "<section id=\"conflicts\"><h2>Conflicts</h2><p id=\"no-conflicts\">No field holds \
                conflicting values.</p></section>"
            .into();
    }
    let mut html = String::from(
        "<section id=\"conflicts\"><h2>Conflicts</h2><p>These fields were changed on two \
         devices at once. Choose the value to keep; the others stay in the history.</p>",
    );
    for c in conflicts {
        html.push_str(&format!(
            "<form class=\"resolve\" method=\"post\" action=\"/records/{id}/resolve\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"path\" value=\"{}\"><fieldset><legend>{}</legend>",
            escape(&c.path),
            escape(&c.path)
        ));
        for v in &c.values {
            let json = serde_json::to_string(&v.value).unwrap_or_default();
            let author = names.get(&v.author).unwrap_or(&v.author);
            html.push_str(&format!(
                "<label><input type=\"radio\" name=\"choice\" value=\"{}\" required{}> \
                 <strong>{}</strong> by {} at {}{}</label>",
                escape(&json),
                if v.shown { " checked" } else { "" },
                escape(&text_of(&v.value)),
                escape(author),
                when(v.time),
                if v.shown { " (shown now)" } else { "" }
            ));
        }
        html.push_str(
            "<label>Note <input name=\"note\" maxlength=\"500\"></label>\
             <button type=\"submit\">Keep this value</button></fieldset></form>",
        );
    }
    html.push_str("</section>");
    html
}

fn history_html(review: &Review) -> String {
    let origins: HashMap<&str, &ChangeOrigin> = review
        .origins
        .iter()
        .map(|o| (o.hash.as_str(), o))
        .collect();
    let mut html = String::from(
        "<section id=\"history\"><h2>History</h2><table><thead><tr><th>When</th><th>Who</th>\
         <th>What</th><th>Fields</th><th>Received from</th></tr></thead><tbody>",
    );
    for h in &review.history {
        let who = review.names.get(&h.author).unwrap_or(&h.author);
        let received = origins.get(h.hash.as_str()).map_or(String::new(), |o| {
            format!("{} ({}), {}", o.device, o.username, when(o.received_at))
        });
        html.push_str(&format!(
            "<tr class=\"change\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            when(h.time),
            escape(who),
            escape(&h.message),
            escape(&h.fields.join(", ")),
            escape(&received)
        ));
    }
    html.push_str("</tbody></table></section>");
    html
}

/// `GET /records/{id}`.
pub async fn record(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let not_found = || error_page(StatusCode::NOT_FOUND, "No such record.");
    let Ok(uuid) = id.parse::<Uuid>() else {
        return not_found();
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let review = storage_call(move || {
        let Some(row) = storage.record(uuid)? else {
            return Ok(None);
        };
        if !caller.may_see(&row.scope) {
            return Ok(None);
        }
        let Some(mut doc) = storage.record_doc(uuid)? else {
            return Ok(None);
        };
        let named = super::attachments::names_in(&row.fields);
        let shas: Vec<&str> = named
            .iter()
            .filter_map(|n| sync_core::protocol::attachment_sha256(n))
            .collect();
        Ok(Some(Review {
            attachments: storage.attachment_states(&row.id, &shas)?,
            history: doc.history(),
            conflicts: doc.conflicts(),
            origins: storage.change_origins(&row.id)?,
            names: storage.usernames()?,
            row,
        }))
    })
    .await;
    let review = match review {
        Ok(Some(review)) => review,
        Ok(None) => return not_found(),
        Err(page) => return page,
    };
    let row = &review.row;
    let mut fields = Vec::new();
    let answers: Answers = serde_json::from_value(row.fields.clone()).unwrap_or_default();
    flatten(&answers, "", &mut fields);
    let created_by = review.names.get(&row.created_by).unwrap_or(&row.created_by);
    let scope = [
        Some(format!("partnership {}", row.scope.partnership)),
        row.scope
            .organization
            .as_ref()
            .map(|v| format!("organization {v}")),
        row.scope
            .neighborhood
            .as_ref()
            .map(|v| format!("neighborhood {v}")),
        row.scope.family.as_ref().map(|v| format!("family {v}")),
        row.scope.program.as_ref().map(|v| format!("program {v}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    let form = row
        .form
        .as_ref()
        .map_or(String::new(), |(f, v)| format!("{f} version {v}"));
    let mut body = format!(
        "<h1>{} <small>{}</small></h1><table id=\"meta\"><tbody>\
         <tr><th>Form</th><td>{}</td></tr><tr><th>Scope</th><td>{}</td></tr>\
         <tr><th>Created</th><td>{} by {}</td></tr><tr><th>Last change</th><td>{}</td></tr>\
         </tbody></table>",
        escape(&row.kind),
        escape(&row.id),
        escape(&form),
        escape(&scope),
        when(row.created_at),
        escape(created_by),
        when(row.updated_at)
    );
    body.push_str(&conflicts_html(
        &row.id,
        &review.conflicts,
        &review.names,
        &staff.csrf,
    ));
    body.push_str("<h2>Fields</h2><table id=\"fields\"><tbody>");
    for (path, value) in &fields {
        let shown = super::attachments::cell(&row.id, value, &review.attachments)
            .unwrap_or_else(|| escape(value));
        body.push_str(&format!(
            "<tr data-field=\"{p}\"><th>{p}</th><td class=\"value\">{shown}</td></tr>",
            p = escape(path)
        ));
    }
    body.push_str("</tbody></table>");
    body.push_str(&history_html(&review));
    let purgeable = matches!(row.kind.as_str(), "household" | "person");
    if purgeable && staff.require(BACKBONE_ROLES).is_ok() {
        body.push_str(&format!(
            "<section id=\"purge\"><h2>Withdraw consent</h2><p>Deletes this {kind}, {what}and \
             every record about them, with their history, from the server and from every \
             phone at its next sync. Only an audit entry (who, which records, when, why) \
             remains. This cannot be undone.</p>\
             <form method=\"post\" action=\"/records/{id}/purge\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label>Why <input name=\"reason\" required maxlength=\"500\"></label>\
             <button type=\"submit\">Delete everything about this {kind}</button></form></section>",
            kind = escape(&row.kind),
            what = if row.kind == "household" {
                "its members "
            } else {
                ""
            },
            id = escape(&row.id),
            csrf = staff.csrf,
        ));
    }
    staff.page(
        &format!("{} {}", row.kind, row.id.get(..8).unwrap_or("")),
        maud::PreEscaped(body),
    )
}

/// The resolve form.
#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    path: String,
    /// The chosen value as JSON (as the radio button carried it).
    choice: String,
    #[serde(default)]
    note: String,
}

/// `POST /records/{id}/resolve`.
pub async fn resolve(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Response {
    if let Err(page) = staff
        .require(RECORD_ROLES)
        .and_then(|()| staff.check_csrf(&form.csrf))
    {
        return page;
    }
    let Ok(uuid) = id.parse::<Uuid>() else {
        return error_page(StatusCode::NOT_FOUND, "No such record.");
    };
    let Ok(chosen) = serde_json::from_str::<Value>(&form.choice) else {
        return error_page(StatusCode::BAD_REQUEST, "Choose one of the values.");
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let note: String = form.note.chars().take(500).collect();
    let path = form.path.clone();
    let result =
        storage_call(move || storage.resolve_conflict(&caller, uuid, &path, chosen, &note)).await;
    match result {
        Ok(Some(r)) if r.status != PushStatus::Rejected => {
            tracing::info!(record = %uuid, path = %form.path, "conflict resolved on the web");
            Redirect::to(&format!("/records/{uuid}")).into_response()
        }
        Ok(Some(r)) => error_page(
            StatusCode::FORBIDDEN,
            &format!(
                "The choice was refused: {}",
                r.reason.unwrap_or_else(|| "no reason given".into())
            ),
        ),
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such record."),
        Err(page) => page,
    }
}

/// The purge form.
#[derive(Deserialize)]
pub struct PurgeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /records/{id}/purge`: consent withdrawn.
pub async fn purge(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<PurgeForm>,
) -> Response {
    if let Err(page) = staff
        .require(BACKBONE_ROLES)
        .and_then(|()| staff.check_csrf(&form.csrf))
    {
        return page;
    }
    let Ok(uuid) = id.parse::<Uuid>() else {
        return error_page(StatusCode::NOT_FOUND, "No such record.");
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let reason = form.reason.clone();
    match storage_call(move || storage.purge(&caller, uuid, &reason)).await {
        Ok(Some(report)) => {
            let items: String = report
                .records
                .iter()
                .map(|r| format!("<li><code>{}</code></li>", escape(r)))
                .collect();
            staff.page(
                "Purged",
                maud::PreEscaped(format!(
                    "<h1>Deleted</h1><p id=\"purged\">{} records and {} changes were deleted; \
                     phones delete their copies at their next sync.</p><ul>{items}</ul>\
                     <p><a href=\"/records\">Back to the records</a></p>",
                    report.records.len(),
                    report.changes
                )),
            )
        }
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such household or person."),
        Err(page) => page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_flatten_to_the_paths_conflicts_use() {
        let mut kid = Answers::new();
        kid.set("age_years", 4i64);
        let mut a = Answers::new();
        a.set("consent", "yes")
            .set_repeat("child", vec![Answers::new(), kid]);
        let mut out = Vec::new();
        flatten(&a, "", &mut out);
        assert_eq!(
            out,
            [
                ("child[2]/age_years".to_string(), "4".to_string()),
                ("consent".to_string(), "yes".to_string())
            ]
        );
        assert_eq!(url_encode("a b&c"), "a%20b%26c");
    }
}
