//! Selects from earlier answers in a repeat (`select_one ${child_name}`): the choices
//! offered as the answers stand, with and without a `choice_filter`.

use chrono::NaiveDate;
use serde_json::json;

use crate::{Answers, CompiledForm, Form, IssueKind};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
}

fn compiled(items: serde_json::Value) -> CompiledForm {
    let form: Form =
        serde_json::from_value(json!({"id": "t", "version": 1, "items": items})).unwrap();
    form.compile().unwrap()
}

fn answers(json: serde_json::Value) -> Answers {
    serde_json::from_value(json).unwrap()
}

/// A household roster and a select of one member after it.
fn roster(filter: Option<&str>) -> CompiledForm {
    let mut select = json!({"type": "select_one ${child_name}", "name": "respondent"});
    if let Some(f) = filter {
        select["choice_filter"] = json!(f);
    }
    compiled(json!([
        {"type": "integer", "name": "min_age"},
        {"type": "repeat", "name": "child", "items": [
            {"type": "text", "name": "child_name"},
            {"type": "group", "name": "about", "items": [
                {"type": "integer", "name": "age"}
            ]}
        ]},
        select,
        {"type": "select_multiple ${child_name}", "name": "in_school"}
    ]))
}

fn offered(f: &CompiledForm, a: &Answers, path: &str) -> Option<Vec<String>> {
    f.validate(a, "en", today())
        .state(path)
        .unwrap()
        .choices
        .clone()
}

#[test]
fn answers_in_each_instance_are_the_choices_in_order_without_empties_or_repeats() {
    let f = roster(None);
    let a = answers(json!({"child": [
        {"child_name": "Ana", "age": 7},
        {"child_name": "  "},
        {"age": 3},
        {"child_name": "Ben", "age": 12},
        {"child_name": "Ana", "age": 2}
    ]}));
    assert_eq!(
        offered(&f, &a, "respondent"),
        Some(vec!["Ana".into(), "Ben".into()])
    );
    assert_eq!(
        offered(&f, &a, "in_school"),
        Some(vec!["Ana".into(), "Ben".into()])
    );
    // No instances: nothing to choose.
    assert_eq!(offered(&f, &Answers::new(), "respondent"), Some(vec![]));
}

#[test]
fn an_answer_that_is_no_instance_s_answer_is_not_a_choice() {
    let f = roster(None);
    let good = answers(json!({
        "child": [{"child_name": "Ana"}, {"child_name": "Ben"}],
        "respondent": "Ben", "in_school": "Ben Ana"
    }));
    let v = f.validate(&good, "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    let bad = answers(json!({
        "child": [{"child_name": "Ana"}],
        "respondent": "Ben", "in_school": "Ana Carl"
    }));
    let v = f.validate(&bad, "en", today());
    let kinds: Vec<_> = v.issues.iter().map(|i| (i.path.as_str(), i.kind)).collect();
    assert_eq!(
        kinds,
        [
            ("respondent", IssueKind::NotAChoice),
            ("in_school", IssueKind::NotAChoice)
        ]
    );
    // The label of a choice from answers is the answer itself.
    let f = compiled(json!([
        {"type": "repeat", "name": "child", "items": [{"type": "text", "name": "child_name"}]},
        {"type": "select_one ${child_name}", "name": "pick"},
        {"type": "calculate", "name": "shown", "calculation": "jr:choice-name(${pick}, '${pick}')"}
    ]));
    let v = f.validate(
        &answers(json!({"child": [{"child_name": "Ana"}], "pick": "Ana"})),
        "en",
        today(),
    );
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(
        v.answers.value("shown"),
        Some(&crate::Value::Text("Ana".into()))
    );
}

#[test]
fn a_choice_filter_reads_the_candidate_instance_and_the_select_s_own_answers() {
    // `${age}` is the candidate instance's, `${min_age}` the select's.
    let f = roster(Some("${age} >= ${min_age}"));
    let a = answers(json!({"min_age": 5, "child": [
        {"child_name": "Ana", "age": 7},
        {"child_name": "Ben", "age": 3},
        {"child_name": "Cy", "age": 12}
    ]}));
    assert_eq!(
        offered(&f, &a, "respondent"),
        Some(vec!["Ana".into(), "Cy".into()])
    );
    let v = f.validate(
        &answers(json!({"min_age": 5, "child": [
        {"child_name": "Ben", "age": 3}], "respondent": "Ben"})),
        "en",
        today(),
    );
    assert_eq!(v.issues[0].kind, IssueKind::NotAChoice, "{:#?}", v.issues);
    // Bare names are the candidate's questions too, as in pyxform's itemset; `.` is
    // the candidate's answer.
    let f = roster(Some("age > 5 and starts-with(., 'C')"));
    assert_eq!(offered(&f, &a, "respondent"), Some(vec!["Cy".into()]));
}

#[test]
fn in_a_nested_repeat_the_choices_come_from_the_same_outer_instance() {
    let f = compiled(json!([
        {"type": "repeat", "name": "household", "items": [
            {"type": "repeat", "name": "person", "items": [
                {"type": "text", "name": "name"},
                {"type": "integer", "name": "age"}
            ]},
            {"type": "repeat", "name": "adult", "items": [
                {"type": "integer", "name": "target"},
                {"type": "select_one ${name}", "name": "adult_name", "choice_filter": "${age} > ${target}"}
            ]}
        ]}
    ]));
    let a = answers(json!({"household": [
        {"person": [{"name": "Ana", "age": 40}, {"name": "Ben", "age": 17}],
         "adult": [{"target": 18}, {"target": 10}]},
        {"person": [{"name": "Cy", "age": 30}], "adult": [{"target": 18}]}
    ]}));
    assert_eq!(
        offered(&f, &a, "household[1]/adult[1]/adult_name"),
        Some(vec!["Ana".into()])
    );
    assert_eq!(
        offered(&f, &a, "household[1]/adult[2]/adult_name"),
        Some(vec!["Ana".into(), "Ben".into()])
    );
    assert_eq!(
        offered(&f, &a, "household[2]/adult[1]/adult_name"),
        Some(vec!["Cy".into()])
    );
}

#[test]
fn inside_its_own_repeat_every_instance_is_offered() {
    let f = compiled(json!([
        {"type": "repeat", "name": "pet", "items": [
            {"type": "text", "name": "animal"},
            {"type": "select_one ${animal}", "name": "friend"}
        ]}
    ]));
    let a = answers(json!({"pet": [{"animal": "cat"}, {"animal": "dog", "friend": "cat"}]}));
    let v = f.validate(&a, "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    assert_eq!(
        v.state("pet[1]/friend").unwrap().choices,
        Some(vec!["cat".into(), "dog".into()])
    );
}
