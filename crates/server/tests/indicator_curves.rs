//! Turning the curve through the server: several years of household-survey responses
//! pushed by a worker and an upload of administrative rows, computed by hand below;
//! the indicator page, its numbers as CSV, its printable report and the dashboard's
//! count of indicators trending right, all read through the router, on both databases.
//! Changing the smallest cell changes what is shown and what the verdicts rest on.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use forms::{Answers, Value};
use server::storage::Targets;
use sync_core::{RecordDoc, RecordKind, Scope};

on_both_backends!(curves_verdicts_and_forecast_match_the_hand_computed_fixture,);

/// Unix seconds on 15 March of `year`.
fn in_year(year: i32) -> i64 {
    chrono::NaiveDate::from_ymd_opt(year, 3, 15)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp()
}

/// A finalized survey response of a home speaking `language` with `children` pre-K
/// children aged 4, the first `read` of them read to every day (G12's numerator), the
/// others never.
fn response(
    by: &str,
    year: i32,
    language: &str,
    children: usize,
    read: usize,
) -> (RecordDoc, automerge::Change) {
    let kids = (0..children)
        .map(|i| {
            let mut k = Answers::new();
            k.set("age_years", 4i64)
                .set("hispanic", "no")
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
    record_at(
        by,
        RecordKind::Response,
        east(),
        Some("household_survey"),
        &a,
        in_year(year),
    )
}

/// The CSV's line for `breakdown`, `group`, `year` and `kind`, after its first five
/// fields.
fn csv_rest<'a>(csv: &'a str, prefix: &str) -> &'a str {
    csv.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line {prefix} in\n{csv}"))
}

async fn curves_verdicts_and_forecast_match_the_hand_computed_fixture(s: TestServer) {
    let worker = s.user("ana", "outreach_worker", Some(east())).await;
    let ana = s.user_id(&worker);
    s.user("bo", "backbone_staff", Some(Scope::partnership("p1")))
        .await;
    // G12 (birth to kindergarten entry read to three or more times a week), by year:
    //   2021: English 6 of 12                      → 6 of 12 = 50.0%
    //   2022: English 8 of 15, Spanish 3 of 5      → 11 of 20 = 55.0%
    //   2023: English 6 of 8                       → n 8 < 10: suppressed
    //   2024: English 6 of 10                      → 60.0%
    //   2025: English 6 of 10, Spanish 6 of 10     → 12 of 20 = 60.0%
    let docs = [
        response(&ana, 2021, "en", 12, 6),
        response(&ana, 2022, "en", 15, 8),
        response(&ana, 2022, "es", 5, 3),
        response(&ana, 2023, "en", 8, 6),
        response(&ana, 2024, "en", 10, 6),
        response(&ana, 2025, "en", 10, 6),
        response(&ana, 2025, "es", 10, 6),
    ];
    let refs: Vec<_> = docs.iter().map(|(d, c)| (d.id(), c)).collect();
    s.push_ok(&worker, &refs).await;
    // Baseline 50% (2021); targets 60% for 2024 and 70% for 2026.
    s.storage
        .set_targets(
            "G12",
            &Targets {
                baseline: Some((2021, 50.0)),
                by_year: [(2024, 60.0), (2026, 70.0)].into(),
                ..Targets::default()
            },
            "bo",
        )
        .unwrap();
    // G4 from an upload: 30%, 35%, 33%; no target.
    let rows = indicators::parse_csv(
        b"indicator,year,group,category,numerator,denominator\n\
          G4,2023,all,,30,100\nG4,2024,all,,35,100\nG4,2025,all,,33,100\n",
    )
    .unwrap();
    s.storage.replace_aggregates(&rows, "bo").unwrap();

    let bo = session(&s, "bo", "password-123").await;
    let csv = get(&s, "/indicators/G12/numbers.csv", Some(&bo)).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
    assert!(csv.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.body;
    // Threshold 10, tolerance 0.5 points, compared with the latest shown value in the
    // two years before:
    //   2021: nothing before → no data;
    //   2022: +5.0 from 50.0, toward the first later target (60, 2024) → right;
    //   2023: suppressed → no data;
    //   2024: +5.0 from 55.0 (2022; 2023 is hidden), toward 60 → right;
    //   2025: 0.0 from 60.0 → flat.
    assert_eq!(
        csv_rest(&csv, "G12,all,,2021,value,"),
        "50.00,6,12,shown,no data,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,all,,2022,value,"),
        "55.00,11,20,shown,right direction,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,all,,2023,value,"),
        ",,,suppressed (small),no data,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,all,,2024,value,"),
        "60.00,6,10,shown,right direction,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,all,,2025,value,"),
        "60.00,12,20,shown,flat,,"
    );
    assert_eq!(csv_rest(&csv, "G12,all,,2021,baseline,"), "50.00,,,,,,");
    assert_eq!(csv_rest(&csv, "G12,all,,2026,target,"), "70.00,,,,,,");
    // The forecast: the line through the shown years 2021, 2022, 2024, 2025 (values 50,
    // 55, 60, 60). Mean year 2023, deviations −2, −1, 1, 2, Sxx = 10; mean value 56.25;
    // Sxy = −100 − 55 + 60 + 120 = 25, slope 2.5. Fitted 51.25, 53.75, 58.75, 61.25;
    // residuals ±1.25, s = √(6.25 ÷ 2) = 1.7678; t(2 df) = 1.886.
    //   2026: 56.25 + 2.5 × 3 = 63.75 ± 1.886 × 1.7678 × √(1 + 1/4 + 9/10) = ± 4.889
    //   2027: 66.25 ± 1.886 × 1.7678 × √(1 + 1/4 + 16/10) = ± 5.628
    assert_eq!(
        csv_rest(&csv, "G12,all,,2026,forecast,"),
        "63.75,,,,,58.86,68.64"
    );
    assert_eq!(
        csv_rest(&csv, "G12,all,,2027,forecast,"),
        "66.25,,,,,60.62,71.88"
    );
    // By home language, suppressed year by year as a table: 2022 Spanish (n 5) is
    // hidden, and English with it (the total would give Spanish away); 2025 both shown.
    assert_eq!(
        csv_rest(&csv, "G12,Home language,Spanish,2022,value,"),
        ",,,suppressed (small),,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,Home language,English,2022,value,"),
        ",,,suppressed (complementary),,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,Home language,Spanish,2025,value,"),
        "60.00,6,10,shown,,,"
    );

    // The page draws the same: a point for each shown year, the hidden one marked,
    // the targets, the forecast years, and the verdicts with their reasons.
    let page = get(&s, "/indicators/G12", Some(&bo)).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = &page.body;
    for year in [2021, 2022, 2024, 2025] {
        assert!(
            body.contains(&format!("data-year=\"{year}\" data-value=")),
            "{year}"
        );
    }
    assert!(body.contains("data-suppressed-year=\"2023\""));
    assert!(!body.contains("data-year=\"2023\" data-value="));
    assert!(body.contains("data-target-year=\"2026\""));
    assert!(body.contains("data-forecast-year=\"2027\""));
    let year_2024 = between(body, "<tr data-year=\"2024\">", "</tr>");
    assert!(year_2024.contains("right direction"), "{year_2024}");
    assert!(
        year_2024.contains("Up 5.0 points since 2022 (from 55.0% to 60.0%)"),
        "{year_2024}"
    );
    let forecast = between(body, "<table id=\"forecast\">", "</table>");
    assert!(forecast.contains("58.9% to 68.6%"), "{forecast}");
    let report = get(&s, "/indicators/G12/report", Some(&bo)).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report
        .body
        .contains("G12: Children birth to kindergarten entry"));
    assert!(
        !report.body.contains("<nav"),
        "a printable page has no navigation"
    );

    // The dashboard: 2025 is the latest year with a value. G12 flat, G4 down 2.0 with
    // no target (the wrong way): 0 of 2 right; 2024: G12 right, G4 up 5.0: 2 of 2.
    let dashboard = get(&s, "/dashboard", Some(&bo)).await;
    let summary = between(&dashboard.body, "<p id=\"trend-summary\"", "</p>");
    assert!(
        summary.contains("data-year=\"2025\" data-right=\"0\" data-with-verdict=\"2\" data-right-before=\"2\" data-with-verdict-before=\"2\""),
        "{summary}"
    );
    assert!(summary.contains("0 of 2 indicators with a verdict (0.0%)"));
    assert!(summary.contains("2024: 2 of 2 indicators with a verdict (100.0%)"));

    // A threshold of 12 hides 2024 (n 10) as well: 2024 and 2025 have nothing shown in
    // the two years before them (2023 and 2024 hidden), so no verdict; the forecast is
    // fitted to 2021, 2022, 2025 only.
    let csrf = hidden_csrf(&dashboard.body);
    let saved = post_form(
        &s,
        "/settings/min-cell",
        &bo,
        &format!("csrf={csrf}&min_cell=12"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let csv = get(&s, "/indicators/G12/numbers.csv", Some(&bo)).await.body;
    assert_eq!(
        csv_rest(&csv, "G12,all,,2024,value,"),
        ",,,suppressed (small),no data,,"
    );
    assert_eq!(
        csv_rest(&csv, "G12,all,,2025,value,"),
        "60.00,12,20,shown,no data,,"
    );
    // 2021, 2022, 2025 (50, 55, 60): mean year 2022.667, mean value 55; Sxx = 2.778 +
    // 0.444 + 5.444 = 8.667, Sxy = −1.667 × 50 − 0.667 × 55 + 2.333 × 60 = 20; slope
    // 2.308; 2026: 55 + 2.308 × 3.333 = 62.69.
    assert!(
        csv_rest(&csv, "G12,all,,2026,forecast,").starts_with("62.69,"),
        "{csv}"
    );
    let dashboard = get(&s, "/dashboard", Some(&bo)).await;
    let summary = between(&dashboard.body, "<p id=\"trend-summary\"", "</p>");
    assert!(
        summary.contains("data-right=\"0\" data-with-verdict=\"1\""),
        "only G4 has a 2025 verdict now: {summary}"
    );
}
