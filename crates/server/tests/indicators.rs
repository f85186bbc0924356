//! The survey indicators' input, read from the server's materialized records:
//! finalized household-survey responses only, within a scope, one row per child.

mod common;

use common::*;
use forms::{Answers, Value};
use indicators::{estimate, survey_indicators};
use sync_core::{RecordKind, Scope};
use uuid::Uuid;

/// A household-survey response with one child per grade given, finalized or a draft.
fn response(
    scope: Scope,
    grades: &[(&str, i64, &str)],
    finalized: bool,
) -> (Uuid, automerge::Change) {
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
    let (doc, change) = record(RecordKind::Response, scope, Some("household_survey"), &a);
    (doc.id(), change)
}

#[tokio::test]
async fn survey_children_are_the_finalized_responses_in_scope() {
    let s = TestServer::new().await;
    let east_worker = s.user("e", "outreach_worker", Some(east())).await;
    let west_worker = s.user("w", "outreach_worker", Some(west())).await;
    let east_items = [
        response(east(), &[("3", 8, "daily"), ("5", 10, "never")], true),
        response(east(), &[("k", 5, "three_plus")], true),
        response(east(), &[("2", 7, "daily")], false), // a draft: not counted
    ];
    let west_items = [response(west(), &[("8", 13, "once_twice")], true)];
    let refs: Vec<_> = east_items.iter().map(|(id, c)| (*id, c)).collect();
    let pushed = s.push_ok(&east_worker, &refs).await;
    assert_eq!(
        statuses(&pushed),
        vec![sync_core::protocol::PushStatus::Accepted; 3]
    );
    let refs: Vec<_> = west_items.iter().map(|(id, c)| (*id, c)).collect();
    s.push_ok(&west_worker, &refs).await;

    let east_rows = s.storage.survey_children(Some(&east())).unwrap();
    assert_eq!(
        east_rows.len(),
        3,
        "two finalized east households, three children"
    );
    assert!(east_rows
        .iter()
        .all(|r| r.neighborhood.as_deref() == Some("east")));
    let g13 = survey_indicators()
        .into_iter()
        .find(|i| i.id == "G13")
        .unwrap();
    let e = estimate(&g13, &east_rows);
    assert_eq!((e.numerator, e.denominator), (2, 3));

    let all = s.storage.survey_children(None).unwrap();
    assert_eq!(all.len(), 4);
    let e = estimate(&g13, &all);
    assert_eq!((e.numerator, e.denominator), (2, 4));
    let partnership = s
        .storage
        .survey_children(Some(&Scope::partnership("p1")))
        .unwrap();
    assert_eq!(partnership.len(), 4);
}
