//! Who may act for whom (issue 18, items 1 and 2): nobody enrolls a device for,
//! revokes, or creates a user of a role equal to or above their own, unless they are
//! an admin with that user in scope; an admin's scope bounds every user it creates
//! and every act it takes; only an unscoped admin makes another unscoped admin.
//!
//! The attack this closes: backbone staff enrolled a device for a scoped admin from
//! the users page, and with that admin's token created an unscoped admin, who then
//! pulled everything, confidential programs included.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use server::api::{CreateUserRequest, RevokeDeviceRequest, RevokeDeviceResponse};
use sync_core::protocol::PROTOCOL_VERSION;
use sync_core::Scope;

on_both_backends!(
    backbone_staff_cannot_reach_an_admin_or_their_peers,
    a_scoped_admin_acts_only_within_its_scope,
);

fn p1() -> Scope {
    Scope::partnership("p1")
}

fn create(name: &str, role: &str, scope: Option<Scope>) -> CreateUserRequest {
    CreateUserRequest {
        v: PROTOCOL_VERSION,
        username: name.into(),
        password: "password-123".into(),
        role: role.into(),
        scope,
    }
}

fn id_of(s: &TestServer, name: &str) -> String {
    s.storage
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == name)
        .unwrap()
        .id
}

async fn backbone_staff_cannot_reach_an_admin_or_their_peers(s: TestServer) {
    // A scoped admin, another backbone staff member and a worker, all in p1.
    s.user("padmin", "admin", Some(p1())).await;
    s.user("peer", "backbone_staff", Some(p1())).await;
    s.user("worker", "outreach_worker", Some(east())).await;
    s.user("bo", "backbone_staff", Some(p1())).await;
    let bo = session(&s, "bo", "password-123").await;

    // The users page lists only whom bo manages: the worker.
    let users = get(&s, "/users", Some(&bo)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(
        users.body.contains("data-user=\"worker\""),
        "{}",
        users.body
    );
    for hidden in ["padmin", "peer", "admin", "bo"] {
        assert!(
            !users.body.contains(&format!("data-user=\"{hidden}\"")),
            "bo must not manage {hidden}"
        );
    }
    let csrf = hidden_csrf(&get(&s, "/dashboard", Some(&bo)).await.body);

    // Enrolling a device for the admin, the unscoped admin or a peer reads as a
    // missing user, and makes no code.
    let codes_before = s.sql("SELECT COUNT(*) FROM enrollment_codes");
    for target in ["padmin", "admin", "peer"] {
        let page = post_form(
            &s,
            &format!("/users/{}/enroll", id_of(&s, target)),
            &bo,
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::NOT_FOUND,
            "bo enrolls for {target}"
        );
    }
    assert_eq!(s.sql("SELECT COUNT(*) FROM enrollment_codes"), codes_before);
    // The worker: yes.
    let page = post_form(
        &s,
        &format!("/users/{}/enroll", id_of(&s, "worker")),
        &bo,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("enrollment-code"));

    // Revoking the admin's or the peer's devices: not found, still active.
    for target in ["padmin", "peer"] {
        let device: String = s
            .storage
            .devices()
            .unwrap()
            .into_iter()
            .find(|d| d.username == target)
            .unwrap()
            .id;
        let page = post_form(
            &s,
            &format!("/devices/{device}/revoke"),
            &bo,
            &format!("csrf={csrf}"),
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::NOT_FOUND,
            "bo revokes {target}'s device"
        );
        let devices = get(&s, "/devices", Some(&bo)).await.body;
        assert!(
            !devices.contains(&device),
            "{target}'s device is not listed"
        );
    }
    let revoked = s.sql("SELECT COUNT(*) FROM devices WHERE revoked_at IS NOT NULL");
    assert_eq!(revoked, 0, "nothing was revoked");
}

async fn a_scoped_admin_acts_only_within_its_scope(s: TestServer) {
    let padmin = s.user("padmin", "admin", Some(p1())).await;
    let worker = s.user("worker", "outreach_worker", Some(east())).await;
    let elsewhere = s
        .user(
            "elsewhere",
            "outreach_worker",
            Some(Scope::partnership("p2")),
        )
        .await;

    // No unscoped user, no user outside p1, whatever the role.
    for (name, role, scope) in [
        ("root", "admin", None),
        ("p2admin", "admin", Some(Scope::partnership("p2"))),
        (
            "p2worker",
            "outreach_worker",
            Some(Scope::partnership("p2")),
        ),
    ] {
        let r = s
            .post("/v1/admin/users", Some(&padmin), &create(name, role, scope))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "padmin creates {name}");
        assert_eq!(r.error().error, "forbidden");
    }
    assert!(
        s.sign_in("root", "password-123").await.is_err(),
        "no unscoped admin was made"
    );
    // Within p1: workers, staff and admins too.
    for (name, role, scope) in [
        ("w2", "outreach_worker", Some(east())),
        ("padmin2", "admin", Some(p1())),
        ("eastadmin", "admin", Some(east())),
    ] {
        let r = s
            .post("/v1/admin/users", Some(&padmin), &create(name, role, scope))
            .await;
        assert_eq!(r.status, StatusCode::OK, "padmin creates {name}");
    }
    // The unscoped admin still makes an unscoped one.
    let r = s
        .post(
            "/v1/admin/users",
            Some(&s.admin),
            &create("root2", "admin", None),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // Revoking: the p1 worker's device, yes; the p2 worker's and the unscoped
    // admin's, no (they read as unknown, and stay active).
    let device_of = |token: &str| match s.storage.authenticate(token).unwrap() {
        server::storage::TokenCheck::Valid(c) => c.device_id,
        other => panic!("{other:?}"),
    };
    let revoke = |device: String| RevokeDeviceRequest {
        v: PROTOCOL_VERSION,
        device_id: device,
    };
    for (token, allowed) in [(&elsewhere, false), (&s.admin, false), (&worker, true)] {
        let r: RevokeDeviceResponse = s
            .post(
                "/v1/admin/devices/revoke",
                Some(&padmin),
                &revoke(device_of(token)),
            )
            .await
            .message();
        assert_eq!(r.revoked, allowed);
        let still = matches!(
            s.storage.authenticate(token).unwrap(),
            server::storage::TokenCheck::Valid(_)
        );
        assert_eq!(still, !allowed);
    }
}
