//! The staff pages through the real router and a real SQLite file: sign-in with a
//! session cookie and CSRF, the dashboard's values from synced responses, an
//! indicator's suppressed cells, sign-out, and who may not use the pages.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use forms::{Answers, Value};
use sync_core::RecordKind;

on_both_backends!(
    staff_sign_in_see_indicators_from_synced_responses_and_sign_out,
    outreach_workers_and_parents_use_the_app_not_the_pages,
    a_csv_export_holds_the_synced_responses_within_the_callers_scope,
);

fn child(grade: &str, age: i64, read: &str) -> Answers {
    let mut k = Answers::new();
    k.set("age_years", age)
        .set("hispanic", "no")
        .set("race", "black")
        .set("grade", grade)
        .set("read_times", read);
    k
}

async fn staff_sign_in_see_indicators_from_synced_responses_and_sign_out(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let worker_id = s.user_id(&worker);
    s.user(
        "bo",
        "backbone_staff",
        Some(sync_core::Scope::partnership("p1")),
    )
    .await;
    // 12 finalized responses, each with a child in grade 3: 9 read to three or more
    // times a week, 3 not: G13 = 75.0 %, n = 12. One draft more, which must not count.
    let mut items = Vec::new();
    for i in 0..13 {
        let mut a = Answers::new();
        a.set("consent", "yes")
            .set("has_child", "yes")
            .set("interview_language", "en")
            .set("home_language", if i < 11 { "en" } else { "es" })
            .set("home_internet", "no")
            .set_repeat(
                "child",
                vec![child("3", 8, if i < 9 { "daily" } else { "never" })],
            );
        if i < 12 {
            a.set("_status", Value::from("final"));
        }
        items.push(record(
            &worker_id,
            RecordKind::Response,
            east(),
            Some("household_survey"),
            &a,
        ));
    }
    let refs: Vec<_> = items.iter().map(|(d, c)| (d.id(), c)).collect();
    s.push_ok(&worker, &refs).await;

    // Pages need a session.
    let page = get(&s, "/dashboard", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.headers["location"], "/sign-in");

    // The sign-in form refuses a post without its double-submit token.
    let page = post_form(
        &s,
        "/sign-in",
        "",
        "username=bo&password=password-123&csrf=x",
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = sign_in(&s, "bo", "wrong").await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.body.contains("Wrong user name or password"));

    let page = sign_in(&s, "bo", "password-123").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let (session, attributes) = set_cookie(&page, "c2c_session").unwrap();
    assert!(attributes.contains("HttpOnly") && attributes.contains("SameSite=Strict"));

    let page = get(&s, "/dashboard", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("75.0%") && page.body.contains("9 of 12"),
        "{}",
        page.body
    );
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));

    // By home language, Spanish has 1 child: hidden, and English (11) with it, since
    // the total would give the Spanish cell away.
    let page = get(&s, "/indicators/G13", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    let language = &page.body[page.body.find("<h3>Home language in 2023").unwrap()..];
    let language = &language[..language.find("</table>").unwrap()];
    assert!(
        language.contains("English</td><td class=\"value hidden\""),
        "{language}"
    );
    assert!(
        language.contains("Spanish</td><td class=\"value hidden\""),
        "{language}"
    );
    assert!(language.contains("9 of 12"), "the total stays: {language}");
    assert!(page.body.contains("<svg"));
    assert_eq!(
        get(&s, "/indicators/G99", Some(&session)).await.status,
        StatusCode::NOT_FOUND
    );

    // Sign-out needs the page's CSRF token; afterwards the cookie is dead.
    let csrf = hidden_csrf(&get(&s, "/dashboard", Some(&session)).await.body);
    let page = post_form(&s, "/sign-out", &session, "csrf=forged").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = post_form(&s, "/sign-out", &session, &format!("csrf={csrf}")).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let page = get(&s, "/dashboard", Some(&session)).await;
    assert_eq!(
        page.status,
        StatusCode::SEE_OTHER,
        "a signed-out session is refused"
    );
}

async fn outreach_workers_and_parents_use_the_app_not_the_pages(s: TestServer) {
    s.user("ana", "outreach_worker", Some(east())).await;
    let page = sign_in(&s, "ana", "password-123").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert!(set_cookie(&page, "c2c_session").is_none());
}

async fn a_csv_export_holds_the_synced_responses_within_the_callers_scope(s: TestServer) {
    let east_worker = s.user("ana", "outreach_worker", Some(east())).await;
    let west_worker = s.user("cy", "outreach_worker", Some(west())).await;
    s.user("pat", "partner_staff", Some(east())).await;
    let mut pushed = Vec::new();
    for (scope, token, devices) in [
        (east(), &east_worker, "computer tablet"),
        (east(), &east_worker, "smartphone"),
        (west(), &west_worker, "tablet"),
    ] {
        let mut a = Answers::new();
        a.set("consent", "yes")
            .set("has_child", "yes")
            .set("home_language", "es")
            .set("home_internet", "yes")
            .set("home_devices", devices)
            .set_repeat(
                "child",
                vec![child("3", 8, "daily"), child("prek", 4, "never")],
            );
        let (doc, change) = record(
            &s.user_id(token),
            RecordKind::Response,
            scope,
            Some("household_survey"),
            &a,
        );
        s.push_ok(token, &[(doc.id(), &change)]).await;
        pushed.push((doc.id(), devices));
    }
    let page = sign_in(&s, "pat", "password-123").await;
    let (session, _) = set_cookie(&page, "c2c_session").unwrap();

    let csv = get(&s, "/exports/household_survey", Some(&session)).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    // Only the two east responses (the partner's scope), in id order.
    let mut east_ids: Vec<_> = pushed[..2].to_vec();
    east_ids.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(lines.len(), 3, "{}", csv.body);
    for (line, (id, devices)) in lines[1..].iter().zip(&east_ids) {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells[col("_id")], id.to_string());
        assert_eq!(cells[col("_neighborhood")], "east");
        assert_eq!(cells[col("home_devices")], *devices);
        let has = |choice: &str| devices.split(' ').any(|d| d == choice);
        for choice in ["computer", "tablet", "smartphone", "none"] {
            let want = if has(choice) { "1" } else { "0" };
            assert_eq!(
                cells[col(&format!("home_devices/{choice}"))],
                want,
                "{choice}"
            );
        }
    }

    // The repeat file: one row per child, joined by _parent_id.
    let kids = get(&s, "/exports/household_survey/child", Some(&session)).await;
    let lines: Vec<&str> = kids.body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(lines[0].starts_with("_parent_id,_index,age_years,"));
    assert_eq!(lines.len(), 1 + 4);
    assert!(lines[1].starts_with(&format!("{},1,8,", east_ids[0].0)));
    assert!(lines[2].starts_with(&format!("{},2,4,", east_ids[0].0)));
    assert_eq!(
        get(&s, "/exports/household_survey/nope", Some(&session))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s, "/exports/no_form", Some(&session)).await.status,
        StatusCode::NOT_FOUND
    );
    // Without a session: to the sign-in page.
    assert_eq!(
        get(&s, "/exports/household_survey", None).await.status,
        StatusCode::SEE_OTHER
    );
}
