//! 2. Two browsers of the same worker edit the same household's survey offline; after
//!    both sync, both show the conflict; staff resolve it on the web; both browsers
//!    get the resolution.

use scenarios::app_page::{core, enroll, enrollment_code, phone, screen, staff_sign_in, sync};
use scenarios::chromium::{all, click, find, goto, set_offline, Screenshots};
use serde_json::json;

use fantoccini::Client;

/// Open the household's (only) response on `c` and answer consent with `value`.
async fn answer_consent(c: &Client, value: &str) {
    click(c, "[data-test=household-row]").await;
    screen(c, "household").await;
    click(c, "[data-test=response-row]").await;
    screen(c, "survey").await;
    click(
        c,
        &format!("label.choice:has(input[name='consent'][value='{value}'])"),
    )
    .await;
    find(
        c,
        &format!("input[name='consent'][value='{value}']:checked"),
    )
    .await;
    click(c, "[data-test=close-survey]").await;
    screen(c, "household").await;
}

/// Whether the household page on `c` shows its response in conflict.
async fn shows_conflict(c: &Client) -> bool {
    goto(c, &format!("{}app/", base_of(c).await)).await;
    scenarios::app_page::ready(c).await;
    screen(c, "worker-home").await;
    click(c, "[data-test=household-row]").await;
    screen(c, "household").await;
    find(c, "[data-test=response-row]").await;
    !all(c, "[data-test=response-row] [data-test=conflict-badge]")
        .await
        .is_empty()
}

async fn base_of(c: &Client) -> String {
    let url = c.current_url().await.unwrap();
    format!("{}://{}/", url.scheme(), url.authority())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_conflict_and_staff_resolve_it() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let super::Partnership {
        dir,
        driver,
        server,
        base,
    } = super::Partnership::start().await;
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/2-conflict");

    let a = phone(&driver, &dir.path().join("a")).await;
    let b = phone(&driver, &dir.path().join("b")).await;
    enroll(&a, &base, &enrollment_code(&server, "ana"), "worker-home").await;
    enroll(&b, &base, &enrollment_code(&server, "ana"), "worker-home").await;

    // Phone a records a household and starts its survey; both phones sync.
    let household = core(&a, "createHousehold", json!(["Familia Soto", "4 Oak Ave"])).await;
    let household = household.as_str().unwrap().to_string();
    let started = core(
        &a,
        "startResponse",
        json!(["household_survey", household, "en"]),
    )
    .await;
    let response = started["id"].as_str().unwrap().to_string();
    sync(&a).await;
    sync(&b).await;
    let on_b = core(&b, "responses", json!([null])).await;
    assert_eq!(on_b[0]["id"], response.as_str(), "b received the draft");

    // Offline, each phone answers consent differently, through the survey screen.
    goto(&a, &format!("{base}/app/")).await;
    goto(&b, &format!("{base}/app/")).await;
    for (c, value) in [(&a, "yes"), (&b, "no")] {
        scenarios::app_page::ready(c).await;
        screen(c, "worker-home").await;
        set_offline(c, true).await;
        answer_consent(c, value).await;
    }
    shots.take(&a, "a-offline-yes").await;
    shots.take(&b, "b-offline-no").await;

    // Online: a, b, a sync; both show the conflict.
    for c in [&a, &b] {
        set_offline(c, false).await;
    }
    for c in [&a, &b, &a] {
        sync(c).await;
    }
    for (c, name) in [(&a, "a-conflict"), (&b, "b-conflict")] {
        assert!(shows_conflict(c).await, "{name}");
        shots.take(c, name).await;
        let conflicts = core(c, "conflicts", json!([response])).await;
        assert_eq!(conflicts[0]["path"], "consent", "{conflicts}");
        assert_eq!(conflicts[0]["values"].as_array().unwrap().len(), 2);
    }
    // The phone's conflict screen lists both values with their authors.
    assert!(shows_conflict(&a).await);
    click(
        &a,
        &format!("[data-test=resolve-conflicts][data-id='{response}']"),
    )
    .await;
    screen(&a, "conflicts").await;
    find(&a, "[data-test=conflict][data-path=consent]").await;
    assert_eq!(all(&a, "[data-test=conflict-value]").await.len(), 2);
    shots.take(&a, "a-conflict-screen").await;

    // Staff resolve it on the web, choosing "yes".
    let staff = driver.browser(&Default::default()).await;
    staff_sign_in(&staff, &base, "bea").await;
    goto(&staff, &format!("{base}/records/{response}")).await;
    find(&staff, "section#conflicts form.resolve").await;
    let choices = all(&staff, "form.resolve input[name=choice]").await;
    let mut picked = false;
    for choice in &choices {
        if choice.attr("value").await.unwrap().as_deref() == Some("\"yes\"") {
            choice.click().await.unwrap();
            picked = true;
        }
    }
    assert!(picked, "the staff page offers the value yes");
    shots.take(&staff, "staff-conflict").await;
    click(&staff, "form.resolve button[type=submit]").await;
    find(&staff, "p#no-conflicts").await;

    // Both phones get the resolution.
    for (c, name) in [(&a, "a-resolved"), (&b, "b-resolved")] {
        sync(c).await;
        assert!(!shows_conflict(c).await, "{name} still shows the conflict");
        shots.take(c, name).await;
        let view = core(c, "response", json!([response, "en"])).await;
        let consent = view["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["path"] == "consent")
            .unwrap()["value"]
            .clone();
        assert_eq!(consent, json!({"type": "text", "value": "yes"}), "{name}");
        assert_eq!(core(c, "conflicts", json!([response])).await, json!([]));
    }
    shots.assert_all_png();
    assert!(!server.log_has_panic());
}
