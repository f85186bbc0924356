//! People and places on the staff pages (issue 22): users made, edited, deactivated
//! and reactivated from the browser, one-time password-reset links, enrollment codes
//! for new phone users, the managed lists scopes choose from, who may act for whom,
//! and the audit log of every act — through the real router, on both databases.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use server::api::EnrollRequest;
use sync_core::protocol::{TokenResponse, PROTOCOL_VERSION};

on_both_backends!(
    an_admin_makes_a_worker_and_a_partner_who_get_in_once,
    backbone_staff_stay_below_their_role_and_within_the_lists,
    deactivation_stops_devices_and_sign_in_until_reactivated,
    an_admin_of_one_partnership_reads_its_acts_only,
);

/// The value of `attr` on the element with `id="{id}"`.
fn attr(body: &str, id: &str, attr: &str) -> String {
    let element = between(body, &format!("id=\"{id}\""), ">");
    let value = between(element, &format!("{attr}=\""), "\"");
    value[attr.len() + 2..value.len() - 1].to_string()
}

/// The text of the element with `id="{id}"` (up to its first `<`).
fn text(body: &str, id: &str) -> String {
    let element = between(body, &format!("id=\"{id}\""), "<");
    element[element.find('>').unwrap() + 1..element.len() - 1].to_string()
}

async fn admin_session(s: &TestServer) -> (String, String) {
    let cookie = session(s, "admin", ADMIN_PASSWORD).await;
    let page = get(s, "/users", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = hidden_csrf(&page.body);
    (cookie, csrf)
}

async fn add_entry(s: &TestServer, cookie: &str, csrf: &str, kind: &str, code: &str) {
    let page = post_form(
        s,
        "/lists",
        cookie,
        &format!("csrf={csrf}&kind={kind}&code={code}&label=The+{code}"),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
}

fn enroll_request(code: &str) -> EnrollRequest {
    EnrollRequest {
        v: PROTOCOL_VERSION,
        code: code.into(),
        device_name: "wanda's phone".into(),
    }
}

async fn an_admin_makes_a_worker_and_a_partner_who_get_in_once(s: TestServer) {
    let (admin, csrf) = admin_session(&s).await;
    add_entry(&s, &admin, &csrf, "neighborhood", "east").await;
    add_entry(&s, &admin, &csrf, "organization", "helpers").await;
    let lists = get(&s, "/lists", Some(&admin)).await;
    assert!(lists.body.contains("data-entry=\"east\""), "{}", lists.body);
    assert!(lists.body.contains("The helpers"));

    // An outreach worker: no password, an enrollment code for the phone.
    let users = get(&s, "/users", Some(&admin)).await;
    assert!(users.body.contains("id=\"create-user\""));
    assert!(users
        .body
        .contains("<option value=\"east\">The east</option>"));
    let made = post_form(
        &s,
        "/users",
        &admin,
        &format!(
            "csrf={csrf}&username=wanda&role=outreach_worker&partnership=p1\
             &organization=&neighborhood=east&program=&family=&language=es"
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(!made.body.contains("id=\"reset-link\""), "a phone user");
    let enroll_action = attr(&made.body, "make-enrollment", "action");
    let code_page = post_form(&s, &enroll_action, &admin, &format!("csrf={csrf}")).await;
    assert_eq!(code_page.status, StatusCode::OK, "{}", code_page.body);
    let code = text(&code_page.body, "enrollment-code");
    assert!(attr(&code_page.body, "enrollment-link", "href").ends_with(&code));
    let phone: TokenResponse = s
        .post("/v1/auth/enroll", None, &enroll_request(&code))
        .await
        .message();
    assert_eq!(phone.username, "wanda");
    assert_eq!(phone.scope, Some(east()));
    s.pull_ok(&phone.token, None, 10, 1_000_000).await;
    assert!(
        s.sign_in("wanda", "").await.is_err(),
        "no password until one is set"
    );

    // A partner staff member: a one-time link to set a password.
    let made = post_form(
        &s,
        "/users",
        &admin,
        &format!(
            "csrf={csrf}&username=pat&role=partner_staff&partnership=p1\
             &organization=helpers&language=en"
        ),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let pat_id = attr(&made.body, "created-user", "data-user-id");
    let link = attr(&made.body, "reset-link", "href");
    let path = &link[link.find("/reset/").unwrap()..];
    assert_eq!(
        sign_in(&s, "pat", "a-new-password").await.status,
        StatusCode::UNAUTHORIZED
    );
    let form = get(&s, path, None).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert_eq!(text(&form.body, "reset-user"), "pat");
    let differ = post_form(&s, path, "", "password=a-new-password&confirm=other-one").await;
    assert_eq!(differ.status, StatusCode::BAD_REQUEST);
    let short = post_form(&s, path, "", "password=short&confirm=short").await;
    assert_eq!(short.status, StatusCode::BAD_REQUEST);
    let set = post_form(
        &s,
        path,
        "",
        "password=a-new-password&confirm=a-new-password",
    )
    .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.body);
    assert!(set.body.contains("id=\"reset-done\""));
    let pat = session(&s, "pat", "a-new-password").await;
    assert_eq!(
        get(&s, "/dashboard", Some(&pat)).await.status,
        StatusCode::OK
    );
    // The link works once.
    assert_eq!(get(&s, path, None).await.status, StatusCode::GONE);
    let again = post_form(
        &s,
        path,
        "",
        "password=stolen-password&confirm=stolen-password",
    )
    .await;
    assert_eq!(again.status, StatusCode::GONE);
    assert_eq!(
        sign_in(&s, "pat", "stolen-password").await.status,
        StatusCode::UNAUTHORIZED
    );
    // A fresh link, expired, is refused with the same clear page.
    let reset = post_form(
        &s,
        &format!("/users/{pat_id}/reset"),
        &admin,
        &format!("csrf={csrf}"),
    )
    .await;
    let fresh = attr(&reset.body, "reset-link", "href");
    let fresh = &fresh[fresh.find("/reset/").unwrap()..];
    assert_eq!(get(&s, fresh, None).await.status, StatusCode::OK);
    assert_eq!(
        s.sql("UPDATE password_resets SET expires_at = 0 WHERE used_at IS NULL"),
        1
    );
    let expired = get(&s, fresh, None).await;
    assert_eq!(expired.status, StatusCode::GONE);
    assert!(expired.body.contains("expired"), "{}", expired.body);

    // Partner staff reach none of these pages.
    for page in ["/users", "/lists", "/audit", &format!("/users/{pat_id}")] {
        assert_eq!(
            get(&s, page, Some(&pat)).await.status,
            StatusCode::FORBIDDEN,
            "{page}"
        );
    }
    let pat_csrf = hidden_csrf(&get(&s, "/dashboard", Some(&pat)).await.body);
    let refused = post_form(
        &s,
        "/users",
        &pat,
        &format!("csrf={pat_csrf}&username=eve&role=parent&language=en"),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The audit log names every act and its actor, newest first.
    let audit = get(&s, "/audit", Some(&admin)).await;
    assert_eq!(audit.status, StatusCode::OK);
    let body = &audit.body;
    for (action, subject) in [
        ("list.add", "neighborhood/east"),
        ("list.add", "organization/helpers"),
        ("user.create", "wanda"),
        ("enrollment.create", "wanda"),
        ("user.create", "pat"),
        ("password.reset_code", "pat"),
        ("password.reset", "pat"),
    ] {
        let line = format!("<code>{action}</code></td><td>{subject}</td>");
        assert!(body.contains(&line), "no {line} in {body}");
    }
    assert!(body.contains("<td>admin</td><td><code>user.create</code></td><td>pat</td>"));
    assert!(body.contains("<td>pat</td><td><code>password.reset</code></td>"));
    let newest = body.find("password.reset_code").unwrap();
    assert!(newest < body.find("list.add").unwrap(), "newest first");
    assert!(
        !body.contains("<td>eve</td>"),
        "a refused act is not logged"
    );
}

async fn backbone_staff_stay_below_their_role_and_within_the_lists(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    s.user("bo", "backbone_staff", Some(east())).await;
    let (admin, csrf) = admin_session(&s).await;
    add_entry(&s, &admin, &csrf, "neighborhood", "east").await;
    add_entry(&s, &admin, &csrf, "neighborhood", "west").await;

    let bo = session(&s, "bo", "password-123").await;
    let bo_csrf = hidden_csrf(&get(&s, "/users", Some(&bo)).await.body);
    let create = |name: &str, role: &str, rest: &str| {
        format!("csrf={bo_csrf}&username={name}&role={role}&neighborhood=east&language=en{rest}")
    };
    for role in ["admin", "backbone_staff"] {
        let page = post_form(&s, "/users", &bo, &create("boss", role, "")).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{role}: {}", page.body);
    }
    let outside = post_form(
        &s,
        "/users",
        &bo,
        &format!("csrf={bo_csrf}&username=wes&role=outreach_worker&neighborhood=west"),
    )
    .await;
    assert_eq!(outside.status, StatusCode::FORBIDDEN, "west is not bo's");
    let users = get(&s, "/users", Some(&bo)).await;
    assert!(
        !users.body.contains("<option value=\"admin\""),
        "bo cannot give admin"
    );
    let made = post_form(&s, "/users", &bo, &create("otto", "outreach_worker", "")).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    assert!(made.body.contains("id=\"make-enrollment\""));
    // bo cannot edit the admin, nor make a worker an admin.
    let admin_id = s.admin_id.clone();
    assert_eq!(
        get(&s, &format!("/users/{admin_id}"), Some(&bo))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let otto = attr(&made.body, "created-user", "data-user-id");
    let promote = post_form(&s, &format!("/users/{otto}"), &bo, &create("", "admin", "")).await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&s, "/audit", Some(&bo)).await.status,
        StatusCode::FORBIDDEN
    );

    // Scopes choose active entries of the lists only.
    let unknown = post_form(
        &s,
        "/users",
        &admin,
        &format!(
            "csrf={csrf}&username=nina&role=outreach_worker&partnership=p1&neighborhood=north"
        ),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.body);
    let off = post_form(
        &s,
        "/lists/neighborhood/west",
        &admin,
        &format!("csrf={csrf}&active=0"),
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    let inactive = post_form(
        &s,
        "/users",
        &admin,
        &format!("csrf={csrf}&username=nina&role=outreach_worker&partnership=p1&neighborhood=west"),
    )
    .await;
    assert_eq!(
        inactive.status,
        StatusCode::BAD_REQUEST,
        "{}",
        inactive.body
    );
    assert!(
        inactive.body.contains("not an active entry"),
        "{}",
        inactive.body
    );
    let lists = get(&s, "/lists", Some(&admin)).await;
    let west = between(&lists.body, "data-entry=\"west\"", "</tr>");
    assert!(
        west.contains("inactive") && west.contains("Reactivate"),
        "{west}"
    );
    let relabel = post_form(
        &s,
        "/lists/neighborhood/east",
        &admin,
        &format!("csrf={csrf}&label=East+side"),
    )
    .await;
    assert_eq!(relabel.status, StatusCode::SEE_OTHER);
    assert!(get(&s, "/users", Some(&admin))
        .await
        .body
        .contains(">East side</option>"));

    // A parent's family is a household in their scope.
    let ana = s.user_id(&worker);
    let (home, created) = household(&ana, east());
    s.push_ok(&worker, &[(home.id(), &created)]).await;
    let parent = |family: String| {
        format!(
            "csrf={bo_csrf}&username=pia&role=parent&neighborhood=east&family={family}&language=es"
        )
    };
    let missing = post_form(&s, "/users", &bo, &parent(uuid::Uuid::new_v4().to_string())).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.body);
    let made = post_form(&s, "/users", &bo, &parent(home.id().to_string())).await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let users = get(&s, "/users", Some(&bo)).await;
    let row = between(&users.body, "data-user=\"pia\"", "</tr>");
    assert!(
        row.contains(&home.id().to_string()) && row.contains("Español"),
        "{row}"
    );
}

async fn deactivation_stops_devices_and_sign_in_until_reactivated(s: TestServer) {
    let token = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&token);
    let code = s.storage.create_enrollment(&ana, "admin").unwrap().code;
    s.pull_ok(&token, None, 10, 1_000_000).await;
    let (admin, csrf) = admin_session(&s).await;

    // Editing keeps a scope level no list names yet (it was set through the API).
    let page = get(&s, &format!("/users/{ana}"), Some(&admin)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page
        .body
        .contains(&format!("data-device=\"{}\"", s_device(&s, &token))));
    let edit = post_form(
        &s,
        &format!("/users/{ana}"),
        &admin,
        &format!("csrf={csrf}&role=outreach_worker&partnership=p1&neighborhood=east&language=es"),
    )
    .await;
    assert_eq!(edit.status, StatusCode::SEE_OTHER, "{}", edit.body);
    assert!(get(&s, &format!("/users/{ana}"), Some(&admin))
        .await
        .body
        .contains("<option value=\"es\" selected>"));

    let off = post_form(
        &s,
        &format!("/users/{ana}/active"),
        &admin,
        &format!("csrf={csrf}&active=0"),
    )
    .await;
    assert_eq!(off.status, StatusCode::SEE_OTHER, "{}", off.body);
    assert_eq!(
        s.pull(&token, None, 10, 1_000_000).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(s.sign_in("ana", "password-123").await.is_err());
    let enrolled = s
        .post("/v1/auth/enroll", None, &enroll_request(&code))
        .await;
    assert_eq!(
        enrolled.status,
        StatusCode::UNAUTHORIZED,
        "open codes are void"
    );
    let page = get(&s, &format!("/users/{ana}"), Some(&admin)).await;
    assert!(between(&page.body, "id=\"user-status\"", "</p>").contains("Deactivated"));
    let users = get(&s, "/users", Some(&admin)).await;
    let row = between(&users.body, "data-user=\"ana\"", "</tr>");
    assert!(
        row.contains("deactivated") && !row.contains("/enroll"),
        "{row}"
    );
    let no_code = post_form(
        &s,
        &format!("/users/{ana}/enroll"),
        &admin,
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(no_code.status, StatusCode::BAD_REQUEST);
    // Without the CSRF token nothing happens.
    let forged = post_form(
        &s,
        &format!("/users/{ana}/active"),
        &admin,
        "csrf=forged&active=1",
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(s.sign_in("ana", "password-123").await.is_err());

    let on = post_form(
        &s,
        &format!("/users/{ana}/active"),
        &admin,
        &format!("csrf={csrf}&active=1"),
    )
    .await;
    assert_eq!(on.status, StatusCode::SEE_OTHER);
    let back = s.sign_in("ana", "password-123").await.unwrap();
    s.pull_ok(&back.token, None, 10, 1_000_000).await;
    assert_eq!(
        s.pull(&token, None, 10, 1_000_000).await.status,
        StatusCode::UNAUTHORIZED,
        "old devices stay revoked"
    );

    // A device revoked from the user's page: back to that page, its token stops.
    let device = s_device(&s, &back.token);
    let revoked = post_form(
        &s,
        &format!("/devices/{device}/revoke"),
        &admin,
        &format!("csrf={csrf}&back=/users/{ana}"),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(
        revoked.headers["location"],
        format!("/users/{ana}").as_str()
    );
    assert_eq!(
        s.pull(&back.token, None, 10, 1_000_000).await.status,
        StatusCode::UNAUTHORIZED
    );

    let audit = get(&s, "/audit", Some(&admin)).await.body;
    for action in [
        "user.create",
        "user.edit",
        "user.deactivate",
        "user.reactivate",
        "device.revoke",
    ] {
        let line = format!("<td>admin</td><td><code>{action}</code></td><td>ana</td>");
        assert!(audit.contains(&line), "no {line} in {audit}");
    }
}

/// The device id of a token.
fn s_device(s: &TestServer, token: &str) -> String {
    match s.storage.authenticate(token).unwrap() {
        server::storage::TokenCheck::Valid(caller) => caller.device_id,
        _ => panic!("not a valid token"),
    }
}

async fn an_admin_of_one_partnership_reads_its_acts_only(s: TestServer) {
    // Two partnerships' admins, each acting once (an export downloaded, say).
    let mut lines = Vec::new();
    for (name, partnership) in [("ada", "p1"), ("zed", "p2")] {
        let token = s
            .user(
                name,
                "admin",
                Some(sync_core::Scope::partnership(partnership)),
            )
            .await;
        let server::storage::TokenCheck::Valid(caller) = s.storage.authenticate(&token).unwrap()
        else {
            panic!("{name}'s token");
        };
        let subject = format!("the {partnership} export");
        s.storage
            .audit(&server::storage::Act {
                actor: &caller,
                address: "127.0.0.1",
                action: "export.download",
                subject: &subject,
                detail: String::new(),
            })
            .unwrap();
        lines.push(format!(
            "<td>{name}</td><td><code>export.download</code></td><td>{subject}</td>"
        ));
    }
    let (admin, _) = admin_session(&s).await;
    let ada = session(&s, "ada", "password-123").await;
    let zed = session(&s, "zed", "password-123").await;
    let everyone = get(&s, "/audit", Some(&admin)).await.body;
    assert!(lines.iter().all(|l| everyone.contains(l)), "{everyone}");
    let p1 = get(&s, "/audit", Some(&ada)).await.body;
    assert!(p1.contains(&lines[0]) && !p1.contains(&lines[1]), "{p1}");
    let p2 = get(&s, "/audit", Some(&zed)).await.body;
    assert!(p2.contains(&lines[1]) && !p2.contains(&lines[0]), "{p2}");
    // The server-wide admin's own acts (creating them) are not a partnership's.
    assert!(!p1.contains("<td>admin</td>"), "{p1}");
}
