//! The staff pages beyond sign-in, through the real router and a real SQLite file:
//! baselines and targets with the change since the last period, the administrative
//! CSV upload, the configurable smallest cell, the record list and page with history
//! and conflict resolution, and users and devices with enrollment codes.

mod common;

use automerge::ActorId;
use axum::http::StatusCode;
use common::pages::*;
use common::*;
use forms::{Answers, Value};
use server::api::EnrollRequest;
use sync_core::protocol::{TokenResponse, PROTOCOL_VERSION};
use sync_core::{RecordDoc, RecordKind, Scope};

on_both_backends!(
    targets_change_since_last_period_uploads_and_the_smallest_cell,
    records_list_page_history_and_a_resolved_conflict,
    enrollment_codes_work_once_and_revoked_devices_stop,
    a_web_session_ends_on_the_server_after_twelve_hours,
    backbone_staff_purge_a_household_from_its_page,
);

/// Unix seconds in November 2023 and in July 2024: two survey periods.
const Y2023: i64 = 1_700_000_000;
const Y2024: i64 = 1_720_000_000;

/// A finalized household-survey response by the user `by` with one grade-3 child.
fn response(by: &str, read: &str, language: &str, at: i64) -> (RecordDoc, automerge::Change) {
    let mut kid = Answers::new();
    kid.set("age_years", 8i64)
        .set("hispanic", "no")
        .set("race", "black")
        .set("grade", "3")
        .set("read_times", read);
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", "en")
        .set("home_language", language)
        .set("home_internet", "no")
        .set_repeat("child", vec![kid])
        .set("_status", Value::from("final"));
    record_at(
        by,
        RecordKind::Response,
        east(),
        Some("household_survey"),
        &a,
        at,
    )
}

fn dashboard_row<'a>(body: &'a str, id: &str) -> &'a str {
    between(body, &format!("<tr data-indicator=\"{id}\">"), "</tr>")
}

async fn targets_change_since_last_period_uploads_and_the_smallest_cell(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
        .await;
    s.user(
        "pat",
        "partner_staff",
        Some(Scope::partnership("p1").with_organization("library")),
    )
    .await;
    // G13, 2023: 6 of 12 read to often (50 %); 2024: 9 of 12 (75 %), 6 Spanish-speaking
    // homes and 6 English-speaking ones.
    let mut items: Vec<_> = (0..12)
        .map(|i| response(&ana, if i < 6 { "daily" } else { "never" }, "en", Y2023))
        .collect();
    items.extend((0..12).map(|i| {
        response(
            &ana,
            if i < 9 { "daily" } else { "never" },
            if i % 2 == 0 { "es" } else { "en" },
            Y2024,
        )
    }));
    let refs: Vec<_> = items.iter().map(|(d, c)| (d.id(), c)).collect();
    s.push_ok(&worker, &refs).await;

    let bo = session(&s, "bo", "password-123").await;
    let dashboard = get(&s, "/dashboard", Some(&bo)).await;
    let csrf = hidden_csrf(&dashboard.body);
    let row = dashboard_row(&dashboard.body, "G13");
    assert!(row.contains("<td class=\"year\">2024</td>"), "{row}");
    assert!(row.contains("75.0%") && row.contains("9 of 12"), "{row}");
    assert!(
        row.contains("class=\"trend right\" title=\"Up 25.0 points since 2023"),
        "{row}"
    );

    // Baseline and targets.
    let form = "baseline_year=2023&baseline_value=45&target_year_0=2024&target_value_0=70\
                &target_year_1=2026&target_value_1=80";
    let forged = post_form(
        &s,
        "/indicators/G13/targets",
        &bo,
        &format!("csrf=nope&{form}"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let saved = post_form(
        &s,
        "/indicators/G13/targets",
        &bo,
        &format!("csrf={csrf}&{form}"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let bad = post_form(
        &s,
        "/indicators/G13/targets",
        &bo,
        &format!("csrf={csrf}&target_year_0=2024&target_value_0=170"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not a percentage"), "{}", bad.body);
    let dashboard = get(&s, "/dashboard", Some(&bo)).await;
    let row = dashboard_row(&dashboard.body, "G13");
    assert!(row.contains("45.0% (2023)"), "baseline: {row}");
    assert!(row.contains("70.0% (2024)"), "target: {row}");
    assert!(
        row.contains("class=\"trend right\" title=\"Up 25.0 points since 2023 (from 50.0% to 75.0%), toward the target of 70.0% (2024)"),
        "{row}"
    );

    // The smallest cell: by home language each 2024 group has 6 children, hidden under
    // 10 and shown under 5.
    let page = get(&s, "/indicators/G13", Some(&bo)).await;
    let language = between(&page.body, "<h3>Home language in 2024", "</table>");
    assert!(
        language.contains("Spanish</td><td class=\"value hidden\""),
        "{language}"
    );
    let page = post_form(
        &s,
        "/settings/min-cell",
        &bo,
        &format!("csrf={csrf}&min_cell=5"),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = get(&s, "/indicators/G13", Some(&bo)).await;
    let language = between(&page.body, "<h3>Home language in 2024", "</table>");
    assert!(
        language.contains("Spanish</td><td class=\"value num\">"),
        "{language}"
    );
    assert!(page.body.contains("2023</a>"), "a link to the earlier year");
    let page = get(&s, "/indicators/G13?year=2023", Some(&bo)).await;
    assert!(between(&page.body, "<h3>Home language in 2023", "</table>").contains("6 of 12"));
    let page = post_form(
        &s,
        "/settings/min-cell",
        &bo,
        &format!("csrf={csrf}&min_cell=0"),
    )
    .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    post_form(
        &s,
        "/settings/min-cell",
        &bo,
        &format!("csrf={csrf}&min_cell=10"),
    )
    .await;

    // Administrative rows from a file.
    let good = "indicator,year,group,category,numerator,denominator\n\
                G4,2026,all,,54,120\n\
                G4,2026,race_ethnicity,Hispanic or Latino,30,70\n\
                G4,2026,race_ethnicity,Black or African American,22,44\n\
                G4,2026,race_ethnicity,Asian,2,6\n";
    let page = post_file(&s, "/indicators/upload", &bo, &csrf, good).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("4 rows taken"), "{}", page.body);
    let bad = "indicator,year,group,category,numerator,denominator\n\
               G4,2026,all,,60,120\n\
               G4,20x6,all,,1,2\n";
    let page = post_file(&s, "/indicators/upload", &bo, &csrf, bad).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("line 3, column year"), "{}", page.body);
    let page = post_file(&s, "/indicators/upload", &bo, "forged", good).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let dashboard = get(&s, "/dashboard", Some(&bo)).await;
    let row = dashboard_row(&dashboard.body, "G4");
    assert!(
        row.contains("45.0%") && row.contains("54 of 120"),
        "the refused file changed nothing: {row}"
    );
    let page = get(&s, "/indicators/G4", Some(&bo)).await;
    let race = between(&page.body, "<h3>race_ethnicity in 2026", "</table>");
    assert!(
        race.contains("Asian</td><td class=\"value hidden\">suppressed (fewer than 10)"),
        "{race}"
    );
    assert!(race.contains("would reveal a small cell"), "{race}");

    // Partner staff see the indicators but set nothing.
    let pat = session(&s, "pat", "password-123").await;
    assert_eq!(
        get(&s, "/dashboard", Some(&pat)).await.status,
        StatusCode::OK
    );
    let pat_csrf = hidden_csrf(&get(&s, "/dashboard", Some(&pat)).await.body);
    for page in [
        get(&s, "/indicators/G13/targets", Some(&pat)).await,
        post_file(&s, "/indicators/upload", &pat, &pat_csrf, good).await,
        post_form(
            &s,
            "/settings/min-cell",
            &pat,
            &format!("csrf={pat_csrf}&min_cell=3"),
        )
        .await,
        get(&s, "/users", Some(&pat)).await,
    ] {
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
    }
}

async fn records_list_page_history_and_a_resolved_conflict(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    let west_worker = s.user("wes", "outreach_worker", Some(west())).await;
    s.user("bo", "backbone_staff", Some(east())).await;

    let (mut home, created) = household(&ana, east());
    let items: Vec<_> = (0..60)
        .map(|_| response(&ana, "daily", "en", Y2024))
        .collect();
    let mut refs: Vec<_> = items.iter().map(|(d, c)| (d.id(), c)).collect();
    refs.push((home.id(), &created));
    s.push_ok(&worker, &refs).await;
    let (west_home, west_created) = household(&s.user_id(&west_worker), west());
    s.push_ok(&west_worker, &[(west_home.id(), &west_created)])
        .await;

    // Two phones change the address at once.
    let mut other = RecordDoc::load(&home.save(), [], Some(ActorId::random())).unwrap();
    let first = edit(&mut home, &ana, "address", "1 Oak Ave");
    let second = edit(&mut other, &ana, "address", "2 Pine St");
    s.push_ok(&worker, &[(home.id(), &first), (home.id(), &second)])
        .await;

    let bo = session(&s, "bo", "password-123").await;
    // Keyset pages: 50, then the other 11; nothing from the west.
    let page = get(&s, "/records", Some(&bo)).await;
    assert_eq!(page.body.matches("class=\"record\"").count(), 50);
    let next = between(&page.body, "id=\"next\" href=\"", "\"");
    let next = next["id=\"next\" href=\"".len()..next.len() - 1].replace("&amp;", "&");
    let page = get(&s, &next, Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK, "{next}");
    assert_eq!(page.body.matches("class=\"record\"").count(), 11);
    assert!(!page.body.contains("id=\"next\""));
    assert!(!page.body.contains(&west_home.id().to_string()));

    let page = get(&s, "/records?kind=household", Some(&bo)).await;
    assert_eq!(page.body.matches("class=\"record\"").count(), 1);
    // Search by answer text: the address shows whichever concurrent value won.
    let mut found = 0;
    for word in ["oak", "PINE"] {
        let page = get(&s, &format!("/records?q={word}"), Some(&bo)).await;
        found += page.body.matches("class=\"record\"").count();
    }
    assert_eq!(found, 1, "one of the two addresses is shown, in one record");
    // And by the start of an id.
    let prefix = &home.id().to_string()[..8];
    let page = get(&s, &format!("/records?q={prefix}"), Some(&bo)).await;
    assert_eq!(page.body.matches("class=\"record\"").count(), 1);
    let page = get(&s, "/records?conflicts=1", Some(&bo)).await;
    assert_eq!(page.body.matches("class=\"record\"").count(), 1);
    assert!(page.body.contains(&format!("/records/{}", home.id())));
    assert_eq!(
        get(&s, "/records?kind=spaceship", Some(&bo)).await.status,
        StatusCode::BAD_REQUEST
    );

    // Out of scope and missing look alike.
    let west_page = get(&s, &format!("/records/{}", west_home.id()), Some(&bo)).await;
    let missing = get(&s, &format!("/records/{}", uuid::Uuid::new_v4()), Some(&bo)).await;
    assert_eq!(west_page.status, StatusCode::NOT_FOUND);
    assert_eq!(west_page.body, missing.body);

    let url = format!("/records/{}", home.id());
    let page = get(&s, &url, Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK);
    let conflicts = between(&page.body, "<section id=\"conflicts\">", "</section>");
    assert_eq!(conflicts.matches("class=\"resolve\"").count(), 1);
    assert_eq!(conflicts.matches("name=\"choice\"").count(), 2);
    assert!(conflicts.contains("1 Oak Ave") && conflicts.contains("2 Pine St"));
    let history = between(&page.body, "<section id=\"history\">", "</section>");
    assert_eq!(history.matches("class=\"change\"").count(), 3, "{history}");
    assert!(
        history.contains("test phone (ana)"),
        "who sent it: {history}"
    );

    let csrf = hidden_csrf(&page.body);
    let choice = "%222%20Pine%20St%22";
    let forged = post_form(
        &s,
        &format!("{url}/resolve"),
        &bo,
        &format!("csrf=x&path=address&choice={choice}"),
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let done = post_form(
        &s,
        &format!("{url}/resolve"),
        &bo,
        &format!("csrf={csrf}&path=address&choice={choice}&note=checked+with+family"),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = get(&s, &url, Some(&bo)).await;
    assert!(page.body.contains("id=\"no-conflicts\""), "{}", page.body);
    let field = between(&page.body, "<tr data-field=\"address\">", "</tr>");
    assert!(
        field.contains("<td class=\"value\">2 Pine St</td>"),
        "{field}"
    );
    assert!(page.body.contains("Resolved conflict on address"));
    let again = post_form(
        &s,
        &format!("{url}/resolve"),
        &bo,
        &format!("csrf={csrf}&path=address&choice={choice}"),
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "{}", again.body);

    // The resolution is a change like any other: the phone pulls it.
    let (pages, _) = pull_all(&s, &worker, 500, 10_000_000).await;
    let mut doc = RecordDoc::load(&home.save(), [], None).unwrap();
    let changes: Vec<_> = pages
        .iter()
        .flat_map(|p| p.changes.iter())
        .filter(|c| c.record == home.id())
        .map(|c| automerge::Change::from_bytes(c.change.0.clone()).unwrap())
        .collect();
    doc.apply_changes(changes).unwrap();
    assert!(doc.conflicts().is_empty());
    assert_eq!(
        doc.fields().value("address"),
        Some(&Value::from("2 Pine St"))
    );
}

async fn enrollment_codes_work_once_and_revoked_devices_stop(s: TestServer) {
    s.user("ana", "outreach_worker", Some(east())).await;
    s.user("wes", "outreach_worker", Some(west())).await;
    s.user("bo", "backbone_staff", Some(east())).await;

    let bo = session(&s, "bo", "password-123").await;
    let users = get(&s, "/users", Some(&bo)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("data-user=\"ana\""));
    assert!(
        !users.body.contains("data-user=\"wes\""),
        "west is not bo's"
    );
    assert!(!users.body.contains("data-user=\"admin\""));
    let row = between(&users.body, "data-user=\"ana\"", "</tr>");
    let action = between(row, "action=\"", "/enroll\"");
    let action = &action["action=\"".len()..action.len() - 1];
    let csrf = hidden_csrf(&users.body);

    let enroll = |code: String| EnrollRequest {
        v: PROTOCOL_VERSION,
        code,
        device_name: "ana's phone".into(),
    };
    let page = post_form(&s, action, &bo, &format!("csrf={csrf}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<svg"), "a QR code");
    let code = between(&page.body, "id=\"enrollment-code\"", "</strong>");
    let code = code[code.find('>').unwrap() + 1..code.len() - "</strong>".len()].to_string();
    assert_eq!(code.len(), 11, "{code}");

    let reply = s.post("/v1/auth/enroll", None, &enroll(code.clone())).await;
    let session: TokenResponse = reply.message();
    assert_eq!(session.username, "ana");
    assert_eq!(session.scope, Some(east()));
    s.pull_ok(&session.token, None, 10, 1_000_000).await;
    let again = s.post("/v1/auth/enroll", None, &enroll(code)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    assert!(again.error().message.contains("already used or expired"));

    // Typed in lower case without the dash, a fresh code works too.
    let page = post_form(&s, action, &bo, &format!("csrf={csrf}")).await;
    let code = between(&page.body, "id=\"enrollment-code\"", "</strong>");
    let typed = code[code.find('>').unwrap() + 1..code.len() - "</strong>".len()]
        .replace('-', "")
        .to_lowercase();
    let second: TokenResponse = s
        .post("/v1/auth/enroll", None, &enroll(typed))
        .await
        .message();
    assert_ne!(second.device_id, session.device_id);

    // Enrolling someone out of scope is refused as if they did not exist.
    let admin = session_of_admin(&s).await;
    let all = get(&s, "/users", Some(&admin)).await;
    let wes = between(&all.body, "data-user=\"wes\"", "</tr>");
    let wes_action = between(wes, "action=\"", "/enroll\"");
    let wes_action = &wes_action["action=\"".len()..wes_action.len() - 1];
    let page = post_form(&s, wes_action, &bo, &format!("csrf={csrf}")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);

    // Revocation: the device's next sync is refused.
    let devices = get(&s, "/devices", Some(&bo)).await;
    let row = between(
        &devices.body,
        &format!("data-device=\"{}\"", session.device_id),
        "</tr>",
    );
    assert!(
        row.contains("ana's phone") && row.contains("active"),
        "{row}"
    );
    let page = post_form(
        &s,
        &format!("/devices/{}/revoke", session.device_id),
        &bo,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let refused = s.pull(&session.token, None, 10, 1_000_000).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    s.pull_ok(&second.token, None, 10, 1_000_000).await;
    let devices = get(&s, "/devices", Some(&bo)).await;
    let row = between(
        &devices.body,
        &format!("data-device=\"{}\"", session.device_id),
        "</tr>",
    );
    assert!(row.contains("revoked"), "{row}");
}

async fn session_of_admin(s: &TestServer) -> String {
    session(s, "admin", ADMIN_PASSWORD).await
}

async fn a_web_session_ends_on_the_server_after_twelve_hours(s: TestServer) {
    s.user("bo", "backbone_staff", Some(east())).await;
    let bo = session(&s, "bo", "password-123").await;
    assert_eq!(
        get(&s, "/dashboard", Some(&bo)).await.status,
        StatusCode::OK
    );
    // The browser may keep the cookie longer than it was told to: age the session.
    let aged = s.sql(
        "UPDATE devices SET created_at = created_at - 12 * 3600 - 60 WHERE name = 'web session'",
    );
    assert_eq!(aged, 1);
    let page = get(&s, "/dashboard", Some(&bo)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers["location"], "/sign-in");
    let revoked =
        s.sql("SELECT COUNT(*) FROM devices WHERE name = 'web session' AND revoked_at IS NOT NULL");
    assert_eq!(revoked, 1, "the expired session is revoked");
}

async fn backbone_staff_purge_a_household_from_its_page(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    s.user("bo", "backbone_staff", Some(east())).await;
    s.user("pat", "partner_staff", Some(east())).await;
    let (home, created) = household(&ana, east());
    let mut p = Answers::new();
    p.set("household", home.id().to_string()).set("name", "Ana");
    let (member, member_created) = record(&ana, RecordKind::Person, east(), None, &p);
    s.push_ok(
        &worker,
        &[(home.id(), &created), (member.id(), &member_created)],
    )
    .await;
    let url = format!("/records/{}", home.id());

    let pat = session(&s, "pat", "password-123").await;
    let page = get(&s, &url, Some(&pat)).await;
    assert!(
        !page.body.contains("id=\"purge\""),
        "partner staff get no purge form"
    );
    let csrf = hidden_csrf(&page.body);
    let refused = post_form(
        &s,
        &format!("{url}/purge"),
        &pat,
        &format!("csrf={csrf}&reason=x"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let bo = session(&s, "bo", "password-123").await;
    let page = get(&s, &url, Some(&bo)).await;
    assert!(page.body.contains("id=\"purge\""));
    let csrf = hidden_csrf(&page.body);
    let empty = post_form(
        &s,
        &format!("{url}/purge"),
        &bo,
        &format!("csrf={csrf}&reason="),
    )
    .await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST);
    let done = post_form(
        &s,
        &format!("{url}/purge"),
        &bo,
        &format!("csrf={csrf}&reason=consent+withdrawn"),
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("2 records"), "{}", done.body);
    assert_eq!(get(&s, &url, Some(&bo)).await.status, StatusCode::NOT_FOUND);
    assert!(s.storage.record(member.id()).unwrap().is_none());
    // The worker's phone is told to delete both.
    let (pages, _) = pull_all(&s, &worker, 500, 10_000_000).await;
    let gone: Vec<_> = pages
        .iter()
        .flat_map(|p| p.tombstones.iter().map(|t| t.record))
        .collect();
    assert_eq!(gone.len(), 2);
    assert!(gone.contains(&home.id()) && gone.contains(&member.id()));
}
