//! 4. The tab is closed in the middle of a push (the proxy in front of the server holds
//!    the traffic back, so the push is on the wire when the tab goes) and the app is
//!    opened again: every record reaches the server once, nothing is lost or doubled.

use std::time::Duration;

use scenarios::app_page::{core, enroll, enrollment_code, pending, phone, ready, screen, sync};
use scenarios::chromium::{goto, Chromedriver, Screenshots};
use scenarios::proxy::Proxy;
use scenarios::server::{create_user, TestServer};
use serde_json::json;

const HOUSEHOLDS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_closed_mid_push_loses_and_doubles_nothing() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = TestServer::start(&dir.path().join("server"));
    create_user(
        &server.url(),
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    // The phone reaches the server only through the proxy: its origin is the proxy's.
    let proxy = Proxy::start(server.addr).await;
    let base = proxy.url();
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/4-closed-tab");

    let c = phone(&driver, &dir.path().join("phone")).await;
    enroll(&c, &base, &enrollment_code(&server, "ana"), "worker-home").await;
    for i in 0..HOUSEHOLDS {
        let name = format!("Household {i:02}");
        let id = core(&c, "createHousehold", json!([name, "Elm St"])).await;
        core(&c, "addMember", json!([id, "Kid", "child", null])).await;
    }
    let waiting = pending(&c).await;
    assert_eq!(waiting, 2 * HOUSEHOLDS as u64);

    // Every chunk through the proxy now waits up to 1.5 s: the push is under way
    // when the tab is closed.
    proxy.inject_faults(0, 1500, 7);
    let before = proxy.bytes_up();
    c.execute("document.querySelector('[data-test=sync]').click()", vec![])
        .await
        .unwrap();
    for _ in 0..100 {
        if proxy.bytes_up() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(proxy.bytes_up() > before, "the push started");
    shots.take(&c, "pushing").await;
    let old = c.window().await.unwrap();
    let fresh = c.new_window(true).await.unwrap();
    c.close_window().await.unwrap();
    c.switch_to_window(fresh.handle).await.unwrap();
    assert_ne!(c.window().await.unwrap(), old);
    proxy.stop_faults();

    // Opened again: the work is there, and one more sync sends what the server lacks.
    goto(&c, &format!("{base}/app/")).await;
    ready(&c).await;
    screen(&c, "worker-home").await;
    let households = core(&c, "households", json!([])).await;
    assert_eq!(households.as_array().unwrap().len(), HOUSEHOLDS);
    if pending(&c).await > 0 {
        sync(&c).await;
    }
    // An automatic sync at start may still be running: wait for the outbox to empty.
    for _ in 0..100 {
        if pending(&c).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(pending(&c).await, 0);
    shots.take(&c, "reopened-synced").await;

    let count = |sql: &str| server.column::<i64>(sql)[0];
    assert_eq!(
        count("SELECT COUNT(*) FROM records WHERE kind = 'household'"),
        HOUSEHOLDS as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM records WHERE kind = 'person'"),
        HOUSEHOLDS as i64
    );
    // One change per record (each was created in one change), none twice.
    assert_eq!(count("SELECT COUNT(*) FROM changes"), 2 * HOUSEHOLDS as i64);
    // A last sync sends nothing more.
    sync(&c).await;
    assert_eq!(count("SELECT COUNT(*) FROM changes"), 2 * HOUSEHOLDS as i64);
    shots.assert_all_png();
    assert!(!server.log_has_panic());
}
