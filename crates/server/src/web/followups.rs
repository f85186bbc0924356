//! The follow-ups worklist (`/follow-ups`): case-note follow-ups due and overdue,
//! referrals made, call backs asked for, households not visited lately; each row with
//! "Mark done" and "Assign to", which change the record itself (see
//! `storage/followups.rs`), so that the phones holding it see the change. And the
//! dashboard's counts, as a fragment the dashboard includes.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::NaiveDate;
use maud::{html, Markup};
use serde::Deserialize;
use sync_core::protocol::PushStatus;
use sync_core::record::{FollowupMark, MAX_NOTE};
use uuid::Uuid;

use super::layout::{csrf_field, filter_bar, post_button, Filter};
use super::session::error_page;
use super::{storage_call, Staff, RECORD_ROLES};
use crate::app::AppState;
use crate::storage::followups::{
    default_since, record_kind_of, Assigned, Assignee, FollowupCounts, FollowupItem, WorklistQuery,
    KINDS,
};
use crate::storage::{Act, Selection};

/// `GET /follow-ups`: the worklist, within the caller's scope. Query: `assigned`
/// (`me`, `nobody`, or anyone), `since` (households not visited since, `YYYY-MM-DD`,
/// 30 days ago by default), `neighborhood`.
pub async fn worklist(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let text = |key: &str| crate::storage::query_value(&q, key);
    let today = state.storage.today();
    let since = match text("since") {
        None => default_since(today),
        Some(day) => match NaiveDate::parse_from_str(&day, "%Y-%m-%d") {
            Ok(day) => day,
            Err(_) => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    &format!("`{day}` is not a date (YYYY-MM-DD)."),
                )
            }
        },
    };
    let assigned = Assigned::parse(text("assigned").as_deref().unwrap_or_default());
    let neighborhood = text("neighborhood");
    let query = WorklistQuery {
        today,
        since,
        assigned,
        selection: Selection {
            neighborhood: neighborhood.clone(),
            ..Selection::default()
        },
    };
    let storage = state.storage.clone();
    let caller = staff.caller.clone();
    let found = storage_call(move || {
        let list = storage.followup_worklist(&caller, &query)?;
        let assignees = storage.followup_assignees(&caller)?;
        Ok((list, assignees))
    })
    .await;
    let (list, assignees) = match found {
        Ok(found) => found,
        Err(page) => return page,
    };
    let since_text = since.to_string();
    let filters = [
        Filter::Choice(
            "assigned",
            "Assigned to",
            vec![
                (String::new(), "Anyone".into()),
                ("me".into(), "Me".into()),
                ("nobody".into(), "Nobody yet".into()),
            ],
            assigned.as_str(),
        ),
        Filter::Text(
            "neighborhood",
            "Neighborhood",
            neighborhood.as_deref().unwrap_or_default(),
        ),
        Filter::Date("since", "Households not visited since", &since_text),
    ];
    let view = Rows {
        csrf: &staff.csrf,
        assignees: &assignees,
    };
    let body = html! {
        h1 { "Follow-ups" }
        p { "Today is " (today) ". Marking a follow-up done or assigning it changes the record: phones see it on their next sync." }
        (filter_bar("/follow-ups", &filters))
        h2 { "Follow-ups due (" (list.due.len()) ")" }
        (view.table("due", &list.due))
        h2 { "Referrals not completed (" (list.referrals.len()) ")" }
        (view.table("referrals", &list.referrals))
        h2 { "Parents who asked for a call back (" (list.callbacks.len()) ")" }
        (view.table("callbacks", &list.callbacks))
        h2 { "Households not visited since " (since) " (" (list.visits.len()) ")" }
        (view.table("visits", &list.visits))
    };
    staff.page("Follow-ups", body)
}

/// How the worklist's rows are drawn: the session's CSRF token and the users a
/// follow-up may be assigned to.
struct Rows<'a> {
    csrf: &'a str,
    assignees: &'a [Assignee],
}

impl Rows<'_> {
    fn name_of<'b>(&'b self, id: &'b str) -> &'b str {
        self.assignees
            .iter()
            .find(|a| a.id == id)
            .map_or(id, |a| a.username.as_str())
    }

    fn table(&self, section: &str, items: &[FollowupItem]) -> Markup {
        if items.is_empty() {
            return html! { p.empty data-section=(section) { "Nothing here." } };
        }
        html! {
            div.scroll {
                table data-section=(section) {
                    thead { tr {
                        th scope="col" { "What" }
                        th scope="col" { "Whom" }
                        th scope="col" { "Due" }
                        th scope="col" { "Assigned to" }
                        th scope="col" { "Act" }
                    } }
                    tbody { @for item in items { (self.row(item)) } }
                }
            }
        }
    }

    fn row(&self, item: &FollowupItem) -> Markup {
        let label = KINDS
            .iter()
            .find(|k| k.0 == item.kind)
            .map_or(item.kind, |k| k.2);
        let base = format!("/follow-ups/{}/{}", item.record_id, item.kind);
        html! {
            tr data-followup=(format!("{}:{}", item.record_id, item.kind)) {
                td {
                    a href=(format!("/records/{}", item.record_id)) { (label) }
                    @if item.overdue { " " strong.overdue { "overdue" } }
                }
                td {
                    (item.whom)
                    @if let Some(family) = &item.family {
                        " " small { "household " a href=(format!("/records/{family}")) { (family.chars().take(8).collect::<String>()) } }
                    }
                    @if let Some(hood) = &item.neighborhood { " " small { "(" (hood) ")" } }
                }
                td { (item.due) }
                td.assignee {
                    @match &item.assigned_to {
                        Some(id) => (self.name_of(id)),
                        None => em { "nobody" },
                    }
                }
                td {
                    (post_button(&format!("{base}/done"), self.csrf, &[], "Mark done"))
                    form.inline method="post" action=(format!("{base}/assign")) {
                        (csrf_field(self.csrf))
                        label { "Assign to " select name="user" {
                            option value="" { "(nobody)" }
                            @for a in self.assignees {
                                option value=(a.id) selected[item.assigned_to.as_deref() == Some(a.id.as_str())] { (a.username) }
                            }
                        } }
                        " " button type="submit" { "Assign" }
                    }
                }
            }
        }
    }
}

/// The "Mark done" form.
#[derive(Deserialize)]
pub struct DoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
}

/// The "Assign to" form: a user id, or empty to take the assignment away.
#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
}

/// `POST /follow-ups/{id}/{kind}/done`.
pub async fn done(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, kind)): Path<(String, String)>,
    Form(form): Form<DoneForm>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let note: String = form.note.trim().chars().take(MAX_NOTE).collect();
    let note = (!note.is_empty()).then_some(note);
    let detail = format!(
        "{kind}{}",
        note.as_deref().map_or(String::new(), |n| format!(": {n}"))
    );
    mark(
        state,
        staff,
        id,
        kind,
        FollowupMark::Done(note),
        "followup.done",
        detail,
    )
    .await
}

/// `POST /follow-ups/{id}/{kind}/assign`.
pub async fn assign(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, kind)): Path<(String, String)>,
    Form(form): Form<AssignForm>,
) -> Response {
    if let Err(page) = staff.check_csrf(&form.csrf) {
        return page;
    }
    let user = form.user.trim().to_string();
    let user = (!user.is_empty()).then_some(user);
    let detail = format!("{kind} to {}", user.as_deref().unwrap_or("nobody"));
    mark(
        state,
        staff,
        id,
        kind,
        FollowupMark::Assign(user),
        "followup.assign",
        detail,
    )
    .await
}

/// Make a mark as the signed-in staff member, then back to the worklist.
async fn mark(
    state: AppState,
    staff: Staff,
    id: String,
    kind: String,
    mark: FollowupMark,
    action: &'static str,
    detail: String,
) -> Response {
    if let Err(page) = staff.require(RECORD_ROLES) {
        return page;
    }
    let Ok(uuid) = id.parse::<Uuid>() else {
        return error_page(StatusCode::NOT_FOUND, "No such record.");
    };
    if record_kind_of(&kind).is_none() {
        return error_page(StatusCode::NOT_FOUND, "No such follow-up.");
    }
    let storage = state.storage.clone();
    let (caller, address) = (staff.caller.clone(), staff.address.clone());
    let subject = uuid.to_string();
    let result = storage_call(move || {
        let act = Act {
            actor: &caller,
            address: &address,
            action,
            subject: &subject,
            detail,
        };
        storage.mark_followup(&act, uuid, &kind, mark)
    })
    .await;
    match result {
        Ok(Some(r)) if r.status != PushStatus::Rejected => {
            Redirect::to("/follow-ups").into_response()
        }
        Ok(Some(r)) => error_page(
            StatusCode::FORBIDDEN,
            &format!(
                "The change was refused: {}",
                r.reason.unwrap_or_else(|| "no reason given".into())
            ),
        ),
        Ok(None) => error_page(StatusCode::NOT_FOUND, "No such record."),
        Err(page) => page,
    }
}

/// The dashboard's follow-up counts for `staff` (within their scope), or `None` for
/// a role that does not see records (or when the counts cannot be read: the dashboard
/// shows without them).
pub async fn dashboard_counts(state: &AppState, staff: &Staff) -> Option<FollowupCounts> {
    if !RECORD_ROLES.contains(&staff.caller.role) {
        return None;
    }
    let storage = state.storage.clone();
    let scope = staff.caller.scope.clone();
    storage_call(move || storage.followup_counts(scope.as_ref(), storage.today()))
        .await
        .ok()
}

/// The dashboard's follow-ups box: the counts, each linking to the worklist; nothing
/// for `None`. The dashboard includes it with
/// `(followups::dashboard_fragment(followups::dashboard_counts(&state, &staff).await))`.
pub fn dashboard_fragment(counts: Option<FollowupCounts>) -> Markup {
    let Some(c) = counts else {
        return html! {};
    };
    html! {
        section.followups data-followup-counts {
            h2 { a href="/follow-ups" { "Follow-ups" } }
            ul {
                li data-count="due_today" { strong { (c.due_today) } " due today" }
                li data-count="overdue" { strong { (c.overdue) } " overdue" }
                li data-count="referrals_open" { strong { (c.referrals_open) } " referrals open" }
                li data-count="callbacks_open" { strong { (c.callbacks_open) } " call backs asked for" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_fragment_shows_the_counts_or_nothing() {
        let counts = FollowupCounts {
            due_today: 3,
            overdue: 7,
            referrals_open: 11,
            callbacks_open: 13,
        };
        let html = dashboard_fragment(Some(counts)).into_string();
        for (key, n) in [
            ("due_today", 3),
            ("overdue", 7),
            ("referrals_open", 11),
            ("callbacks_open", 13),
        ] {
            assert!(
                html.contains(&format!("data-count=\"{key}\"><strong>{n}</strong>")),
                "{html}"
            );
        }
        assert!(html.contains("href=\"/follow-ups\""));
        assert_eq!(dashboard_fragment(None).into_string(), "");
    }
}
