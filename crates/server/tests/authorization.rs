//! The authorization matrix: every role, against the sync feed and every staff page
//! and export, with records in and out of its scope. Each cell asserts allowed or
//! denied, and a denied record reads exactly like a missing one.
//!
//! Records: a survey response in p1/east, a household in p1/west, a parent's check-in
//! in p1/east/family rivera, a case note of the confidential program "counseling" of
//! the organization "library", and a household of another partnership (p2).
//!
//! Covered: the sync feed, repair, the admin endpoints (users, revoke, purge), and on
//! the staff pages the dashboard, an indicator, the record list and each record's page,
//! the export, users, devices, targets, the smallest cell, and the resolve, purge,
//! revoke, enroll and upload forms. Push by role is `hostile.rs`; sign-in and
//! enrollment by code are `auth.rs` and `web_staff.rs`.

mod common;

use std::collections::BTreeSet;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use forms::{Answers, Value};
use server::api::{CreateUserRequest, PurgeRequest, RevokeDeviceRequest};
use sync_core::protocol::{RecordHeads, RepairRequest, RepairResponse, PROTOCOL_VERSION};
use sync_core::{RecordKind, Scope};
use uuid::Uuid;

on_both_backends!(every_role_sees_and_does_what_its_scope_and_role_allow,);

fn library() -> Scope {
    Scope::partnership("p1").with_organization("library")
}

fn counseling() -> Scope {
    library().with_program("counseling")
}

fn rivera() -> Scope {
    east().with_family("rivera")
}

struct Records {
    east: Uuid,
    west: Uuid,
    family: Uuid,
    program: Uuid,
    other_partnership: Uuid,
}

async fn seed(s: &TestServer) -> Records {
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "no")
        .set("interview_language", "en")
        .set("_status", Value::from("final"));
    // The admin writes every record (and so is their author).
    let by = &s.admin_id;
    let items = [
        record(
            by,
            RecordKind::Response,
            east(),
            Some("household_survey"),
            &a,
        ),
        household(by, west()),
        record(
            by,
            RecordKind::Checkin,
            rivera(),
            Some("literacy_checkin"),
            &Answers::new(),
        ),
        record(
            by,
            RecordKind::CaseNote,
            counseling(),
            Some("case_note"),
            &Answers::new(),
        ),
        household(by, Scope::partnership("p2")),
    ];
    let refs: Vec<_> = items.iter().map(|(d, c)| (d.id(), c)).collect();
    let r = s.push_ok(&s.admin, &refs).await;
    assert!(statuses(&r)
        .iter()
        .all(|st| *st == sync_core::protocol::PushStatus::Accepted));
    Records {
        east: items[0].0.id(),
        west: items[1].0.id(),
        family: items[2].0.id(),
        program: items[3].0.id(),
        other_partnership: items[4].0.id(),
    }
}

async fn every_role_sees_and_does_what_its_scope_and_role_allow(s: TestServer) {
    let rec = seed(&s).await;
    let all = [
        rec.east,
        rec.west,
        rec.family,
        rec.program,
        rec.other_partnership,
    ];

    // (user, role, scope, records its feed holds)
    let p1 = Scope::partnership("p1");
    let matrix: Vec<(&str, &str, Option<Scope>, Vec<Uuid>)> = vec![
        (
            "backbone",
            "backbone_staff",
            Some(p1.clone()),
            vec![rec.east, rec.west, rec.family],
        ),
        ("partner", "partner_staff", Some(library()), vec![]),
        (
            "counselor",
            "partner_staff",
            Some(counseling()),
            vec![rec.program],
        ),
        (
            "worker",
            "outreach_worker",
            Some(east()),
            vec![rec.east, rec.family],
        ),
        ("parent", "parent", Some(rivera()), vec![rec.family]),
        ("funder", "reports_only", Some(p1.clone()), vec![]),
        (
            "elsewhere",
            "backbone_staff",
            Some(Scope::partnership("p2")),
            vec![rec.other_partnership],
        ),
    ];

    // The sync feed, repair and the admin endpoints.
    let (pages, _) = pull_all(&s, &s.admin, 500, 10_000_000).await;
    let admin_sees: BTreeSet<Uuid> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.record))
        .collect();
    assert_eq!(admin_sees, all.into_iter().collect());
    for (name, role, scope, expected) in &matrix {
        let token = s.user(name, role, scope.clone()).await;
        if *role == "reports_only" {
            let r = s.pull(&token, None, 100, 1_000_000).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} pulls");
            continue;
        }
        let (pages, _) = pull_all(&s, &token, 500, 10_000_000).await;
        let seen: BTreeSet<Uuid> = pages
            .iter()
            .flat_map(|p| p.changes.iter().map(|c| c.record))
            .collect();
        assert_eq!(seen, expected.iter().copied().collect(), "{name}'s feed");
        // Repair answers heads for visible records only; an invisible one reads as
        // unknown, like a missing one.
        let ask = RepairRequest {
            v: PROTOCOL_VERSION,
            records: all
                .iter()
                .chain([&Uuid::new_v4()])
                .map(|id| RecordHeads {
                    record: *id,
                    heads: vec![],
                })
                .collect(),
        };
        let answer: RepairResponse = s
            .post("/v1/sync/repair", Some(&token), &ask)
            .await
            .message();
        assert_eq!(answer.records.len(), all.len() + 1);
        for heads in &answer.records {
            assert_eq!(
                !heads.heads.is_empty(),
                expected.contains(&heads.record),
                "{name} repairs {}",
                heads.record
            );
        }
    }
    // Only an admin creates users, revokes devices and purges.
    for (name, role, scope, _) in &matrix {
        let token = s.sign_in(name, "password-123").await.unwrap().token;
        let create = CreateUserRequest {
            v: PROTOCOL_VERSION,
            username: format!("{name}-made"),
            password: "password-123".into(),
            role: "parent".into(),
            scope: scope.clone(),
        };
        let purge = PurgeRequest {
            v: PROTOCOL_VERSION,
            subject: rec.west,
            reason: "test".into(),
        };
        let revoke = RevokeDeviceRequest {
            v: PROTOCOL_VERSION,
            device_id: "none".into(),
        };
        for status in [
            s.post("/v1/admin/users", Some(&token), &create)
                .await
                .status,
            s.post("/v1/admin/purge", Some(&token), &purge).await.status,
            s.post("/v1/admin/devices/revoke", Some(&token), &revoke)
                .await
                .status,
        ] {
            assert_eq!(status, StatusCode::FORBIDDEN, "{name} ({role})");
        }
    }
    assert!(
        s.storage.record(rec.west).unwrap().is_some(),
        "nobody purged it"
    );

    // The pages. Phone roles cannot open a session at all.
    for name in ["worker", "parent"] {
        let page = sign_in(&s, name, "password-123").await;
        assert_eq!(
            page.status,
            StatusCode::FORBIDDEN,
            "{name} signs in on the web"
        );
    }
    let missing = Uuid::new_v4();
    let mut staff: Vec<(&str, &str, Vec<Uuid>)> = matrix
        .iter()
        .filter(|(_, role, ..)| *role != "outreach_worker" && *role != "parent")
        .map(|(name, role, _, seen)| (*name, *role, seen.clone()))
        .collect();
    staff.push(("admin", "admin", all.to_vec()));
    let worker_id = s
        .storage
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == "worker")
        .unwrap()
        .id;
    for (name, role, visible) in &staff {
        let password = if *name == "admin" {
            ADMIN_PASSWORD
        } else {
            "password-123"
        };
        let cookie = session(&s, name, password).await;
        let status = |path: String| {
            let cookie = cookie.clone();
            let s = &s;
            async move { get(s, &path, Some(&cookie)).await }
        };
        // Aggregates: every staff role.
        assert_eq!(
            status("/dashboard".into()).await.status,
            StatusCode::OK,
            "{name}"
        );
        assert_eq!(
            status("/indicators/G13".into()).await.status,
            StatusCode::OK,
            "{name}"
        );

        // Records and exports: not for reports-only.
        let reads_records = *role != "reports_only";
        let list = status("/records".into()).await;
        let export = status("/exports/household_survey".into()).await;
        if reads_records {
            assert_eq!(list.status, StatusCode::OK, "{name}");
            assert_eq!(export.status, StatusCode::OK, "{name}");
        } else {
            assert_eq!(list.status, StatusCode::FORBIDDEN, "{name}");
            assert_eq!(export.status, StatusCode::FORBIDDEN, "{name}");
        }
        let missing_page = status(format!("/records/{missing}")).await;
        for id in all {
            let page = status(format!("/records/{id}")).await;
            let allowed = reads_records && visible.contains(&id);
            if allowed {
                assert_eq!(page.status, StatusCode::OK, "{name} opens {id}");
                assert!(
                    list.body.contains(&id.to_string()),
                    "{name}'s list shows {id}"
                );
            } else {
                assert_ne!(page.status, StatusCode::OK, "{name} opens {id}");
                assert!(
                    !list.body.contains(&id.to_string()),
                    "{name}'s list hides {id}"
                );
                if reads_records {
                    assert_eq!(
                        page.status, missing_page.status,
                        "{name}: {id} reads as missing"
                    );
                    assert_eq!(
                        page.body, missing_page.body,
                        "{name}: {id} reads as missing"
                    );
                }
            }
            assert_eq!(
                export.body.contains(&id.to_string()),
                allowed && id == rec.east,
                "{name}'s export and {id}"
            );
        }

        // Settings, targets, users and devices: admins and backbone staff.
        let manages = matches!(*role, "admin" | "backbone_staff");
        let csrf = hidden_csrf(&status("/dashboard".into()).await.body);
        for page in [
            status("/users".into()).await,
            status("/devices".into()).await,
            status("/indicators/G13/targets".into()).await,
        ] {
            let expected = if manages {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(page.status, expected, "{name}: {}", page.body.len());
        }
        let saved = post_form(
            &s,
            "/settings/min-cell",
            &cookie,
            &format!("csrf={csrf}&min_cell=10"),
        )
        .await;
        let expected = if manages {
            StatusCode::SEE_OTHER
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(saved.status, expected, "{name} sets the smallest cell");

        // The other forms. Each is posted so that, where allowed, it changes nothing
        // (no conflict to resolve, an empty file, a device or record that is not there)
        // and the answer says why; where not allowed, 403 before anything is read.
        let post = |path: String, form: String| {
            let cookie = cookie.clone();
            let s = &s;
            async move { post_form(s, &path, &cookie, &form).await.status }
        };
        let choice = "choice=%22x%22&path=consent";
        for id in all {
            let resolved = post(
                format!("/records/{id}/resolve"),
                format!("csrf={csrf}&{choice}"),
            )
            .await;
            let expected = if !reads_records {
                StatusCode::FORBIDDEN
            } else if visible.contains(&id) {
                StatusCode::BAD_REQUEST // seen, but nothing in conflict
            } else {
                StatusCode::NOT_FOUND // out of scope reads as missing
            };
            assert_eq!(resolved, expected, "{name} resolves on {id}");
        }
        let purge = post(
            format!("/records/{missing}/purge"),
            format!("csrf={csrf}&reason=r"),
        )
        .await;
        let revoke = post(
            "/devices/no-such-device/revoke".into(),
            format!("csrf={csrf}"),
        )
        .await;
        let enroll = post(format!("/users/{worker_id}/enroll"), format!("csrf={csrf}")).await;
        let upload = post_file(&s, "/indicators/upload", &cookie, &csrf, "")
            .await
            .status;
        if manages {
            assert_eq!(purge, StatusCode::NOT_FOUND, "{name} purges");
            assert_eq!(revoke, StatusCode::NOT_FOUND, "{name} revokes");
            assert_eq!(upload, StatusCode::BAD_REQUEST, "{name} uploads");
            // The worker is in p1: not for the backbone staff of p2.
            let mine = *name != "elsewhere";
            let expected = if mine {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(enroll, expected, "{name} enrolls the worker's phone");
        } else {
            for (what, status) in [
                ("purge", purge),
                ("revoke", revoke),
                ("enroll", enroll),
                ("upload", upload),
            ] {
                assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {what}");
            }
        }
    }
}
