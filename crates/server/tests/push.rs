//! Router-level tests of pushing changes: what is accepted, what is rejected and
//! why, and how stored records grow: every request goes through the real router and a
//! real SQLite file in a temporary directory.

mod common;

use common::*;
use forms::Answers;
use sync_core::protocol::{PushRequest, PushStatus, PushedChange, PROTOCOL_VERSION};
use sync_core::RecordKind;

on_both_backends!(
    pushing_the_same_batch_twice_stores_it_once,
    a_forged_metadata_change_is_rejected_and_the_rest_lands,
    undecodable_missing_dependency_and_out_of_scope_changes_are_rejected_alone,
    a_choice_not_in_the_list_is_rejected_and_the_record_stays_as_it_was,
    a_draft_missing_required_answers_is_accepted_with_its_issues_recorded,
);

async fn pushing_the_same_batch_twice_stores_it_once(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (mut doc, create) = household(&w, east());
    let id = doc.id();
    let e1 = edit(&mut doc, &w, "address", "14 Elm St");
    let e2 = edit(&mut doc, &w, "phone", "555-0100");
    let batch = [(id, &create), (id, &e1), (id, &e2)];
    let first = s.push_ok(&worker, &batch).await;
    assert_eq!(statuses(&first), vec![PushStatus::Accepted; 3]);
    assert_eq!(first.results[0].hash, create.hash().to_string());
    assert_eq!(s.changes(), 3);
    let second = s.push_ok(&worker, &batch).await;
    assert_eq!(statuses(&second), vec![PushStatus::AlreadyHad; 3]);
    assert_eq!(s.changes(), 3, "a retry adds nothing to the log");
    // The same change twice inside one push: stored once.
    let e3 = edit(&mut doc, &w, "phone", "555-0101");
    let r = s.push_ok(&worker, &[(id, &e3), (id, &e3)]).await;
    assert_eq!(
        statuses(&r),
        vec![PushStatus::Accepted, PushStatus::AlreadyHad]
    );
    assert_eq!(s.changes(), 4);
    let row = s.storage.record(id).unwrap().unwrap();
    assert_eq!(row.fields["phone"], "555-0101");
    assert_eq!(row.heads, vec![e3.hash().to_string()]);
    assert_eq!(row.kind, "household");
    assert_eq!(row.scope, east());
}

async fn a_forged_metadata_change_is_rejected_and_the_rest_lands(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (mut b, b_create) = household(&w, east());
    let b_id = b.id();
    s.push_ok(&worker, &[(b_id, &b_create)]).await;

    let (a, a_create) = household(&w, east());
    let forged = alter_meta(&mut b, &w, "neighborhood", "west");
    let mut fresh = sync_core::RecordDoc::load(
        &{
            let mut d = sync_core::RecordDoc::from_changes(vec![b_create.clone()], None).unwrap();
            d.save()
        },
        [],
        None,
    )
    .unwrap();
    let good = edit(&mut fresh, &w, "phone", "555-0199");
    let r = s
        .push_ok(
            &worker,
            &[(a.id(), &a_create), (b_id, &forged), (b_id, &good)],
        )
        .await;
    assert_eq!(
        statuses(&r),
        vec![
            PushStatus::Accepted,
            PushStatus::Rejected,
            PushStatus::Accepted
        ]
    );
    let reason = r.results[1].reason.as_deref().unwrap();
    assert!(reason.contains("meta.neighborhood"), "{reason}");
    assert_eq!(s.changes(), 3);
    let row = s.storage.record(b_id).unwrap().unwrap();
    assert_eq!(row.scope, east(), "the scope did not move");
    assert_eq!(row.fields["phone"], "555-0199");
    assert!(s.storage.record(a.id()).unwrap().is_some());
    // A change pushed under another record's id is refused too.
    let other = edit(&mut fresh, &w, "phone", "555-0200");
    let r = s
        .push_ok(&worker, &[(a.id(), &good), (a.id(), &other)])
        .await;
    assert_eq!(
        statuses(&r),
        vec![PushStatus::Rejected, PushStatus::Rejected]
    );
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("another record"));
    assert_eq!(s.changes(), 3);
}

async fn undecodable_missing_dependency_and_out_of_scope_changes_are_rejected_alone(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (mut doc, create) = household(&w, east());
    let id = doc.id();
    let _skipped = edit(&mut doc, &w, "phone", "1");
    let orphan = edit(&mut doc, &w, "phone", "2");
    let (west_doc, west_create) = household(&w, west());
    let (ok_doc, ok_create) = household(&w, east());
    let msg = PushRequest {
        v: PROTOCOL_VERSION,
        changes: vec![
            PushedChange {
                record: id,
                change: sync_core::protocol::Bytes(b"definitely not a change".to_vec()),
            },
            PushedChange {
                record: id,
                change: sync_core::protocol::Bytes(create.raw_bytes().to_vec()),
            },
            PushedChange {
                record: id,
                change: sync_core::protocol::Bytes(orphan.raw_bytes().to_vec()),
            },
            PushedChange {
                record: west_doc.id(),
                change: sync_core::protocol::Bytes(west_create.raw_bytes().to_vec()),
            },
            PushedChange {
                record: ok_doc.id(),
                change: sync_core::protocol::Bytes(ok_create.raw_bytes().to_vec()),
            },
        ],
    };
    let r: sync_core::protocol::PushResponse =
        s.post("/v1/sync/push", Some(&worker), &msg).await.message();
    assert_eq!(
        statuses(&r),
        vec![
            PushStatus::Rejected,
            PushStatus::Accepted,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Accepted
        ]
    );
    assert_eq!(r.results[0].hash, "");
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("undecodable"));
    assert!(r.results[2]
        .reason
        .as_deref()
        .unwrap()
        .contains("missing dependency"));
    assert!(r.results[3].reason.as_deref().unwrap().contains("scope"));
    assert_eq!(s.changes(), 2);
    assert!(s.storage.record(west_doc.id()).unwrap().is_none());
    // An edit whose record the server never saw.
    let (mut unknown, _) = household(&w, east());
    let e = edit(&mut unknown, &w, "phone", "3");
    let r = s.push_ok(&worker, &[(unknown.id(), &e)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("missing dependency"));
}

async fn a_choice_not_in_the_list_is_rejected_and_the_record_stays_as_it_was(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (bad, bad_create) = survey(&w, east(), "maybe");
    let r = s.push_ok(&worker, &[(bad.id(), &bad_create)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    let reason = r.results[0].reason.as_deref().unwrap();
    assert!(reason.contains("consent"), "{reason}");
    assert_eq!(s.changes(), 0);
    assert!(s.storage.record(bad.id()).unwrap().is_none());

    // A good response, then a bad edit of it, then a good edit from the same base.
    let (mut good, create) = survey(&w, east(), "yes");
    let id = good.id();
    s.push_ok(&worker, &[(id, &create)]).await;
    let base = good.save();
    let bad_edit = edit(&mut good, &w, "has_child", "perhaps");
    let r = s.push_ok(&worker, &[(id, &bad_edit)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    assert_eq!(s.changes(), 1);
    let row = s.storage.record(id).unwrap().unwrap();
    assert!(row.fields.get("has_child").is_none(), "{:?}", row.fields);
    let mut again = sync_core::RecordDoc::load(&base, [], None).unwrap();
    let ok_edit = edit(&mut again, &w, "has_child", "yes");
    let r = s.push_ok(&worker, &[(id, &ok_edit)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted]);
    let doc = s.storage.record_doc(id).unwrap().unwrap();
    assert_eq!(
        doc.fields().value("has_child"),
        Some(&forms::Value::from("yes"))
    );
    // An unknown question is a hard error too.
    let unknown = edit(&mut again, &w, "shoe_size", "42");
    let r = s.push_ok(&worker, &[(id, &unknown)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
}

async fn a_draft_missing_required_answers_is_accepted_with_its_issues_recorded(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (doc, create) = survey(&w, east(), "yes");
    let r = s.push_ok(&worker, &[(doc.id(), &create)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted]);
    let row = s.storage.record(doc.id()).unwrap().unwrap();
    assert_eq!(row.form, Some(("household_survey".to_string(), 1)));
    let issues = row.issues.as_array().unwrap();
    assert!(
        issues
            .iter()
            .any(|i| i["question"] == "has_child" && i["kind"] == "required"),
        "{issues:?}"
    );
    // A response naming a form the server does not have is refused.
    let mut a = Answers::new();
    a.set("x", "y");
    let (unknown, create) = record(&w, RecordKind::Response, east(), Some("no_such_form"), &a);
    let r = s.push_ok(&worker, &[(unknown.id(), &create)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("no_such_form"));
}

async fn many_edits_fold_into_a_snapshot_and_reload_from_it(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (mut doc, create) = household(&w, east());
    let id = doc.id();
    s.push_ok(&worker, &[(id, &create)]).await;
    for round in 0..5 {
        let edits: Vec<_> = (0..7)
            .map(|i| edit(&mut doc, &w, "phone", &format!("{round}-{i}")))
            .collect();
        let refs: Vec<_> = edits.iter().map(|c| (id, c)).collect();
        let r = s.push_ok(&worker, &refs).await;
        assert!(r.results.iter().all(|r| r.status == PushStatus::Accepted));
    }
    assert_eq!(s.changes(), 36);
    let stored = |column: &str| {
        s.sql(&format!(
            "SELECT {column} FROM records WHERE id = '{id}' AND snapshot IS NOT NULL"
        ))
    };
    assert_eq!(
        (stored("snapshot_seq"), stored("CAST(pending AS BIGINT)")),
        (22, 14),
        "snapshot after 22 changes, 14 since"
    );
    // A fresh process: the document comes from the snapshot plus the later log.
    let s = s.reopen().await;
    let mut loaded = s.storage.record_doc(id).unwrap().unwrap();
    assert_eq!(loaded.fields(), doc.fields());
    assert_eq!(loaded.heads(), doc.heads());
    let worker = s.sign_in("w", "password-123").await.unwrap().token;
    let last = edit(&mut doc, &w, "phone", "final");
    let r = s.push_ok(&worker, &[(id, &last)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted]);
    assert_eq!(
        s.storage.record(id).unwrap().unwrap().fields["phone"],
        "final"
    );
}

async fn mutated_changes_never_crash_the_server(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let w = s.user_id(&worker);
    let (mut doc, create) = survey(&w, east(), "yes");
    let id = doc.id();
    let e = edit(&mut doc, &w, "has_child", "yes");
    let mut items = Vec::new();
    for (k, original) in [create.raw_bytes().to_vec(), e.raw_bytes().to_vec()]
        .iter()
        .enumerate()
    {
        for i in 0..original.len() {
            let mut bytes = original.clone();
            bytes[i] ^= 0x5a + (k as u8);
            items.push(PushedChange {
                record: id,
                change: sync_core::protocol::Bytes(bytes),
            });
            items.push(PushedChange {
                record: id,
                change: sync_core::protocol::Bytes(original[..i].to_vec()),
            });
        }
    }
    let n = items.len();
    let r: sync_core::protocol::PushResponse = s
        .post(
            "/v1/sync/push",
            Some(&worker),
            &PushRequest {
                v: 1,
                changes: items,
            },
        )
        .await
        .message();
    assert_eq!(r.results.len(), n);
    assert!(r.results.iter().all(|r| r.status == PushStatus::Rejected));
    assert_eq!(s.changes(), 0);
    // The originals still land afterwards.
    let r = s.push_ok(&worker, &[(id, &create), (id, &e)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted; 2]);
}

on_both_backends!(
    many_edits_fold_into_a_snapshot_and_reload_from_it,
    mutated_changes_never_crash_the_server,
);
