//! Exports of every record kind (households, people, survey responses with their
//! repeat, check-ins, case notes): records pushed as devices come back, as CSV and as
//! `.xlsx` (read with calamine), with the columns and rows of the records made, within
//! the caller's scope, filtered, by value or by label; reports-only users are refused
//! and every download is in the audit log.

mod common;

use std::io::Cursor;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use calamine::{Reader, Xlsx};
use common::pages::session;
use common::*;
use forms::Answers;
use http_body_util::BodyExt;
use sync_core::{RecordKind, Scope};
use tower::ServiceExt;

/// A table: the header row, then the rows.
type Table = Vec<Vec<String>>;

/// 2023-11-14 and 2024-03-09 (UTC), for the date filters.
const EARLY: i64 = 1_700_000_000;
const LATE: i64 = 1_710_000_000;

async fn download(s: &TestServer, path: &str, cookie: &str) -> (StatusCode, String, Vec<u8>) {
    let req = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let resp = s.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, body.to_vec())
}

/// RFC 4180: quoted fields may hold commas, doubled quotes and line breaks.
fn parse_csv(text: &str) -> Table {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && row.is_empty(),
        "a CSV ends with a line break"
    );
    rows
}

async fn csv(s: &TestServer, path: &str, cookie: &str) -> Table {
    let (status, content_type, body) = download(s, path, cookie).await;
    let text = String::from_utf8(body).unwrap();
    assert_eq!(status, StatusCode::OK, "{path}: {text}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    parse_csv(&text)
}

/// Every sheet of a workbook, by name, each as a table of the cells' text.
async fn xlsx(s: &TestServer, path: &str, cookie: &str) -> Vec<(String, Table)> {
    let (status, content_type, body) = download(s, path, cookie).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    assert!(content_type.contains("spreadsheetml"), "{content_type}");
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(body)).unwrap();
    book.sheet_names()
        .into_iter()
        .map(|name| {
            let range = book.worksheet_range(&name).unwrap();
            let rows = range
                .rows()
                .map(|r| r.iter().map(|c| c.to_string()).collect())
                .collect();
            (name, rows)
        })
        .collect()
}

fn col(table: &Table, name: &str) -> usize {
    table[0]
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name} in {:?}", table[0]))
}

/// A column's values, row by row.
fn values(table: &Table, name: &str) -> Vec<String> {
    let c = col(table, name);
    table[1..].iter().map(|r| r[c].clone()).collect()
}

/// Signed-in staff: an admin (everything), a partner in the east (scoped), and a
/// reports-only user; and the partner's device token.
struct Staff {
    admin: String,
    east: String,
    east_token: String,
    reports: String,
}

async fn staff(s: &TestServer) -> Staff {
    let east_token = s.user("pat", "partner_staff", Some(east())).await;
    s.user("rita", "reports_only", Some(Scope::partnership("p1")))
        .await;
    Staff {
        admin: session(s, "admin", ADMIN_PASSWORD).await,
        east: session(s, "pat", "password-123").await,
        east_token,
        reports: session(s, "rita", "password-123").await,
    }
}

/// Push one record, created at `at`, as the device of `token`; its id.
async fn push(
    s: &TestServer,
    token: &str,
    kind: RecordKind,
    scope: Scope,
    form: Option<&str>,
    answers: &Answers,
    at: i64,
) -> String {
    let (doc, change) = record_at(&s.user_id(token), kind, scope, form, answers, at);
    let pushed = s.push_ok(token, &[(doc.id(), &change)]).await;
    assert_eq!(
        statuses(&pushed),
        [sync_core::protocol::PushStatus::Accepted],
        "{pushed:?}"
    );
    doc.id().to_string()
}

async fn refused_to_reports_only(s: &TestServer, st: &Staff, name: &str) {
    for path in [
        format!("/exports/{name}.csv"),
        format!("/exports/{name}.xlsx"),
    ] {
        let (status, _, _) = download(s, &path, &st.reports).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
}

async fn households_export_with_their_fields_within_scope(s: TestServer) {
    let st = staff(&s).await;
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let cy = s.user("cy", "outreach_worker", Some(west())).await;
    let mut made = Vec::new();
    for (token, scope, name, address, at) in [
        (&ana, east(), "Park", "12 Elm St", EARLY),
        (&ana, east(), "Diaz, Ruiz", "3 \"Oak\" Ave", LATE),
        (&cy, west(), "Nguyen", "9 Pine Rd", LATE),
    ] {
        let mut a = Answers::new();
        a.set("name", name)
            .set("address", address)
            .set("phone", "555");
        let id = push(&s, token, RecordKind::Household, scope, None, &a, at).await;
        made.push((
            id,
            name,
            address,
            scope_hood(token == &ana),
            s.user_id(token),
        ));
    }
    made.sort();

    let table = csv(&s, "/exports/households.csv", &st.admin).await;
    assert_eq!(
        table[0],
        [
            "_id",
            "_created_by",
            "_created_at",
            "_neighborhood",
            "_status",
            "name",
            "address",
            "_other_fields"
        ]
    );
    assert_eq!(table.len(), 1 + 3);
    for (row, (id, name, address, hood, by)) in table[1..].iter().zip(&made) {
        assert_eq!(row[col(&table, "_id")], *id);
        assert_eq!(row[col(&table, "name")], *name);
        assert_eq!(row[col(&table, "address")], *address);
        assert_eq!(row[col(&table, "_neighborhood")], *hood);
        assert_eq!(row[col(&table, "_created_by")], *by);
        assert_eq!(row[col(&table, "_other_fields")], r#"{"phone":"555"}"#);
    }
    assert_eq!(
        xlsx(&s, "/exports/households.xlsx", &st.admin).await,
        [("households".to_string(), table)],
        "the workbook holds what the CSV file does"
    );

    // Scope: the east partner sees the east households only, in both formats.
    let east_ids: Vec<String> = made
        .iter()
        .filter(|m| m.3 == "east")
        .map(|m| m.0.clone())
        .collect();
    let scoped = csv(&s, "/exports/households.csv", &st.east).await;
    assert_eq!(values(&scoped, "_id"), east_ids);
    let book = xlsx(&s, "/exports/households.xlsx", &st.east).await;
    assert_eq!(book[0].1, scoped);

    // Filters narrow the rows as the table's do.
    let west = csv(&s, "/exports/households.csv?neighborhood=west", &st.admin).await;
    assert_eq!(values(&west, "name"), ["Nguyen"]);
    let late = csv(&s, "/exports/households.csv?since=2024-01-01", &st.east).await;
    assert_eq!(values(&late, "name"), ["Diaz, Ruiz"]);
    let book = xlsx(&s, "/exports/households.xlsx?since=2024-01-01", &st.east).await;
    assert_eq!(book[0].1, late);

    refused_to_reports_only(&s, &st, "households").await;
    let (status, _, _) = download(&s, "/exports", &st.reports).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Each download is in the audit log, with its format and filters.
    let logged = s.sql(
        "SELECT COUNT(*) FROM audit_log WHERE action = 'export.download' \
         AND subject = 'households' AND detail LIKE '%xlsx%since=2024-01-01%'",
    );
    assert_eq!(logged, 1);
    assert_eq!(
        s.sql("SELECT COUNT(*) FROM audit_log WHERE action = 'export.download'"),
        7
    );
}

fn scope_hood(east: bool) -> &'static str {
    if east {
        "east"
    } else {
        "west"
    }
}

async fn people_export_by_value_or_by_label_in_the_callers_language(s: TestServer) {
    let st = staff(&s).await;
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let cy = s.user("cy", "outreach_worker", Some(west())).await;
    let mut ids = Vec::new();
    for (token, scope, name, relationship, at) in [
        (&ana, east(), "Lia", "child", EARLY),
        (&ana, east(), "Rosa", "mother", LATE),
        (&cy, west(), "Tam", "child", LATE),
    ] {
        let mut a = Answers::new();
        a.set("household", "h-1")
            .set("name", name)
            .set("relationship", relationship)
            .set("birth_date", "2019-05-01");
        ids.push((
            push(&s, token, RecordKind::Person, scope, None, &a, at).await,
            name,
        ));
    }
    ids.sort();

    let table = csv(&s, "/exports/people.csv", &st.admin).await;
    assert_eq!(
        table[0][5..],
        [
            "household",
            "name",
            "relationship",
            "birth_date",
            "_other_fields"
        ]
    );
    assert_eq!(
        values(&table, "name"),
        ids.iter().map(|(_, n)| n.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(values(&table, "birth_date"), ["2019-05-01"; 3]);
    assert_eq!(
        xlsx(&s, "/exports/people.xlsx", &st.admin).await[0].1,
        table
    );

    // Labels: headers by label, in the caller's language.
    let labelled = csv(&s, "/exports/people.csv?labels=1", &st.admin).await;
    assert_eq!(
        labelled[0][5..],
        [
            "Household",
            "Name",
            "Relationship",
            "Birth date",
            "_other_fields"
        ]
    );
    s.sql("UPDATE users SET language = 'es' WHERE username = 'pat'");
    let spanish = csv(
        &s,
        "/exports/people.csv?labels=1&until=2023-12-31",
        &st.east,
    )
    .await;
    assert_eq!(spanish[0][6], "Nombre");
    assert_eq!(
        values(&spanish, "_id"),
        [ids.iter().find(|i| i.1 == "Lia").unwrap().0.clone()]
    );
    let book = xlsx(
        &s,
        "/exports/people.xlsx?labels=1&until=2023-12-31",
        &st.east,
    )
    .await;
    assert_eq!(book[0].1, spanish);

    let scoped = csv(&s, "/exports/people.csv", &st.east).await;
    assert_eq!(
        values(&scoped, "name"),
        sorted_names(&ids, &["Lia", "Rosa"])
    );
    refused_to_reports_only(&s, &st, "people").await;
}

/// The names among `keep`, in the id order of `ids`.
fn sorted_names(ids: &[(String, &str)], keep: &[&str]) -> Vec<String> {
    ids.iter()
        .filter(|(_, n)| keep.contains(n))
        .map(|(_, n)| n.to_string())
        .collect()
}

fn child(grade: &str, age: i64) -> Answers {
    let mut k = Answers::new();
    k.set("age_years", age)
        .set("hispanic", "no")
        .set("race", "black")
        .set("grade", grade)
        .set("read_times", "daily");
    k
}

async fn survey_responses_export_with_their_child_repeat(s: TestServer) {
    let st = staff(&s).await;
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let cy = s.user("cy", "outreach_worker", Some(west())).await;
    let mut made = Vec::new();
    for (token, scope, devices, kids, at) in [
        (&ana, east(), "computer tablet", 2, EARLY),
        (&ana, east(), "smartphone", 1, LATE),
        (&cy, west(), "tablet", 3, LATE),
    ] {
        let mut a = Answers::new();
        a.set("consent", "yes")
            .set("has_child", "yes")
            .set("home_language", "es")
            .set("home_internet", "yes")
            .set("home_devices", devices)
            .set_repeat("child", (0..kids).map(|i| child("k", 5 + i)).collect());
        let id = push(
            &s,
            token,
            RecordKind::Response,
            scope,
            Some("household_survey"),
            &a,
            at,
        )
        .await;
        made.push((id, devices, kids, at));
    }
    // A form's export comes in the order records were made (then by id).
    made.sort_by(|a, b| (a.3, &a.0).cmp(&(b.3, &b.0)));

    let main = csv(&s, "/exports/household_survey.csv", &st.admin).await;
    assert!(main[0].starts_with(&["_id".to_string(), "_form_version".to_string()]));
    assert_eq!(
        values(&main, "_id"),
        made.iter().map(|m| m.0.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        values(&main, "home_devices"),
        made.iter().map(|m| m.1.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(
        values(&main, "home_devices/tablet"),
        made.iter()
            .map(|m| if m.1.contains("tablet") { "1" } else { "0" })
            .collect::<Vec<_>>()
    );
    let kids = csv(&s, "/exports/household_survey/child.csv", &st.admin).await;
    assert_eq!(kids[0][..3], ["_parent_id", "_index", "age_years"]);
    let expected: Vec<(String, String, String)> = made
        .iter()
        .flat_map(|(id, _, n, _)| {
            (0..*n).map(move |i| (id.clone(), (i + 1).to_string(), (5 + i).to_string()))
        })
        .collect();
    let got: Vec<(String, String, String)> = kids[1..]
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                r[1].clone(),
                r[col(&kids, "age_years")].clone(),
            )
        })
        .collect();
    assert_eq!(
        got, expected,
        "each child joined to its response by _parent_id"
    );
    // The older address is the same file.
    assert_eq!(
        csv(&s, "/exports/household_survey/child", &st.admin).await,
        kids
    );

    let book = xlsx(&s, "/exports/household_survey.xlsx", &st.admin).await;
    assert_eq!(
        book,
        [
            ("household_survey".to_string(), main.clone()),
            ("child".to_string(), kids.clone())
        ]
    );

    // Scope: the east partner's files and sheets hold the east responses and their
    // children only.
    let east_ids: Vec<String> = made[..]
        .iter()
        .filter(|m| m.1 != "tablet")
        .map(|m| m.0.clone())
        .collect();
    let scoped = csv(&s, "/exports/household_survey.csv", &st.east).await;
    assert_eq!(values(&scoped, "_id"), east_ids);
    let scoped_kids = csv(&s, "/exports/household_survey/child.csv", &st.east).await;
    assert_eq!(scoped_kids.len(), 1 + 3);
    assert!(values(&scoped_kids, "_parent_id")
        .iter()
        .all(|p| east_ids.contains(p)));
    let book = xlsx(&s, "/exports/household_survey.xlsx", &st.east).await;
    assert_eq!(book[0].1, scoped);
    assert_eq!(book[1].1, scoped_kids);

    // A date filter narrows both files.
    let late = xlsx(
        &s,
        "/exports/household_survey.xlsx?since=2024-01-01",
        &st.east,
    )
    .await;
    assert_eq!(late[0].1.len(), 1 + 1);
    assert_eq!(late[1].1.len(), 1 + 1, "the late response's one child");

    // Labels: the question's label heads its column, choices by their label.
    let form = forms::instruments::seed_form("household_survey")
        .unwrap()
        .unwrap();
    let label = form
        .question("home_devices")
        .unwrap()
        .label
        .get("en", "en")
        .unwrap()
        .to_string();
    let labelled = csv(&s, "/exports/household_survey.csv?labels=1", &st.admin).await;
    let c = col(&labelled, &label);
    let first = made.iter().position(|m| m.1 == "computer tablet").unwrap();
    assert_eq!(labelled[1 + first][c], "Computer or laptop, Tablet");
    assert!(labelled[0].contains(&format!("{label}/Smartphone")));

    refused_to_reports_only(&s, &st, "household_survey").await;
    let (status, _, _) = download(&s, "/exports/household_survey/child.csv", &st.reports).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn checkins_export_filtered_by_status(s: TestServer) {
    let st = staff(&s).await;
    let mut made = Vec::new();
    for (scope, status, enjoyed) in [
        (east(), "final", "loved_it"),
        (east(), "draft", "okay"),
        (west(), "final", "not_really"),
    ] {
        let mut a = Answers::new();
        a.set("child", "person-1")
            .set("week_of", "2024-03-04")
            .set("read_days", 3)
            .set("who_read", "me sibling")
            .set("enjoyed", enjoyed)
            .set("want_callback", "no")
            .set("_status", status);
        let id = push(
            &s,
            &s.admin,
            RecordKind::Checkin,
            scope,
            Some("literacy_checkin"),
            &a,
            LATE,
        )
        .await;
        made.push((id, status, enjoyed));
    }
    made.sort();

    let table = csv(&s, "/exports/literacy_checkin.csv", &st.admin).await;
    assert_eq!(
        values(&table, "_id"),
        made.iter().map(|m| m.0.clone()).collect::<Vec<_>>()
    );
    assert_eq!(
        values(&table, "_status"),
        made.iter().map(|m| m.1.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(values(&table, "read_days"), ["3"; 3]);
    assert_eq!(values(&table, "who_read/sibling"), ["1"; 3]);
    assert_eq!(values(&table, "who_read/other_adult"), ["0"; 3]);
    let book = xlsx(&s, "/exports/literacy_checkin.xlsx", &st.admin).await;
    assert_eq!(book, [("literacy_checkin".to_string(), table)]);

    let finals = csv(&s, "/exports/literacy_checkin.csv?status=final", &st.admin).await;
    assert_eq!(values(&finals, "_status"), ["final", "final"]);
    let east_finals = xlsx(&s, "/exports/literacy_checkin.xlsx?status=final", &st.east).await;
    assert_eq!(east_finals[0].1.len(), 1 + 1);
    assert_eq!(
        east_finals[0].1[1][col(&east_finals[0].1, "enjoyed")],
        "loved_it"
    );

    // Labels in the caller's language: the east partner reads Spanish.
    s.sql("UPDATE users SET language = 'es' WHERE username = 'pat'");
    let spanish = xlsx(
        &s,
        "/exports/literacy_checkin.xlsx?status=final&labels=1",
        &st.east,
    )
    .await;
    let sheet = &spanish[0].1;
    assert!(sheet[1].contains(&"😀 Mucho".to_string()), "{:?}", sheet[1]);
    assert!(
        sheet[1].contains(&"Yo, Un hermano o una hermana".to_string()),
        "{:?}",
        sheet[1]
    );
    let scoped = csv(&s, "/exports/literacy_checkin.csv", &st.east).await;
    assert_eq!(values(&scoped, "_neighborhood"), ["east", "east"]);
    refused_to_reports_only(&s, &st, "literacy_checkin").await;
}

async fn case_notes_export_by_worker_within_scope(s: TestServer) {
    let st = staff(&s).await;
    let pat_id = s.user_id(&st.east_token);
    let mut made = Vec::new();
    for (token, scope, contact) in [
        (&st.east_token, east(), "phone"),
        (&s.admin, east(), "home_visit"),
        (&s.admin, west(), "text"),
    ] {
        let mut a = Answers::new();
        a.set("participant", "person-1")
            .set("contact_date", "2024-03-04")
            .set("contact_type", contact)
            .set("notes", "Asked about, \"pre-K\"\nand books");
        let id = push(
            &s,
            token,
            RecordKind::CaseNote,
            scope,
            Some("case_note"),
            &a,
            LATE,
        )
        .await;
        made.push((id, contact));
    }
    made.sort();

    let table = csv(&s, "/exports/case_note.csv", &st.admin).await;
    assert_eq!(
        values(&table, "contact_type"),
        made.iter().map(|m| m.1.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(
        values(&table, "notes"),
        ["Asked about, \"pre-K\"\nand books"; 3]
    );
    assert_eq!(
        xlsx(&s, "/exports/case_note.xlsx", &st.admin).await[0].1,
        table
    );

    let mine = csv(
        &s,
        &format!("/exports/case_note.csv?worker={pat_id}"),
        &st.admin,
    )
    .await;
    assert_eq!(values(&mine, "contact_type"), ["phone"]);
    let labelled = xlsx(&s, "/exports/case_note.xlsx?labels=1", &st.east).await;
    let sheet = &labelled[0].1;
    assert_eq!(sheet.len(), 1 + 2, "the east notes only");
    assert!(
        sheet[0].contains(&"Type of contact".to_string()),
        "{:?}",
        sheet[0]
    );
    let c = col(sheet, "Type of contact");
    let mut contacts: Vec<&str> = sheet[1..].iter().map(|r| r[c].as_str()).collect();
    contacts.sort();
    assert_eq!(contacts, ["Home visit", "Phone call"]);
    refused_to_reports_only(&s, &st, "case_note").await;
}

async fn the_exports_page_carries_the_filters_into_its_links(s: TestServer) {
    let st = staff(&s).await;
    let page = common::pages::get(
        &s,
        "/exports?status=final&since=2024-01-01&labels=1",
        Some(&st.east),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    for link in [
        "/exports/households.csv?status=final&amp;since=2024-01-01&amp;labels=1",
        "/exports/people.xlsx?status=final&amp;since=2024-01-01&amp;labels=1",
        "/exports/household_survey/child.csv?status=final&amp;since=2024-01-01&amp;labels=1",
        "/exports/literacy_checkin.xlsx?status=final",
        "/exports/case_note.csv?status=final",
    ] {
        assert!(page.body.contains(link), "{link} in {}", page.body);
    }
    let (status, _, _) = download(&s, "/exports/households.csv?since=yesterday", &st.admin).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = download(&s, "/exports/nothing_here.xlsx", &st.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = download(&s, "/exports/household_survey/nope.csv", &st.admin).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// More records than a page of the export's reads: every one comes back once, in
/// id order, in both formats.
async fn an_export_longer_than_a_page_holds_every_record_once(s: TestServer) {
    let st = staff(&s).await;
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let by = s.user_id(&ana);
    let mut ids = Vec::new();
    for batch in 0..6 {
        let made: Vec<_> = (0..100)
            .map(|i| {
                let mut a = Answers::new();
                a.set("name", format!("H{}", batch * 100 + i));
                record(&by, RecordKind::Household, east(), None, &a)
            })
            .collect();
        let changes: Vec<_> = made.iter().map(|(doc, c)| (doc.id(), c)).collect();
        s.push_ok(&ana, &changes).await;
        ids.extend(made.iter().map(|(doc, _)| doc.id().to_string()));
    }
    ids.sort();
    let table = csv(&s, "/exports/households.csv", &st.east).await;
    assert_eq!(values(&table, "_id"), ids);
    let book = xlsx(&s, "/exports/households.xlsx", &st.east).await;
    assert_eq!(book[0].1, table);
}

on_both_backends!(
    households_export_with_their_fields_within_scope,
    people_export_by_value_or_by_label_in_the_callers_language,
    survey_responses_export_with_their_child_repeat,
    checkins_export_filtered_by_status,
    case_notes_export_by_worker_within_scope,
    the_exports_page_carries_the_filters_into_its_links,
    an_export_longer_than_a_page_holds_every_record_once,
);
