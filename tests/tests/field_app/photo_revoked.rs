//! 5. A worker takes a photo in a form that asks for one; at the next sync the photo
//!    reaches the server whole (the core's resumable upload, from the browser). Then
//!    staff revoke the phone on the devices page: its next sync wipes the browser's
//!    store and says why.

use scenarios::app_page::{
    core, enroll, enrollment_code, next_screen, phone, screen, settled, staff_sign_in, survey_step,
    sync, wait_for_final,
};
use scenarios::chromium::{click, find, goto, text, text_when, type_into, Screenshots};
use scenarios::server::{token, ADMIN_PASSWORD};
use serde_json::json;
use sha2::{Digest, Sha256};

/// A form with a photo and a note.
fn visit_form() -> serde_json::Value {
    json!({
        "id": "home_visit", "version": 1,
        "title": {"en": "Home visit"},
        "languages": [{"code": "en", "name": "English"}],
        "default_language": "en",
        "items": [
            {"type": "image", "name": "photo", "label": {"en": "A photo of the reading corner"}},
            {"type": "text", "name": "note", "label": {"en": "Notes"}},
        ],
        "choices": {},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_is_uploaded_and_a_revoked_phone_is_wiped() {
    let _turn = scenarios::app_page::one_at_a_time().await;
    let super::Partnership {
        dir,
        driver,
        server,
        base,
    } = super::Partnership::start().await;
    let admin = token(&base, "admin", ADMIN_PASSWORD, "console").await;
    let published = reqwest::Client::new()
        .post(format!("{base}/v1/admin/forms"))
        .bearer_auth(&admin)
        .json(&visit_form())
        .send()
        .await
        .unwrap();
    assert!(published.status().is_success());
    let mut shots = Screenshots::new(
        env!("CARGO_TARGET_TMPDIR"),
        "screenshots-app/5-photo-revoked",
    );

    // Enrolled, the phone fetched the new form with its first sync.
    let c = phone(&driver, &dir.path().join("phone")).await;
    enroll(&c, &base, &enrollment_code(&server, "ana"), "worker-home").await;
    settled(&c).await;
    let household = core(&c, "createHousehold", json!(["Familia Díaz", "9 Pine St"])).await;
    goto(&c, &format!("{base}/app/")).await;
    scenarios::app_page::ready(&c).await;
    click(&c, "[data-test=household-row]").await;
    screen(&c, "household").await;
    click(&c, "[data-test=start-form][data-form=home_visit]").await;
    screen(&c, "survey").await;

    // The photo, as the phone's camera hands it over: a PNG file in the file input.
    let png =
        std::fs::read(env!("CARGO_MANIFEST_DIR").to_string() + "/../mobile/web/icons/icon-192.png")
            .unwrap();
    let picked = c
        .execute(
            "const [bytes] = arguments;
             const input = document.querySelector(\"input[type=file][name='photo']\");
             const file = new File([new Uint8Array(bytes)], 'corner.png', {type: 'image/png'});
             const dt = new DataTransfer();
             dt.items.add(file);
             input.files = dt.files;
             input.dispatchEvent(new Event('change', {bubbles: true}));
             return input.files.length;",
            vec![json!(png)],
        )
        .await
        .unwrap();
    assert_eq!(picked, json!(1));
    find(&c, "[data-role=attached]:not(:empty)").await;
    shots.take(&c, "photo-attached").await;
    while survey_step(&c).await == "next" {
        if !scenarios::chromium::all(&c, "input[name=note]")
            .await
            .is_empty()
        {
            type_into(&c, "input[name=note]", "Books on a low shelf").await;
        }
        next_screen(&c).await;
    }
    click(&c, "[data-test=finalize]").await;
    let responses = wait_for_final(&c).await;
    assert_eq!(responses[0]["household_id"], household);
    assert_eq!(core(&c, "pendingAttachments", json!([])).await, json!(1));

    // The sync uploads it: the server holds the same bytes, complete.
    let outcome = sync(&c).await;
    shots.take(&c, "synced").await;
    assert_eq!(
        core(&c, "pendingAttachments", json!([])).await,
        json!(0),
        "{outcome}"
    );
    let sha = hex::encode(Sha256::digest(&png));
    let stored: Vec<i64> = server.column(&format!(
        "SELECT size FROM attachments WHERE sha256 = '{sha}' AND complete = 1"
    ));
    assert_eq!(
        stored,
        [png.len() as i64],
        "the photo, whole, on the server"
    );

    // Staff revoke the phone; its next sync wipes it.
    let device = core(&c, "session", json!([])).await["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let staff = driver.browser(&Default::default()).await;
    staff_sign_in(&staff, &base, "bea").await;
    goto(&staff, &format!("{base}/devices")).await;
    click(
        &staff,
        &format!("tr[data-device='{device}'] button[type=submit]"),
    )
    .await;
    let status = text_when(
        &staff,
        &format!("tr[data-device='{device}'] td.status"),
        |s| s.starts_with("revoked"),
    )
    .await;
    assert!(status.starts_with("revoked"), "{status}");
    shots.take(&staff, "staff-revoked").await;
    click(&c, "[data-test=sync]").await;
    screen(&c, "start").await;
    let said = text(&c, "[data-test=status]").await;
    assert!(said.contains("removed from the partnership"), "{said}");
    shots.take(&c, "wiped").await;
    assert_eq!(core(&c, "session", json!([])).await, json!(null));
    assert_eq!(core(&c, "households", json!([])).await, json!([]));
    assert_eq!(core(&c, "responses", json!([null])).await, json!([]));
    staff.close().await.unwrap();
    c.close().await.unwrap();
    shots.assert_all_png();
    assert!(!server.log_has_panic());
}
