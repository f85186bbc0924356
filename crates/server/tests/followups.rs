//! The follow-ups worklist through the real router: a case note's follow-up due and
//! overdue, referrals, call backs, households not visited; marks (done, assigned) made
//! on the web as changes that reach the devices; scope; and a device's hostile
//! `followups` shape refused.

mod common;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Change, ObjType, ROOT};
use axum::http::StatusCode;
use chrono::{Duration, NaiveDate};
use common::pages::*;
use common::*;
use forms::Answers;
use sync_core::protocol::PushStatus;
use sync_core::record::CommitInfo;
use sync_core::{RecordDoc, RecordKind, Scope};

on_both_backends!(
    a_due_followup_marked_done_on_the_web_reaches_the_device,
    referrals_callbacks_and_assignment,
    scope_and_households_not_visited,
    a_hostile_followups_shape_is_refused,
    the_worklist_stays_fast_at_100_000_responses,
);

/// A case note by the user `by` about `participant`, contacted ten days ago, with a
/// follow-up date and a referral status when given.
fn case_note(
    by: &str,
    scope: Scope,
    participant: &str,
    followup: Option<NaiveDate>,
    referral: Option<&str>,
    today: NaiveDate,
) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("participant", participant)
        .set("contact_date", (today - Duration::days(10)).to_string())
        .set("contact_type", "phone");
    if let Some(day) = followup {
        a.set("followup_date", day.to_string());
    }
    if let Some(status) = referral {
        a.set("referral_to", "Eastside clinic")
            .set("referral_status", status);
    }
    record(by, RecordKind::CaseNote, scope, Some("case_note"), &a)
}

/// A literacy check-in by the user `by` about `child`.
fn checkin(
    by: &str,
    scope: Scope,
    child: &str,
    callback: &str,
    today: NaiveDate,
) -> (RecordDoc, Change) {
    let mut a = Answers::new();
    a.set("child", child)
        .set("week_of", (today - Duration::days(3)).to_string())
        .set("want_callback", callback);
    record(by, RecordKind::Checkin, scope, Some("literacy_checkin"), &a)
}

async fn push_accepted(s: &TestServer, token: &str, doc: &RecordDoc, change: &Change) {
    let r = s.push_ok(token, &[(doc.id(), change)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted], "{:?}", r.results);
}

/// The rows of one section of the worklist page.
fn section<'a>(body: &'a str, name: &str) -> &'a str {
    let start = format!("data-section=\"{name}\"");
    if !body.contains(&start) {
        panic!("no section {name} in {body}");
    }
    between(body, &start, "</table>")
}

fn row(id: uuid::Uuid, kind: &str) -> String {
    format!("data-followup=\"{id}:{kind}\"")
}

async fn a_due_followup_marked_done_on_the_web_reaches_the_device(s: TestServer) {
    let pat = s.user("pat", "partner_staff", Some(east())).await;
    let pat_id = s.user_id(&pat);
    let today = s.storage.today();
    let (mut due, c1) = case_note(&pat_id, east(), "Ana", Some(today), None, today);
    let (late, c2) = case_note(
        &pat_id,
        east(),
        "Beto",
        Some(today - Duration::days(2)),
        None,
        today,
    );
    let (later, c3) = case_note(
        &pat_id,
        east(),
        "Caro",
        Some(today + Duration::days(5)),
        None,
        today,
    );
    for (doc, c) in [(&due, &c1), (&late, &c2), (&later, &c3)] {
        push_accepted(&s, &pat, doc, c).await;
    }
    let counts = s.storage.followup_counts(Some(&east()), today).unwrap();
    assert_eq!((counts.due_today, counts.overdue), (1, 1), "{counts:?}");

    let web = session(&s, "pat", "password-123").await;
    let page = get(&s, "/follow-ups", Some(&web)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let rows = section(&page.body, "due");
    assert!(rows.contains(&row(due.id(), "followup")), "{rows}");
    assert!(
        rows.contains("Ana") && rows.contains(&today.to_string()),
        "{rows}"
    );
    let late_row = between(rows, &row(late.id(), "followup"), "</tr>");
    assert!(late_row.contains("overdue"), "{late_row}");
    let due_row = between(rows, &row(due.id(), "followup"), "</tr>");
    assert!(!due_row.contains("overdue"), "{due_row}");
    assert!(
        !rows.contains(&later.id().to_string()),
        "not due yet: {rows}"
    );

    // A form without the session's token is refused, and changes nothing.
    let action = format!("/follow-ups/{}/followup/done", due.id());
    let forged = post_form(&s, &action, &web, "csrf=nope").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let csrf = hidden_csrf(&page.body);
    let done = post_form(&s, &action, &web, &format!("csrf={csrf}&note=called+back")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);

    let page = get(&s, "/follow-ups", Some(&web)).await;
    let rows = section(&page.body, "due");
    assert!(!rows.contains(&row(due.id(), "followup")), "{rows}");
    assert!(rows.contains(&row(late.id(), "followup")), "{rows}");
    let counts = s.storage.followup_counts(Some(&east()), today).unwrap();
    assert_eq!((counts.due_today, counts.overdue), (0, 1), "{counts:?}");
    assert_eq!(
        s.sql("SELECT COUNT(*) FROM records WHERE followups LIKE '%followup_done_by%'"),
        1
    );
    let audit = s.storage.audit_log(None).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "followup.done" && e.subject == due.id().to_string()),
        "{audit:?}"
    );

    // The note's author pulls the mark onto the phone's copy of the record.
    let before = due.followup("followup");
    assert_eq!(before, None);
    let (pages, _) = pull_all(&s, &pat, 100, 1 << 20).await;
    let changes: Vec<Change> = pages
        .iter()
        .flat_map(|p| p.changes.iter())
        .filter(|c| c.record == due.id())
        .map(|c| Change::from_bytes(c.change.0.clone()).unwrap())
        .collect();
    assert_eq!(changes.len(), 2, "the creation and the mark");
    due.apply_changes(changes).unwrap();
    due.check_shape().unwrap();
    let mark = due
        .followup("followup")
        .expect("the mark reached the device");
    assert_eq!(mark.done_by.as_deref(), Some(pat_id.as_str()));
    assert!(mark.done_at.unwrap() >= s.storage.clock().now() - 60);
    assert_eq!(mark.note.as_deref(), Some("called back"));
}

async fn referrals_callbacks_and_assignment(s: TestServer) {
    let pat = s.user("pat", "partner_staff", Some(east())).await;
    let pat_id = s.user_id(&pat);
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let ana_id = s.user_id(&ana);
    let wes = s.user("wes", "outreach_worker", Some(west())).await;
    let wes_id = s.user_id(&wes);
    let today = s.storage.today();
    let (made, c1) = case_note(&pat_id, east(), "Dora", None, Some("made"), today);
    let (connected, c2) = case_note(&pat_id, east(), "Eli", None, Some("connected"), today);
    let (call, c3) = checkin(&pat_id, east(), "Fede", "yes", today);
    let (quiet, c4) = checkin(&pat_id, east(), "Gabi", "no", today);
    for (doc, c) in [(&made, &c1), (&connected, &c2), (&call, &c3), (&quiet, &c4)] {
        push_accepted(&s, &pat, doc, c).await;
    }
    let counts = s.storage.followup_counts(Some(&east()), today).unwrap();
    assert_eq!((counts.referrals_open, counts.callbacks_open), (1, 1));

    let web = session(&s, "pat", "password-123").await;
    let page = get(&s, "/follow-ups", Some(&web)).await;
    let csrf = hidden_csrf(&page.body);
    let referrals = section(&page.body, "referrals");
    assert!(
        referrals.contains(&row(made.id(), "referral")),
        "{referrals}"
    );
    assert!(
        !referrals.contains(&connected.id().to_string()),
        "{referrals}"
    );
    let callbacks = section(&page.body, "callbacks");
    assert!(
        callbacks.contains(&row(call.id(), "callback")),
        "{callbacks}"
    );
    assert!(callbacks.contains("Fede"), "{callbacks}");
    assert!(!callbacks.contains(&quiet.id().to_string()), "{callbacks}");
    // The assign select offers the users in pat's scope, not the west worker.
    assert!(page.body.contains(&format!("value=\"{ana_id}\"")));
    assert!(!page.body.contains(&format!("value=\"{wes_id}\"")));

    // Assigned to ana: shown with her name, not under "me" nor "nobody".
    let assign = format!("/follow-ups/{}/callback/assign", call.id());
    let r = post_form(&s, &assign, &web, &format!("csrf={csrf}&user={ana_id}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(&s, "/follow-ups", Some(&web)).await;
    let call_row = between(&page.body, &row(call.id(), "callback"), "</tr>");
    assert!(
        call_row.contains("<td class=\"assignee\">ana</td>"),
        "{call_row}"
    );
    let mine = get(&s, "/follow-ups?assigned=me", Some(&web)).await;
    assert!(!mine.body.contains(&row(call.id(), "callback")));
    let nobody = get(&s, "/follow-ups?assigned=nobody", Some(&web)).await;
    assert!(!nobody.body.contains(&row(call.id(), "callback")));
    assert!(nobody.body.contains(&row(made.id(), "referral")));

    // A user outside pat's scope cannot be assigned.
    let r = post_form(&s, &assign, &web, &format!("csrf={csrf}&user={wes_id}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // An admin sees everyone, but may not assign a west worker an east record: the
    // worker's phone would never receive it.
    let admin = session(&s, "admin", ADMIN_PASSWORD).await;
    let admin_page = get(&s, "/follow-ups", Some(&admin)).await;
    assert!(admin_page.body.contains(&format!("value=\"{wes_id}\"")));
    let admin_csrf = hidden_csrf(&admin_page.body);
    let r = post_form(
        &s,
        &assign,
        &admin,
        &format!("csrf={admin_csrf}&user={wes_id}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("does not see this record"), "{}", r.body);

    // Assigned to pat: "assigned to me" shows it.
    let r = post_form(&s, &assign, &web, &format!("csrf={csrf}&user={pat_id}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mine = get(&s, "/follow-ups?assigned=me", Some(&web)).await;
    assert!(
        mine.body.contains(&row(call.id(), "callback")),
        "{}",
        mine.body
    );
    assert!(!mine.body.contains(&row(made.id(), "referral")));
    let doc = s.storage.record_doc(call.id()).unwrap().unwrap();
    assert_eq!(
        doc.followup("callback").unwrap().assigned_to.as_deref(),
        Some(pat_id.as_str())
    );
    let audit = s.storage.audit_log(None).unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == "followup.assign")
            .count(),
        2,
        "{audit:?}"
    );

    // The referral shows until it is marked done.
    let done = format!("/follow-ups/{}/referral/done", made.id());
    let r = post_form(&s, &done, &web, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(&s, "/follow-ups", Some(&web)).await;
    assert!(!page.body.contains(&row(made.id(), "referral")));
    assert!(page.body.contains(&row(call.id(), "callback")));
    // A follow-up kind the record does not carry is refused.
    let wrong = format!("/follow-ups/{}/callback/done", made.id());
    let r = post_form(&s, &wrong, &web, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let counts = s.storage.followup_counts(Some(&east()), today).unwrap();
    assert_eq!((counts.referrals_open, counts.callbacks_open), (0, 1));
}

async fn scope_and_households_not_visited(s: TestServer) {
    let pat = s.user("pat", "partner_staff", Some(east())).await;
    let pat_id = s.user_id(&pat);
    let wes = s.user("wes", "partner_staff", Some(west())).await;
    let wes_id = s.user_id(&wes);
    s.user("rita", "reports_only", Some(east())).await;
    let today = s.storage.today();

    let (west_note, c) = case_note(&wes_id, west(), "Hugo", Some(today), None, today);
    push_accepted(&s, &wes, &west_note, &c).await;
    let (east_note, c) = case_note(&pat_id, east(), "Iris", Some(today), None, today);
    push_accepted(&s, &pat, &east_note, &c).await;

    // Two households made in 2023; one has a check-in this week.
    let (visited, c) = household(&pat_id, east());
    push_accepted(&s, &pat, &visited, &c).await;
    let (forgotten, c) = household(&pat_id, east());
    push_accepted(&s, &pat, &forgotten, &c).await;
    let mut a = Answers::new();
    a.set("child", "Juan")
        .set("week_of", (today - Duration::days(3)).to_string());
    let family = east().with_family(visited.id().to_string());
    let (visit, c) = record_at(
        &pat_id,
        RecordKind::Checkin,
        family,
        Some("literacy_checkin"),
        &a,
        s.storage.clock().now() - 86_400,
    );
    push_accepted(&s, &pat, &visit, &c).await;

    let web = session(&s, "pat", "password-123").await;
    let page = get(&s, "/follow-ups", Some(&web)).await;
    assert!(page.body.contains(&row(east_note.id(), "followup")));
    assert!(
        !page.body.contains(&west_note.id().to_string()),
        "outside pat's scope"
    );
    let visits = section(&page.body, "visits");
    assert!(visits.contains(&row(forgotten.id(), "visit")), "{visits}");
    assert!(!visits.contains(&row(visited.id(), "visit")), "{visits}");
    assert!(visits.contains("12 Elm St"), "{visits}");
    // Since tomorrow, the check-in no longer counts.
    let tomorrow = today + Duration::days(1);
    let page = get(&s, &format!("/follow-ups?since={tomorrow}"), Some(&web)).await;
    assert!(section(&page.body, "visits").contains(&row(visited.id(), "visit")));
    let bad = get(&s, "/follow-ups?since=yesterday", Some(&web)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // Marking a visit done takes the household off the list.
    let csrf = hidden_csrf(&page.body);
    let r = post_form(
        &s,
        &format!("/follow-ups/{}/visit/done", forgotten.id()),
        &web,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get(&s, "/follow-ups", Some(&web)).await;
    assert!(!page.body.contains(&row(forgotten.id(), "visit")));

    // Marking a record outside the scope is refused like a missing one, and changes
    // nothing; so is an unknown kind.
    let changes = s.changes();
    let r = post_form(
        &s,
        &format!("/follow-ups/{}/followup/done", west_note.id()),
        &web,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let r = post_form(
        &s,
        &format!("/follow-ups/{}/lunch/done", east_note.id()),
        &web,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert_eq!(s.changes(), changes);
    let doc = s.storage.record_doc(west_note.id()).unwrap().unwrap();
    assert!(doc.followups().is_empty());

    // Reports-only users never see the worklist, nor get counts.
    let rita = session(&s, "rita", "password-123").await;
    let page = get(&s, "/follow-ups", Some(&rita)).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

/// A change made with raw Automerge operations by the user `by`, the way a foreign
/// client could write it.
fn raw_change(
    doc: &mut RecordDoc,
    by: &str,
    edit: impl FnOnce(&mut automerge::AutoCommit),
) -> Change {
    let before = doc.heads();
    let am = doc.automerge();
    edit(am);
    let info = CommitInfo {
        by: by.into(),
        msg: "followups".into(),
    };
    am.commit_with(
        CommitOptions::default()
            .with_message(serde_json::to_string(&info).unwrap())
            .with_time(1_700_000_000),
    );
    doc.changes_since(&before).remove(0)
}

async fn a_hostile_followups_shape_is_refused(s: TestServer) {
    let pat = s.user("pat", "partner_staff", Some(east())).await;
    let pat_id = s.user_id(&pat);
    let today = s.storage.today();
    type Edit = Box<dyn FnOnce(&mut automerge::AutoCommit)>;
    let cases: Vec<(&str, Edit)> = vec![
        (
            "followups.followup.priority",
            Box::new(|am| {
                let root = am.put_object(ROOT, "followups", ObjType::Map).unwrap();
                let m = am.put_object(&root, "followup", ObjType::Map).unwrap();
                am.put(&m, "priority", "high").unwrap();
            }),
        ),
        (
            "followups.callback",
            Box::new(|am| {
                let root = am.put_object(ROOT, "followups", ObjType::Map).unwrap();
                am.put_object(&root, "callback", ObjType::List).unwrap();
            }),
        ),
        (
            "followups.visit.done_at",
            Box::new(|am| {
                let root = am.put_object(ROOT, "followups", ObjType::Map).unwrap();
                let m = am.put_object(&root, "visit", ObjType::Map).unwrap();
                am.put(&m, "done_at", "yesterday").unwrap();
            }),
        ),
    ];
    for (path, edit) in cases {
        let (mut doc, c) = case_note(&pat_id, east(), "Kim", Some(today), None, today);
        push_accepted(&s, &pat, &doc, &c).await;
        let bad = raw_change(&mut doc, &pat_id, edit);
        let r = s.push_ok(&pat, &[(doc.id(), &bad)]).await;
        assert_eq!(statuses(&r), vec![PushStatus::Rejected], "{path}");
        let reason = r.results[0].reason.clone().unwrap_or_default();
        assert!(reason.contains(path), "{path}: {reason}");
        let stored = s.storage.record_doc(doc.id()).unwrap().unwrap();
        assert!(stored.followups().is_empty());
    }
    // A well-formed map made by a device is taken, and materialized in the row.
    let (mut doc, c) = case_note(&pat_id, east(), "Lu", Some(today), None, today);
    push_accepted(&s, &pat, &doc, &c).await;
    let good = raw_change(&mut doc, &pat_id, |am| {
        let root = am.put_object(ROOT, "followups", ObjType::Map).unwrap();
        let m = am.put_object(&root, "followup", ObjType::Map).unwrap();
        am.put(&m, "assigned_to", "someone").unwrap();
    });
    push_accepted(&s, &pat, &doc, &good).await;
    let followups = s
        .sql(&format!(
            "SELECT COUNT(*) FROM records WHERE id = '{}' AND followups LIKE '%\"followup_assigned_to\":\"someone\"%'",
            doc.id()
        ));
    assert_eq!(followups, 1);
}

/// Rows written straight into `records`: `count` of `kind` answering `form` (SQL),
/// ids `prefix<i>`, with `fields` and `family` as SQL expressions of `i`, created at
/// `created_at`.
fn bulk(
    s: &TestServer,
    count: u32,
    (kind, form): (&str, &str),
    prefix: &str,
    family: &str,
    fields: &str,
    created_at: i64,
) {
    s.sql(&format!(
        "INSERT INTO records (id, kind, partnership, neighborhood, family, form_id,
             form_version, created_by, created_at, updated_at, heads, fields, has_conflicts,
             issues)
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last})
         SELECT '{prefix}' || i, '{kind}', 'p1', 'east', {family}, {form}, 1, 'u', {created_at},
             {created_at}, '[]', {fields}, 1 = 0, '[]' FROM n",
        last = count - 1,
    ));
}

async fn the_worklist_stays_fast_at_100_000_responses(s: TestServer) {
    let today = s.storage.today();
    let now = s.storage.clock().now();
    bulk(
        &s,
        100_000,
        ("response", "'household_survey'"),
        "r",
        "'h' || (i % 4000)",
        "'{\"consent\":\"yes\"}'",
        now - 86_400,
    );
    bulk(
        &s,
        5_000,
        ("household", "NULL"),
        "h",
        "NULL",
        "'{\"address\":\"1 Main St\"}'",
        1_700_000_000,
    );
    bulk(&s, 10_000, ("case_note", "'case_note'"), "c", "NULL", &format!(
        "'{{\"participant\":\"P' || i || '\",\"followup_date\":\"' || CASE WHEN i % 10 = 0 THEN '{today}' WHEN i % 10 = 1 THEN '2000-01-01' ELSE '2999-01-01' END || '\",\"referral_status\":\"' || CASE WHEN i % 4 = 0 THEN 'made' ELSE 'connected' END || '\"}}'"
    ), 1_700_000_000);
    bulk(
        &s,
        5_000,
        ("checkin", "'literacy_checkin'"),
        "k",
        "NULL",
        "'{\"want_callback\":\"' || CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END || '\"}'",
        1_700_000_000,
    );
    let caller = server::auth::Caller {
        user_id: "u".into(),
        username: "u".into(),
        role: server::auth::Role::PartnerStaff,
        scope: Some(east()),
        device_id: "d".into(),
    };
    let query = server::storage::followups::WorklistQuery {
        today,
        since: server::storage::followups::default_since(today),
        assigned: Default::default(),
        selection: Default::default(),
    };
    let started = std::time::Instant::now();
    let list = s.storage.followup_worklist(&caller, &query).unwrap();
    let worklist = started.elapsed();
    let started = std::time::Instant::now();
    let counts = s.storage.followup_counts(Some(&east()), today).unwrap();
    let counting = started.elapsed();
    eprintln!("worklist {worklist:?}, counts {counting:?}");
    assert_eq!(
        (
            counts.due_today,
            counts.overdue,
            counts.referrals_open,
            counts.callbacks_open
        ),
        (1_000, 1_000, 2_500, 2_500)
    );
    assert_eq!(list.due.len(), 200);
    assert!(list.due[0].overdue && list.due[0].due == "2000-01-01");
    assert_eq!((list.referrals.len(), list.callbacks.len()), (200, 200));
    // Households h4000 to h4999 have no response of their family.
    assert_eq!(list.visits.len(), 200);
    assert!(list
        .visits
        .iter()
        .all(|v| v.record_id[1..].parse::<u32>().unwrap() >= 4_000));
    assert!(
        worklist.as_secs_f64() < 3.0,
        "the worklist took {worklist:?}"
    );
    assert!(counting.as_secs_f64() < 3.0, "the counts took {counting:?}");
}
