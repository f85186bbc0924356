//! The staff pages in a real browser: Debian's headless Chromium, driven through
//! chromedriver, against a real server process that phones have synced responses to.
//! A staff member signs in, reads the dashboard (checked against the indicators
//! computed here from the answers the phones recorded), opens an indicator with a
//! suppressed cell, resolves a conflict two phones made offline (which then reaches
//! both phones) and downloads the CSV export. A screenshot follows every step, in
//! `target/screenshots/`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use fantoccini::Client;
use forms::instruments::seed_form;
use indicators::{children, overall, survey_indicators, table, Dimension, Shown};
use scenarios::chromium::{
    all, click, find, goto, text, wait_until, BrowserOptions, Chromedriver, Screenshots,
};
use scenarios::device::{device, device_sign_in, sync};
use scenarios::server::{create_user, Database};
use scenarios::Seeded;
use serde_json::json;
use sync_core::record::FieldPath;
use sync_core::{Answers, Commit, FormRef, RecordKind, Scope, Store, Value};
use uuid::Uuid;

const HOUSEHOLDS: u64 = 30;
/// The field both phones edit offline.
const CONFLICTED: &str = "feel_safe_day";

async fn sign_in(c: &Client, base: &str, user: &str, shots: &mut Screenshots) {
    goto(c, &format!("{base}/sign-in")).await;
    let password = format!("{user}-password");
    for (input, value) in [("username", user), ("password", &password)] {
        let field = find(c, &format!("input[name={input}]")).await;
        field.send_keys(value).await.unwrap();
    }
    shots.take(c, "sign-in").await;
    click(c, "main button[type=submit]").await;
    find(c, "table#indicators").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/dashboard");
}

const READ: &[&str] = &["never", "once_twice", "three_plus", "daily"];

/// A household survey with 1 to 3 children of varied answers, each answer relevant
/// (finalizing keeps them all). `feel_safe_day` is never a value the conflict writes.
fn answers(seed: u64) -> Answers {
    let mut r = Seeded::new(seed);
    let internet = r.pick(&["yes", "no"]);
    let mut a = Answers::new();
    a.set("consent", "yes")
        .set("has_child", "yes")
        .set("interview_language", r.pick(&["en", "es"]))
        .set("home_language", r.pick(&["en", "es", "vi", "ar"]))
        .set(CONFLICTED, r.pick(&["somewhat_safe", "somewhat_unsafe"]))
        .set("home_internet", internet);
    if internet == "yes" {
        a.set(
            "home_devices",
            r.pick(&["computer tablet", "smartphone", "none"]),
        );
    }
    let kid = |age: u64, grade: &str, r: &mut Seeded| {
        let mut c = Answers::new();
        c.set("age_years", age as i64)
            .set("grade", grade)
            .set("hispanic", r.pick(&["yes", "no", "refuse"]))
            .set("race", r.pick(&["black", "white asian", "aian", "mena"]));
        c
    };
    let mut kids = Vec::new();
    if seed % 3 != 2 {
        let grade = if seed.is_multiple_of(2) {
            "none"
        } else {
            "prek"
        };
        let mut baby = kid(r.below(6), grade, &mut r);
        let usual = r.pick(&["yes", "no", "dk"]);
        let early = r.pick(&["none", "head_start", "relative_care"]);
        baby.set("usual_place", usual)
            .set("early_learning", early)
            .set("read_times", r.pick(READ));
        if usual == "yes" {
            baby.set("place_type", r.pick(&["doctor_office", "clinic", "er"]));
        }
        kids.push(baby);
    }
    let mut pupil = kid(6 + r.below(8), r.pick(&["k", "3", "5", "8"]), &mut r);
    pupil.set("read_times", r.pick(READ));
    kids.push(pupil);
    if seed.is_multiple_of(2) {
        let mut teen = kid(14 + r.below(5), r.pick(&["9", "10", "12"]), &mut r);
        teen.set("college_talk", r.pick(&["yes", "no"]));
        kids.push(teen);
    }
    a.set_repeat("child", kids);
    a
}

/// A response a phone recorded: its id, the answers, the neighborhood.
type Survey = (Uuid, Answers, &'static str);

/// Record and finalize the household surveys on a phone, as the user `by` (a user
/// id). Two households of thirty live in the west: too few children there for the
/// neighborhood to be shown.
fn record_surveys(phone: &Mutex<Store>, by: &str) -> Vec<Survey> {
    let form = seed_form("household_survey").unwrap().unwrap();
    let version = form.form().version;
    let today = chrono::Utc::now().date_naive();
    let mut phone = phone.lock().unwrap();
    let mut surveys = Vec::new();
    for seed in 0..HOUSEHOLDS {
        let (a, hood) = (answers(seed), if seed < 2 { "west" } else { "east" });
        let scope = Scope::partnership("p1").with_neighborhood(hood);
        let form_ref = Some(FormRef {
            id: "household_survey".into(),
            version,
        });
        let commit = Commit::new(by, "Interview");
        let id = phone
            .create(RecordKind::Response, scope, form_ref, &a, &commit)
            .unwrap();
        let done = Commit::new(by, "Finalized");
        let validation = phone
            .finalize_response(id, &form, "en", today, &done)
            .unwrap();
        assert!(validation.is_valid(), "{:?}", validation.issues);
        surveys.push((id, a, hood));
    }
    surveys
}

/// The rows of a CSV file by their `_id`, each as column -> value.
fn csv_by_id(path: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut by_id = BTreeMap::new();
    for row in csv::Reader::from_path(path).unwrap().deserialize() {
        let row: BTreeMap<String, String> = row.unwrap();
        let id = row["_id"].clone();
        assert!(by_id.insert(id, row).is_none(), "a response twice");
    }
    by_id
}

/// On SQLite, then on PostgreSQL: one after the other, so that two browsers never
/// share the machine's two cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_read_indicators_resolve_a_conflict_and_export_in_a_real_browser() {
    for db in [Database::Sqlite, Database::Postgres] {
        staff_in_a_real_browser(db).await;
    }
}

async fn staff_in_a_real_browser(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = db.start(&dir.path().join("server"));
    let base = server.url();
    let partnership = json!({"partnership": "p1"});
    create_user(&base, "bea", "backbone_staff", partnership.clone()).await;
    create_user(&base, "ana", "outreach_worker", partnership).await;
    let signed_in = [
        device_sign_in(&base, "ana", "phone a").await,
        device_sign_in(&base, "ana", "phone b").await,
    ];
    let ana = signed_in[0].user_id.clone();
    let tokens = signed_in.map(|s| s.token);
    let phones = [device(dir.path(), "a"), device(dir.path(), "b")];

    // 1. Phone a records thirty household surveys; both phones sync. The indicators
    // expected on the pages are computed here, from the answers recorded.
    let surveys = record_surveys(&phones[0], &ana);
    let rows: Vec<_> = surveys
        .iter()
        .flat_map(|(_, a, hood)| children(a, Some(hood)))
        .collect();
    for (phone, token) in phones.iter().zip(&tokens) {
        sync(phone, &base, token).await.unwrap();
    }

    // 2. Offline, each phone changes the same answer of one response; both sync.
    let conflicted = surveys[5].0;
    let path = FieldPath::field(CONFLICTED);
    let written = ["very_safe", "very_unsafe"];
    for (phone, value) in phones.iter().zip(written) {
        let mut phone = phone.lock().unwrap();
        let commit = Commit::new(&ana, "Correction");
        phone.set(conflicted, &path, value, &commit).unwrap();
    }
    for i in [0, 1, 0] {
        sync(&phones[i], &base, &tokens[i]).await.unwrap();
    }
    let on_server: bool = server.column(&format!(
        "SELECT has_conflicts FROM records WHERE id = '{conflicted}'"
    ))[0];
    assert!(on_server, "the server's record must hold the conflict");

    // 3. Sign in.
    let mut shots = Screenshots::new(
        env!("CARGO_TARGET_TMPDIR"),
        match db {
            Database::Sqlite => "screenshots",
            Database::Postgres => "screenshots-postgres",
        },
    );
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let options = BrowserOptions {
        downloads: Some(downloads.clone()),
        ..BrowserOptions::default()
    };
    let c = driver.browser(&options).await;
    sign_in(&c, &base, "bea", &mut shots).await;
    shots.take(&c, "dashboard").await;

    // 4. The dashboard shows each indicator's value as computed here.
    for indicator in survey_indicators() {
        let id = indicator.id;
        let shown = text(&c, &format!("tr[data-indicator=\"{id}\"] td.value")).await;
        let Shown::Value(e) = overall(&indicator, &rows, 10) else {
            panic!("test data: too few children for {id}");
        };
        assert_eq!(shown, format!("{:.1}%", e.percent().unwrap()), "{id}");
    }

    // 5. G15 by neighborhood: the west's few pupils are hidden (the east with them).
    let g15 = survey_indicators()
        .into_iter()
        .find(|i| i.id == "G15")
        .unwrap();
    let by_hood = table(&g15, &rows, Dimension::Neighborhood, 10);
    assert!(by_hood
        .cells
        .iter()
        .all(|cell| cell.shown.value().is_none()));
    click(&c, "tr[data-indicator=\"G15\"] a").await;
    find(&c, "td.hidden").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/indicators/G15");
    let mut suppressed = 0;
    for cell in all(&c, "td.hidden").await {
        suppressed += usize::from(cell.text().await.unwrap().starts_with("suppressed"));
    }
    assert!(suppressed >= 1, "no suppressed cell on the G15 page");
    shots.take(&c, "indicator").await;

    // 6. The conflicted record, found through the records filter, resolved in its page
    // by choosing the value not shown now (the page checks the shown one, which comes
    // second); then both phones get the resolution.
    goto(&c, &format!("{base}/records?conflicts=1")).await;
    find(&c, "table#records").await;
    let links = all(&c, "table#records a.record").await;
    assert_eq!(links.len(), 1, "one record holds a conflict");
    let href = links[0].attr("href").await.unwrap().unwrap_or_default();
    assert!(href.ends_with(&format!("/records/{conflicted}")), "{href}");
    shots.take(&c, "records").await;
    links[0].click().await.unwrap();
    find(&c, "section#conflicts").await;
    let forms = all(&c, "section#conflicts form.resolve").await;
    assert_eq!(forms.len(), 1, "one conflicted field");
    let choices = all(&c, "form.resolve input[name=choice]").await;
    assert_eq!(choices.len(), 2, "one choice per value");
    let other = usize::from(choices[0].is_selected().await.unwrap());
    choices[other].click().await.unwrap();
    // A choice's value is the answer as JSON (`"very_safe"`).
    let json = choices[other]
        .attr("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let chosen: Value = serde_json::from_str(&json).unwrap();
    assert!(written.contains(&&*chosen.as_text()), "{json}");
    let cell = format!("table#fields tr[data-field=\"{CONFLICTED}\"] td.value");
    assert_ne!(text(&c, &cell).await, chosen.as_text(), "shown before");
    shots.take(&c, "conflict").await;
    click(&c, "form.resolve button[type=submit]").await;
    find(&c, "p#no-conflicts").await;
    assert_eq!(text(&c, &cell).await, chosen.as_text());
    shots.take(&c, "resolved").await;
    for (phone, token) in phones.iter().zip(&tokens) {
        sync(phone, &base, token).await.unwrap();
    }
    for phone in &phones {
        let mut phone = phone.lock().unwrap();
        let fields = phone.fields(conflicted).unwrap();
        assert_eq!(fields.value(CONFLICTED), Some(&chosen));
        assert!(phone.conflicts(conflicted).unwrap().is_empty());
    }

    // 7. The export, downloaded by clicking its link: a `fetch` from the page would be
    // simpler, but the pages' Content-Security-Policy (`default-src 'none'`) forbids
    // scripts to connect anywhere, so Chromium saves it where its prefs say instead.
    goto(&c, &format!("{base}/dashboard")).await;
    click(&c, "a#export-household_survey").await;
    let file = downloads.join("household_survey.csv");
    wait_until("download", || file.exists());
    shots.take(&c, "export").await;
    let exported = csv_by_id(&file);
    assert_eq!(exported.len(), surveys.len(), "one row per synced response");
    for (id, a, hood) in &surveys {
        let row = &exported[&id.to_string()];
        assert_eq!(row["_status"], "final");
        assert_eq!(row["_created_by"], ana);
        assert_eq!(row["_neighborhood"], *hood);
        for column in ["interview_language", "home_language", "home_devices"] {
            let want = a.value(column).map(Value::as_text).unwrap_or_default();
            assert_eq!(row[column], want, "{id} {column}");
        }
        let safe = if *id == conflicted {
            &chosen
        } else {
            a.value(CONFLICTED).unwrap()
        };
        assert_eq!(row[CONFLICTED], safe.as_text(), "{id}");
        assert_eq!(row["children_count"], a.repeat("child").len().to_string());
    }

    // 8. A form: a workbook with an error is refused with the sheet, row and column;
    // a good one is previewed in each language and published.
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xlsform");
    goto(&c, &format!("{base}/forms")).await;
    let upload = |name: &str| fixtures.join(name).display().to_string();
    find(&c, "input[type=file]")
        .await
        .send_keys(&upload("choice_filter_unknown_column.xlsx"))
        .await
        .unwrap();
    click(&c, "main form[action='/forms/preview'] button[type=submit]").await;
    let errors = text(&c, "ul#form-errors").await;
    assert!(
        errors.contains("survey sheet, row 3, column choice_filter"),
        "{errors}"
    );
    shots.take(&c, "form-errors").await;
    find(&c, "input[type=file]")
        .await
        .send_keys(&upload("bilingual.xlsx"))
        .await
        .unwrap();
    click(&c, "main form[action='/forms/preview'] button[type=submit]").await;
    let preview = text(&c, "table#preview").await;
    assert!(preview.contains("¿Consiente?"), "{preview}");
    shots.take(&c, "form-preview").await;
    click(&c, "button#publish").await;
    let published = text(&c, "table#forms").await;
    assert!(published.contains("2026112201"), "{published}");
    shots.take(&c, "forms").await;

    // 9. Every screenshot is a PNG with something in it.
    c.close().await.unwrap();
    shots.assert_all_png();
    println!("screenshots in {}", shots.dir().display());
}
