//! The browser field app (`/app/`, the core compiled to WebAssembly) in Debian's
//! headless Chromium on a phone-sized screen, against a real server process. A
//! screenshot follows every step, in `target/screenshots-app/<scenario>/`.
//!
//! 1. (here) An outreach worker enrolls from the link the users page makes, goes
//!    offline (network emulation), reloads the app offline, records a household and
//!    a survey with three children, finalizes; syncs with the server stopped (refused
//!    as offline, nothing lost, even over a reload), then online: the server holds
//!    exactly those records, once, and the staff pages show them; the browser
//!    restarted still holds them.
//! 2. `conflict`: two browsers edit the same survey offline; both show the conflict;
//!    staff resolve it on the web; both get the resolution.
//! 3. `parent`: a parent checks in in Spanish offline and syncs; their browser holds
//!    no other family's record; a record a parent may not write is refused, with why.
//! 4. `closed_tab`: the tab is closed in the middle of a push; reopened, nothing is
//!    lost or doubled.
//! 5. `photo_revoked`: a photo reaches the server whole; the phone, revoked by staff,
//!    is wiped at its next sync.
//! 6. `accessibility`: every screen of a worker's survey, in Spanish on the phone,
//!    passes the accessibility audit (`scenarios::a11y`).
//! 7. `two_tabs`: a second tab says the app is open in the first, and carries on by
//!    itself once the first is closed.
//! 8. `no_storage`: at an address where the browser keeps no data (http:// on a
//!    network name), the app says why, in the phone's language, and offers no form.
//!
//! The scenarios take turns (`one_at_a_time`): each runs a server and Chromium.

use fantoccini::Client;
use scenarios::app_page::{
    controlled, core, next_screen, outbox, questions_on_screen, ready, screen, staff_sign_in,
    survey_step, sync, wait_for_final, Shown,
};
use scenarios::chromium::{
    all, click, find, goto, set_offline, text, type_into, BrowserOptions, Chromedriver, Screenshots,
};
use scenarios::server::{create_user, TestServer};
use serde_json::json;

/// The household survey's answers, by question name; a child's by instance (1-based).
fn survey_answer(name: &str, child: Option<usize>) -> Option<&'static str> {
    Some(match (name, child) {
        ("consent" | "has_child", None) => "yes",
        ("interview_language", None) => "es",
        ("home_language", None) => "es",
        ("feel_safe_day", None) => "somewhat_safe",
        ("home_internet", None) => "yes",
        ("home_devices", None) => "smartphone",
        ("age_years", Some(1)) => "4",
        ("age_years", Some(2)) => "9",
        ("age_years", Some(3)) => "15",
        ("grade", Some(1)) => "prek",
        ("grade", Some(2)) => "3",
        ("grade", Some(3)) => "10",
        ("hispanic", Some(_)) => "yes",
        ("race", Some(_)) => "white",
        ("usual_place", Some(_)) => "yes",
        ("place_type", Some(_)) => "clinic",
        ("early_learning", Some(_)) => "head_start",
        ("read_times", Some(_)) => "daily",
        ("college_talk", Some(_)) => "yes",
        _ => return None,
    })
}

/// `child[2]/age_years` → ("age_years", Some(2)).
fn split_path(path: &str) -> (&str, Option<usize>) {
    let name = path.rsplit('/').next().unwrap_or(path);
    let child = path
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .and_then(|(n, _)| n.parse().ok());
    (name, child)
}

/// Answer every question the survey shows, screen by screen, adding three children,
/// up to the review screen.
async fn answer_survey(c: &Client, shots: &mut Screenshots) {
    let mut children = 0;
    for step in 0..80 {
        screen(c, "survey").await;
        if survey_step(c).await == "finalize" {
            return;
        }
        if !all(c, "[data-test=add-repeat]").await.is_empty() {
            if children < 3 {
                children += 1;
                click(c, "[data-test=add-repeat]").await;
                // The new child's first screen.
                find(
                    c,
                    &format!("[data-test=question][data-path^='child[{children}]']"),
                )
                .await;
                continue;
            }
            next_screen(c).await;
            continue;
        }
        for Shown { path, kind, .. } in questions_on_screen(c).await {
            let (name, child) = split_path(&path);
            let Some(value) = survey_answer(name, child) else {
                continue;
            };
            match kind.as_str() {
                "select_one" | "select_multiple" => {
                    let css = format!("label.choice:has(input[name='{path}'][value='{value}'])");
                    click(c, &css).await;
                }
                _ => type_into(c, &format!("input[name='{path}']"), value).await,
            }
        }
        if step < 3 || children > 0 && step % 4 == 0 {
            shots.take(c, &format!("survey-{step}")).await;
        }
        next_screen(c).await;
    }
    panic!("the survey never reached its review screen");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_enrolls_records_offline_and_syncs_exactly_once() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let Partnership {
        dir,
        driver,
        mut server,
        base,
    } = Partnership::start().await;
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/1-worker");

    // Staff make an enrollment link on the users page.
    let staff = driver.browser(&BrowserOptions::default()).await;
    staff_sign_in(&staff, &base, "bea").await;
    goto(&staff, &format!("{base}/users")).await;
    click(&staff, "tr[data-user=ana] button[type=submit]").await;
    let link = find(&staff, "a#enrollment-link").await;
    let link = link.attr("href").await.unwrap().unwrap();
    assert!(link.starts_with(&format!("{base}/app/#enroll=")), "{link}");
    shots.take(&staff, "staff-enrollment-link").await;

    // 1. The worker opens it on the phone: enrolled, the code gone from the address.
    let phone = scenarios::app_page::phone(&driver, &dir.path().join("phone-profile")).await;
    goto(&phone, &link).await;
    ready(&phone).await;
    screen(&phone, "worker-home").await;
    let address = phone.current_url().await.unwrap();
    assert!(!address.as_str().contains("enroll"), "{address}");
    let session = core(&phone, "session", json!([])).await;
    assert_eq!(session["username"], "ana");
    assert_eq!(session["role"], "outreach_worker");
    shots.take(&phone, "enrolled").await;
    controlled(&phone).await;

    // 2. Offline (no network at all), the app still opens on a reload.
    set_offline(&phone, true).await;
    phone.refresh().await.unwrap();
    ready(&phone).await;
    screen(&phone, "worker-home").await;
    shots.take(&phone, "offline-reload").await;

    // 3. A household, one member, a survey with three children, finalized.
    click(&phone, "[data-test=add-household]").await;
    find(&phone, "[data-test=household-name]")
        .await
        .send_keys("Familia Rivera")
        .await
        .unwrap();
    find(&phone, "[data-test=household-address]")
        .await
        .send_keys("12 Elm St")
        .await
        .unwrap();
    shots.take(&phone, "add-household").await;
    click(&phone, "[data-test=save-household]").await;
    screen(&phone, "household").await;
    click(&phone, "details.add summary").await;
    find(&phone, "[data-test=member-name]")
        .await
        .send_keys("Rosa Rivera")
        .await
        .unwrap();
    click(
        &phone,
        "[data-test=member-relationship] option[value=parent]",
    )
    .await;
    click(&phone, "[data-test=save-member]").await;
    find(&phone, "[data-test=member-row]").await;
    shots.take(&phone, "household").await;
    click(&phone, "[data-test=start-form][data-form=household_survey]").await;
    answer_survey(&phone, &mut shots).await;
    click(&phone, "[data-test=finalize]").await;
    let responses = wait_for_final(&phone).await;
    shots.take(&phone, "finalized").await;
    let response_id = responses[0]["id"].as_str().unwrap().to_string();
    let view = core(&phone, "response", json!([response_id, "en"])).await;
    let children = view["questions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["kind"] == "instance")
        .count();
    assert_eq!(children, 3, "three children recorded");
    let waiting = outbox(&phone).await;
    assert!(waiting > 0, "the outbox holds the work");

    // 4. The server stopped: the sync says so and nothing is lost, even over a reload.
    server.kill();
    set_offline(&phone, false).await;
    let outcome = sync(&phone).await;
    shots.take(&phone, "sync-server-down").await;
    assert_eq!(outbox(&phone).await, waiting, "{outcome}");
    phone.refresh().await.unwrap();
    ready(&phone).await;
    screen(&phone, "worker-home").await;
    assert_eq!(outbox(&phone).await, waiting);
    let row = text(&phone, "[data-test=household-row]").await;
    assert!(row.contains("Familia Rivera"), "{row}");

    // 5. Online again: everything sent, once.
    server.restart();
    let outcome = sync(&phone).await;
    shots.take(&phone, "synced").await;
    assert_eq!(outbox(&phone).await, 0, "{outcome}");
    let kinds =
        |server: &TestServer| server.column::<String>("SELECT kind FROM records ORDER BY kind");
    assert_eq!(kinds(&server), ["household", "person", "response"]);
    let changes = server.count("changes");
    // A second sync sends nothing and the server holds no second copy.
    sync(&phone).await;
    assert_eq!(server.count("changes"), changes);
    assert_eq!(kinds(&server).len(), 3);
    let on_server: Vec<String> = server.column(&format!(
        "SELECT id FROM records WHERE id = '{response_id}'"
    ));
    assert_eq!(on_server.len(), 1);

    // 6. The staff pages show the response with its three children.
    goto(&staff, &format!("{base}/records/{response_id}")).await;
    let page = text(&staff, "main").await;
    assert!(
        page.contains("Familia Rivera") || page.contains("household_survey"),
        "{page}"
    );
    assert!(
        page.contains("child[3]"),
        "three children on the staff page: {page}"
    );
    shots.take(&staff, "staff-record").await;

    // 7. The browser restarted (a new Chromium process on the same profile): the
    // store, the session and the synced work are all still there.
    phone.close().await.unwrap();
    let phone = scenarios::app_page::phone(&driver, &dir.path().join("phone-profile")).await;
    goto(&phone, &format!("{base}/app/")).await;
    ready(&phone).await;
    screen(&phone, "worker-home").await;
    let row = text(&phone, "[data-test=household-row]").await;
    assert!(row.contains("Familia Rivera"), "{row}");
    let after = core(&phone, "responses", json!([null])).await;
    assert_eq!(after[0]["id"], response_id.as_str());
    assert_eq!(after[0]["finalized"], true);
    shots.take(&phone, "browser-restarted").await;
    phone.close().await.unwrap();
    staff.close().await.unwrap();
    shots.assert_all_png();
    assert!(!server.log_has_panic());
}

/// A scenario's world: a server process with a staff member (`bea`, backbone staff)
/// and an outreach worker (`ana`, east neighborhood), and chromedriver.
struct Partnership {
    dir: tempfile::TempDir,
    driver: Chromedriver,
    server: TestServer,
    base: String,
}

impl Partnership {
    async fn start() -> Partnership {
        let dir = tempfile::tempdir().unwrap();
        let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
        let server = TestServer::start(&dir.path().join("server"));
        let base = server.url();
        create_user(&base, "bea", "backbone_staff", json!({"partnership": "p1"})).await;
        let east = json!({"partnership": "p1", "neighborhood": "east"});
        create_user(&base, "ana", "outreach_worker", east).await;
        Partnership {
            dir,
            driver,
            server,
            base,
        }
    }
}

mod accessibility;
mod closed_tab;
mod conflict;
mod no_storage;
mod parent;
mod photo_revoked;
mod two_tabs;
