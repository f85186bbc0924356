//! The household survey through the device store: recorded offline, finalized against
//! the seed instrument, stored cleaned; an invalid one is refused with its message in
//! the interviewer's language and nothing is written.

use chrono::NaiveDate;
use forms::instruments::seed_form;
use forms::validate::IssueKind;
use scenarios::household_survey_answers;
use sync_core::record::{FieldPath, STATUS_FIELD};
use sync_core::{Answers, Commit, FormRef, RecordKind, Scope, Store, Value};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn child(age: i64, grade: &str) -> Answers {
    let mut c = Answers::new();
    c.set("age_years", age)
        .set("grade", grade)
        .set("hispanic", "no");
    c
}

#[test]
fn a_household_survey_finalizes_cleaned_and_a_bad_one_is_refused_in_spanish() {
    let form = seed_form("household_survey").unwrap().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("phone.db")).unwrap();
    let form_ref = Some(FormRef {
        id: "household_survey".into(),
        version: form.form().version,
    });
    let scope = Scope::partnership("p1").with_neighborhood("east");

    let mut answers = household_survey_answers(7);
    let mut little = child(4, "prek");
    little.set("usual_place", "yes").set("place_type", "clinic");
    // Not relevant for a 4-year-old: must not be kept.
    little.set("college_talk", "yes");
    let mut teen = child(15, "10");
    teen.set("college_talk", "yes");
    answers.set_repeat("child", vec![little, child(8, "3"), teen]);
    answers
        .set("home_internet", "no")
        .set("home_devices", "smartphone");

    let id = store
        .create(
            RecordKind::Response,
            scope.clone(),
            form_ref.clone(),
            &answers,
            &Commit::new("w1", "Interview"),
        )
        .unwrap();
    let validation = store
        .finalize_response(id, &form, "en", today(), &Commit::new("w1", "Finalized"))
        .unwrap();
    assert!(validation.is_valid(), "{:?}", validation.issues);
    let stored = store.fields(id).unwrap();
    assert_eq!(stored.value(STATUS_FIELD), Some(&Value::from("final")));
    assert_eq!(stored.repeat("child").len(), 3);
    assert_eq!(
        stored.repeat("child")[0].value("college_talk"),
        None,
        "non-relevant answer kept"
    );
    assert_eq!(
        stored.repeat("child")[2].value("college_talk"),
        Some(&Value::from("yes"))
    );
    assert_eq!(
        stored.value("home_devices"),
        None,
        "devices asked only with internet"
    );
    assert_eq!(stored.value("children_count"), Some(&Value::Int(3)));
    let history = store.history(id).unwrap();
    assert_eq!(history.last().unwrap().message, "Finalized");
    assert!(history
        .last()
        .unwrap()
        .fields
        .contains(&"child[1]/college_talk".to_string()));

    // Age 25 breaks the constraint: refused in Spanish, nothing written.
    let mut bad = household_survey_answers(8);
    bad.set_repeat("child", vec![child(25, "12")]);
    let bad_id = store
        .create(
            RecordKind::Response,
            scope,
            form_ref,
            &bad,
            &Commit::new("w1", "Interview"),
        )
        .unwrap();
    let outbox_before = store.outbox_len().unwrap();
    let validation = store
        .finalize_response(
            bad_id,
            &form,
            "es",
            today(),
            &Commit::new("w1", "Finalized"),
        )
        .unwrap();
    assert!(!validation.is_valid());
    let issue = &validation.issues[0];
    assert_eq!(
        (issue.path.as_str(), issue.kind),
        ("child[1]/age_years", IssueKind::Constraint)
    );
    assert_eq!(issue.message, "Escriba una edad entre 0 y 18 años.");
    assert_eq!(store.outbox_len().unwrap(), outbox_before);
    assert_eq!(store.fields(bad_id).unwrap().value(STATUS_FIELD), None);

    // Fixed, it finalizes.
    store
        .set(
            bad_id,
            &"child[1]/age_years".parse::<FieldPath>().unwrap(),
            12,
            &Commit::new("w1", "Fix age"),
        )
        .unwrap();
    let validation = store
        .finalize_response(
            bad_id,
            &form,
            "es",
            today(),
            &Commit::new("w1", "Finalized"),
        )
        .unwrap();
    assert!(validation.is_valid(), "{:?}", validation.issues);
}
