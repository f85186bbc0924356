//! A hostile device: one batch that forges a scope, alters a record's metadata and
//! writes kinds its role may not, mixed with good items. Each bad item is rejected
//! with its reason and nothing of it lands (no log entry, no record row, nothing in
//! anyone's feed); the good items of the same batch land.

mod common;

use common::*;
use forms::Answers;
use sync_core::protocol::PushStatus;
use sync_core::RecordKind;

on_both_backends!(
    forged_scopes_altered_metadata_and_forbidden_kinds_are_refused_and_good_items_land,
);

fn reason(r: &sync_core::protocol::PushResponse, i: usize) -> &str {
    r.results[i].reason.as_deref().unwrap_or("")
}

async fn forged_scopes_altered_metadata_and_forbidden_kinds_are_refused_and_good_items_land(
    s: TestServer,
) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let parent = s
        .user("rosa", "parent", Some(east().with_family("rivera")))
        .await;
    let staff = s.user("bo", "backbone_staff", Some(east())).await;
    // Every change is authored by the user who pushes it: the forgeries here are of
    // scope, metadata and kind, each refused for that alone.
    let (ana, rosa) = (s.user_id(&worker), s.user_id(&parent));
    let (mut home, created) = household(&ana, east());
    s.push_ok(&worker, &[(home.id(), &created)]).await;

    // The worker's batch.
    let (good_survey, good_survey_change) = survey(&ana, east(), "yes");
    let (forged, forged_change) = household(&ana, west());
    let altered = alter_meta(&mut home, &ana, "kind", "case_note");
    let (note, note_change) = record(
        &ana,
        RecordKind::CaseNote,
        east(),
        Some("case_note"),
        &Answers::new(),
    );
    let (good_home, good_home_change) = household(&ana, east());
    let r = s
        .push_ok(
            &worker,
            &[
                (good_survey.id(), &good_survey_change),
                (forged.id(), &forged_change),
                (home.id(), &altered),
                (note.id(), &note_change),
                (good_home.id(), &good_home_change),
            ],
        )
        .await;
    assert_eq!(
        statuses(&r),
        [
            PushStatus::Accepted,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Rejected,
            PushStatus::Accepted
        ]
    );
    assert!(
        reason(&r, 1).contains("outside your scope"),
        "{}",
        reason(&r, 1)
    );
    assert!(reason(&r, 2).contains("meta.kind"), "{}", reason(&r, 2));
    assert!(
        reason(&r, 3).contains("may not write case_note"),
        "{}",
        reason(&r, 3)
    );

    // The parent's batch: a check-in is theirs to write; a case note and a household
    // (even in their own family) are not.
    let (checkin, checkin_change) = record(
        &rosa,
        RecordKind::Checkin,
        east().with_family("rivera"),
        Some("literacy_checkin"),
        &Answers::new(),
    );
    let (parent_note, parent_note_change) = record(
        &rosa,
        RecordKind::CaseNote,
        east().with_family("rivera"),
        Some("case_note"),
        &Answers::new(),
    );
    let (parent_home, parent_home_change) = household(&rosa, east().with_family("rivera"));
    let r = s
        .push_ok(
            &parent,
            &[
                (parent_note.id(), &parent_note_change),
                (checkin.id(), &checkin_change),
                (parent_home.id(), &parent_home_change),
            ],
        )
        .await;
    assert_eq!(
        statuses(&r),
        [
            PushStatus::Rejected,
            PushStatus::Accepted,
            PushStatus::Rejected
        ]
    );
    assert!(reason(&r, 0).contains("(parent) may not write case_note"));
    assert!(reason(&r, 2).contains("may not write household"));

    // None of the refused items landed: not in the log, not as rows, not in a feed.
    let refused = [forged.id(), note.id(), parent_note.id(), parent_home.id()];
    for id in refused {
        assert!(s.storage.record(id).unwrap().is_none(), "{id} landed");
    }
    let row = s.storage.record(home.id()).unwrap().unwrap();
    assert_eq!(row.kind, "household", "the kind did not change");
    assert_eq!(
        s.changes(),
        4,
        "the household, the survey, the second household and the check-in"
    );
    let (pages, _) = pull_all(&s, &staff, 500, 10_000_000).await;
    let seen: Vec<_> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.record))
        .collect();
    for id in refused {
        assert!(!seen.contains(&id));
    }
    for id in [home.id(), good_survey.id(), good_home.id(), checkin.id()] {
        assert!(seen.contains(&id), "{id} missing from the staff feed");
    }
}

on_both_backends!(a_device_naming_another_scopes_photo_gets_no_way_to_it);

/// A hostile east device names a west worker's photo, by its hash, in a record of its
/// own and begins the upload for that record as if it held the bytes (issue 18): it is
/// not told the upload is complete, its chunks can only go to an upload of its own
/// (junk fails the hash check there, and the west upload is untouched), and east staff
/// cannot read the photo through its record. More in `tests/attachments.rs`.
async fn a_device_naming_another_scopes_photo_gets_no_way_to_it(s: TestServer) {
    use axum::http::StatusCode;
    use sha2::Digest;
    use sync_core::protocol::{AttachmentBegin, AttachmentStatus, PROTOCOL_VERSION};

    /// A household in `scope` whose signature names `name`, pushed by `token`'s device.
    async fn pushed(
        s: &TestServer,
        token: &str,
        scope: sync_core::Scope,
        name: &str,
    ) -> uuid::Uuid {
        let by = match s.storage.authenticate(token).unwrap() {
            server::storage::TokenCheck::Valid(caller) => caller.user_id,
            other => panic!("{other:?}"),
        };
        let mut answers = Answers::new();
        answers.set("signature", name);
        let meta = sync_core::RecordMeta {
            kind: RecordKind::Household,
            id: uuid::Uuid::new_v4(),
            scope,
            form: None,
            created_by: by.clone(),
            created_at: 1_700_000_000,
        };
        let create = sync_core::Commit::new(&by, "create").at(1_700_000_000);
        let mut doc = sync_core::RecordDoc::create(meta, &answers, &create, None).unwrap();
        let change = doc.changes_since(&[]).remove(0);
        let r = s.push_ok(token, &[(doc.id(), &change)]).await;
        assert_eq!(statuses(&r), [PushStatus::Accepted]);
        doc.id()
    }

    async fn begin(s: &TestServer, token: &str, hash: &str, record: uuid::Uuid) -> Reply {
        let msg = AttachmentBegin {
            v: PROTOCOL_VERSION,
            sha256: hash.into(),
            size: 4_000,
            record_id: record,
            name: format!("{hash}.jpg"),
        };
        s.post("/v1/attachments", Some(token), &msg).await
    }

    async fn put(s: &TestServer, token: &str, hash: &str, bytes: &[u8]) -> StatusCode {
        use tower::ServiceExt;
        let req = axum::http::Request::put(format!("/v1/attachments/{hash}?offset=0"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/octet-stream")
            .body(axum::body::Body::from(bytes.to_vec()))
            .unwrap();
        s.app.clone().oneshot(req).await.unwrap().status()
    }

    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let west_worker = s.user("wes", "outreach_worker", Some(west())).await;
    s.user("eb", "backbone_staff", Some(east())).await;
    let photo: Vec<u8> = (0..4_000u32).map(|i| (i * 7 % 253) as u8).collect();
    let hash = hex::encode(&sha2::Sha256::digest(&photo)[..]);
    let name = format!("{hash}.jpg");
    let west_record = pushed(&s, &west_worker, west(), &name).await;
    begin(&s, &west_worker, &hash, west_record)
        .await
        .message::<AttachmentStatus>();
    assert_eq!(put(&s, &west_worker, &hash, &photo).await, StatusCode::OK);

    let east_record = pushed(&s, &worker, east(), &name).await;
    let st: AttachmentStatus = begin(&s, &worker, &hash, east_record).await.message();
    assert_eq!((st.received, st.complete), (0, false), "not told complete");
    assert_eq!(
        put(&s, &worker, &hash, &[0u8; 4_000]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "junk fails the hash check of its own upload"
    );
    let staff = common::pages::session(&s, "eb", "password-123").await;
    let served = common::pages::get(
        &s,
        &format!("/records/{east_record}/attachments/{name}"),
        Some(&staff),
    )
    .await;
    assert_eq!(served.status, StatusCode::NOT_FOUND);
    assert_eq!(s.storage.attachment_bytes(&hash).unwrap().unwrap(), photo);
}
