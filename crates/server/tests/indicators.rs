//! The survey indicators' input, read from the server's materialized records and kept
//! in memory: finalized household-survey responses only, within a scope, one digest per
//! child, refreshed as pushes land.

mod common;

use common::*;
use forms::{Answers, Value};
use indicators::{facts_estimate, facts_table, survey_index, Dimension};
use sync_core::{Commit, RecordDoc, RecordKind, Scope};

on_both_backends!(survey_facts_are_the_finalized_responses_in_scope_and_follow_pushes,);

/// A household-survey response by the user `by` with one child per grade given,
/// finalized or a draft.
fn response(
    by: &str,
    scope: Scope,
    grades: &[(&str, i64, &str)],
    finalized: bool,
) -> (RecordDoc, automerge::Change) {
    let a = survey_answers(grades, finalized);
    record(
        by,
        RecordKind::Response,
        scope,
        Some("household_survey"),
        &a,
    )
}

/// The answers of [`response`].
fn survey_answers(grades: &[(&str, i64, &str)], finalized: bool) -> Answers {
    let kids = grades
        .iter()
        .map(|(grade, age, read)| {
            let mut k = Answers::new();
            k.set("age_years", *age)
                .set("hispanic", "no")
                .set("race", "black")
                .set("grade", *grade)
                .set("read_times", *read);
            k
        })
        .collect();
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", "en")
        .set("home_language", "en")
        .set("home_internet", "no")
        .set_repeat("child", kids);
    if finalized {
        a.set("_status", Value::from("final"));
    }
    a
}

fn children(s: &TestServer, scope: Option<&Scope>) -> usize {
    let facts = s.storage.survey_facts(scope).unwrap();
    facts.responses.iter().map(|(_, c)| c.len()).sum()
}

async fn survey_facts_are_the_finalized_responses_in_scope_and_follow_pushes(s: TestServer) {
    let east_worker = s.user("e", "outreach_worker", Some(east())).await;
    let west_worker = s.user("w", "outreach_worker", Some(west())).await;
    let (east_id, west_id) = (s.user_id(&east_worker), s.user_id(&west_worker));
    let mut east_items = [
        response(
            &east_id,
            east(),
            &[("3", 8, "daily"), ("5", 10, "never")],
            true,
        ),
        response(&east_id, east(), &[("k", 5, "three_plus")], true),
        response(&east_id, east(), &[("2", 7, "daily")], false), // a draft: not counted
    ];
    let west_items = [response(&west_id, west(), &[("8", 13, "once_twice")], true)];
    let refs: Vec<_> = east_items.iter().map(|(d, c)| (d.id(), c)).collect();
    let pushed = s.push_ok(&east_worker, &refs).await;
    assert_eq!(
        statuses(&pushed),
        vec![sync_core::protocol::PushStatus::Accepted; 3]
    );
    let refs: Vec<_> = west_items.iter().map(|(d, c)| (d.id(), c)).collect();
    s.push_ok(&west_worker, &refs).await;

    let g13 = survey_index("G13").unwrap();
    let east_facts = s.storage.survey_facts(Some(&east())).unwrap();
    let years = east_facts.years();
    assert_eq!(
        years.len(),
        1,
        "the test's records are all made at one time"
    );
    let year = years[0];
    assert_eq!(
        children(&s, Some(&east())),
        3,
        "two finalized east households, three children"
    );
    let e = facts_estimate(g13, east_facts.children_in(year));
    assert_eq!((e.numerator, e.denominator), (2, 3));
    let by_hood = facts_table(
        g13,
        east_facts.children_in(year),
        Dimension::Neighborhood,
        1,
    );
    let hoods: Vec<&str> = by_hood.cells.iter().map(|c| c.category.as_str()).collect();
    assert_eq!(hoods, ["east"]);

    assert_eq!(children(&s, None), 4);
    assert_eq!(children(&s, Some(&Scope::partnership("p1"))), 4);
    let all = s.storage.survey_facts(None).unwrap();
    let e = facts_estimate(g13, all.children_in(year));
    assert_eq!((e.numerator, e.denominator), (2, 4));

    // The cache follows the log: finalizing the draft adds its child, and a new
    // response adds its own, without a restart.
    let (draft, _) = &mut east_items[2];
    let finalized = draft
        .edit(&Commit::new(&east_id, "finalize"), |e| {
            e.set_field("_status", "final")
        })
        .unwrap()
        .unwrap();
    s.push_ok(&east_worker, &[(draft.id(), &finalized)]).await;
    assert_eq!(
        children(&s, Some(&east())),
        4,
        "the finalized draft counts now"
    );
    let (doc, change) = response(
        &east_id,
        east(),
        &[("4", 9, "daily"), ("6", 11, "daily")],
        true,
    );
    s.push_ok(&east_worker, &[(doc.id(), &change)]).await;
    assert_eq!(children(&s, Some(&east())), 6);
    let e = facts_estimate(g13, s.storage.survey_facts(None).unwrap().children_in(year));
    assert_eq!((e.numerator, e.denominator), (5, 7));

    // A second server node on the same PostgreSQL keeps a cache of its own.
    let other_node = s.pg_schema.as_ref().map(|schema| {
        server::Storage::open_postgres(&test_database_url(), Some(&schema.0)).unwrap()
    });
    let other_children = |n: &server::Storage| -> usize {
        let facts = n.survey_facts(Some(&east())).unwrap();
        facts.responses.iter().map(|(_, c)| c.len()).sum()
    };
    // A household whose finalized response names it; consent withdrawn, the purge
    // takes the response, and every cache drops its children (by the tombstones).
    let (home, made) = household(&east_id, east());
    let mut a = survey_answers(&[("4", 9, "daily")], true);
    a.set("_household", home.id().to_string());
    let (named, about) = record(
        &east_id,
        RecordKind::Response,
        east(),
        Some("household_survey"),
        &a,
    );
    s.push_ok(&east_worker, &[(home.id(), &made), (named.id(), &about)])
        .await;
    assert_eq!(children(&s, Some(&east())), 7);
    if let Some(n) = &other_node {
        assert_eq!(
            other_children(n),
            7,
            "the other node reads the same responses"
        );
    }
    let r = s
        .post(
            "/v1/admin/purge",
            Some(&s.admin),
            &serde_json::json!({"v": 1, "subject": home.id(), "reason": "consent withdrawn"}),
        )
        .await;
    assert_eq!(r.status, axum::http::StatusCode::OK);
    assert_eq!(
        children(&s, Some(&east())),
        6,
        "the purged response is gone"
    );
    if let Some(n) = &other_node {
        assert_eq!(other_children(n), 6, "and gone from the other node's cache");
    }
}
