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
