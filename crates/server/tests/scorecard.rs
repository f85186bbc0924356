//! The public community scorecard through the real router: an admin turns two
//! indicators on; signed out, the page (English and Spanish) shows only those, only
//! suppressed aggregates (no cell under the threshold, no record id, user, name,
//! address or answer of any record, no breakdown), references no other resource, and
//! follows the threshold; a burst of 1,000 requests is served from the cache without
//! reading the records again, and new data shows after invalidation or the TTL.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::pages::*;
use common::*;
use forms::{Answers, Value};
use http_body_util::BodyExt;
use sync_core::{RecordDoc, RecordKind};
use tower::ServiceExt;

on_both_backends!(
    the_public_scorecard_shows_only_enabled_suppressed_aggregates,
    a_burst_is_served_from_the_cache,
);

const WORKER: &str = "zebulon_fieldworker_7";
const HEAD_NAME: &str = "Philomena Quixotic-Barnaby";
const ADDRESS: &str = "742 Evergreen Terrace";
const CHILD_NAME: &str = "Zephyrine";
const NOTE: &str = "Quenyarin, a family dialect";

/// 1 March of `year`, unix seconds: a record made then counts in `year`.
fn march(year: i32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

/// A finalized household-survey response made in `year`, with four children in grade 3
/// of whom `often` are read to daily (G13's numerator) and the rest once or twice a
/// week; its one free-text answer must never reach the scorecard.
fn response(by: &str, year: i32, often: usize) -> (RecordDoc, automerge::Change) {
    let kids = (0..4)
        .map(|i| {
            let mut k = Answers::new();
            k.set("age_years", 8)
                .set("hispanic", "no")
                .set("race", "black")
                .set("grade", "3")
                .set("read_times", if i < often { "daily" } else { "once_twice" });
            k
        })
        .collect();
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", "en")
        .set("home_language", "other")
        .set("home_language_other", NOTE)
        .set("home_internet", "no")
        .set_repeat("child", kids)
        .set("_status", Value::from("final"));
    record_at(
        by,
        RecordKind::Response,
        east(),
        Some("household_survey"),
        &a,
        march(year),
    )
}

/// Push responses; their record ids.
async fn push(
    s: &TestServer,
    token: &str,
    items: &[(RecordDoc, automerge::Change)],
) -> Vec<String> {
    let refs: Vec<_> = items.iter().map(|(d, c)| (d.id(), c)).collect();
    let pushed = s.push_ok(token, &refs).await;
    assert!(
        statuses(&pushed)
            .iter()
            .all(|st| *st == sync_core::protocol::PushStatus::Accepted),
        "{:?}",
        pushed.results
    );
    items.iter().map(|(d, _)| d.id().to_string()).collect()
}

/// G13 by year (children in grade 3, read to three or more times a week):
/// 2022: 6 of 12 (50.0%), 2023: 4 of 4 (under the threshold of 10), 2024: 9 of 12
/// (75.0%), 2025: 8 of 12 (66.7%). G4 uploaded: 30%, 35%, 40% of 100 in 2023-2025,
/// with a school breakdown holding a small cell; G5 uploaded but not on the scorecard.
/// Returns the worker's token, its user id, and every record id.
async fn fixture(s: &TestServer) -> (String, String, Vec<String>) {
    let worker = s.user(WORKER, "outreach_worker", Some(east())).await;
    let worker_id = s.user_id(&worker);
    let mut items = Vec::new();
    for (year, often) in [
        (2022, [2, 2, 2].as_slice()),
        (2023, &[4]),
        (2024, &[3, 3, 3]),
        (2025, &[3, 3, 2]),
    ] {
        items.extend(often.iter().map(|o| response(&worker_id, year, *o)));
    }
    let mut ids = push(s, &worker, &items).await;
    // The household the responses were made in, and its people, by name.
    let mut home_answers = Answers::new();
    home_answers.set("address", ADDRESS);
    let (home, created) = record(
        &worker_id,
        RecordKind::Household,
        east(),
        None,
        &home_answers,
    );
    let home_id = home.id().to_string();
    let mut people = vec![(home, created)];
    for (name, relationship) in [(HEAD_NAME, "mother"), (CHILD_NAME, "child")] {
        let mut p = Answers::new();
        p.set("household", home_id.as_str())
            .set("name", name)
            .set("relationship", relationship)
            .set("birth_date", "2016-05-01");
        people.push(record(&worker_id, RecordKind::Person, east(), None, &p));
    }
    ids.extend(push(s, &worker, &people).await);
    let rows = indicators::parse_csv(
        b"indicator,year,group,category,numerator,denominator\n\
          G4,2023,all,,30,100\nG4,2024,all,,35,100\nG4,2025,all,,40,100\n\
          G4,2025,school,Lincoln,3,5\nG4,2025,school,Grant,37,95\n\
          G5,2025,all,,90,100\n",
    )
    .unwrap();
    s.storage.replace_aggregates(&rows, "admin").unwrap();
    s.storage
        .set_targets(
            "G13",
            &server::storage::Targets {
                baseline: Some((2022, 50.0)),
                by_year: [(2025, 80.0)].into(),
                ..Default::default()
            },
            "admin",
        )
        .unwrap();
    (worker, worker_id, ids)
}

/// Turn exactly G13 and G4 on through the settings page, as an admin.
async fn enable_two(s: &TestServer) -> String {
    let admin = session(s, "admin", ADMIN_PASSWORD).await;
    let page = get(s, "/scorecard/settings", Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("href=\"/scorecard\""), "{}", page.body);
    let csrf = hidden_csrf(&page.body);
    // A forged form and an unknown indicator change nothing.
    let forged = post_form(s, "/scorecard/settings", &admin, "csrf=x&indicator=G13").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let unknown = format!("csrf={csrf}&indicator=G13&indicator=G99");
    let refused = post_form(s, "/scorecard/settings", &admin, &unknown).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(s.storage.public_indicators().unwrap().is_empty());
    let form = format!("csrf={csrf}&indicator=G13&indicator=G4");
    let saved = post_form(s, "/scorecard/settings", &admin, &form).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(s.storage.public_indicators().unwrap(), ["G13", "G4"]);
    let page = get(s, "/scorecard/settings", Some(&admin)).await;
    assert!(page.body.contains("value=\"G13\" checked"), "{}", page.body);
    assert!(!page.body.contains("value=\"G5\" checked"), "{}", page.body);
    let audit = s.storage.audit_log(None).unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "scorecard.set" && e.detail == "G13, G4"),
        "{audit:?}"
    );
    admin
}

/// Every value of the attribute `name` in `body`, in order.
fn attrs(body: &str, name: &str) -> Vec<String> {
    let key = format!(" {name}=\"");
    body.match_indices(&key)
        .map(|(at, _)| {
            let rest = &body[at + key.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

/// The markup of one indicator's section of the scorecard.
fn section<'a>(body: &'a str, id: &str) -> &'a str {
    between(
        body,
        &format!("<section class=\"indicator\" data-indicator=\"{id}\""),
        "</section>",
    )
}

/// Signed out: the public page (200) and its headers.
async fn public(s: &TestServer, path: &str) -> Page {
    let page = get(s, path, None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page
}

/// What no scorecard may hold: any record's id, the worker, a name, an address, a
/// note, an answer's code, a breakdown; and no other resource to fetch.
fn assert_nothing_private(body: &str, record_ids: &[String], users: &[&str]) {
    for id in record_ids {
        assert!(!body.contains(id.as_str()), "record id {id} on the page");
        assert!(
            !body.contains(&id.replace('-', "")),
            "record id {id} on the page"
        );
    }
    for text in users
        .iter()
        .copied()
        .chain([
            HEAD_NAME,
            "Philomena",
            ADDRESS,
            "Evergreen",
            CHILD_NAME,
            NOTE,
        ])
        .chain(["once_twice", "three_plus", "household_survey"])
        // Breakdowns: the uploaded school group and the survey's dimensions.
        .chain([
            "Lincoln",
            "Grant",
            "school",
            "Home language",
            "Neighborhood",
        ])
    {
        assert!(!body.contains(text), "`{text}` on the page");
    }
    // Self-contained: nothing else is requested, so there is no other response to
    // search. The SVG namespace is a name, not a request.
    let without_namespace = body.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for reference in [
        "src=", "<link", "url(", "@import", "<script", "<iframe", "http:", "https:", "//",
    ] {
        assert!(
            !without_namespace.contains(reference),
            "the page references another resource: `{reference}`"
        );
    }
}

async fn the_public_scorecard_shows_only_enabled_suppressed_aggregates(s: TestServer) {
    let (_, worker_id, ids) = fixture(&s).await;
    // Signed out, the settings are not for the public.
    let settings = get(&s, "/scorecard/settings", None).await;
    assert_eq!(settings.status, StatusCode::SEE_OTHER);
    let none_yet = public(&s, "/scorecard").await;
    assert!(
        none_yet.body.contains("id=\"none-on\""),
        "{}",
        none_yet.body
    );
    let admin = enable_two(&s).await;

    let en = public(&s, "/scorecard").await;
    let es = public(&s, "/scorecard?lang=es").await;
    for page in [&en, &es] {
        let h = &page.headers;
        assert_eq!(h["cache-control"], "public, max-age=300");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h.get("x-frame-options").is_none(), "partners may frame it");
        assert!(h.get("set-cookie").is_none());
        let policy = h["content-security-policy"].to_str().unwrap();
        assert!(policy.starts_with("default-src 'none'"), "{policy}");
        assert!(policy.contains("frame-ancestors *"), "{policy}");
        assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));

        let shown: BTreeSet<String> = attrs(&page.body, "data-indicator").into_iter().collect();
        assert_eq!(shown, BTreeSet::from(["G13".to_string(), "G4".to_string()]));
        let ns: Vec<u64> = attrs(&page.body, "data-n")
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
        assert!(!ns.is_empty() && ns.iter().all(|n| *n >= 10), "{ns:?}");
        assert_nothing_private(&page.body, &ids, &[WORKER, &worker_id, &s.admin_id]);

        // G13: the latest shown value by hand (8 of 12 in 2025), its years, and 2023
        // (4 children) hidden in the table and in the chart.
        let g13 = section(&page.body, "G13");
        assert!(
            g13.contains("data-year=\"2025\" data-value=\"66.7\" data-n=\"12\""),
            "{g13}"
        );
        for (year, value) in [(2022, "50.0"), (2024, "75.0")] {
            assert!(
                g13.contains(&format!("data-year=\"{year}\" data-value=\"{value}\"")),
                "{g13}"
            );
        }
        assert!(!g13.contains("data-year=\"2023\" data-value="), "{g13}");
        assert!(g13.contains("data-suppressed-year=\"2023\""), "{g13}");
        assert!(
            g13.contains("50.0% (2022)") && g13.contains("80.0% (2025)"),
            "{g13}"
        );
        let g4 = section(&page.body, "G4");
        assert!(
            g4.contains("data-year=\"2025\" data-value=\"40.0\" data-n=\"100\""),
            "{g4}"
        );
        // This year (2025): G4 up (right), G13 down away from its target (wrong).
        let summary = between(&page.body, "<p id=\"trend-summary\"", "</p>");
        assert!(
            summary.contains("data-year=\"2025\" data-right=\"1\" data-with-verdict=\"2\""),
            "{summary}"
        );
    }
    assert!(en.body.contains("<html lang=\"en\">"));
    assert!(en.body.contains("href=\"/scorecard?lang=es\""));
    assert!(en.body.contains("print"), "says how to print");
    assert!(en.body.contains("@media print"));
    assert!(section(&en.body, "G13").contains("wrong direction"));
    assert!(section(&en.body, "G4").contains("right direction"));
    assert!(es.body.contains("<html lang=\"es\">"));
    assert!(es.body.contains("href=\"/scorecard\""));
    assert!(section(&es.body, "G13").contains("en la dirección equivocada"));
    assert!(section(&es.body, "G4").contains("en la dirección correcta"));
    assert!(es.body.contains("Niños de kínder a 8.º grado"));
    // No English on the Spanish page: neither the titles nor the verdicts' reasons.
    let inputs = server::curves::CurveInputs::read(&s.storage, None).unwrap();
    for c in inputs.all_curves() {
        assert!(!es.body.contains(c.info.title), "{}", c.info.title);
        for v in &c.verdicts {
            assert!(
                v.reason.is_empty() || !es.body.contains(&v.reason),
                "{}",
                v.reason
            );
        }
    }
    assert!(!es.body.contains("right direction") && !es.body.contains("wrong direction"));

    // The threshold decides what is shown: at 3, 2023's four children show; at 13,
    // none of G13's years does, and G4's n of 100 still does.
    let csrf = hidden_csrf(&get(&s, "/dashboard", Some(&admin)).await.body);
    let set_min = |n: u64| {
        let form = format!("csrf={csrf}&min_cell={n}");
        let (s, admin) = (&s, &admin);
        async move {
            let page = post_form(s, "/settings/min-cell", admin, &form).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        }
    };
    set_min(3).await;
    let page = public(&s, "/scorecard").await;
    let g13 = section(&page.body, "G13");
    assert!(
        g13.contains("data-year=\"2023\" data-value=\"100.0\""),
        "{g13}"
    );
    assert!(g13.contains("data-n=\"4\""), "{g13}");
    assert!(page.body.contains("data-min-cell=\"3\""));
    set_min(13).await;
    let page = public(&s, "/scorecard").await;
    let g13 = section(&page.body, "G13");
    assert!(!g13.contains("data-value="), "{g13}");
    assert!(!g13.contains("data-n="), "{g13}");
    let ns: Vec<u64> = attrs(&page.body, "data-n")
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(!ns.is_empty() && ns.iter().all(|n| *n >= 13), "{ns:?}");
    assert!(section(&page.body, "G4").contains("data-n=\"100\""));
    assert_nothing_private(&page.body, &ids, &[WORKER, &worker_id, &s.admin_id]);
}

/// A signed-out GET of `path` through a clone of the router: status and bytes.
async fn fetch(app: axum::Router, path: &'static str) -> (StatusCode, Vec<u8>) {
    let resp = app
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

/// 1,000 requests at once; every one must be 200, and all the same bytes, which are
/// returned.
async fn burst(s: &TestServer, path: &'static str) -> Vec<u8> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..1_000 {
        set.spawn(fetch(s.app.clone(), path));
    }
    let mut bodies = BTreeSet::new();
    while let Some(done) = set.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, StatusCode::OK);
        bodies.insert(body);
    }
    assert_eq!(bodies.len(), 1, "every request got the same page");
    bodies.into_iter().next().unwrap()
}

async fn a_burst_is_served_from_the_cache(s: TestServer) {
    let (worker, worker_id, _) = fixture(&s).await;
    enable_two(&s).await;
    let cache = s.state.scorecard.clone();

    // A crowd at a cold cache: one build serves all of them.
    let before = cache.builds();
    let cold = burst(&s, "/scorecard").await;
    assert_eq!(cache.builds(), before + 1, "one build for the whole crowd");
    // Warm: 1,000 more, and the records are not read again.
    let (status, warm) = fetch(s.app.clone(), "/scorecard").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(warm, cold);
    let builds = cache.builds();
    assert_eq!(burst(&s, "/scorecard").await, warm);
    assert!(!burst(&s, "/scorecard?lang=es").await.is_empty());
    assert_eq!(cache.builds(), builds, "the burst did not read the records");
    let text = String::from_utf8(warm.clone()).unwrap();
    assert!(section(&text, "G13").contains("data-year=\"2025\" data-value=\"66.7\""));

    // New data: 2025 gains four children read to daily (12 of 16, 75.0%). The page
    // stays the cached one until its time is up.
    s.state.clock().freeze();
    push(&s, &worker, &[response(&worker_id, 2025, 4)]).await;
    let (_, same) = fetch(s.app.clone(), "/scorecard").await;
    assert_eq!(same, warm, "still the cached page");
    assert_eq!(cache.builds(), builds);
    s.state
        .clock()
        .advance(server::scorecard::TTL + std::time::Duration::from_secs(1));
    let (_, aged) = fetch(s.app.clone(), "/scorecard").await;
    assert_eq!(cache.builds(), builds + 1);
    let text = String::from_utf8(aged.clone()).unwrap();
    assert!(
        section(&text, "G13").contains("data-year=\"2025\" data-value=\"75.0\" data-n=\"16\""),
        "{text}"
    );

    // More data (four children read to once or twice: 12 of 20, 60.0%): cached until
    // invalidated, then shown.
    push(&s, &worker, &[response(&worker_id, 2025, 0)]).await;
    let (_, same) = fetch(s.app.clone(), "/scorecard").await;
    assert_eq!(same, aged);
    cache.invalidate();
    let (_, fresh) = fetch(s.app.clone(), "/scorecard").await;
    assert_eq!(cache.builds(), builds + 2);
    let text = String::from_utf8(fresh).unwrap();
    assert!(
        section(&text, "G13").contains("data-year=\"2025\" data-value=\"60.0\" data-n=\"20\""),
        "{text}"
    );
}
