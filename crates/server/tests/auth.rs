//! Router-level tests of start-up, authentication and admin, and of bad request
//! bodies: every request goes through the real router and a real SQLite file in a
//! temporary directory.

mod common;

use std::io::Write;

use axum::http::StatusCode;
use common::*;
use sync_core::protocol::{
    encode_body, PushRequest, PushStatus, PushedChange, RecordHeads, RepairRequest, MAX_BODY_BYTES,
};

#[tokio::test]
async fn first_start_creates_the_admin_once_and_the_seed_forms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    first_start(move || server::Storage::open(&path).unwrap()).await;
}

#[tokio::test]
async fn first_start_on_postgres_creates_the_admin_once_and_the_seed_forms() {
    let schema = SchemaGuard(fresh_schema());
    let name = schema.0.clone();
    first_start(move || server::Storage::open_postgres(&test_database_url(), Some(&name)).unwrap())
        .await;
}

/// Open a fresh database, then open it again: one admin, the seed forms, one epoch;
/// the admin signs in through the router.
async fn first_start(open: impl Fn() -> server::Storage) {
    let storage = open();
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
    assert!(storage.form("household_survey", 1).unwrap().is_some());
    let epoch = storage.epoch().to_string();
    drop(storage);
    // Reopened: same admin, same forms, same epoch.
    let storage = open();
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

fn server_scope() -> sync_core::Scope {
    sync_core::Scope::partnership("p1")
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

async fn tokens_authenticate_and_revoked_devices_are_refused(s: TestServer) {
    let pull = sync_core::protocol::PullRequest {
        v: 1,
        cursor: None,
        limit: 10,
        max_bytes: 1000,
        actor: None,
        wait_ms: None,
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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

async fn bad_bodies_get_json_errors_and_write_nothing(s: TestServer) {
    let worker = s.user("w", "outreach_worker", Some(east())).await;
    let (d, c) = household(&s.user_id(&worker), east());
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

async fn guessing_passwords_or_enrollment_codes_is_rate_limited(s: TestServer) {
    s.user("ana", "outreach_worker", Some(east())).await;
    s.user("bo", "outreach_worker", Some(east())).await;
    for _ in 0..server::limits::MAX_FAILURES {
        let e = s.sign_in("ana", "not-her-password").await.unwrap_err();
        assert_eq!(e.error, "unauthorized");
    }
    // Locked: even the right password waits, and the page says so.
    let e = s.sign_in("ANA", "password-123").await.unwrap_err();
    assert_eq!(e.error, "too_many_attempts", "{}", e.message);
    assert!(e.message.contains("15 minutes"), "{}", e.message);
    let page = common::pages::sign_in(&s, "ana", "password-123").await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
    // Other users are not affected, and a success clears a user's count.
    assert!(s.sign_in("bo", "password-123").await.is_ok());
    for _ in 0..server::limits::MAX_FAILURES - 1 {
        let _ = s.sign_in("bo", "wrong-password").await;
    }
    assert!(s.sign_in("bo", "password-123").await.is_ok());
    assert!(s.sign_in("bo", "wrong-password").await.is_err());
    assert!(s.sign_in("bo", "password-123").await.is_ok());

    // Enrollment codes: ten wrong codes from one client, then refused.
    let enroll = server::api::EnrollRequest {
        v: sync_core::protocol::PROTOCOL_VERSION,
        code: "AAAAA-AAAAA".into(),
        device_name: "guesser".into(),
    };
    for _ in 0..server::limits::MAX_FAILURES {
        let r = s.post("/v1/auth/enroll", None, &enroll).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = s.post("/v1/auth/enroll", None, &enroll).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.error().error, "too_many_attempts");
}

async fn a_device_hammering_the_sync_endpoints_is_slowed_alone(s: TestServer) {
    let loud = s.user("ana", "outreach_worker", Some(east())).await;
    let quiet = s.user("bo", "outreach_worker", Some(east())).await;
    // Time stands still, so the bucket cannot refill as fast as a slow machine
    // drains it (limits.rs checks the refill itself).
    s.storage.clock().freeze();
    let mut limited = 0;
    for i in 0..(server::limits::SYNC_BURST as usize + 200) {
        let r = s.pull(&loud, None, 10, 1_000_000).await;
        match r.status {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS => {
                assert_eq!(r.error().error, "rate_limited");
                assert!(i >= server::limits::SYNC_BURST as usize, "refused at {i}");
                limited += 1;
            }
            other => panic!("{other}"),
        }
        if limited > 10 {
            break;
        }
    }
    assert!(limited > 0, "never slowed down");
    s.pull_ok(&quiet, None, 10, 1_000_000).await;
}

/// Sign-in, a token's use, a wrong password, a taken name and revocation: what runs
/// on both databases today.
async fn sign_in_tokens_and_revocation(s: TestServer) {
    let token = s.user("wanda", "outreach_worker", Some(east())).await;
    let caller = match s.storage.authenticate(&token).unwrap() {
        server::storage::TokenCheck::Valid(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(caller.username, "wanda");
    assert_eq!(caller.scope, Some(east()));
    assert!(s.sign_in("wanda", "wrong-password").await.is_err());
    assert!(s.sign_in("nobody", "password-123").await.is_err());
    let taken = s
        .post(
            "/v1/admin/users",
            Some(&s.admin),
            &server::api::CreateUserRequest {
                v: 1,
                username: "wanda".into(),
                password: "password-456".into(),
                role: "outreach_worker".into(),
                scope: Some(east()),
            },
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);

    // The token works on an endpoint that runs on both: the forms a device lacks.
    let forms = sync_core::protocol::FormsRequest { v: 1, have: vec![] };
    let ok = s.post("/v1/sync/forms", Some(&token), &forms).await;
    assert_eq!(ok.status, StatusCode::OK);
    let revoked = s
        .post(
            "/v1/admin/devices/revoke",
            Some(&s.admin),
            &server::api::RevokeDeviceRequest {
                v: 1,
                device_id: caller.device_id.clone(),
            },
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(matches!(
        s.storage.authenticate(&token).unwrap(),
        server::storage::TokenCheck::Revoked
    ));
    let refused = s.post("/v1/sync/forms", Some(&token), &forms).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
}

/// A one-time code enrolls one device, once; the users and devices lists see it.
async fn enrollment_codes_work_once_and_the_lists_show_users_and_devices(s: TestServer) {
    s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s
        .storage
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == "ana")
        .unwrap();
    assert_eq!((ana.active_devices, ana.scope.clone()), (1, Some(east())));
    let code = s.storage.create_enrollment(&ana.id, "admin").unwrap().code;
    assert!(matches!(
        s.storage.create_enrollment("no-such-user", "admin"),
        Err(server::StorageError::Invalid(_))
    ));
    let enroll = |code: String| server::api::EnrollRequest {
        v: 1,
        code,
        device_name: "Ana's new phone".into(),
    };
    let first = s
        .post("/v1/auth/enroll", None, &enroll(code.to_lowercase()))
        .await;
    let session: sync_core::protocol::TokenResponse = first.message();
    assert_eq!(session.username, "ana");
    assert!(matches!(
        s.storage.authenticate(&session.token).unwrap(),
        server::storage::TokenCheck::Valid(_)
    ));
    let again = s.post("/v1/auth/enroll", None, &enroll(code)).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
    let devices = s.storage.devices().unwrap();
    assert!(devices
        .iter()
        .any(|d| d.id == session.device_id && d.username == "ana" && d.revoked_at.is_none()));
    let ana = s
        .storage
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == "ana")
        .unwrap();
    assert_eq!(ana.active_devices, 2);
}

on_both_backends!(
    sign_in_tokens_and_revocation,
    enrollment_codes_work_once_and_the_lists_show_users_and_devices,
    tokens_authenticate_and_revoked_devices_are_refused,
    bad_bodies_get_json_errors_and_write_nothing,
    guessing_passwords_or_enrollment_codes_is_rate_limited,
    a_device_hammering_the_sync_endpoints_is_slowed_alone,
);
