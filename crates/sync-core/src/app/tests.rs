//! The app API without a server: session-less calls, bad input, per-question state.
//! Signed-in flows and sync are covered from Kotlin (`tests/tests/kotlin.rs`).

use super::*;

fn store() -> (tempfile::TempDir, Arc<DeviceStore>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite").to_string_lossy().into_owned();
    (dir, DeviceStore::open(path).unwrap())
}

/// Sign in without a server: store the session as `sign_in` would.
fn signed_in(store: &DeviceStore, role: &str) {
    store
        .save(&Saved {
            server_url: "http://127.0.0.1:9".into(),
            token: "t".into(),
            user_id: "u1".into(),
            username: "amina".into(),
            device_id: "d1".into(),
            role: role.into(),
            scope: Some(Scope::partnership("p1").with_neighborhood("east")),
        })
        .unwrap();
}

#[test]
fn calls_that_need_a_user_say_so() {
    let (_dir, store) = store();
    assert!(store.session().unwrap().is_none());
    assert!(matches!(
        store.forms("en".into()),
        Err(AppError::NotSignedIn)
    ));
    assert!(matches!(
        store.start_response("household_survey".into(), None, "en".into()),
        Err(AppError::NotSignedIn)
    ));
}

#[test]
fn bad_ids_paths_and_forms_are_invalid_not_panics() {
    let (_dir, store) = store();
    signed_in(&store, "outreach_worker");
    assert!(matches!(
        store.response("not-a-uuid".into(), "en".into()),
        Err(AppError::Invalid { .. })
    ));
    assert!(matches!(
        store.start_response("no_such_form".into(), None, "en".into()),
        Err(AppError::Invalid { .. })
    ));
    let r = store
        .start_response("household_survey".into(), None, "en".into())
        .unwrap();
    assert!(matches!(
        store.set_answer(r.id.clone(), "child[".into(), None, "en".into()),
        Err(AppError::Invalid { .. })
    ));
    assert!(matches!(
        store.response(uuid::Uuid::new_v4().to_string(), "en".into()),
        Err(AppError::NotFound { .. })
    ));
}

#[test]
fn forms_follow_the_role_and_the_language() {
    let (_dir, store) = store();
    signed_in(&store, "parent");
    let forms = store.forms("es".into()).unwrap();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0].id, "literacy_checkin");
    assert_eq!(forms[0].title, "Registro semanal de lectura");
}

#[test]
fn question_state_carries_relevance_choices_and_spanish_errors() {
    let (_dir, store) = store();
    signed_in(&store, "outreach_worker");
    let r = store
        .start_response("household_survey".into(), None, "es".into())
        .unwrap();
    let state = |v: &ResponseView, p: &str| v.questions.iter().find(|q| q.path == p).cloned();
    assert!(!state(&r, "household").unwrap().relevant);
    let consent = state(&r, "consent").unwrap();
    assert!(consent.required);
    assert_eq!(consent.question_type, "select_one");
    assert!(consent.choices.iter().any(|c| c.name == "yes"));
    let yes = || {
        Some(AnswerValue::Text {
            value: "yes".into(),
        })
    };
    store
        .set_answer(r.id.clone(), "consent".into(), yes(), "es".into())
        .unwrap();
    let v = store
        .set_answer(r.id.clone(), "has_child".into(), yes(), "es".into())
        .unwrap();
    assert!(state(&v, "household").unwrap().relevant);
    assert_eq!(store.add_repeat(r.id.clone(), "child".into()).unwrap(), 1);
    let v = store
        .set_answer(
            r.id.clone(),
            "child[1]/age_years".into(),
            Some(AnswerValue::Int { value: 25 }),
            "es".into(),
        )
        .unwrap();
    let age = state(&v, "child[1]/age_years").unwrap();
    assert_eq!(age.value, Some(AnswerValue::Int { value: 25 }));
    assert_eq!(
        age.error.as_deref(),
        Some("Escriba una edad entre 0 y 18 años.")
    );
    let done = store.finalize_response(r.id.clone(), "es".into()).unwrap();
    assert!(!done.finalized && done.error_count > 0);
    assert!(store.pending_changes().unwrap() > 0);
    assert!(store
        .history(r.id)
        .unwrap()
        .iter()
        .any(|h| h.message == "Answered child[1]/age_years"));
}

#[test]
fn households_list_their_members() {
    let (_dir, store) = store();
    signed_in(&store, "outreach_worker");
    let h = store
        .create_household("Familia Rivera".into(), "12 Elm St".into())
        .unwrap();
    store
        .add_member(
            h.clone(),
            "Ana".into(),
            "child".into(),
            Some("2019-04-02".into()),
        )
        .unwrap();
    store
        .add_member(h.clone(), "Rosa".into(), "parent".into(), None)
        .unwrap();
    let all = store.households().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].id, h);
    let mut names: Vec<_> = all[0].members.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Ana", "Rosa"]);
}

#[test]
fn sync_errors_map_to_their_kinds() {
    use crate::sync::SyncError;
    let offline = AppError::from(SyncError::Offline {
        attempts: 3,
        last: "refused".into(),
    });
    assert!(matches!(offline, AppError::Offline { .. }));
    assert!(offline.to_string().contains("saved on this device"));
    assert!(matches!(
        AppError::from(SyncError::Cancelled),
        AppError::Cancelled { .. }
    ));
    assert!(matches!(
        AppError::from(SyncError::DeviceRevoked),
        AppError::DeviceRevoked { .. }
    ));
}

#[test]
fn enrollment_links_give_the_server_and_the_code() {
    assert_eq!(
        super::parse_enroll_link("c2c://enroll?server=http://10.0.0.5:8080&code=ABCDE-FGHJK")
            .unwrap(),
        (
            "http://10.0.0.5:8080".to_string(),
            "ABCDE-FGHJK".to_string()
        )
    );
    for (link, server) in [
        (
            "https://survey.example.org/app/#enroll=ABCDE-FGHJK",
            "https://survey.example.org",
        ),
        (
            "http://10.0.0.5:8080/app/#enroll=ABCDE-FGHJK",
            "http://10.0.0.5:8080",
        ),
        (
            " https://example.org:8443/north/c2c/app/#enroll=ABCDE-FGHJK\n",
            "https://example.org:8443/north/c2c",
        ),
    ] {
        assert_eq!(
            super::parse_enroll_link(link).unwrap(),
            (server.to_string(), "ABCDE-FGHJK".to_string()),
            "{link}"
        );
    }
    for bad in [
        "https://x/enroll?code=A",
        "https://x/app/#enroll=",
        "https://x/app/",
        "https://x/app/#other=A",
        "https://x/#enroll=A",
        "https:///app/#enroll=A",
        "ftp://x/app/#enroll=A",
        "ABCDE-FGHJK",
        "",
        "c2c://enroll?server=http://x",
        "c2c://enroll?code=",
    ] {
        assert!(
            matches!(super::parse_enroll_link(bad), Err(AppError::Invalid { .. })),
            "{bad}"
        );
    }
}

#[test]
fn refused_changes_are_named_counted_and_kept_out_of_the_outbox() {
    let (_dir, store) = store();
    signed_in(&store, "outreach_worker");
    assert!(store.refused_changes("en".into()).unwrap().is_empty());
    let household = store
        .create_household("Familia Soto".into(), "3 Pine St".into())
        .unwrap();
    let survey = store
        .start_response(
            "household_survey".into(),
            Some(household.clone()),
            "es".into(),
        )
        .unwrap();
    let yes = Some(AnswerValue::Text {
        value: "yes".into(),
    });
    store
        .set_answer(survey.id.clone(), "consent".into(), yes, "es".into())
        .unwrap();
    // The server refuses all of it: the household for one reason, the survey's two
    // changes for another.
    let waiting = store.lock().outbox(100).unwrap();
    assert_eq!(waiting.len(), 3);
    let refusals: Vec<_> = waiting
        .iter()
        .map(|item| {
            let reason = if item.record_id.to_string() == household {
                "outside your scope"
            } else {
                "answer out of range"
            };
            (item.hash, reason.to_string())
        })
        .collect();
    store.lock().quarantine(&refusals).unwrap();
    assert_eq!(store.pending_changes().unwrap(), 0, "never sent again");

    let refused = store.refused_changes("es".into()).unwrap();
    assert_eq!(refused.len(), 2, "{refused:?}");
    let of = |id: &str| refused.iter().find(|r| r.record_id == id).unwrap();
    let h = of(&household);
    assert_eq!(
        (
            h.kind.as_str(),
            h.title.as_str(),
            h.reason.as_str(),
            h.changes
        ),
        ("household", "Familia Soto", "outside your scope", 1)
    );
    let s = of(&survey.id);
    assert_eq!(s.kind, "response");
    assert_eq!(s.title, "Encuesta del hogar", "the form's title in Spanish");
    assert_eq!((s.reason.as_str(), s.changes), ("answer out of range", 2));
    assert!(s.refused_at > 0);
}
