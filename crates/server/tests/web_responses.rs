//! The data pages, per form, through the real router: `/responses` (each form's
//! counts), `/responses/{form}` (a column per question in the viewer's language,
//! filters, keyset pages, the scope), `/responses/{form}/{id}` (answers as the form
//! shows them) and `/households` with a household's members and records.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use forms::{Answers, Value};
use sync_core::{RecordKind, Scope};

on_both_backends!(
    the_responses_table_filters_pages_and_keeps_to_the_scope,
    a_response_page_shows_repeats_and_choice_labels,
    a_household_page_lists_its_members_and_records,
);

/// 2024-07-03 09:46:40 UTC.
const JULY: i64 = 1_720_000_000;

/// A household-survey response by `by` in `scope`: final, or a draft whose home
/// language is `other` (named in the text answer `other`).
fn survey_at(
    by: &str,
    scope: Scope,
    at: i64,
    draft_other: Option<&str>,
) -> (sync_core::RecordDoc, automerge::Change) {
    let mut kid = Answers::new();
    kid.set("age_years", 8i64)
        .set("hispanic", "no")
        .set("race", "black asian")
        .set("grade", "3")
        .set("read_times", "daily");
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", "en")
        .set("home_internet", "no")
        .set_repeat("child", vec![kid]);
    match draft_other {
        None => a
            .set("home_language", "en")
            .set("_status", Value::from("final")),
        Some(other) => a
            .set("home_language", "other")
            .set("home_language_other", other)
            .set("_status", Value::from("draft")),
    };
    record_at(
        by,
        RecordKind::Response,
        scope,
        Some("household_survey"),
        &a,
        at,
    )
}

/// The record ids of a responses table's rows.
fn rows(body: &str) -> Vec<String> {
    body.split("<tr data-record=\"")
        .skip(1)
        .map(|s| s[..s.find('"').unwrap()].to_string())
        .collect()
}

/// The next page's path, if the page has one.
fn next(body: &str) -> Option<String> {
    let at = body.find("rel=\"next\"")?;
    let start = body[..at].rfind("href=\"")? + "href=\"".len();
    Some(
        body[start..at]
            .trim_end_matches("\" ")
            .replace("&amp;", "&"),
    )
}

/// Every row of a table over all its pages, checking no row comes twice.
async fn all_rows(s: &TestServer, path: &str, cookie: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut path = Some(path.to_string());
    while let Some(p) = path {
        let page = get(s, &p, Some(cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{p}");
        let ids = rows(&page.body);
        assert!(ids.len() <= 50);
        for id in ids {
            assert!(!seen.contains(&id), "{id} shown twice");
            seen.push(id);
        }
        path = next(&page.body);
    }
    seen
}

async fn the_responses_table_filters_pages_and_keeps_to_the_scope(s: TestServer) {
    let ana_token = s.user("ana", "outreach_worker", Some(east())).await;
    let eve_token = s.user("eve", "outreach_worker", Some(east())).await;
    let wes_token = s.user("wes", "outreach_worker", Some(west())).await;
    let (ana, eve, wes) = (
        s.user_id(&ana_token),
        s.user_id(&eve_token),
        s.user_id(&wes_token),
    );
    s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
        .await;
    s.user("pat", "partner_staff", Some(east())).await;

    // Ana: 55 final responses an hour apart from July 3rd; Eve: three drafts this
    // hour (one naming Tagalog); Wes: four in the west on July 3rd.
    let finals: Vec<_> = (0..55)
        .map(|i| survey_at(&ana, east(), JULY + i * 3600, None))
        .collect();
    let now = chrono::Utc::now().timestamp() - 60;
    let drafts: Vec<_> = ["Tagalog", "Amharic", "Tigrinya"]
        .iter()
        .map(|other| survey_at(&eve, east(), now, Some(other)))
        .collect();
    let western: Vec<_> = (0..4)
        .map(|i| survey_at(&wes, west(), JULY + i, None))
        .collect();
    for (token, items) in [
        (&ana_token, &finals),
        (&eve_token, &drafts),
        (&wes_token, &western),
    ] {
        let refs: Vec<_> = items.iter().map(|(d, c)| (d.id(), c)).collect();
        s.push_ok(token, &refs).await;
    }
    let west_ids: Vec<String> = western.iter().map(|(d, _)| d.id().to_string()).collect();

    let bo = session(&s, "bo", "password-123").await;
    // The overview: every published form, this form's count, this month's drafts.
    let page = get(&s, "/responses", Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK);
    let row = between(&page.body, "<tr data-form=\"household_survey\">", "</tr>");
    assert!(row.contains("<td class=\"num total\">62</td>"), "{row}");
    assert!(row.ends_with("<td class=\"num\">3</td></tr>"), "{row}");
    assert!(page.body.contains("data-form=\"literacy_checkin\""));

    // A column per question, labelled in English; choices by label.
    let page = get(&s, "/responses/household_survey", Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK);
    let head = between(&page.body, "<table id=\"responses\">", "</thead>");
    for label in [
        "Do any children or young people",
        "Language of the interview",
        ">Child<",
        ">Worker<",
    ] {
        assert!(head.contains(label), "{label} in {head}");
    }
    assert!(page.body.contains("<td>Yes</td>"));
    assert!(page.body.contains("/exports/household_survey.csv"));
    assert_eq!(rows(&page.body).len(), 50);
    assert_eq!(
        all_rows(&s, "/responses/household_survey", &bo).await.len(),
        62
    );

    // Each filter narrows the rows, and the export links carry it.
    let count = |query: String| {
        let (s, bo) = (&s, &bo);
        async move {
            all_rows(s, &format!("/responses/household_survey?{query}"), bo)
                .await
                .len()
        }
    };
    assert_eq!(count("status=draft".into()).await, 3);
    assert_eq!(count("status=final".into()).await, 59);
    let today = chrono::Utc::now().date_naive();
    assert_eq!(count(format!("since={today}")).await, 3);
    // July 3rd: Ana's first fifteen (09:46 to 23:46) and Wes's four.
    assert_eq!(count("until=2024-07-03".into()).await, 19);
    assert_eq!(count("since=2024-07-04&until=2024-07-31".into()).await, 40);
    assert_eq!(count("neighborhood=west".into()).await, 4);
    assert_eq!(count(format!("worker={eve}")).await, 3);
    assert_eq!(count(format!("worker={wes}&status=draft")).await, 0);
    assert_eq!(count("q=tagalog".into()).await, 1);
    let page = get(&s, "/responses/household_survey?status=draft", Some(&bo)).await;
    assert!(page
        .body
        .contains("href=\"/exports/household_survey.xlsx?status=draft\""));
    // The export link holds what the table shows: the three drafts.
    let export = get(&s, "/exports/household_survey.csv?status=draft", Some(&bo)).await;
    assert_eq!(export.status, StatusCode::OK);
    let drafts_ids: Vec<String> = drafts.iter().map(|(d, _)| d.id().to_string()).collect();
    assert_eq!(
        drafts_ids
            .iter()
            .filter(|id| export.body.contains(id.as_str()))
            .count(),
        3
    );
    assert!(!export.body.contains(&finals[0].0.id().to_string()));
    // Without managed lists, the neighborhood filter is a box to type in; with
    // them, a choice among the list's neighborhoods.
    let filters = between(&page.body, "<form class=\"filters\"", "</form>");
    assert!(filters.contains("<input type=\"search\" name=\"neighborhood\""));
    s.sql(
        "INSERT INTO managed_lists (kind, code, label, confidential, active, created_by, created_at)
         VALUES ('neighborhood', 'east', 'East Side', FALSE, TRUE, 'test', 0),
                ('neighborhood', 'west', 'West Side', FALSE, FALSE, 'test', 0)",
    );
    let page = get(&s, "/responses/household_survey?status=draft", Some(&bo)).await;
    let filters = between(&page.body, "<form class=\"filters\"", "</form>");
    for choice in [
        "value=\"east\"",
        "value=\"west\"",
        ">ana<",
        ">eve<",
        ">wes<",
    ] {
        assert!(filters.contains(choice), "{choice} in {filters}");
    }
    assert_eq!(
        get(&s, "/responses/household_survey?since=July", Some(&bo))
            .await
            .status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        get(&s, "/responses/no_such_form", Some(&bo)).await.status,
        StatusCode::NOT_FOUND
    );

    // Partner staff of the east, reading Spanish: never the west's rows.
    s.sql("UPDATE users SET language = 'es' WHERE username = 'pat'");
    let pat = session(&s, "pat", "password-123").await;
    let page = get(&s, "/responses/household_survey", Some(&pat)).await;
    let head = between(&page.body, "<table id=\"responses\">", "</thead>");
    assert!(head.contains("¿Viven en este hogar niños"), "{head}");
    assert!(head.contains("Niño o niña"), "{head}");
    assert!(page.body.contains("<td>Sí</td>"));
    let seen = all_rows(&s, "/responses/household_survey", &pat).await;
    assert_eq!(seen.len(), 58);
    assert!(seen.iter().all(|id| !west_ids.contains(id)));
    assert_eq!(count_for(&s, &pat, "neighborhood=west").await, 0);
    let filters = between(&page.body, "<form class=\"filters\"", "</form>");
    assert!(!filters.contains("value=\"west\"") && !filters.contains(">wes<"));
    let west_page = format!("/responses/household_survey/{}", west_ids[0]);
    assert_eq!(
        get(&s, &west_page, Some(&pat)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&s, &west_page, Some(&bo)).await.status, StatusCode::OK);
    let page = get(&s, "/responses", Some(&pat)).await;
    let row = between(&page.body, "<tr data-form=\"household_survey\">", "</tr>");
    assert!(row.contains("<td class=\"num total\">58</td>"), "{row}");

    // Reports-only users see aggregates, never records.
    s.user("rita", "reports_only", Some(Scope::partnership("p1")))
        .await;
    let rita = session(&s, "rita", "password-123").await;
    for path in [
        "/responses".to_string(),
        "/responses/household_survey".into(),
        west_page.clone(),
        "/households".into(),
    ] {
        assert_eq!(
            get(&s, &path, Some(&rita)).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

async fn count_for(s: &TestServer, cookie: &str, query: &str) -> usize {
    all_rows(s, &format!("/responses/household_survey?{query}"), cookie)
        .await
        .len()
}

async fn a_response_page_shows_repeats_and_choice_labels(s: TestServer) {
    let ana_token = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&ana_token);
    s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
        .await;
    let (doc, change) = survey_at(&ana, east(), JULY, None);
    let (draft, draft_change) = survey_at(&ana, east(), JULY, Some("Tagalog"));
    s.push_ok(
        &ana_token,
        &[(doc.id(), &change), (draft.id(), &draft_change)],
    )
    .await;
    let bo = session(&s, "bo", "password-123").await;
    let url = format!("/responses/household_survey/{}", doc.id());
    let page = get(&s, &url, Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK);
    let answers = between(&page.body, "<section id=\"answers\">", "</section>");
    assert!(
        answers.contains("<dd data-field=\"consent\">Yes</dd>"),
        "{answers}"
    );
    assert!(answers.contains("Your household"), "the group's label");
    assert!(answers.contains("Child (1)"), "{answers}");
    let child = between(answers, "<table data-field=\"child\">", "</table>");
    assert_eq!(child.matches("<tr class=\"entry\">").count(), 1);
    assert!(
        child.contains("<td data-field=\"age_years\">8</td>"),
        "{child}"
    );
    assert!(child.contains("<li>Black or African American</li><li>Asian</li>"));
    assert!(
        !answers.contains("data-field=\"home_language_other\""),
        "not asked"
    );
    assert!(page
        .body
        .contains(&format!("href=\"/records/{}\"", doc.id())));
    assert!(page.body.contains("<dd id=\"status\">final</dd>"));
    let page = get(
        &s,
        &format!("/responses/household_survey/{}", draft.id()),
        Some(&bo),
    )
    .await;
    assert!(page
        .body
        .contains("<dd data-field=\"home_language_other\">Tagalog</dd>"));
    assert!(page
        .body
        .contains("<dd data-field=\"home_language\">Another language</dd>"));
    // The record under another form's path, and a missing one, are not found.
    let wrong = format!("/responses/literacy_checkin/{}", doc.id());
    assert_eq!(
        get(&s, &wrong, Some(&bo)).await.status,
        StatusCode::NOT_FOUND
    );
    let missing = format!("/responses/household_survey/{}", uuid::Uuid::new_v4());
    assert_eq!(
        get(&s, &missing, Some(&bo)).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn a_household_page_lists_its_members_and_records(s: TestServer) {
    let ana_token = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&ana_token);
    let wes_token = s.user("wes", "outreach_worker", Some(west())).await;
    let wes = s.user_id(&wes_token);
    s.user("pat", "partner_staff", Some(east())).await;

    let mut h = Answers::new();
    h.set("name", "Rivera family").set("address", "12 Elm St");
    let (home, home_created) = record(&ana, RecordKind::Household, east(), None, &h);
    let home_id = home.id().to_string();
    let mut p = Answers::new();
    p.set("household", home_id.as_str())
        .set("name", "Lucia")
        .set("relationship", "child");
    let (kid, kid_created) = record(&ana, RecordKind::Person, east(), None, &p);
    let (other_home, other_created) = household(&ana, east());
    let mut a = Answers::new();
    a.set("consent", "yes").set("_household", home_id.as_str());
    let (visit, visit_created) = record_at(
        &ana,
        RecordKind::Response,
        east(),
        Some("household_survey"),
        &a,
        JULY,
    );
    let mut c = Answers::new();
    c.set("child", kid.id().to_string());
    // A parent's check-in is scoped to their family and names the child.
    let family = east().with_family(home_id.as_str());
    let pia_token = s.user("pia", "parent", Some(family.clone())).await;
    let (checkin, checkin_created) = record_at(
        &s.user_id(&pia_token),
        RecordKind::Checkin,
        family,
        Some("literacy_checkin"),
        &c,
        JULY + 60,
    );
    let (unrelated, unrelated_created) = survey(&ana, east(), "yes");
    s.push_ok(
        &ana_token,
        &[
            (home.id(), &home_created),
            (kid.id(), &kid_created),
            (other_home.id(), &other_created),
            (visit.id(), &visit_created),
            (unrelated.id(), &unrelated_created),
        ],
    )
    .await;
    s.push_ok(&pia_token, &[(checkin.id(), &checkin_created)])
        .await;
    let (west_home, west_created) = household(&wes, west());
    s.push_ok(&wes_token, &[(west_home.id(), &west_created)])
        .await;

    let pat = session(&s, "pat", "password-123").await;
    let page = get(&s, "/households", Some(&pat)).await;
    assert_eq!(page.status, StatusCode::OK);
    let listed = rows(&page.body);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.contains(&home_id));
    let page = get(&s, "/households?q=rivera", Some(&pat)).await;
    assert_eq!(rows(&page.body), vec![home_id.clone()]);
    let page = get(&s, "/households?neighborhood=west", Some(&pat)).await;
    assert!(rows(&page.body).is_empty());

    let page = get(&s, &format!("/households/{home_id}"), Some(&pat)).await;
    assert_eq!(page.status, StatusCode::OK);
    let members = between(&page.body, "<section id=\"members\">", "</section>");
    assert_eq!(rows(members), vec![kid.id().to_string()]);
    assert!(members.contains("Lucia"));
    let records = between(&page.body, "<section id=\"records\">", "</section>");
    // Newest first: the check-in, then the visit; not the other household's survey.
    assert_eq!(
        rows(records),
        vec![checkin.id().to_string(), visit.id().to_string()]
    );
    assert!(records.contains(&format!(
        "href=\"/responses/household_survey/{}\"",
        visit.id()
    )));
    assert_eq!(
        get(&s, &format!("/households/{}", west_home.id()), Some(&pat))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&s, &format!("/households/{}", visit.id()), Some(&pat))
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a response is not a household"
    );
}

mod at_scale {
    //! Server time of the responses pages over 100,000 responses (copies of one pushed
    //! response, written straight into the records table). Ignored by default: run
    //! with `--ignored` (numbers from an optimized build are what count).
    use super::*;
    use std::time::Instant;

    #[tokio::test]
    #[ignore]
    async fn sqlite() {
        pages_stay_fast(TestServer::new().await).await
    }

    #[tokio::test]
    #[ignore]
    async fn postgres() {
        pages_stay_fast(TestServer::postgres().await).await
    }

    async fn pages_stay_fast(s: TestServer) {
        let token = s.user("ana", "outreach_worker", Some(east())).await;
        s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
            .await;
        s.user("pat", "partner_staff", Some(east())).await;
        let (doc, change) = survey_at(&s.user_id(&token), east(), JULY, None);
        let (home, home_created) = household(&s.user_id(&token), east());
        s.push_ok(&token, &[(doc.id(), &change), (home.id(), &home_created)])
            .await;
        s.sql(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
             INSERT INTO records (id, kind, partnership, organization, neighborhood, family,
                 program, form_id, form_version, created_by, created_at, updated_at, heads,
                 fields, has_conflicts, issues)
             SELECT 'r' || i, kind, partnership, organization,
                 CASE WHEN i % 4 = 0 THEN 'west' ELSE 'east' END, family, program, form_id,
                 form_version, created_by, created_at - i * 60, updated_at, heads, fields,
                 has_conflicts, issues
             FROM n, records WHERE records.id = '{}'",
            doc.id()
        ));
        if s.pg_schema.is_some() {
            // As autovacuum would after a bulk load.
            s.sql("ANALYZE records");
        }
        let bo = session(&s, "bo", "password-123").await;
        let pat = session(&s, "pat", "password-123").await;
        // A search reads a window of records per page and goes on from there.
        let page = get(&s, "/responses/household_survey?q=tagalog", Some(&bo)).await;
        assert!(page.body.contains("the next page searches on"));
        let more = next(&page.body).unwrap();
        assert!(more.contains("q=tagalog&after="), "{more}");
        let mut worst = 0;
        for (who, path) in [
            (&bo, "/responses".to_string()),
            (&bo, "/responses/household_survey".into()),
            (
                &bo,
                "/responses/household_survey?after=1717000000:r50000".into(),
            ),
            (&pat, "/responses/household_survey".into()),
            (
                &pat,
                "/responses/household_survey?status=final&until=2024-05-01".into(),
            ),
            (&bo, "/responses/household_survey?neighborhood=west".into()),
            (&bo, "/responses/household_survey?q=tagalog".into()),
            (&pat, "/households".into()),
            (&pat, format!("/households/{}", home.id())),
        ] {
            let start = Instant::now();
            let page = get(&s, &path, Some(who)).await;
            let ms = start.elapsed().as_millis();
            assert_eq!(page.status, StatusCode::OK, "{path}");
            eprintln!("{ms:>5} ms  {path}  ({} rows)", rows(&page.body).len());
            worst = worst.max(ms);
        }
        let storage = s.storage.clone();
        let scope = Some(east());
        let start = Instant::now();
        storage
            .form_counts(scope.as_ref(), &[0, JULY, 2 * JULY])
            .unwrap();
        eprintln!("{:>5} ms  form_counts", start.elapsed().as_millis());
        let start = Instant::now();
        storage.usernames().unwrap();
        storage.user_language("nobody").unwrap();
        eprintln!("{:>5} ms  usernames, language", start.elapsed().as_millis());
        assert!(worst < 300, "the slowest page took {worst} ms");
    }
}
