//! 5. A worker takes a photo in a form that asks for one, and the parent signs on the
//!    phone's screen with a finger (touch events through Chromium's input); at the
//!    next sync the photo reaches the server whole (the core's resumable upload, from
//!    the browser) and the signature as the strokes drawn. Then
//!    staff revoke the phone on the devices page: its next sync wipes the browser's
//!    store and says why.

use scenarios::a11y::audit;
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
            {"type": "image", "name": "signature", "appearance": "signature",
             "label": {"en": "The parent's signature"}},
            {"type": "text", "name": "note", "label": {"en": "Notes"}},
        ],
        "choices": {},
    })
}

/// Sign on the pad with a finger: a touch across its middle (a zigzag kept between 40%
/// and 60% of its height), as WebDriver's touch input gives it; first a stroke that is
/// cleared, and a save of the cleared pad, which keeps nothing.
async fn sign(c: &fantoccini::Client) {
    use fantoccini::actions::{InputSource, PointerAction, TouchActions};
    let rect = c
        .execute(
            "const pad = document.querySelector('canvas.signature');
             pad.scrollIntoView({block: 'center'});
             const s = pad.getBoundingClientRect();
             return [s.left, s.top, s.width, s.height];",
            vec![],
        )
        .await
        .unwrap();
    let [left, top, width, height] = [0, 1, 2, 3].map(|i| rect[i].as_f64().unwrap());
    let stroke = |points: Vec<(f64, f64)>| async move {
        let to = |(x, y): (f64, f64)| PointerAction::MoveTo {
            duration: Some(std::time::Duration::from_millis(20)),
            x: (left + x * width).round(),
            y: (top + y * height).round(),
        };
        let mut finger = TouchActions::new("finger".into())
            .then(to(points[0]))
            .then(PointerAction::Down { button: 0 });
        for p in &points[1..] {
            finger = finger.then(to(*p));
        }
        c.perform_actions(finger.then(PointerAction::Up { button: 0 }))
            .await
            .unwrap();
        c.release_actions().await.unwrap();
        // Chromium's emulated touch swallows the click of the first tap after a drag
        // (a bare page with a canvas and a button does the same): tap the pad's help
        // text, which does nothing, so that the next tap on a button is a click.
        click(c, ".sig p.hint").await;
    };
    let zigzag: Vec<(f64, f64)> = (0..=20)
        .map(|i| (0.1 + 0.04 * i as f64, if i % 2 == 0 { 0.45 } else { 0.55 }))
        .collect();
    // The signature as the draft holds it.
    let signed = || async {
        let drafts = core(c, "responses", json!([null])).await;
        let view = core(c, "response", json!([drafts[0]["id"], "en"])).await;
        view["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["path"] == "signature")
            .map(|q| q["value"].clone())
            .unwrap_or_default()
    };
    // A first stroke, cleared; saving the cleared pad keeps nothing.
    stroke(vec![(0.1, 0.1), (0.9, 0.9)]).await;
    click(c, ".sig button.secondary").await;
    click(c, ".sig button.primary").await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(signed().await, json!(null), "a cleared pad is no signature");
    stroke(zigzag).await;
    click(c, ".sig button.primary").await;
    let started = std::time::Instant::now();
    while signed().await.is_null() {
        assert!(
            started.elapsed().as_secs() < 20,
            "the signature was not kept"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
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
    let mut problems = audit(&c, "a photo attached", "en").await;
    while survey_step(&c).await == "next" {
        if !scenarios::chromium::all(&c, "canvas.signature")
            .await
            .is_empty()
        {
            sign(&c).await;
            shots.take(&c, "signed").await;
            problems.extend(audit(&c, "a signature saved", "en").await);
            let attached = text(&c, ".sig ~ [data-role=attached], [data-role=attached]").await;
            assert!(
                attached.contains('…'),
                "the attachment's short name: {attached}"
            );
        }
        if !scenarios::chromium::all(&c, "input[name=note]")
            .await
            .is_empty()
        {
            type_into(&c, "input[name=note]", "Books on a low shelf").await;
        }
        next_screen(&c).await;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    click(&c, "[data-test=finalize]").await;
    let responses = wait_for_final(&c).await;
    assert_eq!(responses[0]["household_id"], household);
    assert_eq!(core(&c, "pendingAttachments", json!([])).await, json!(2));

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
    let view = core(&c, "response", json!([responses[0]["id"], "en"])).await;
    let signature = view["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["path"] == "signature")
        .and_then(|q| q["value"]["value"].as_str())
        .expect("the signature is answered")
        .to_string();

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

    // The signature staff open is the strokes drawn: an image of the pad's size whose
    // dark pixels lie along the finger's path, and nowhere else.
    let url = format!(
        "{base}/records/{}/attachments/{signature}",
        responses[0]["id"].as_str().unwrap()
    );
    let cookies = staff.get_all_cookies().await.unwrap();
    let cookie = cookies
        .iter()
        .map(|k| format!("{}={}", k.name(), k.value()))
        .collect::<Vec<_>>()
        .join("; ");
    let opened = reqwest::Client::new()
        .get(&url)
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert!(opened.status().is_success(), "{}", opened.status());
    let bytes = opened.bytes().await.unwrap().to_vec();
    // Decoded as a browser decodes it (the phone's page serves as one).
    let drawn = c
        .execute_async(
            "const [bytes, done] = arguments;
             createImageBitmap(new Blob([new Uint8Array(bytes)], {type: 'image/png'})).then((img) => {
                 const c = new OffscreenCanvas(img.width, img.height);
                 const ctx = c.getContext('2d');
                 ctx.drawImage(img, 0, 0);
                 const px = ctx.getImageData(0, 0, img.width, img.height).data;
                 let dark = 0, band = 0;
                 for (let i = 0; i < px.length; i += 4) {
                     if (px[i] < 100 && px[i + 1] < 100 && px[i + 2] < 100) {
                         dark++;
                         const y = Math.floor(i / 4 / img.width);
                         if (y >= 100 && y <= 140) band++;
                     }
                 }
                 done({width: img.width, height: img.height, dark, band});
             }).catch((e) => done({error: String(e)}));",
            vec![json!(bytes)],
        )
        .await
        .unwrap();
    eprintln!("signature as staff open it: {drawn}");
    assert_eq!(drawn["width"], 600, "{drawn}");
    assert_eq!(drawn["height"], 240, "{drawn}");
    let dark = drawn["dark"].as_u64().unwrap_or(0);
    assert!(dark > 1000, "a stroke across the pad: {drawn}");
    assert_eq!(
        drawn["band"].as_u64(),
        Some(dark),
        "only along the path drawn: {drawn}"
    );
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
