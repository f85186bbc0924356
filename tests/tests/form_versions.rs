//! Form versions end to end, through the app API the phones call: a phone holding
//! version 1 of the case note has a note half done; staff publish version 2 (a new
//! required question); the phone gets it on its next sync, its unfinished version-1
//! note still finalizes and validates on version 1 and syncs, and a new note starts on
//! version 2, where the new question is required.

use std::sync::Arc;

use scenarios::on_both_databases;
use scenarios::server::{create_user, token, Database, ADMIN_PASSWORD};

on_both_databases!(a_phone_on_version_1_gets_version_2_and_still_finishes_its_version_1_note);
use serde_json::json;
use sync_core::app::{
    AnswerValue, AppError, CancelToken, DeviceStore, ProgressObserver, ResponseView,
};
use sync_core::sync::SyncProgress;

struct Quiet;

impl ProgressObserver for Quiet {
    fn on_progress(&self, _: SyncProgress) -> Result<(), AppError> {
        Ok(())
    }
}

fn text(s: &str) -> Option<AnswerValue> {
    Some(AnswerValue::Text { value: s.into() })
}

/// Answer the case note's required questions (version 1 has three).
fn fill(phone: &DeviceStore, id: &str) -> ResponseView {
    phone
        .set_answer(
            id.into(),
            "participant".into(),
            text("Rosa M."),
            "en".into(),
        )
        .unwrap();
    phone
        .set_answer(
            id.into(),
            "contact_date".into(),
            text("2026-11-20"),
            "en".into(),
        )
        .unwrap();
    let view = phone.response(id.into(), "en".into()).unwrap();
    let kind = view
        .questions
        .iter()
        .find(|q| q.name == "contact_type")
        .and_then(|q| q.choices.first())
        .map(|c| c.name.clone())
        .unwrap();
    phone
        .set_answer(id.into(), "contact_type".into(), text(&kind), "en".into())
        .unwrap()
}

/// Version 2 of the case note: version 1 with a required question added.
fn case_note_v2() -> String {
    let mut form = forms::instruments::seed_forms()
        .into_iter()
        .find(|f| f.id == "case_note")
        .unwrap();
    assert_eq!(form.version, 1);
    form.version = 2;
    let mut consent = forms::Question::new("consent_on_file", forms::QuestionType::Text);
    consent.required = true;
    consent.label = forms::Labels::from_pairs([("en", "Consent form on file?")]);
    form.items.push(forms::Item::Question(consent));
    form.to_json()
}

async fn a_phone_on_version_1_gets_version_2_and_still_finishes_its_version_1_note(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let url = server.url();
    create_user(
        &url,
        "pat",
        "partner_staff",
        json!({"partnership": "p1", "organization": "tutors"}),
    )
    .await;
    let phone = DeviceStore::open(dir.path().join("phone.db").display().to_string()).unwrap();
    phone
        .sign_in(
            url.clone(),
            "pat".into(),
            "pat-password".into(),
            "Pat's phone".into(),
        )
        .await
        .unwrap();
    let version_of = |phone: &DeviceStore| {
        phone
            .forms("en".into())
            .unwrap()
            .into_iter()
            .find(|f| f.id == "case_note")
            .map(|f| f.version)
    };
    assert_eq!(version_of(&phone), Some(1));

    // A note started and half done on version 1, offline.
    let old = phone
        .start_response("case_note".into(), None, "en".into())
        .unwrap();
    assert_eq!(old.form_version, 1);
    let half = fill(&phone, &old.id);
    assert_eq!(half.error_count, 0, "{:?}", half.questions);

    // Staff publish version 2.
    let admin = token(&url, "admin", ADMIN_PASSWORD, "console").await;
    let published = reqwest::Client::new()
        .post(format!("{url}/v1/admin/forms"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(case_note_v2())
        .send()
        .await
        .unwrap();
    assert_eq!(
        published.status(),
        200,
        "{}",
        published.text().await.unwrap()
    );

    // The next sync brings version 2.
    let summary = phone
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(summary.forms, 1);
    assert_eq!(version_of(&phone), Some(2));

    // The version-1 note keeps its version, shows no version-2 question, finalizes.
    let view = phone.response(old.id.clone(), "en".into()).unwrap();
    assert_eq!(view.form_version, 1);
    assert!(view.questions.iter().all(|q| q.name != "consent_on_file"));
    let done = phone
        .finalize_response(old.id.clone(), "en".into())
        .unwrap();
    assert!(done.finalized, "{:?}", done.questions);
    assert_eq!(done.error_count, 0);

    // A new note starts on version 2, whose new question is required.
    let new = phone
        .start_response("case_note".into(), None, "en".into())
        .unwrap();
    assert_eq!(new.form_version, 2);
    fill(&phone, &new.id);
    let refused = phone
        .finalize_response(new.id.clone(), "en".into())
        .unwrap();
    assert!(!refused.finalized);
    let missing = refused
        .questions
        .iter()
        .find(|q| q.name == "consent_on_file")
        .unwrap();
    assert!(missing.required && missing.error.is_some(), "{missing:?}");

    // Both sync; the server validated the old note on version 1: no issues.
    let summary = phone
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(summary.rejected, 0);
    assert_eq!(summary.forms, 0, "nothing new to fetch");
    let one = |column: &str, id: &str| -> String {
        server
            .column::<String>(&format!(
                "SELECT CAST({column} AS TEXT) FROM records WHERE id = '{id}'"
            ))
            .remove(0)
    };
    let (version, issues, fields) = (
        one("form_version", &old.id),
        one("issues", &old.id),
        one("fields", &old.id),
    );
    assert_eq!(version, "1");
    assert_eq!(issues, "[]", "server-side validation of the version-1 note");
    assert!(fields.contains("\"final\""), "{fields}");
    let version = one("form_version", &new.id);
    assert_eq!(version, "2");

    // A phone that never synced gets both versions' knowledge at its first sync.
    let fresh = DeviceStore::open(dir.path().join("fresh.db").display().to_string()).unwrap();
    fresh
        .sign_in(
            url.clone(),
            "pat".into(),
            "pat-password".into(),
            "spare".into(),
        )
        .await
        .unwrap();
    let summary = fresh
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(summary.forms, 1);
    let pulled = fresh.response(old.id.clone(), "en".into()).unwrap();
    assert_eq!((pulled.form_version, pulled.error_count), (1, 0));
}
