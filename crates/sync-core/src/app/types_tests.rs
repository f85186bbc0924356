//! The app API on a form using the new question types: metadata filled by the core at
//! start and finalize, range bounds and appearance in the question state, a `file`
//! answer attached through the attachment path.

use serde_json::json;

use super::forms_catalog::Catalog;
use super::*;
use crate::store::StoredForm;

fn store_with_form() -> (tempfile::TempDir, Arc<DeviceStore>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite").to_string_lossy().into_owned();
    let store = DeviceStore::open(path).unwrap();
    store
        .save(&Saved {
            server_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            user_id: "u1".into(),
            username: "amina".into(),
            device_id: "d1".into(),
            role: "outreach_worker".into(),
            scope: Some(Scope::partnership("p1").with_neighborhood("east")),
        })
        .unwrap();
    let definition = json!({
        "id": "field_visit", "version": 1, "title": "Field visit",
        "items": [
            {"type": "start", "name": "started"},
            {"type": "end", "name": "ended"},
            {"type": "today", "name": "day"},
            {"type": "deviceid", "name": "device"},
            {"type": "username", "name": "user"},
            {"type": "simserial", "name": "sim"},
            {"type": "range", "name": "score", "parameters": "start=0 end=10 step=2",
             "appearance": "vertical", "label": "Score"},
            {"type": "time", "name": "arrived", "label": "Arrived at"},
            {"type": "file", "name": "doc", "label": "Document", "required": true}
        ]
    });
    store
        .lock()
        .save_forms(&[StoredForm {
            id: "field_visit".into(),
            version: 1,
            definition: definition.to_string(),
        }])
        .unwrap();
    let catalog = Catalog::load(&store.lock()).unwrap();
    *store.catalog.write().unwrap() = catalog;
    (dir, store)
}

fn state<'a>(v: &'a ResponseView, path: &str) -> &'a QuestionState {
    v.questions.iter().find(|q| q.path == path).unwrap()
}

fn text(v: &ResponseView, path: &str) -> Option<String> {
    match &state(v, path).value {
        Some(AnswerValue::Text { value }) => Some(value.clone()),
        _ => None,
    }
}

#[test]
fn metadata_is_filled_at_start_and_end_at_finalize() {
    let (_dir, store) = store_with_form();
    let r = store
        .start_response("field_visit".into(), None, "en".into())
        .unwrap();
    let started = text(&r, "started").unwrap();
    assert!(started.len() >= 29 && started.contains('T'), "{started}");
    assert_eq!(
        text(&r, "day").unwrap(),
        chrono::Local::now().date_naive().to_string()
    );
    assert_eq!(text(&r, "device").as_deref(), Some("d1"));
    assert_eq!(text(&r, "user").as_deref(), Some("amina"));
    assert_eq!(text(&r, "sim"), None);
    assert_eq!(text(&r, "ended"), None);
    for meta in ["started", "ended", "day", "device", "user", "sim"] {
        let q = state(&r, meta);
        assert!(!q.shown && !q.required, "{meta}: {q:?}");
    }
    let score = state(&r, "score");
    assert!(score.shown);
    assert_eq!(score.question_type, "range");
    assert_eq!(score.appearance.as_deref(), Some("vertical"));
    assert_eq!(
        score.range,
        Some(RangeView {
            start: 0.0,
            end: 10.0,
            step: 2.0,
            decimal: false
        })
    );
    assert_eq!(state(&r, "arrived").question_type, "time");
    let v = store
        .set_answer(
            r.id.clone(),
            "score".into(),
            Some(AnswerValue::Int { value: 5 }),
            "en".into(),
        )
        .unwrap();
    assert!(state(&v, "score").error.is_some());
    store
        .set_answer(
            r.id.clone(),
            "score".into(),
            Some(AnswerValue::Int { value: 6 }),
            "en".into(),
        )
        .unwrap();

    // A file answer goes through the attachment path as an image does.
    let v = store
        .attach_bytes(
            r.id.clone(),
            "doc".into(),
            "report.pdf".into(),
            b"%PDF-1.4 a report".to_vec(),
            "en".into(),
        )
        .unwrap();
    let name = text(&v, "doc").unwrap();
    assert!(name.ends_with(".pdf") && name.len() == 64 + 4, "{name}");
    assert_eq!(state(&v, "doc").question_type, "file");
    assert_eq!(store.pending_attachments().unwrap(), 1);

    let done = store.finalize_response(r.id.clone(), "en".into()).unwrap();
    assert!(done.finalized, "{:?}", done.questions);
    assert_eq!(done.error_count, 0);
    let ended = text(&done, "ended").unwrap();
    assert!(ended >= started, "{ended} < {started}");
    assert_eq!(text(&done, "started").unwrap(), started);
    assert_eq!(text(&done, "doc").unwrap(), name);
}

/// A store signed in, holding one fetched form `definition`.
fn store_holding(definition: serde_json::Value) -> (tempfile::TempDir, Arc<DeviceStore>) {
    let (dir, store) = store_with_form();
    store
        .lock()
        .save_forms(&[StoredForm {
            id: definition["id"].as_str().unwrap().into(),
            version: 1,
            definition: definition.to_string(),
        }])
        .unwrap();
    let catalog = Catalog::load(&store.lock()).unwrap();
    *store.catalog.write().unwrap() = catalog;
    (dir, store)
}

#[test]
fn groups_and_repeats_carry_hint_appearance_parent_and_screen() {
    let (_dir, store) = store_holding(json!({
        "id": "grouped", "version": 1, "title": "Grouped",
        "items": [
            {"type": "text", "name": "intro", "label": "Intro",
             "hint": {"en": "Say hello.", "es": "Salude."}},
            {"type": "group", "name": "visit", "label": "The visit",
             "hint": {"en": "Once consent is given.", "es": "Con el consentimiento."},
             "appearance": "field-list", "items": [
                {"type": "integer", "name": "size", "label": "Size"},
                {"type": "group", "name": "inner", "label": "Inner", "items": [
                    {"type": "text", "name": "note", "label": "Note"}]}]},
            {"type": "repeat", "name": "member", "label": "Member", "hint": "One per person.",
             "appearance": "field-list", "items": [
                {"type": "text", "name": "who", "label": "Who?"},
                {"type": "group", "name": "health", "label": "Health", "items": [
                    {"type": "integer", "name": "age", "label": "Age"}]}]},
            {"type": "group", "name": "plain", "label": "Plain", "appearance": "w2", "items": [
                {"type": "text", "name": "last", "label": "Last"}]}
        ]
    }));
    let r = store
        .start_response("grouped".into(), None, "es".into())
        .unwrap();
    store.add_repeat(r.id.clone(), "member".into()).unwrap();
    store.add_repeat(r.id.clone(), "member".into()).unwrap();
    let v = store.response(r.id.clone(), "es".into()).unwrap();
    let seen: Vec<(&str, &str, Option<&str>, &str)> = v
        .questions
        .iter()
        .map(|q| {
            (
                q.path.as_str(),
                q.kind.as_str(),
                q.parent.as_deref(),
                q.screen.as_str(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("intro", "question", None, "intro"),
            ("visit", "group", None, "visit"),
            ("size", "question", Some("visit"), "visit"),
            ("inner", "group", Some("visit"), "visit"),
            ("note", "question", Some("inner"), "visit"),
            ("member", "repeat", None, "member"),
            ("member[1]", "instance", Some("member"), "member[1]"),
            ("member[1]/who", "question", Some("member[1]"), "member[1]"),
            ("member[1]/health", "group", Some("member[1]"), "member[1]"),
            (
                "member[1]/age",
                "question",
                Some("member[1]/health"),
                "member[1]"
            ),
            ("member[2]", "instance", Some("member"), "member[2]"),
            ("member[2]/who", "question", Some("member[2]"), "member[2]"),
            ("member[2]/health", "group", Some("member[2]"), "member[2]"),
            (
                "member[2]/age",
                "question",
                Some("member[2]/health"),
                "member[2]"
            ),
            ("plain", "group", None, "plain"),
            ("last", "question", Some("plain"), "last"),
        ]
    );
    // Every parent comes before its items.
    for (i, q) in v.questions.iter().enumerate() {
        if let Some(parent) = &q.parent {
            assert!(v.questions[..i].iter().any(|p| &p.path == parent), "{q:?}");
        }
    }
    let visit = state(&v, "visit");
    assert_eq!(visit.appearance.as_deref(), Some("field-list"));
    assert_eq!(visit.hint.as_deref(), Some("Con el consentimiento."));
    assert_eq!(visit.label, "The visit");
    assert_eq!(state(&v, "intro").hint.as_deref(), Some("Salude."));
    assert_eq!(state(&v, "size").hint, None);
    for path in ["member", "member[2]"] {
        let q = state(&v, path);
        assert_eq!(q.appearance.as_deref(), Some("field-list"), "{path}");
        assert_eq!(q.hint.as_deref(), Some("One per person."), "{path}");
    }
    assert_eq!(state(&v, "plain").appearance.as_deref(), Some("w2"));
}

#[test]
fn a_select_from_the_roster_offers_the_names_entered() {
    let (_dir, store) = store_holding(json!({
        "id": "roster", "version": 1, "title": "Roster",
        "items": [
            {"type": "repeat", "name": "child", "label": "Child", "items": [
                {"type": "text", "name": "child_name", "label": "Name"}]},
            {"type": "select_one ${child_name}", "name": "respondent", "label": "Who answers?"}
        ]
    }));
    let r = store
        .start_response("roster".into(), None, "en".into())
        .unwrap();
    let offered = |v: &ResponseView| -> Vec<(String, String)> {
        state(v, "respondent")
            .choices
            .iter()
            .map(|c| (c.name.clone(), c.label.clone()))
            .collect()
    };
    let v = store.response(r.id.clone(), "en".into()).unwrap();
    assert_eq!(offered(&v), []);
    let name = |path: &str, value: Option<&str>| {
        store
            .set_answer(
                r.id.clone(),
                path.into(),
                value.map(|v| AnswerValue::Text { value: v.into() }),
                "en".into(),
            )
            .unwrap()
    };
    store.add_repeat(r.id.clone(), "child".into()).unwrap();
    store.add_repeat(r.id.clone(), "child".into()).unwrap();
    name("child[1]/child_name", Some("Ana"));
    let v = name("child[2]/child_name", Some("Ben"));
    let both = [
        ("Ana".to_string(), "Ana".to_string()),
        ("Ben".into(), "Ben".into()),
    ];
    assert_eq!(offered(&v), both);
    let v = name("respondent", Some("Ben"));
    assert_eq!(state(&v, "respondent").error, None);
    // Ben's name cleared: no longer a choice, and the answer is not one.
    let v = name("child[2]/child_name", None);
    assert_eq!(offered(&v), both[..1]);
    assert!(state(&v, "respondent").error.is_some(), "{v:?}");
}

#[test]
fn answer_values_and_progress_have_the_browsers_json_form() {
    let text = AnswerValue::Text { value: "x".into() };
    assert_eq!(
        serde_json::to_value(&text).unwrap(),
        serde_json::json!({"type": "text", "value": "x"})
    );
    for json in [
        serde_json::json!({"type": "bool", "value": true}),
        serde_json::json!({"type": "int", "value": 3}),
        serde_json::json!({"type": "decimal", "value": 2.5}),
        serde_json::json!({"type": "text", "value": "a b"}),
    ] {
        let value: AnswerValue = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&value).unwrap(), json);
    }
    let progress = crate::sync::SyncProgress {
        phase: crate::sync::SyncPhase::Pull,
        items_done: 1,
        items_total: 2,
        bytes_done: 3,
        bytes_total: 4,
    };
    assert_eq!(
        serde_json::to_value(progress).unwrap(),
        serde_json::json!({"phase": "Pull", "items_done": 1, "items_total": 2,
            "bytes_done": 3, "bytes_total": 4})
    );
}
