//! 3. A parent opens the enrollment link on their own phone, switches to Spanish,
//!    completes a weekly check-in offline and syncs; their browser's store holds
//!    their family's records and nothing of another family's.

use scenarios::a11y::audit;
use scenarios::app_page::{
    answer_screen, core, enroll, enrollment_code, next_screen, pending, phone, screen, settled,
    survey_step, sync, wait_for_final,
};
use scenarios::chromium::{
    all, click, goto, set_offline, text, text_when, Chromedriver, Screenshots,
};
use scenarios::device::{device, device_sign_in, sync as device_sync};
use scenarios::server::{create_user, TestServer};
use serde_json::json;
use sync_core::{Answers, Commit, RecordKind, Scope};
use uuid::Uuid;

/// A household of `family` with its children, written on a worker's phone.
fn family(
    phone: &std::sync::Mutex<sync_core::Store>,
    by: &str,
    family: &str,
    children: &[&str],
) -> (Uuid, Vec<Uuid>) {
    let scope = Scope::partnership("p1")
        .with_neighborhood("east")
        .with_family(family);
    let mut phone = phone.lock().unwrap();
    let mut fields = Answers::new();
    fields
        .set("name", format!("Familia {family}"))
        .set("address", "1 Main St");
    let commit = Commit::new(by, "Enrolled");
    let household = phone
        .create(RecordKind::Household, scope.clone(), None, &fields, &commit)
        .unwrap();
    let kids = children
        .iter()
        .map(|name| {
            let mut fields = Answers::new();
            fields
                .set("household", household.to_string())
                .set("name", *name)
                .set("relationship", "child")
                .set("birth_date", "2021-03-04");
            let commit = Commit::new(by, "Added a member");
            phone
                .create(RecordKind::Person, scope.clone(), None, &fields, &commit)
                .unwrap()
        })
        .collect();
    (household, kids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parent_checks_in_in_spanish_offline_and_sees_only_their_family() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = TestServer::start(&dir.path().join("server"));
    let base = server.url();
    let east = json!({"partnership": "p1", "neighborhood": "east"});
    create_user(&base, "ana", "outreach_worker", east).await;
    let rivera = json!({"partnership": "p1", "neighborhood": "east", "family": "rivera"});
    create_user(&base, "pia", "parent", rivera).await;
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "screenshots-app/3-parent");

    // A worker's phone enrolled two families: the Riveras and the Lopezes.
    let worker = device_sign_in(&base, "ana", "worker phone").await;
    let store = device(dir.path(), "worker");
    let (_, rivera_kids) = family(&store, &worker.user_id, "rivera", &["Luz", "Mateo"]);
    let (lopez, lopez_kids) = family(&store, &worker.user_id, "lopez", &["Sofía"]);
    device_sync(&store, &base, &worker.token).await.unwrap();

    // The parent opens the link; Spanish; their two children, no one else's.
    let c = phone(&driver, &dir.path().join("parent")).await;
    enroll(&c, &base, &enrollment_code(&server, "pia"), "parent-home").await;
    click(&c, "[data-test=lang-es]").await;
    screen(&c, "parent-home").await;
    // The first sync, right after enrolling, brings the family's records.
    for _ in 0..100 {
        if all(&c, "[data-test=child-row]").await.len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let rows = all(&c, "[data-test=child-row]").await;
    let mut shown = Vec::new();
    for row in rows {
        shown.push(row.attr("data-id").await.unwrap().unwrap());
    }
    shown.sort();
    let mut expected: Vec<String> = rivera_kids.iter().map(Uuid::to_string).collect();
    expected.sort();
    assert_eq!(shown, expected, "the parent sees their own children");
    shots.take(&c, "parent-home-es").await;
    // Every screen of the parent's passes the accessibility audit (scenario 6's).
    let mut problems = audit(&c, "parent home", "es").await;

    // Offline, the weekly check-in for Luz, in Spanish.
    set_offline(&c, true).await;
    let luz = rivera_kids[0];
    click(
        &c,
        &format!("[data-test=start-checkin][data-child='{luz}']"),
    )
    .await;
    screen(&c, "survey").await;
    let main = text(&c, "main").await;
    assert!(main.contains("semana") || main.contains("hijo"), "{main}");
    for step in 0..20 {
        screen(&c, "survey").await;
        if survey_step(&c).await == "finalize" {
            break;
        }
        problems.extend(audit(&c, &format!("check-in screen {step}"), "es").await);
        answer_screen(&c, "Gracias").await;
        if step < 4 {
            shots.take(&c, &format!("checkin-{step}")).await;
        }
        if survey_step(&c).await == "finalize" {
            break;
        }
        next_screen(&c).await;
    }
    click(&c, "[data-test=finalize]").await;
    let responses = wait_for_final(&c).await;
    shots.take(&c, "checkin-final").await;
    assert_eq!(responses.len(), 1);
    let checkin = responses[0]["id"].as_str().unwrap().to_string();
    let view = core(&c, "response", json!([checkin, "es"])).await;
    let child = view["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["path"] == "child")
        .unwrap()["value"]
        .clone();
    assert_eq!(child, json!({"type": "text", "value": luz.to_string()}));

    // Online: sent once, in the family's scope.
    set_offline(&c, false).await;
    // Back online, the app syncs by itself.
    let started = std::time::Instant::now();
    while pending(&c).await > 0 {
        assert!(started.elapsed().as_secs() < 30, "no sync once online");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let outcome = settled(&c).await;
    assert!(outcome.contains("0 rechazados"), "{outcome}");
    shots.take(&c, "synced").await;
    problems.extend(audit(&c, "parent home, synced", "es").await);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        core(&c, "pendingChanges", json!([])).await,
        json!(0),
        "{outcome}"
    );
    let on_server: Vec<String> =
        server.column(&format!("SELECT kind FROM records WHERE id = '{checkin}'"));
    assert_eq!(on_server, ["checkin"], "{outcome}");

    // A record a parent may not write (made through the core, as a modified app could)
    // is refused by the server, and the outcome says why.
    core(&c, "createHousehold", json!(["Not mine", "2 Main St"])).await;
    let outcome = sync(&c).await;
    shots.take(&c, "refused").await;
    assert!(outcome.contains("1 rechazados"), "{outcome}");
    assert!(outcome.contains("Motivo:"), "{outcome}");
    // The refusal stays in sight at the foot of the home screen, with the reason, and
    // signing out says it erases it.
    goto(&c, &format!("{base}/app/")).await;
    scenarios::app_page::ready(&c).await;
    screen(&c, "parent-home").await;
    let refused = text(&c, "[data-test=refused]").await;
    assert!(
        refused.contains("Rechazados por el servidor: 1"),
        "{refused}"
    );
    click(&c, "[data-test=refused] summary").await;
    let row = text(&c, "[data-test=refused-row]").await;
    assert!(row.contains("Not mine") && row.contains("Motivo:"), "{row}");
    shots.take(&c, "refused-listed").await;
    click(&c, "[data-test=sign-out]").await;
    // The confirmation shows once the refused records are counted.
    let confirm = text_when(&c, "#sign-out-text", |s| s.contains("rechaz")).await;
    assert!(
        confirm.contains("rechazó cambios de 1 registro"),
        "{confirm}"
    );
    shots.take(&c, "sign-out-warns").await;
    let problems = audit(&c, "refused changes, sign-out", "es").await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    click(&c, "[data-test=cancel-sign-out]").await;
    let kept = core(&c, "refusedChanges", json!(["es"])).await;
    assert_eq!(kept[0]["kind"], "household", "{kept}");
    assert_eq!(kept[0]["title"], "Not mine", "{kept}");

    // Nothing of the Lopezes reached this browser.
    let households = core(&c, "households", json!([])).await;
    let households = households.as_array().unwrap();
    let names: Vec<&str> = households
        .iter()
        .filter_map(|h| h["name"].as_str())
        .collect();
    assert!(!names.contains(&"Familia lopez"), "{names:?}");
    assert!(names.contains(&"Familia rivera"), "{names:?}");
    for id in std::iter::once(lopez).chain(lopez_kids) {
        let found = c
            .execute_async(
                "const [id, done] = arguments;
                 import('./rpc.js').then((rpc) => rpc.call('history', id))
                     .then((h) => done(h.length), (e) => done(e.kind || String(e)));",
                vec![json!(id.to_string())],
            )
            .await
            .unwrap();
        assert_eq!(found, json!("NotFound"), "record {id} of another family");
    }
    shots.assert_all_png();
    assert!(!server.log_has_panic());
}
