//! Attachment uploads through the router, on SQLite and on PostgreSQL: begin, resume,
//! realign after a wrong offset, complete with the hash checked; the size limit, a
//! malformed hash, a chunk too large, a hash mismatch; a record out of the device's
//! scope; and the staff record page with the image and the route that serves it,
//! refused to staff out of scope.
//!
//! Issue 18: naming another scope's hash reads nothing; a purge deletes the bytes only
//! its records uploaded; an upload belongs to the device that began it; a device's
//! quota of uploads no record uses, and the sweep of idle and unnamed ones; a large
//! attachment served a stored chunk at a time.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::pages::*;
use common::*;
use forms::Answers;
use http_body_util::BodyExt;
use server::storage::TokenCheck;
use sha2::{Digest, Sha256};
use sync_core::protocol::{AttachmentBegin, AttachmentStatus, MAX_CHUNK_BYTES, PROTOCOL_VERSION};
use sync_core::{Commit, RecordDoc, RecordKind, RecordMeta, Scope};
use tower::ServiceExt;
use uuid::Uuid;

on_both_backends!(
    an_upload_begins_resumes_realigns_and_completes,
    limits_malformed_hashes_and_a_hash_mismatch_are_refused,
    a_record_out_of_the_devices_scope_is_refused,
    staff_see_the_image_on_the_record_page_and_only_in_scope,
    a_purge_deletes_the_bytes_only_its_records_uploaded,
    naming_another_scopes_hash_gives_staff_nothing,
    a_purge_cannot_be_outlived_by_naming_the_hash_and_spares_other_scopes,
    another_device_cannot_reset_or_spoil_an_unfinished_upload,
    a_devices_quota_refuses_past_the_limit_and_stale_uploads_are_swept,
    a_large_attachment_is_served_a_stored_chunk_at_a_time,
);

fn sha(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..])
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn begin(s: &TestServer, token: &str, hash: &str, size: u64, record: Uuid) -> Reply {
    let msg = AttachmentBegin {
        v: PROTOCOL_VERSION,
        sha256: hash.into(),
        size,
        record_id: record,
        name: format!("{hash}.png"),
    };
    s.post("/v1/attachments", Some(token), &msg).await
}

async fn put(s: &TestServer, token: &str, hash: &str, offset: u64, bytes: &[u8]) -> Reply {
    let req = Request::put(format!("/v1/attachments/{hash}?offset={offset}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/octet-stream")
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    let resp = s.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let encoding = resp
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Reply {
        status,
        encoding,
        body,
    }
}

/// The user id of a token's user: the author its device's changes must name.
fn author(s: &TestServer, token: &str) -> String {
    match s.storage.authenticate(token).unwrap() {
        TokenCheck::Valid(caller) => caller.user_id,
        other => panic!("{other:?}"),
    }
}

/// A new household in `scope` with `answers`, created by the user of `token`: the
/// record and its creating change.
fn household_by(
    s: &TestServer,
    token: &str,
    scope: Scope,
    answers: &Answers,
) -> (RecordDoc, automerge::Change) {
    let by = author(s, token);
    let meta = RecordMeta {
        kind: RecordKind::Household,
        id: Uuid::new_v4(),
        scope,
        form: None,
        created_by: by.clone(),
        created_at: 1_700_000_000,
    };
    let create = Commit::new(&by, "create").at(1_700_000_000);
    let mut doc = RecordDoc::create(meta, answers, &create, None).unwrap();
    let change = doc.changes_since(&[]).remove(0);
    (doc, change)
}

/// A household in `scope` whose `signature` answer names `name`, pushed by `token`.
async fn household_naming(s: &TestServer, token: &str, scope: Scope, name: &str) -> Uuid {
    let mut a = Answers::new();
    a.set("address", "12 Elm St").set("signature", name);
    let (doc, change) = household_by(s, token, scope, &a);
    let r = s.push_ok(token, &[(doc.id(), &change)]).await;
    assert_eq!(statuses(&r), [sync_core::protocol::PushStatus::Accepted]);
    doc.id()
}

async fn an_upload_begins_resumes_realigns_and_completes(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let bytes = data(10_000);
    let hash = sha(&bytes);
    let id = household_naming(&s, &ana, east(), &format!("{hash}.png")).await;

    let st: AttachmentStatus = begin(&s, &ana, &hash, 10_000, id).await.message();
    assert_eq!((st.received, st.complete), (0, false));
    let st: AttachmentStatus = put(&s, &ana, &hash, 0, &bytes[..4_000]).await.message();
    assert_eq!((st.received, st.complete), (4_000, false));
    // After a cut the device asks again: the server says where to go on from.
    let st: AttachmentStatus = begin(&s, &ana, &hash, 10_000, id).await.message();
    assert_eq!((st.received, st.complete), (4_000, false));
    // A chunk at the wrong offset: 409 with where the server stands.
    let wrong = put(&s, &ana, &hash, 0, &bytes[..4_000]).await;
    assert_eq!(wrong.status, StatusCode::CONFLICT);
    let body: serde_json::Value = serde_json::from_slice(&wrong.body).unwrap();
    assert_eq!(body["error"], "wrong_offset");
    assert_eq!(body["received"], 4_000);
    // A chunk past the declared size.
    let past = put(&s, &ana, &hash, 4_000, &[0u8; 6_001]).await;
    assert_eq!(past.status, StatusCode::BAD_REQUEST);
    let st: AttachmentStatus = put(&s, &ana, &hash, 4_000, &bytes[4_000..]).await.message();
    assert_eq!((st.received, st.complete), (10_000, true));
    assert_eq!(s.storage.attachment_bytes(&hash).unwrap().unwrap(), bytes);
    // Begun again by the device that sent it (an answer lost): complete at once.
    let st: AttachmentStatus = begin(&s, &ana, &hash, 10_000, id).await.message();
    assert!(st.complete);
    // No bearer token: 401.
    let anon = s
        .raw("/v1/attachments", None, None, b"{\"v\":1}".to_vec())
        .await;
    assert_eq!(anon.status, StatusCode::UNAUTHORIZED);
}

async fn limits_malformed_hashes_and_a_hash_mismatch_are_refused(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let id = Uuid::new_v4();
    let hash = sha(b"photo");

    let big = begin(&s, &ana, &hash, 50 * 1024 * 1024 + 1, id).await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(big.error().error, "too_large");
    for bad in ["abc", &hash.to_uppercase(), &format!("{}zz", &hash[..62])] {
        let r = begin(&s, &ana, bad, 5, id).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(r.error().error, "bad_message");
    }
    assert_eq!(
        put(&s, &ana, "not-a-hash", 0, b"x").await.status,
        StatusCode::BAD_REQUEST
    );
    // A chunk before any begin.
    let r = put(&s, &ana, &hash, 0, b"photo").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A chunk over 4 MiB.
    let st: AttachmentStatus = begin(&s, &ana, &hash, 5, id).await.message();
    assert_eq!(st.received, 0);
    let r = put(&s, &ana, &hash, 0, &vec![0u8; 4 * 1024 * 1024 + 1]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // Five bytes, but not the ones named: 422, and the upload is gone.
    let r = put(&s, &ana, &hash, 0, b"phoTo").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.error().error, "hash_mismatch");
    assert!(s.storage.attachment_bytes(&hash).unwrap().is_none());
    assert_eq!(
        put(&s, &ana, &hash, 0, b"photo").await.status,
        StatusCode::NOT_FOUND
    );
    // Started again, right bytes: complete.
    begin(&s, &ana, &hash, 5, id)
        .await
        .message::<AttachmentStatus>();
    let st: AttachmentStatus = put(&s, &ana, &hash, 0, b"photo").await.message();
    assert!(st.complete);
}

async fn a_record_out_of_the_devices_scope_is_refused(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let wes = s.user("wes", "outreach_worker", Some(west())).await;
    let parent = s
        .user("pam", "parent", Some(east().with_family("f1")))
        .await;
    let hash = sha(b"signature");
    let west_record = household_naming(&s, &wes, west(), &format!("{hash}.png")).await;
    let r = begin(&s, &ana, &hash, 9, west_record).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.error().error, "forbidden");
    // In scope but a kind the role may not write (a parent and a household).
    let family = east().with_family("f1");
    let east_record = household_naming(&s, &ana, family, &format!("{hash}.png")).await;
    let r = begin(&s, &parent, &hash, 9, east_record).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nothing was begun by the refusals.
    assert_eq!(rows_of(&s, "attachments", &hash), 0);
    // A record the server has not received yet (its push may still be on the way).
    let st: AttachmentStatus = begin(&s, &ana, &hash, 9, Uuid::new_v4()).await.message();
    assert_eq!(st.received, 0);
    // Its own record: fine.
    let st: AttachmentStatus = begin(&s, &wes, &hash, 9, west_record).await.message();
    assert_eq!(st.received, 0);
}

async fn staff_see_the_image_on_the_record_page_and_only_in_scope(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
        .await;
    s.user("other", "backbone_staff", Some(Scope::partnership("p2")))
        .await;
    let photo = data(3_000);
    let hash = sha(&photo);
    let name = format!("{hash}.png");
    let id = household_naming(&s, &ana, east(), &name).await;
    let bo = session(&s, "bo", "password-123").await;
    let href = format!("/records/{id}/attachments/{name}");

    // Not uploaded yet, then half uploaded.
    let page = get(&s, &format!("/records/{id}"), Some(&bo)).await;
    assert!(page.body.contains("not uploaded yet"), "{}", page.body);
    begin(&s, &ana, &hash, 3_000, id)
        .await
        .message::<AttachmentStatus>();
    put(&s, &ana, &hash, 0, &photo[..1_000])
        .await
        .message::<AttachmentStatus>();
    let page = get(&s, &format!("/records/{id}"), Some(&bo)).await;
    assert!(
        page.body.contains("uploading (1000 of 3000 bytes)"),
        "{}",
        page.body
    );
    assert_eq!(
        get(&s, &href, Some(&bo)).await.status,
        StatusCode::NOT_FOUND
    );

    put(&s, &ana, &hash, 1_000, &photo[1_000..])
        .await
        .message::<AttachmentStatus>();
    let page = get(&s, &format!("/records/{id}"), Some(&bo)).await;
    let row = between(&page.body, "<tr data-field=\"signature\">", "</tr>");
    assert!(row.contains(&format!("<img src=\"{href}\"")), "{row}");
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("img-src 'self'"), "{csp}");

    let req = Request::get(&href)
        .header("cookie", &bo)
        .body(Body::empty())
        .unwrap();
    let resp = s.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], "image/png");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(
        h["content-disposition"],
        format!("inline; filename=\"{name}\"").as_str()
    );
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(sha(&body), hash);

    // Another record does not name it: no way to it through that record.
    let other_id = household_naming(&s, &ana, east(), "no photo").await;
    let through_other = format!("/records/{other_id}/attachments/{name}");
    assert_eq!(
        get(&s, &through_other, Some(&bo)).await.status,
        StatusCode::NOT_FOUND
    );
    // Staff out of scope: the page and the attachment answer as missing ones do.
    let other = session(&s, "other", "password-123").await;
    assert_eq!(
        get(&s, &format!("/records/{id}"), Some(&other))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let refused = get(&s, &href, Some(&other)).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert!(!refused.body.as_bytes().windows(8).any(|w| w == &photo[..8]));
    // Signed out: to the sign-in page.
    assert_eq!(get(&s, &href, None).await.status, StatusCode::SEE_OTHER);
}

/// Begin an upload of `bytes` for `record` and send them all, in chunks of at most
/// 4 MiB; the last answer.
async fn upload(s: &TestServer, token: &str, bytes: &[u8], record: Uuid) -> AttachmentStatus {
    let hash = sha(bytes);
    let mut st: AttachmentStatus = begin(s, token, &hash, bytes.len() as u64, record)
        .await
        .message();
    while !st.complete {
        let from = st.received as usize;
        let to = (from + MAX_CHUNK_BYTES).min(bytes.len());
        st = put(s, token, &hash, from as u64, &bytes[from..to])
            .await
            .message();
    }
    st
}

/// `GET path` as the staff member with this session cookie: the status, the headers
/// and the body's frames as they came.
async fn download(
    s: &TestServer,
    cookie: &str,
    path: &str,
) -> (StatusCode, axum::http::HeaderMap, Vec<Vec<u8>>) {
    let req = Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap();
    let resp = s.app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let mut body = resp.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            frames.push(data.to_vec());
        }
    }
    (status, headers, frames)
}

/// Rows of `table` whose `sha256` is `hash`.
fn rows_of(s: &TestServer, table: &str, hash: &str) -> i64 {
    s.sql(&format!(
        "SELECT count(*) FROM {table} WHERE sha256 = '{hash}'"
    ))
}

/// `len` bytes unlike those of any other `seed`.
fn distinct(len: usize, seed: u8) -> Vec<u8> {
    let mut out = data(len);
    out[0] = seed;
    out
}

async fn a_purge_deletes_the_bytes_only_its_records_uploaded(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let by = author(&s, &ana);
    let (photo, shared, named) = (distinct(2_000, 1), distinct(1_000, 2), distinct(500, 3));
    let (h_photo, h_shared, h_named) = (sha(&photo), sha(&shared), sha(&named));
    let id = household_naming(&s, &ana, east(), &format!("{h_photo}.jpg")).await;
    // Another household names two of the purged household's attachments: one its device
    // uploaded for it too (the same photo in two households), one it merely names.
    let mut a = Answers::new();
    a.set("signature", format!("{h_shared}.png").as_str())
        .set("photo", format!("{h_named}.png").as_str());
    let (doc, change) = household_by(&s, &ana, east(), &a);
    let edit_change = {
        let mut doc = s.storage.record_doc(id).unwrap().unwrap();
        doc.edit(&Commit::new(&by, "sign").at(1_700_000_000), |e| {
            e.set_field("signature", format!("{h_shared}.png"))?;
            e.set_field("photo", format!("{h_named}.png"))
        })
        .unwrap()
        .unwrap()
    };
    s.push_ok(&ana, &[(doc.id(), &change), (id, &edit_change)])
        .await;
    for bytes in [&photo, &shared, &named] {
        assert!(upload(&s, &ana, bytes, id).await.complete);
    }
    // This device proved it holds `shared`: begun for the other household, it is
    // complete at once.
    let st: AttachmentStatus = begin(&s, &ana, &h_shared, 1_000, doc.id()).await.message();
    assert!(st.complete);

    let r = s
        .post(
            "/v1/admin/purge",
            Some(&s.admin),
            &serde_json::json!({"v": 1, "subject": id, "reason": "consent withdrawn"}),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    for gone in [&h_photo, &h_named] {
        assert!(
            s.storage.attachment_bytes(gone).unwrap().is_none(),
            "purged"
        );
        assert_eq!(rows_of(&s, "attachment_chunks", gone), 0);
        assert_eq!(rows_of(&s, "attachments", gone), 0);
    }
    assert_eq!(
        s.storage.attachment_bytes(&h_shared).unwrap().unwrap(),
        shared
    );
    assert_eq!(
        s.storage.readable_attachment(doc.id(), &h_shared).unwrap(),
        Some(1_000)
    );
    assert_eq!(
        s.storage.readable_attachment(doc.id(), &h_named).unwrap(),
        None
    );
    assert_eq!(
        s.sql(&format!(
            "SELECT count(*) FROM attachment_grants WHERE record_id = '{id}'"
        )),
        0
    );
}

async fn naming_another_scopes_hash_gives_staff_nothing(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let wes = s.user("wes", "outreach_worker", Some(west())).await;
    let confidential = east().with_program("confidential");
    let cora = s
        .user("cora", "outreach_worker", Some(confidential.clone()))
        .await;
    s.user("eb", "backbone_staff", Some(east())).await;
    s.user("wb", "backbone_staff", Some(west())).await;
    let (west_photo, conf_photo) = (distinct(3_000, 1), distinct(2_000, 2));
    let (h_west, h_conf) = (sha(&west_photo), sha(&conf_photo));
    let (west_name, conf_name) = (format!("{h_west}.jpg"), format!("{h_conf}.jpg"));
    let west_record = household_naming(&s, &wes, west(), &west_name).await;
    assert!(upload(&s, &wes, &west_photo, west_record).await.complete);
    let conf_record = household_naming(&s, &cora, confidential, &conf_name).await;
    assert!(upload(&s, &cora, &conf_photo, conf_record).await.complete);

    // An east worker's record names both hashes.
    let mut a = Answers::new();
    a.set("address", "1 Oak St")
        .set("signature", west_name.as_str())
        .set("photo", conf_name.as_str());
    let (doc, change) = household_by(&s, &ana, east(), &a);
    let r = s.push_ok(&ana, &[(doc.id(), &change)]).await;
    assert_eq!(statuses(&r), [sync_core::protocol::PushStatus::Accepted]);
    let east_record = doc.id();
    // Beginning them for it borrows nothing: the device must send bytes of its own,
    // and junk in their place is only its own upload's loss.
    for (hash, len) in [(&h_west, 3_000u64), (&h_conf, 2_000)] {
        let st: AttachmentStatus = begin(&s, &ana, hash, len, east_record).await.message();
        assert_eq!((st.received, st.complete), (0, false));
        let r = put(&s, &ana, hash, 0, &vec![0u8; len as usize]).await;
        assert_eq!(r.error().error, "hash_mismatch");
    }

    let eb = session(&s, "eb", "password-123").await;
    let admin = session(&s, "admin", ADMIN_PASSWORD).await;
    for staff in [&eb, &admin] {
        let page = get(&s, &format!("/records/{east_record}"), Some(staff)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(!page.body.contains("<img"), "{}", page.body);
        for name in [&west_name, &conf_name] {
            assert!(
                page.body.contains(&format!("{name} not uploaded yet")),
                "{}",
                page.body
            );
            let path = format!("/records/{east_record}/attachments/{name}");
            let (status, _, frames) = download(&s, staff, &path).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
            let body = frames.concat();
            assert!(!body.windows(16).any(|w| w == &west_photo[..16]));
        }
    }
    // Where they belong, they are served.
    let wb = session(&s, "wb", "password-123").await;
    let (status, _, frames) = download(
        &s,
        &wb,
        &format!("/records/{west_record}/attachments/{west_name}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(frames.concat(), west_photo);
    let (status, _, frames) = download(
        &s,
        &admin,
        &format!("/records/{conf_record}/attachments/{conf_name}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(frames.concat(), conf_photo);
}

async fn a_purge_cannot_be_outlived_by_naming_the_hash_and_spares_other_scopes(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let eve = s.user("eve", "outreach_worker", Some(east())).await;
    let wes = s.user("wes", "outreach_worker", Some(west())).await;
    s.user("eb", "backbone_staff", Some(east())).await;
    s.user("wb", "backbone_staff", Some(west())).await;
    let (photo, west_photo) = (distinct(2_500, 1), distinct(1_500, 2));
    let (h_photo, h_west) = (sha(&photo), sha(&west_photo));
    let (name, west_name) = (format!("{h_photo}.jpg"), format!("{h_west}.jpg"));
    let west_record = household_naming(&s, &wes, west(), &west_name).await;
    assert!(upload(&s, &wes, &west_photo, west_record).await.complete);
    // The household to purge names its own photo and, hostile, the west one.
    let mut a = Answers::new();
    a.set("signature", name.as_str())
        .set("photo", west_name.as_str());
    let (home, change) = household_by(&s, &ana, east(), &a);
    s.push_ok(&ana, &[(home.id(), &change)]).await;
    assert!(upload(&s, &ana, &photo, home.id()).await.complete);
    // Another east record names the photo, to keep it past the purge.
    let keeper = household_naming(&s, &eve, east(), &name).await;

    let r = s
        .post(
            "/v1/admin/purge",
            Some(&s.admin),
            &serde_json::json!({"v": 1, "subject": home.id(), "reason": "consent withdrawn"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(s.storage.attachment_bytes(&h_photo).unwrap().is_none());
    assert_eq!(rows_of(&s, "attachment_chunks", &h_photo), 0);
    let eb = session(&s, "eb", "password-123").await;
    let (status, _, _) = download(&s, &eb, &format!("/records/{keeper}/attachments/{name}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The west photo the purged household named is west's, untouched.
    assert_eq!(
        s.storage.attachment_bytes(&h_west).unwrap().unwrap(),
        west_photo
    );
    let wb = session(&s, "wb", "password-123").await;
    let (status, _, frames) = download(
        &s,
        &wb,
        &format!("/records/{west_record}/attachments/{west_name}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(frames.concat(), west_photo);
}

async fn another_device_cannot_reset_or_spoil_an_unfinished_upload(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let mal = s.user("mal", "outreach_worker", Some(west())).await;
    let zed = s.user("zed", "outreach_worker", Some(east())).await;
    let bytes = data(10_000);
    let hash = sha(&bytes);
    let id = household_naming(&s, &ana, east(), &format!("{hash}.png")).await;
    let st: AttachmentStatus = begin(&s, &ana, &hash, 10_000, id).await.message();
    assert_eq!(st.received, 0);
    let st: AttachmentStatus = put(&s, &ana, &hash, 0, &bytes[..4_000]).await.message();
    assert_eq!(st.received, 4_000);

    // Another device that knows the hash begins it: an upload of its own, from 0,
    // whatever size it declares; its chunks land there and nowhere else.
    let st: AttachmentStatus = begin(&s, &mal, &hash, 10_000, Uuid::new_v4())
        .await
        .message();
    assert_eq!((st.received, st.complete), (0, false));
    let r = put(&s, &mal, &hash, 4_000, &[0u8; 6_000]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["received"], 0, "its own upload's offset");
    let r = put(&s, &mal, &hash, 0, &[0u8; 10_000]).await;
    assert_eq!(r.error().error, "hash_mismatch");
    let st: AttachmentStatus = begin(&s, &mal, &hash, 9_999, Uuid::new_v4())
        .await
        .message();
    assert_eq!(st.received, 0);
    let r = put(&s, &mal, &hash, 0, &[0u8; 9_999]).await;
    assert_eq!(r.error().error, "hash_mismatch");
    // A device that began nothing cannot send a chunk at all.
    let r = put(&s, &zed, &hash, 4_000, &bytes[4_000..]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // The first device's upload stands where it left it, and completes.
    let st: AttachmentStatus = begin(&s, &ana, &hash, 10_000, id).await.message();
    assert_eq!((st.received, st.complete), (4_000, false));
    let st: AttachmentStatus = put(&s, &ana, &hash, 4_000, &bytes[4_000..]).await.message();
    assert!(st.complete);
    assert_eq!(s.storage.attachment_bytes(&hash).unwrap().unwrap(), bytes);

    // Complete now, the hash still gives another device nothing: it is not told
    // complete, even for a record of its own that names the hash.
    let other = household_naming(&s, &zed, east(), &format!("{hash}.png")).await;
    let st: AttachmentStatus = begin(&s, &zed, &hash, 10_000, other).await.message();
    assert_eq!((st.received, st.complete), (0, false));
    assert_eq!(s.storage.readable_attachment(other, &hash).unwrap(), None);
    // A device that holds the bytes proves it by sending them; one copy is kept.
    assert!(upload(&s, &zed, &bytes, other).await.complete);
    assert_eq!(rows_of(&s, "attachments", &hash), 1);
    assert_eq!(rows_of(&s, "attachment_chunks", &hash), 2);
    assert_eq!(
        s.storage.readable_attachment(other, &hash).unwrap(),
        Some(10_000)
    );
}

async fn a_devices_quota_refuses_past_the_limit_and_stale_uploads_are_swept(mut s: TestServer) {
    // Attachments of at most 1 MiB: a device's quota is 4 MiB.
    const MIB: usize = 1024 * 1024;
    s.app = server::router_with(s.storage.clone(), MIB as u64);
    let pam = s
        .user("pam", "parent", Some(east().with_family("f1")))
        .await;
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let photos: Vec<Vec<u8>> = (0..6).map(|i| distinct(MIB, i)).collect();
    let hashes: Vec<String> = photos.iter().map(|p| sha(p)).collect();

    // Four whole photos for records that never arrive; a fifth is refused.
    for photo in &photos[..4] {
        assert!(upload(&s, &pam, photo, Uuid::new_v4()).await.complete);
    }
    let r = begin(&s, &pam, &hashes[4], MIB as u64, Uuid::new_v4()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let e = r.error();
    assert_eq!(e.error, "attachment_quota");
    assert!(e.message.contains("quota"), "{}", e.message);
    assert_eq!(rows_of(&s, "attachments", &hashes[4]), 0, "nothing begun");

    // The quota is the device's own. An unfinished upload counts at its declared size;
    // a record that arrives and names its photo frees that photo's share.
    let mut a = Answers::new();
    a.set("signature", format!("{}.jpg", hashes[3]).as_str());
    let (late, late_change) = household_by(&s, &ana, east(), &a);
    assert!(upload(&s, &ana, &photos[3], late.id()).await.complete);
    for photo in &photos[..2] {
        assert!(upload(&s, &ana, photo, Uuid::new_v4()).await.complete);
    }
    let st: AttachmentStatus = begin(&s, &ana, &hashes[4], MIB as u64, Uuid::new_v4())
        .await
        .message();
    assert_eq!(st.received, 0);
    let r = begin(&s, &ana, &hashes[5], 1, Uuid::new_v4()).await;
    assert_eq!(r.error().error, "attachment_quota");
    s.push_ok(&ana, &[(late.id(), &late_change)]).await;
    // Half of the fifth, then the device goes quiet.
    put(&s, &ana, &hashes[4], 0, &photos[4][..MIB / 2])
        .await
        .message::<AttachmentStatus>();

    // Eight days on, the unfinished upload is swept at the next begin (which fits: the
    // named photo no longer counts); 31 days on, so are the photos no record names
    // (the named one stays).
    s.storage
        .clock()
        .advance(std::time::Duration::from_secs(8 * 86_400));
    let st: AttachmentStatus = begin(&s, &ana, &hashes[5], MIB as u64, Uuid::new_v4())
        .await
        .message();
    assert_eq!(st.received, 0);
    let r = put(
        &s,
        &ana,
        &hashes[4],
        (MIB / 2) as u64,
        &photos[4][MIB / 2..],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "swept");
    assert_eq!(rows_of(&s, "attachment_chunks", &hashes[4]), 0);
    assert!(s.storage.attachment_bytes(&hashes[0]).unwrap().is_some());
    s.storage
        .clock()
        .advance(std::time::Duration::from_secs(23 * 86_400));
    let swept = s.storage.sweep_attachments().unwrap();
    assert!(swept.unreferenced >= 5, "{swept:?}");
    for hash in &hashes[..3] {
        assert!(s.storage.attachment_bytes(hash).unwrap().is_none(), "swept");
        assert_eq!(rows_of(&s, "attachment_chunks", hash), 0);
    }
    assert_eq!(
        s.storage.attachment_bytes(&hashes[3]).unwrap().unwrap(),
        photos[3],
        "named by a record"
    );
    assert_eq!(
        s.storage
            .readable_attachment(late.id(), &hashes[3])
            .unwrap(),
        Some(MIB as u64)
    );
    // With room again, the parent's device begins what was refused.
    let st: AttachmentStatus = begin(&s, &pam, &hashes[4], MIB as u64, Uuid::new_v4())
        .await
        .message();
    assert_eq!(st.received, 0);
}

async fn a_large_attachment_is_served_a_stored_chunk_at_a_time(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
        .await;
    let big: Vec<u8> = (0..10 * 1024 * 1024 + 123)
        .map(|i: usize| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let hash = sha(&big);
    let name = format!("{hash}.jpg");
    let id = household_naming(&s, &ana, east(), &name).await;
    assert!(upload(&s, &ana, &big, id).await.complete);
    let bo = session(&s, "bo", "password-123").await;
    let (status, headers, frames) =
        download(&s, &bo, &format!("/records/{id}/attachments/{name}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-length"], big.len().to_string().as_str());
    assert_eq!(headers["content-type"], "image/jpeg");
    // Three stored chunks (4 + 4 + 2 MiB), three frames: never the whole at once.
    assert!(frames.len() >= 3, "{} frames", frames.len());
    assert!(
        frames.iter().all(|f| f.len() <= MAX_CHUNK_BYTES),
        "{:?}",
        frames.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(frames.concat(), big);
}
