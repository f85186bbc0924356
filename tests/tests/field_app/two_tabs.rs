//! 7. The app opened in a second tab while a first has it (the setup link tapped again,
//!    the installed app and a browser tab): the store can be open in one tab at a time,
//!    so the second says the app is open elsewhere (not that the browser keeps no data)
//!    and, once the first is closed, carries on by itself with the same session.

use scenarios::a11y::audit;
use scenarios::app_page::{core, enroll, enrollment_code, phone, screen};
use scenarios::chromium::{goto, Screenshots};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_tab_waits_for_the_first_and_then_carries_on() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let super::Partnership {
        dir,
        driver,
        server,
        base,
    } = super::Partnership::start().await;
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/7-two-tabs");
    let c = phone(&driver, &dir.path().join("phone")).await;
    enroll(&c, &base, &enrollment_code(&server, "ana"), "worker-home").await;
    core(&c, "createHousehold", json!(["Familia Vega", "5 Oak St"])).await;
    let first = c.window().await.unwrap();

    let second = c.new_window(true).await.unwrap().handle;
    c.switch_to_window(second.clone()).await.unwrap();
    goto(&c, &format!("{base}/app/")).await;
    screen(&c, "in-another-tab").await;
    shots.take(&c, "second-tab-waits").await;
    let problems = audit(&c, "in another tab", "en").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // The first tab closed, the second opens the store: the same worker, the same data.
    c.switch_to_window(first).await.unwrap();
    c.close_window().await.unwrap();
    c.switch_to_window(second).await.unwrap();
    screen(&c, "worker-home").await;
    shots.take(&c, "second-tab-carries-on").await;
    assert_eq!(core(&c, "session", json!([])).await["username"], "ana");
    let households = core(&c, "households", json!([])).await;
    assert_eq!(households[0]["name"], "Familia Vega", "{households}");
    c.close().await.unwrap();
    shots.assert_all_png();
}
