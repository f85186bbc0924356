//! Validation of the question types real-world XLSForms use (time, datetime, range,
//! rank, geotrace, geoshape, attachments, acknowledge, hidden, metadata) and of
//! `required` / `read_only` written as expressions; their JSON round trip.

use chrono::NaiveDate;
use serde_json::json;

use crate::{Answers, CompiledForm, Form, FormErrorKind, IssueKind, Value};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 10).unwrap()
}

fn form(items: serde_json::Value) -> Form {
    serde_json::from_value(json!({
        "id": "t", "version": 1, "items": items,
        "choices": {"prio": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}
    }))
    .unwrap()
}

fn every_type() -> Form {
    form(json!([
        {"type": "time", "name": "tm"},
        {"type": "datetime", "name": "dt"},
        {"type": "range", "name": "r", "parameters": "start=0 end=10 step=2", "appearance": "vertical"},
        {"type": "range", "name": "rd", "parameters": "start=0 end=1 step=0.25"},
        {"type": "rank prio", "name": "rk"},
        {"type": "geotrace", "name": "gt"},
        {"type": "geoshape", "name": "gs"},
        {"type": "barcode", "name": "bc"},
        {"type": "acknowledge", "name": "ack"},
        {"type": "trigger", "name": "trg"},
        {"type": "hidden", "name": "h", "default": "x"},
        {"type": "audio", "name": "au"},
        {"type": "video", "name": "vi"},
        {"type": "file", "name": "fi"},
        {"type": "start", "name": "started", "required": true},
        {"type": "end", "name": "ended"},
        {"type": "today", "name": "day"},
        {"type": "deviceid", "name": "dev"},
        {"type": "simserial", "name": "sim"},
        {"type": "audit", "name": "audit"}
    ]))
}

fn compiled() -> CompiledForm {
    every_type().compile().unwrap()
}

fn answers(json: serde_json::Value) -> Answers {
    serde_json::from_value(json).unwrap()
}

fn issue_at(v: &crate::Validation, path: &str) -> Option<IssueKind> {
    v.issues_at(path).next().map(|i| i.kind)
}

#[test]
fn good_answers_of_every_new_type_are_kept_normalized() {
    let good = answers(json!({
        "tm": "14:30:00.000-05:00", "dt": "2025-03-10T14:30:00.000-05:00",
        "r": "4", "rd": 0.75, "rk": "c a b",
        "gt": "39.1 -84.5 0 5;39.2  -84.6 0 5;",
        "gs": "1 1 0 0;1 2 0 0;2 2 0 0;1 1 0 0",
        "bc": 123456, "ack": "ok", "trg": true, "h": "from-integration",
        "au": "ab.m4a", "vi": "cd.mp4", "fi": " ef.pdf ",
        "started": "2025-03-10T09:00:00.000-05:00", "day": "2025-03-10", "dev": "d1"
    }));
    let v = compiled().validate(&good, "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    let a = &v.answers;
    let get = |n: &str| a.value(n).cloned();
    assert_eq!(get("r"), Some(Value::Int(4)));
    assert_eq!(get("rd"), Some(Value::Decimal(0.75)));
    assert_eq!(
        get("gt"),
        Some(Value::Text("39.1 -84.5 0 5;39.2 -84.6 0 5".into()))
    );
    assert_eq!(get("bc"), Some(Value::Text("123456".into())));
    assert_eq!(get("ack"), Some(Value::Text("OK".into())));
    assert_eq!(get("trg"), Some(Value::Text("OK".into())));
    assert_eq!(get("fi"), Some(Value::Text("ef.pdf".into())));
    assert_eq!(get("h"), Some(Value::Text("from-integration".into())));
}

#[test]
fn bad_answers_are_type_issues() {
    let bad = answers(json!({
        "tm": "2:30 pm", "dt": "2025-03-10 14:30", "r": 5, "rd": 2, "rk": "a b",
        "gt": "39.1 -84.5", "gs": "1 1;1 2;2 2;3 3", "ack": "no", "fi": 3,
        "started": "yesterday", "day": "10/03/2025"
    }));
    let v = compiled().validate(&bad, "en", today());
    for path in [
        "tm", "dt", "r", "rd", "rk", "gt", "gs", "ack", "fi", "started", "day",
    ] {
        assert_eq!(
            issue_at(&v, path),
            Some(IssueKind::Type),
            "{path}: {:#?}",
            v.issues
        );
    }
    let message = &v.issues_at("r").next().unwrap().message;
    assert_eq!(message, "Choose a number from 0 to 10, in steps of 2.");
    let twice = answers(json!({"rk": "a b a"}));
    let v = compiled().validate(&twice, "en", today());
    assert_eq!(issue_at(&v, "rk"), Some(IssueKind::Type));
    let unknown = answers(json!({"rk": "a b z"}));
    let v = compiled().validate(&unknown, "en", today());
    assert_eq!(issue_at(&v, "rk"), Some(IssueKind::NotAChoice));
}

#[test]
fn metadata_is_never_required_nor_asked() {
    let v = compiled().validate(&Answers::default(), "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    let started = v.state("started").unwrap();
    assert!(!started.required);
}

#[test]
fn required_and_read_only_as_expressions() {
    let f = form(json!([
        {"type": "integer", "name": "age"},
        {"type": "text", "name": "school", "required": "${age} >= 5"},
        {"type": "text", "name": "id", "read_only": "${age} > 17", "required": "yes"}
    ]))
    .compile()
    .unwrap();
    let v = f.validate(&answers(json!({"age": 7, "id": "x"})), "en", today());
    assert_eq!(issue_at(&v, "school"), Some(IssueKind::Required));
    assert!(!v.state("id").unwrap().read_only);
    let v = f.validate(&answers(json!({"age": 3, "id": "x"})), "en", today());
    assert!(v.is_valid(), "{:#?}", v.issues);
    let v = f.validate(&answers(json!({"age": 30})), "en", today());
    assert!(v.state("id").unwrap().read_only);
    assert_eq!(issue_at(&v, "id"), Some(IssueKind::Required));
    let broken = form(json!([{"type": "text", "name": "q", "required": "${nope} = 1"}]));
    let errors = broken.compile().unwrap_err();
    assert_eq!(errors[0].column, "required");
}

#[test]
fn range_parameters_are_checked_at_compile() {
    let f = form(json!([{"type": "range", "name": "r", "parameters": "start=0 end=1 step=5"}]));
    let errors = f.compile().unwrap_err();
    assert_eq!(errors[0].kind, FormErrorKind::Parameters);
    assert_eq!(errors[0].column, "parameters");
    let defaults = form(json!([{"type": "range", "name": "r"}]))
        .compile()
        .unwrap();
    let r = defaults.range("r").unwrap();
    assert_eq!((r.start, r.end, r.step), (1.0, 10.0, 1.0));
}

#[test]
fn json_round_trips_and_old_definitions_still_read() {
    let f = every_type();
    let again = Form::from_json(&f.to_json()).unwrap();
    assert_eq!(again, f);
    let text = f.to_json();
    assert!(
        text.contains("\"parameters\": \"start=0 end=10 step=2\""),
        "{text}"
    );
    assert!(text.contains("\"appearance\": \"vertical\""), "{text}");
    assert!(text.contains("\"type\": \"acknowledge\""), "{text}");
    let expr =
        form(json!([{"type": "text", "name": "q", "required": "${q} != ''", "read_only": "no"}]));
    let Some(crate::Item::Question(q)) = expr.items.first() else {
        panic!("not a question")
    };
    assert_eq!(
        (q.required, q.required_if.as_deref(), q.read_only),
        (false, Some("${q} != ''"), false)
    );
    assert_eq!(Form::from_json(&expr.to_json()).unwrap(), expr);
    let old = r#"{"id": "f", "version": 1, "items": [
        {"type": "text", "name": "q", "required": true, "read_only": false}]}"#;
    let old = Form::from_json(old).unwrap();
    let Some(crate::Item::Question(q)) = old.items.first() else {
        panic!("not a question")
    };
    assert!(q.required && q.required_if.is_none());
}
