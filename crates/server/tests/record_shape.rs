//! Records the server must refuse (issue 18, items 11 to 14 and 19), pushed the way
//! a client written on another Automerge implementation could write them: text
//! objects, nested maps, times in milliseconds, no `resolutions`, a response with no
//! form, a "final" response that fails its form. Each is refused with a reason that
//! names the path; answers to questions that are not relevant are never shown. A
//! database failure is a retryable 503, never a refusal of the interview.

mod common;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, Change, ObjId, ObjType, ReadDoc, ROOT};
use axum::http::StatusCode;
use common::*;
use forms::{Answers, Value};
use sync_core::protocol::PushStatus;
use sync_core::record::CommitInfo;
use sync_core::{RecordDoc, RecordKind};
use uuid::Uuid;

on_both_backends!(
    a_change_written_as_someone_else_is_refused,
    foreign_shapes_are_refused_with_the_path,
    a_final_response_must_pass_its_form_and_irrelevant_answers_stay_hidden,
    a_database_failure_is_retryable_not_a_refusal,
);

fn options(by: &str) -> CommitOptions {
    let info = CommitInfo {
        by: by.into(),
        msg: "foreign client".into(),
    };
    CommitOptions::default()
        .with_message(serde_json::to_string(&info).unwrap())
        .with_time(1_700_000_000)
}

/// A record's creation written by hand, as a foreign client would: a household in
/// east (or a response to the household survey when `form`), then `bend` on the
/// document before the commit.
fn raw_creation(
    by: &str,
    form: bool,
    bend: impl FnOnce(&mut AutoCommit, &ObjId, &ObjId),
) -> (Uuid, Change) {
    let id = Uuid::new_v4();
    let mut doc = AutoCommit::new();
    let meta = doc.put_object(ROOT, "meta", ObjType::Map).unwrap();
    doc.put(&meta, "kind", if form { "response" } else { "household" })
        .unwrap();
    doc.put(&meta, "id", id.to_string()).unwrap();
    doc.put(&meta, "partnership", "p1").unwrap();
    doc.put(&meta, "neighborhood", "east").unwrap();
    if form {
        doc.put(&meta, "form_id", "household_survey").unwrap();
        doc.put(&meta, "form_version", 1).unwrap();
    }
    doc.put(&meta, "created_by", by).unwrap();
    doc.put(&meta, "created_at", 1_700_000_000).unwrap();
    let data = doc.put_object(ROOT, "data", ObjType::Map).unwrap();
    doc.put_object(ROOT, "resolutions", ObjType::List).unwrap();
    bend(&mut doc, &meta, &data);
    doc.commit_with(options(by));
    let change = doc.get_last_local_change().unwrap();
    (id, change)
}

/// An edit of an existing record written by hand: `bend` on its data map.
fn raw_edit(doc: &mut RecordDoc, by: &str, bend: impl FnOnce(&mut AutoCommit, &ObjId)) -> Change {
    let before = doc.heads();
    let am = doc.automerge();
    let (_, data) = am.get(ROOT, "data").unwrap().unwrap();
    bend(am, &data);
    am.commit_with(options(by));
    doc.changes_since(&before).remove(0)
}

async fn foreign_shapes_are_refused_with_the_path(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    let (mut home, created) = household(&ana, east());
    s.push_ok(&worker, &[(home.id(), &created)]).await;

    let text = raw_edit(&mut home, &ana, |doc, data| {
        let t = doc.put_object(data, "address", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, "14 Elm St").unwrap();
    });
    let nested = raw_creation(&ana, false, |doc, _, data| {
        let group = doc.put_object(data, "contact", ObjType::Map).unwrap();
        doc.put(&group, "phone", "555").unwrap();
    });
    let millis = raw_creation(&ana, false, |doc, meta, _| {
        doc.put(meta, "created_at", 1_700_000_000_000_i64).unwrap();
    });
    let unresolved = raw_creation(&ana, false, |doc, _, _| {
        doc.delete(ROOT, "resolutions").unwrap();
    });
    let formless = raw_creation(&ana, true, |doc, meta, data| {
        doc.delete(meta, "form_id").unwrap();
        doc.delete(meta, "form_version").unwrap();
        doc.put(data, "no_such_question", "stored anyway?").unwrap();
    });
    let fine = raw_creation(&ana, false, |doc, _, data| {
        doc.put(data, "address", "1 Oak St").unwrap();
    });
    let batch: Vec<(Uuid, &Change)> = vec![
        (home.id(), &text),
        (nested.0, &nested.1),
        (millis.0, &millis.1),
        (unresolved.0, &unresolved.1),
        (formless.0, &formless.1),
        (fine.0, &fine.1),
    ];
    let ids: Vec<Uuid> = batch.iter().map(|(id, _)| *id).collect();
    let r = s.push_ok(&worker, &batch).await;
    assert_eq!(
        statuses(&r),
        [
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Accepted
        ],
        "{:?}",
        r.results
    );
    let reason = |i: usize| r.results[i].reason.clone().unwrap_or_default();
    for (i, words) in [
        (0, ["`address`", "text object"]),
        (1, ["`contact`", "nested map"]),
        (2, ["meta.created_at", "seconds"]),
        (3, ["resolutions", "no"]),
        (4, ["must name its form", "response"]),
    ] {
        for w in words {
            assert!(reason(i).contains(w), "item {i}: `{w}` in {}", reason(i));
        }
    }
    // Nothing of the refused items landed; the household kept its address.
    for id in &ids[1..5] {
        assert!(s.storage.record(*id).unwrap().is_none(), "{id} landed");
    }
    let row = s.storage.record(home.id()).unwrap().unwrap();
    assert!(
        row.fields.to_string().contains("12 Elm St"),
        "{}",
        row.fields
    );
    assert!(s.storage.record(fine.0).unwrap().is_some());
}

async fn a_final_response_must_pass_its_form_and_irrelevant_answers_stay_hidden(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    let response = |answers: &Answers| {
        record(
            &ana,
            RecordKind::Response,
            east(),
            Some("household_survey"),
            answers,
        )
    };
    // Final with a required answer missing (has_child): refused, as the device's
    // finalize would refuse it.
    let mut missing = Answers::new();
    missing
        .set("consent", "yes")
        .set("_status", Value::from("final"));
    let (incomplete, change) = response(&missing);
    let r = s.push_ok(&worker, &[(incomplete.id(), &change)]).await;
    assert_eq!(statuses(&r), [PushStatus::Rejected]);
    let why = r.results[0].reason.clone().unwrap_or_default();
    assert!(
        why.contains("final response must pass its form") && why.contains("has_child"),
        "{why}"
    );
    assert!(s.storage.record(incomplete.id()).unwrap().is_none());

    // The same as a draft: kept, to be finished.
    let mut draft = Answers::new();
    draft.set("consent", "yes");
    let (mut kept, change) = response(&draft);
    let r = s.push_ok(&worker, &[(kept.id(), &change)]).await;
    assert_eq!(statuses(&r), [PushStatus::Accepted]);
    // Finalizing it without the answer: refused; with it: taken.
    let finalize = kept
        .edit(&commit(&ana, "Finalized"), |e| {
            e.set_field("_status", "final")
        })
        .unwrap()
        .unwrap();
    let r = s.push_ok(&worker, &[(kept.id(), &finalize)]).await;
    assert_eq!(statuses(&r), [PushStatus::Rejected], "{:?}", r.results);

    // A final, valid response carrying answers to questions that are not relevant
    // (no child, so the household group is skipped): taken, and those answers are
    // never shown.
    let mut extra = Answers::new();
    extra
        .set("consent", "yes")
        .set("has_child", "no")
        .set("home_language_other", "SECRET-NOT-RELEVANT")
        .set("home_internet", "not-a-choice-but-not-relevant")
        .set("_status", Value::from("final"));
    let (done, change) = response(&extra);
    let r = s.push_ok(&worker, &[(done.id(), &change)]).await;
    assert_eq!(statuses(&r), [PushStatus::Accepted], "{:?}", r.results);
    let row = s.storage.record(done.id()).unwrap().unwrap();
    assert!(!row.fields.to_string().contains("SECRET"), "{}", row.fields);
    assert!(
        !row.fields.to_string().contains("not-a-choice"),
        "{}",
        row.fields
    );
    assert!(row.fields.to_string().contains("final"), "{}", row.fields);
    let cookie = common::pages::session(&s, "admin", ADMIN_PASSWORD).await;
    let export = common::pages::get(&s, "/exports/household_survey", Some(&cookie)).await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.body.contains(&done.id().to_string()));
    assert!(
        !export.body.contains("SECRET"),
        "the export shows no irrelevant answer"
    );
    let page = common::pages::get(&s, &format!("/records/{}", done.id()), Some(&cookie)).await;
    assert!(
        !page.body.contains("SECRET"),
        "the record page shows no irrelevant answer"
    );
}

async fn a_database_failure_is_retryable_not_a_refusal(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    // A response on a form version this node has not read yet (published elsewhere,
    // or never): the push must read the forms table.
    let mut a = Answers::new();
    a.set("consent", "yes");
    let meta = sync_core::RecordMeta {
        kind: RecordKind::Response,
        id: Uuid::new_v4(),
        scope: east(),
        form: Some(sync_core::FormRef {
            id: "household_survey".into(),
            version: 99,
        }),
        created_by: ana.clone(),
        created_at: 1_700_000_000,
    };
    let mut doc = RecordDoc::create(meta, &a, &commit(&ana, "create"), None).unwrap();
    let change = doc.changes_since(&[]).remove(0);
    let before = s.changes();
    s.sql("ALTER TABLE forms RENAME TO forms_away");
    let r = s.push(&worker, &[(doc.id(), &change)]).await;
    assert_eq!(
        r.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(r.error().error, "unavailable");
    assert_eq!(s.changes(), before, "nothing was written");
    s.sql("ALTER TABLE forms_away RENAME TO forms");
    // With the database back, the answer is the real one: no such version.
    let r = s.push_ok(&worker, &[(doc.id(), &change)]).await;
    assert_eq!(statuses(&r), [PushStatus::Rejected]);
    assert!(
        r.results[0]
            .reason
            .as_deref()
            .unwrap_or("")
            .contains("version 99"),
        "{:?}",
        r.results
    );
}

async fn a_change_written_as_someone_else_is_refused(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    let admin = s.admin_id.clone();
    // A household "created by admin", and an edit "by admin" of ana's own household.
    let (forged, forged_change) = household(&admin, east());
    let (mut own, own_change) = household(&ana, east());
    let as_admin = edit(&mut own, &admin, "address", "Admin was here");
    // A creation whose commit is ana's but whose created_by names the admin.
    let meta = sync_core::RecordMeta {
        kind: RecordKind::Household,
        id: Uuid::new_v4(),
        scope: east(),
        form: None,
        created_by: admin.clone(),
        created_at: 1_700_000_000,
    };
    let mut a = Answers::new();
    a.set("address", "1 Oak St");
    let mut mixed = RecordDoc::create(meta, &a, &commit(&ana, "create"), None).unwrap();
    let mixed_change = mixed.changes_since(&[]).remove(0);
    let r: sync_core::protocol::PushResponse = s
        .push_forged(
            &worker,
            &[
                (forged.id(), &forged_change),
                (own.id(), &own_change),
                (own.id(), &as_admin),
                (mixed.id(), &mixed_change),
            ],
        )
        .await
        .message();
    assert_eq!(
        statuses(&r),
        [
            PushStatus::Rejected,
            PushStatus::Accepted,
            PushStatus::Rejected,
            PushStatus::Rejected
        ],
        "{:?}",
        r.results
    );
    let reason = |i: usize| r.results[i].reason.clone().unwrap_or_default();
    assert!(
        reason(0).contains("authored by another user"),
        "{}",
        reason(0)
    );
    assert!(
        reason(2).contains("authored by another user"),
        "{}",
        reason(2)
    );
    assert!(reason(3).contains("meta.created_by"), "{}", reason(3));
    assert!(s.storage.record(forged.id()).unwrap().is_none());
    assert!(s.storage.record(mixed.id()).unwrap().is_none());
    let row = s.storage.record(own.id()).unwrap().unwrap();
    assert!(!row.fields.to_string().contains("Admin was here"));
    assert_eq!(row.created_by, ana);
}
