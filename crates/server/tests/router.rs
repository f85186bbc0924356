//! Router-level tests: every request goes through the real router and a real SQLite
//! file in a temporary directory.

mod common;

use std::io::Write;

use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use axum::http::StatusCode;
use common::*;
use forms::Answers;
use sync_core::protocol::{
    encode_body, PullResponse, PushRequest, PushStatus, PushedChange, RecordHeads, RepairRequest,
    RepairResponse, MAX_BODY_BYTES, PROTOCOL_VERSION,
};
use sync_core::RecordKind;
use uuid::Uuid;

fn statuses(r: &sync_core::protocol::PushResponse) -> Vec<PushStatus> {
    r.results.iter().map(|r| r.status).collect()
}

#[tokio::test]
async fn first_start_creates_the_admin_once_and_the_seed_forms() {
    let dir = tempfile::tempdir().unwrap();
    let storage = server::Storage::open(dir.path()).unwrap();
    let password = storage
        .ensure_admin(None)
        .unwrap()
        .expect("a fresh database gets an admin");
    assert_eq!(password.len(), 24);
    assert_eq!(storage.ensure_admin(None).unwrap(), None, "only once");
    let forms = storage.form_ids().unwrap();
    assert_eq!(
        forms,
        vec![
            ("case_note".to_string(), 1),
            ("household_survey".to_string(), 1),
            ("literacy_checkin".to_string(), 1)
        ]
    );
    assert!(storage.form("household_survey", 1).is_some());
    let epoch = storage.epoch().to_string();
    drop(storage);
    // Reopened: same admin, same forms, same epoch.
    let storage = server::Storage::open(dir.path()).unwrap();
    assert_eq!(storage.ensure_admin(Some("other-password")).unwrap(), None);
    assert_eq!(storage.form_ids().unwrap().len(), 3);
    assert_eq!(storage.epoch(), epoch);
    let app = server::router(storage.clone());
    let s = TestServerRef { app };
    assert_eq!(s.sign_in_status("admin", &password).await, StatusCode::OK);
    assert_eq!(
        s.sign_in_status("admin", "other-password").await,
        StatusCode::UNAUTHORIZED
    );
}

struct TestServerRef {
    app: axum::Router,
}

impl TestServerRef {
    async fn sign_in_status(&self, user: &str, password: &str) -> StatusCode {
        use tower::ServiceExt;
        let body = encode_body(&server::api::TokenRequest {
            v: 1,
            username: user.into(),
            password: password.into(),
            device_name: "x".into(),
        });
        let req = axum::http::Request::post("/v1/auth/token")
            .header("content-encoding", "gzip")
            .body(axum::body::Body::from(body))
            .unwrap();
        self.app.clone().oneshot(req).await.unwrap().status()
    }
}

#[tokio::test]
async fn tokens_authenticate_and_revoked_devices_are_refused() {
    let s = TestServer::new().await;
    let pull = sync_core::protocol::PullRequest {
        v: 1,
        cursor: None,
        limit: 10,
        max_bytes: 1000,
    };
    let r = s.post("/v1/sync/pull", None, &pull).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().error, "unauthorized");
    let r = s.post("/v1/sync/pull", Some(&"ab".repeat(32)), &pull).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().error, "unauthorized");
    // Wrong password and unknown user: the same answer.
    assert_eq!(
        s.sign_in("admin", "nope-nope").await.unwrap_err().error,
        "unauthorized"
    );
    assert_eq!(
        s.sign_in("nobody", "nope-nope").await.unwrap_err().error,
        "unauthorized"
    );

    let worker = s.user("maria", "outreach_worker", Some(east())).await;
    assert_eq!(s.pull(&worker, None, 10, 1000).await.status, StatusCode::OK);
    // A worker is not an admin.
    let r = s
        .post(
            "/v1/admin/users",
            Some(&worker),
            &server::api::CreateUserRequest {
                v: 1,
                username: "x".into(),
                password: "password-123".into(),
                role: "admin".into(),
                scope: None,
            },
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error().error, "forbidden");
    // A second device of the same user, then revoke the first.
    let second = s.sign_in("maria", "password-123").await.unwrap();
    let first = s.storage.authenticate(&worker).unwrap();
    let server::storage::TokenCheck::Valid(caller) = first else {
        panic!("{first:?}")
    };
    let r = s
        .post(
            "/v1/admin/devices/revoke",
            Some(&s.admin),
            &server::api::RevokeDeviceRequest {
                v: 1,
                device_id: caller.device_id.clone(),
            },
        )
        .await;
    let revoked: server::api::RevokeDeviceResponse = r.message();
    assert!(revoked.revoked);
    let r = s.pull(&worker, None, 10, 1000).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.error().error, "device_revoked");
    assert_eq!(
        s.pull(&second.token, None, 10, 1000).await.status,
        StatusCode::OK
    );
    // Reports-only users never sync records.
    let funder = s.user("funder", "reports_only", Some(server_scope())).await;
    let r = s.pull(&funder, None, 10, 1000).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // A duplicate user name is refused.
    let r = s
        .post(
            "/v1/admin/users",
            Some(&s.admin),
            &server::api::CreateUserRequest {
                v: 1,
                username: "maria".into(),
                password: "password-123".into(),
                role: "parent".into(),
                scope: Some(east()),
            },
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error().error, "already_exists");
}

fn server_scope() -> sync_core::Scope {
    sync_core::Scope::partnership("p1")
}

#[tokio::test]
async fn pushing_the_same_batch_twice_stores_it_once() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (mut doc, create) = household(east());
    let id = doc.id();
    let e1 = edit(&mut doc, "address", "14 Elm St");
    let e2 = edit(&mut doc, "phone", "555-0100");
    let batch = [(id, &create), (id, &e1), (id, &e2)];
    let first = s.push_ok(&worker, &batch).await;
    assert_eq!(statuses(&first), vec![PushStatus::Accepted; 3]);
    assert_eq!(first.results[0].hash, create.hash().to_string());
    assert_eq!(s.changes(), 3);
    let second = s.push_ok(&worker, &batch).await;
    assert_eq!(statuses(&second), vec![PushStatus::AlreadyHad; 3]);
    assert_eq!(s.changes(), 3, "a retry adds nothing to the log");
    // The same change twice inside one push: stored once.
    let e3 = edit(&mut doc, "phone", "555-0101");
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

#[tokio::test]
async fn a_forged_metadata_change_is_rejected_and_the_rest_lands() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (mut b, b_create) = household(east());
    let b_id = b.id();
    s.push_ok(&worker, &[(b_id, &b_create)]).await;

    let (a, a_create) = household(east());
    let before = b.heads();
    {
        let am = b.automerge();
        let (_, meta) = am.get(ROOT, "meta").unwrap().unwrap();
        am.put(&meta, "neighborhood", "west").unwrap();
        am.commit();
    }
    let forged = b.changes_since(&before).remove(0);
    let mut fresh = sync_core::RecordDoc::load(
        &{
            let mut d = sync_core::RecordDoc::from_changes(vec![b_create.clone()], None).unwrap();
            d.save()
        },
        [],
        None,
    )
    .unwrap();
    let good = edit(&mut fresh, "phone", "555-0199");
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
    let other = edit(&mut fresh, "phone", "555-0200");
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

#[tokio::test]
async fn undecodable_missing_dependency_and_out_of_scope_changes_are_rejected_alone() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (mut doc, create) = household(east());
    let id = doc.id();
    let _skipped = edit(&mut doc, "phone", "1");
    let orphan = edit(&mut doc, "phone", "2");
    let (west_doc, west_create) = household(west());
    let (ok_doc, ok_create) = household(east());
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
    let (mut unknown, _) = household(east());
    let e = edit(&mut unknown, "phone", "3");
    let r = s.push_ok(&worker, &[(unknown.id(), &e)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("missing dependency"));
}

#[tokio::test]
async fn a_choice_not_in_the_list_is_rejected_and_the_record_stays_as_it_was() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (bad, bad_create) = survey(east(), "maybe");
    let r = s.push_ok(&worker, &[(bad.id(), &bad_create)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    let reason = r.results[0].reason.as_deref().unwrap();
    assert!(reason.contains("consent"), "{reason}");
    assert_eq!(s.changes(), 0);
    assert!(s.storage.record(bad.id()).unwrap().is_none());

    // A good response, then a bad edit of it, then a good edit from the same base.
    let (mut good, create) = survey(east(), "yes");
    let id = good.id();
    s.push_ok(&worker, &[(id, &create)]).await;
    let base = good.save();
    let bad_edit = edit(&mut good, "has_child", "perhaps");
    let r = s.push_ok(&worker, &[(id, &bad_edit)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    assert_eq!(s.changes(), 1);
    let row = s.storage.record(id).unwrap().unwrap();
    assert!(row.fields.get("has_child").is_none(), "{:?}", row.fields);
    let mut again = sync_core::RecordDoc::load(&base, [], None).unwrap();
    let ok_edit = edit(&mut again, "has_child", "yes");
    let r = s.push_ok(&worker, &[(id, &ok_edit)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted]);
    let doc = s.storage.record_doc(id).unwrap().unwrap();
    assert_eq!(
        doc.fields().value("has_child"),
        Some(&forms::Value::from("yes"))
    );
    // An unknown question is a hard error too.
    let unknown = edit(&mut again, "shoe_size", "42");
    let r = s.push_ok(&worker, &[(id, &unknown)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
}

#[tokio::test]
async fn a_draft_missing_required_answers_is_accepted_with_its_issues_recorded() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (doc, create) = survey(east(), "yes");
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
    let (unknown, create) = record(RecordKind::Response, east(), Some("no_such_form"), &a);
    let r = s.push_ok(&worker, &[(unknown.id(), &create)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Rejected]);
    assert!(r.results[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("no_such_form"));
}

async fn pull_all(
    s: &TestServer,
    token: &str,
    limit: u32,
    max_bytes: u64,
) -> (Vec<PullResponse>, String) {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = s.pull_ok(token, cursor.as_deref(), limit, max_bytes).await;
        cursor = Some(page.cursor.clone());
        let more = page.more;
        pages.push(page);
        if !more {
            break;
        }
        assert!(pages.len() < 1000, "paging does not end");
    }
    (pages, cursor.unwrap())
}

#[tokio::test]
async fn pull_pages_by_count_and_by_bytes() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let mut ids = Vec::new();
    let mut batch = Vec::new();
    for _ in 0..10 {
        let (doc, c) = household(east());
        ids.push(doc.id());
        batch.push((doc.id(), c));
    }
    let refs: Vec<(Uuid, &automerge::Change)> = batch.iter().map(|(id, c)| (*id, c)).collect();
    s.push_ok(&worker, &refs).await;

    let first = s.pull_ok(&worker, None, 3, 1 << 20).await;
    assert_eq!(first.changes.len(), 3);
    assert!(first.more);
    assert!(first.remaining >= 7, "{}", first.remaining);
    assert!(first.tombstones.is_empty());
    let (pages, last) = pull_all(&s, &worker, 3, 1 << 20).await;
    assert_eq!(
        pages.iter().map(|p| p.changes.len()).collect::<Vec<_>>(),
        vec![3, 3, 3, 1]
    );
    let got: Vec<Uuid> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.record))
        .collect();
    assert_eq!(got, ids, "feed order is push order");
    assert_eq!(pages.last().unwrap().remaining, 0);
    // Each change as pushed.
    assert_eq!(pages[0].changes[0].change.0, batch[0].1.raw_bytes());
    // Nothing new: an empty page, same cursor.
    let empty = s.pull_ok(&worker, Some(&last), 3, 1 << 20).await;
    assert!(empty.changes.is_empty() && !empty.more);
    assert_eq!(empty.cursor, last);
    // By bytes: one byte allowed still gives one change per page.
    let (pages, _) = pull_all(&s, &worker, 100, 1).await;
    assert_eq!(pages.len(), 10);
    assert!(pages.iter().all(|p| p.changes.len() == 1));
    // Bytes for about two changes.
    let size = batch[0].1.raw_bytes().len() as u64;
    let page = s.pull_ok(&worker, None, 100, size * 2 + size / 2).await;
    assert_eq!(page.changes.len(), 2);
    // A limit above the cap is capped, zero is one.
    let page = s.pull_ok(&worker, None, 0, 1 << 20).await;
    assert_eq!(page.changes.len(), 1);
}

#[tokio::test]
async fn pull_shows_only_records_in_the_callers_scope() {
    let s = TestServer::new().await;
    let east_worker = s.user("e", "outreach_worker", Some(east())).await;
    let west_worker = s.user("w", "outreach_worker", Some(west())).await;
    let other_partnership = s
        .user(
            "o",
            "backbone_staff",
            Some(sync_core::Scope::partnership("p2")),
        )
        .await;
    let backbone = s
        .user(
            "b",
            "backbone_staff",
            Some(sync_core::Scope::partnership("p1")),
        )
        .await;
    let mut east_ids = Vec::new();
    let mut west_ids = Vec::new();
    for i in 0..6 {
        if i % 2 == 0 {
            let (d, c) = household(east());
            s.push_ok(&east_worker, &[(d.id(), &c)]).await;
            east_ids.push(d.id());
        } else {
            let (d, c) = household(west());
            s.push_ok(&west_worker, &[(d.id(), &c)]).await;
            west_ids.push(d.id());
        }
    }
    let records = |pages: &[PullResponse]| -> Vec<Uuid> {
        pages
            .iter()
            .flat_map(|p| p.changes.iter().map(|c| c.record))
            .collect()
    };
    let (pages, _) = pull_all(&s, &east_worker, 2, 1 << 20).await;
    assert_eq!(records(&pages), east_ids);
    let (pages, _) = pull_all(&s, &west_worker, 1000, 1 << 20).await;
    assert_eq!(records(&pages), west_ids);
    let (pages, cursor) = pull_all(&s, &other_partnership, 1000, 1 << 20).await;
    assert!(records(&pages).is_empty());
    assert!(
        cursor.ends_with(":6"),
        "an empty page still advances: {cursor}"
    );
    let (pages, _) = pull_all(&s, &backbone, 1000, 1 << 20).await;
    assert_eq!(records(&pages).len(), 6);
    let (pages, _) = pull_all(&s, &s.admin, 1000, 1 << 20).await;
    assert_eq!(records(&pages).len(), 6);

    // Repair: heads of visible records, [] for others and for unknown ones.
    let mut unknown = Uuid::new_v4();
    unknown = Uuid::from_u128(unknown.as_u128() | 1);
    let ask = RepairRequest {
        v: 1,
        records: vec![
            RecordHeads {
                record: east_ids[0],
                heads: vec![],
            },
            RecordHeads {
                record: west_ids[0],
                heads: vec![],
            },
            RecordHeads {
                record: unknown,
                heads: vec![],
            },
        ],
    };
    let r: RepairResponse = s
        .post("/v1/sync/repair", Some(&east_worker), &ask)
        .await
        .message();
    assert_eq!(r.records.len(), 3);
    assert_eq!(r.records[0].heads.len(), 1);
    assert!(
        r.records[1].heads.is_empty(),
        "not visible to the east worker"
    );
    assert!(r.records[2].heads.is_empty());
    assert_eq!(r.records[2].record, unknown);
}

#[tokio::test]
async fn unknown_cursors_are_409_and_a_restored_database_gets_a_new_epoch() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (d, c) = household(east());
    s.push_ok(&worker, &[(d.id(), &c)]).await;
    let page = s.pull_ok(&worker, None, 10, 1 << 20).await;
    assert!(page.cursor.ends_with(":1"));
    let epoch = s.storage.epoch().to_string();
    for bad in [
        "other-epoch:1".to_string(),
        format!("{epoch}:2"),
        format!("{epoch}:-1"),
        format!("{epoch}:x"),
        "garbage".to_string(),
    ] {
        let r = s.pull(&worker, Some(&bad), 10, 1 << 20).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{bad}");
        assert_eq!(r.error().error, "unknown_cursor");
    }
    // Restore from backup: a new epoch; the old cursor is unknown.
    let TestServer { dir, storage, .. } = s;
    drop(storage);
    let new = server::Storage::new_epoch(dir.path()).unwrap();
    assert_ne!(new, epoch);
    let s = TestServer::open(dir).await;
    assert_eq!(s.storage.epoch(), new);
    let worker = s.sign_in("w", "password-123").await.unwrap().token;
    let r = s.pull(&worker, Some(&page.cursor), 10, 1 << 20).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.error().error, "unknown_cursor");
    let again = s.pull_ok(&worker, None, 10, 1 << 20).await;
    assert_eq!(again.changes.len(), 1);
    assert_eq!(again.cursor, format!("{new}:1"));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn bad_bodies_get_json_errors_and_write_nothing() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (d, c) = household(east());
    let push = PushRequest {
        v: 1,
        changes: vec![PushedChange {
            record: d.id(),
            change: sync_core::protocol::Bytes(c.raw_bytes().to_vec()),
        }],
    };
    let good = encode_body(&push);
    let json = serde_json::to_vec(&push).unwrap();
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            "not gzip",
            Some("gzip"),
            json.clone(),
            StatusCode::BAD_REQUEST,
            "bad_compression",
        ),
        (
            "truncated",
            Some("gzip"),
            good[..good.len() / 2].to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_compression",
        ),
        (
            "brotli",
            Some("br"),
            good.clone(),
            StatusCode::BAD_REQUEST,
            "unsupported_encoding",
        ),
        (
            "not json",
            None,
            b"{\"v\":1,".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_message",
        ),
        (
            "no version",
            None,
            b"{\"changes\":[]}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_message",
        ),
        (
            "wrong version",
            Some("gzip"),
            gzip(&json.replace_v(2)),
            StatusCode::BAD_REQUEST,
            "wrong_version",
        ),
        (
            "bad base64",
            None,
            format!(
                "{{\"v\":1,\"changes\":[{{\"record\":\"{}\",\"change\":\"***\"}}]}}",
                d.id()
            )
            .into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad_message",
        ),
        (
            "bad uuid",
            None,
            b"{\"v\":1,\"changes\":[{\"record\":\"nope\",\"change\":\"\"}]}".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_message",
        ),
        (
            "too large",
            None,
            vec![b' '; MAX_BODY_BYTES + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
    ];
    for (name, encoding, body, status, code) in cases {
        let r = s.raw("/v1/sync/push", Some(&worker), encoding, body).await;
        assert_eq!(
            r.status,
            status,
            "{name}: {}",
            String::from_utf8_lossy(&r.body)
        );
        assert_eq!(r.error().error, code, "{name}");
    }
    // A decompressed body past 32 MiB (a compression bomb).
    let bomb = gzip(&vec![b' '; sync_core::protocol::MAX_DECODED_BYTES + 10]);
    let r = s
        .raw("/v1/sync/push", Some(&worker), Some("gzip"), bomb)
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error().error, "too_large");
    // Too many changes in one push.
    let many = PushRequest {
        v: 1,
        changes: vec![push.changes[0].clone(); sync_core::protocol::MAX_PUSH_CHANGES + 1],
    };
    let r = s.post("/v1/sync/push", Some(&worker), &many).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.error().error, "too_large");
    // Too many records in one repair.
    let repair = RepairRequest {
        v: 1,
        records: vec![
            RecordHeads {
                record: d.id(),
                heads: vec![]
            };
            sync_core::protocol::MAX_REPAIR_RECORDS + 1
        ],
    };
    let r = s.post("/v1/sync/repair", Some(&worker), &repair).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(s.changes(), 0, "nothing was written");
    assert_eq!(s.storage.record_count().unwrap(), 0);
    // Plain JSON is accepted too, and then it lands.
    let r = s.raw("/v1/sync/push", Some(&worker), None, json).await;
    let r: sync_core::protocol::PushResponse = r.message();
    assert_eq!(statuses(&r), vec![PushStatus::Accepted]);
    // Unknown paths answer JSON too.
    let r = s.raw("/v1/nope", None, None, vec![]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.error().error, "not_found");
}

trait ReplaceV {
    fn replace_v(&self, v: u32) -> Vec<u8>;
}

impl ReplaceV for Vec<u8> {
    fn replace_v(&self, v: u32) -> Vec<u8> {
        let text = String::from_utf8(self.clone()).unwrap();
        assert!(text.starts_with("{\"v\":1,"));
        format!("{{\"v\":{v},{}", &text[7..]).into_bytes()
    }
}

#[tokio::test]
async fn many_edits_fold_into_a_snapshot_and_reload_from_it() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (mut doc, create) = household(east());
    let id = doc.id();
    s.push_ok(&worker, &[(id, &create)]).await;
    for round in 0..5 {
        let edits: Vec<_> = (0..7)
            .map(|i| edit(&mut doc, "phone", &format!("{round}-{i}")))
            .collect();
        let refs: Vec<_> = edits.iter().map(|c| (id, c)).collect();
        let r = s.push_ok(&worker, &refs).await;
        assert!(r.results.iter().all(|r| r.status == PushStatus::Accepted));
    }
    assert_eq!(s.changes(), 36);
    let TestServer { dir, storage, .. } = s;
    drop(storage);
    let db = rusqlite::Connection::open(dir.path().join("server.db")).unwrap();
    let (snapshot_seq, pending): (i64, i64) = db
        .query_row(
            "SELECT snapshot_seq, pending FROM records WHERE id = ?1 AND snapshot IS NOT NULL",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (snapshot_seq, pending),
        (22, 14),
        "snapshot after 22 changes, 14 since"
    );
    drop(db);
    // A fresh process: the document comes from the snapshot plus the later log.
    let s = TestServer::open(dir).await;
    let mut loaded = s.storage.record_doc(id).unwrap().unwrap();
    assert_eq!(loaded.fields(), doc.fields());
    assert_eq!(loaded.heads(), doc.heads());
    let worker = s.sign_in("w", "password-123").await.unwrap().token;
    let last = edit(&mut doc, "phone", "final");
    let r = s.push_ok(&worker, &[(id, &last)]).await;
    assert_eq!(statuses(&r), vec![PushStatus::Accepted]);
    assert_eq!(
        s.storage.record(id).unwrap().unwrap().fields["phone"],
        "final"
    );
}

/// Throughput check (run with `--ignored --nocapture`, ideally `--release`): 5 pushes of
/// 1,000 new survey responses from one device, then a fresh pull of everything.
#[tokio::test]
#[ignore]
async fn throughput() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let mut batches = Vec::new();
    for _ in 0..5 {
        let mut batch = Vec::new();
        for i in 0..1000 {
            // A realistic household survey: ~40 answers, 3 children.
            let mut a = Answers::new();
            let children = (0..3)
                .map(|c| {
                    let mut child = Answers::new();
                    child
                        .set("age_years", ((i + c * 5) % 18) as i64)
                        .set("hispanic", "no")
                        .set("race", "black white")
                        .set("grade", "3")
                        .set("read_times", "three_plus")
                        .set("early_learning", "head_start");
                    child
                })
                .collect();
            a.set("consent", "yes")
                .set("has_child", "yes")
                .set("interview_language", "en")
                .set("home_language", "es")
                .set("location", "39.1 -84.5 0 5")
                .set("feel_safe_day", "somewhat_safe")
                .set("home_internet", "yes")
                .set("home_devices", "computer smartphone")
                .set_repeat("child", children);
            let (d, c) = record(RecordKind::Response, east(), Some("household_survey"), &a);
            batch.push((d.id(), c));
        }
        batches.push(batch);
    }
    let start = std::time::Instant::now();
    for batch in &batches {
        let refs: Vec<_> = batch.iter().map(|(id, c)| (*id, c)).collect();
        let r = s.push_ok(&worker, &refs).await;
        assert!(
            r.results.iter().all(|r| r.status == PushStatus::Accepted),
            "{:?}",
            r.results[0]
        );
    }
    let secs = start.elapsed().as_secs_f64();
    println!("ingest: {:.0} responses/s", 5000.0 / secs);
    let start = std::time::Instant::now();
    let (pages, _) = pull_all(&s, &worker, 5000, 4 << 20).await;
    let n: usize = pages.iter().map(|p| p.changes.len()).sum();
    assert_eq!(n, 5000);
    println!(
        "pull: {:.0} records/s",
        n as f64 / start.elapsed().as_secs_f64()
    );
}

#[tokio::test]
async fn mutated_changes_never_crash_the_server() {
    let s = TestServer::new().await;
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (mut doc, create) = survey(east(), "yes");
    let id = doc.id();
    let e = edit(&mut doc, "has_child", "yes");
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
