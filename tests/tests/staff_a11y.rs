//! The staff site's pages pass the accessibility audit (`scenarios::a11y`) in headless
//! Chromium: every control named, contrast AA, the document's language, no forced tab
//! order, and targets of 24 × 24 CSS px (WCAG 2.2 AA; the field app, made for thumbs,
//! is held to 44). Signed out (sign-in, the public scorecard), then every page of the
//! navigation as an admin, with a user, a device's records and an indicator's page.

use scenarios::a11y::audit_targets;
use scenarios::chromium::{click, find, goto, BrowserOptions, Chromedriver};
use scenarios::device::{device, device_sign_in, sync};
use scenarios::server::{create_user, TestServer, ADMIN_PASSWORD};
use serde_json::json;
use sync_core::{Answers, Commit, RecordKind, Scope};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_page_passes_the_accessibility_audit() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = TestServer::start(&dir.path().join("server"));
    let base = server.url();
    let east = json!({"partnership": "p1", "neighborhood": "east"});
    create_user(&base, "ana", "outreach_worker", east).await;
    // A worker's phone sends a household, so the lists have rows and links.
    let worker = device_sign_in(&base, "ana", "phone").await;
    let store = device(dir.path(), "phone");
    {
        let mut store = store.lock().unwrap();
        let mut fields = Answers::new();
        fields
            .set("name", "Familia Soto")
            .set("address", "3 Pine St");
        let scope = Scope::partnership("p1").with_neighborhood("east");
        let commit = Commit::new(&worker.user_id, "Enrolled");
        store
            .create(RecordKind::Household, scope, None, &fields, &commit)
            .unwrap();
    }
    sync(&store, &base, &worker.token).await.unwrap();

    let c = driver.browser(&BrowserOptions::default()).await;
    let mut problems = Vec::new();
    for page in ["/sign-in", "/scorecard"] {
        goto(&c, &format!("{base}{page}")).await;
        problems.extend(audit_targets(&c, page, "en", 24).await);
    }
    goto(&c, &format!("{base}/sign-in")).await;
    find(&c, "input[name=username]")
        .await
        .send_keys("admin")
        .await
        .unwrap();
    find(&c, "input[name=password]")
        .await
        .send_keys(ADMIN_PASSWORD)
        .await
        .unwrap();
    click(&c, "main button[type=submit]").await;
    find(&c, "table#indicators").await;
    let pages = [
        "/dashboard",
        "/programs",
        "/follow-ups",
        "/responses",
        "/households",
        "/records",
        "/exports",
        "/users",
        "/lists",
        "/devices",
        "/forms",
        "/scorecard/settings",
        "/audit",
        "/indicators/G13",
    ];
    for page in pages {
        goto(&c, &format!("{base}{page}")).await;
        problems.extend(audit_targets(&c, page, "en", 24).await);
    }
    c.close().await.unwrap();
    assert!(
        problems.is_empty(),
        "{} accessibility problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
