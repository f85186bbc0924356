//! Attachment uploads through the router and a real SQLite file: begin, resume,
//! realign after a wrong offset, complete with the hash checked; the size limit, a
//! malformed hash, a chunk too large, a hash mismatch; a record out of the device's
//! scope; and the staff record page with the image and the route that serves it,
//! refused to staff out of scope.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::pages::*;
use common::*;
use forms::Answers;
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use sync_core::protocol::{AttachmentBegin, AttachmentStatus, PROTOCOL_VERSION};
use sync_core::{RecordKind, Scope};
use tower::ServiceExt;
use uuid::Uuid;

on_both_backends!(
    an_upload_begins_resumes_realigns_and_completes,
    limits_malformed_hashes_and_a_hash_mismatch_are_refused,
    a_record_out_of_the_devices_scope_is_refused,
    staff_see_the_image_on_the_record_page_and_only_in_scope,
    a_purge_deletes_the_records_attachments_unless_another_record_names_them,
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

/// A household in `scope` whose `signature` answer names `name`, pushed by `token`.
async fn household_naming(s: &TestServer, token: &str, scope: Scope, name: &str) -> Uuid {
    let mut a = Answers::new();
    a.set("address", "12 Elm St").set("signature", name);
    let (doc, change) = record(RecordKind::Household, scope, None, &a);
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
    // Begun again (another device, the same photo): complete at once.
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
    assert!(s.storage.attachment_states(&[&hash]).unwrap().is_empty());
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

async fn a_purge_deletes_the_records_attachments_unless_another_record_names_them(s: TestServer) {
    let ana = s.user("ana", "outreach_worker", Some(east())).await;
    let (photo, shared) = (data(2_000), data(1_000));
    let (h_photo, h_shared) = (sha(&photo), sha(&shared));
    let id = household_naming(&s, &ana, east(), &format!("{h_photo}.jpg")).await;
    // The same bytes named by the purged household and by another one.
    let mut a = Answers::new();
    a.set("signature", format!("{h_shared}.png").as_str());
    let (doc, change) = record(RecordKind::Household, east(), None, &a);
    let edit_change = {
        let mut doc = s.storage.record_doc(id).unwrap().unwrap();
        doc.edit(&commit("sign"), |e| {
            e.set_field("signature", format!("{h_shared}.png"))
        })
        .unwrap()
        .unwrap()
    };
    s.push_ok(&ana, &[(doc.id(), &change), (id, &edit_change)])
        .await;
    for (h, bytes) in [(&h_photo, &photo), (&h_shared, &shared)] {
        begin(&s, &ana, h, bytes.len() as u64, id)
            .await
            .message::<AttachmentStatus>();
        let st: AttachmentStatus = put(&s, &ana, h, 0, bytes).await.message();
        assert!(st.complete);
    }
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
    assert!(
        s.storage.attachment_bytes(&h_photo).unwrap().is_none(),
        "purged"
    );
    assert_eq!(
        s.storage.attachment_bytes(&h_shared).unwrap().unwrap(),
        shared
    );
}
