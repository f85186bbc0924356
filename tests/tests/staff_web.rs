//! An admin's first day, in a real browser (Debian's headless Chromium through
//! chromedriver) against a real server process, on SQLite and then on PostgreSQL:
//!
//! 1. the admin signs in with the password the server printed, adds the east
//!    neighborhood to the managed lists, creates an outreach worker and a partner
//!    staff user on the web, makes the worker an enrollment link, and the partner
//!    staff member sets a password through their one-time link;
//! 2. the worker's phone enrolls with the link (the app API the Android and iOS apps
//!    call) and syncs a household; other phones sync surveys and check-ins;
//! 3. the responses table filters by neighborhood and opens a response;
//! 4. the check-ins' `.xlsx` export, downloaded by clicking its link, is read with
//!    calamine and matches the records;
//! 5. a case note whose follow-up is due today (written on the partner staff
//!    member's phone) is on the worklist, leaves it when marked done, and the phone
//!    pulls the change.
//!
//! A screenshot follows every step, in `target/first-day*/`; the README's
//! walk-through shows them.

use std::collections::BTreeMap;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use scenarios::chromium::{
    all, click, find, goto, submit, text, type_into, wait_until, BrowserOptions, Chromedriver,
    Screenshots,
};
use scenarios::device::{create_responses, device, sync};
use scenarios::server::{create_user, device_token, Database, ADMIN_PASSWORD};
use serde_json::json;
use sync_core::app::{AnswerValue, CancelToken, DeviceStore, ProgressObserver};
use sync_core::sync::SyncProgress;
use sync_core::{Answers, Commit, FormRef, RecordKind, Scope};

struct Quiet;

impl ProgressObserver for Quiet {
    fn on_progress(&self, _: SyncProgress) -> Result<(), sync_core::app::AppError> {
        Ok(())
    }
}

/// On SQLite, then on PostgreSQL: one after the other, so that two browsers never
/// share the machine's two cores.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_runs_the_partnership_from_the_browser() {
    for db in [Database::Sqlite, Database::Postgres] {
        first_day(db).await;
    }
}

fn text_answer(value: &str) -> Option<AnswerValue> {
    Some(AnswerValue::Text {
        value: value.into(),
    })
}

async fn first_day(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = db.start(&dir.path().join("server"));
    let base = server.url();
    let mut shots = Screenshots::new(
        env!("CARGO_TARGET_TMPDIR"),
        match db {
            Database::Sqlite => "first-day",
            Database::Postgres => "first-day-postgres",
        },
    );
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let options = BrowserOptions {
        downloads: Some(downloads.clone()),
        ..BrowserOptions::default()
    };
    let c = driver.browser(&options).await;

    // 1. The admin signs in with the printed password.
    goto(&c, &format!("{base}/sign-in")).await;
    type_into(&c, "input[name=username]", "admin").await;
    type_into(&c, "input[name=password]", ADMIN_PASSWORD).await;
    shots.take(&c, "sign-in").await;
    click(&c, "main button[type=submit]").await;
    find(&c, "table#indicators").await;
    shots.take(&c, "dashboard").await;

    // 2. The east neighborhood joins the managed lists.
    goto(&c, &format!("{base}/lists")).await;
    submit(
        &c,
        "form#add-neighborhood",
        &[("code", "east"), ("label", "East Side")],
    )
    .await;
    // The label is an input, to relabel in place.
    let label = find(
        &c,
        "table#list-neighborhood tr[data-entry=\"east\"] input[name=label]",
    )
    .await
    .prop("value")
    .await
    .unwrap()
    .unwrap_or_default();
    assert_eq!(label, "East Side");
    shots.take(&c, "lists").await;

    // 3. An outreach worker, in the east, working in Spanish; an enrollment link.
    goto(&c, &format!("{base}/users")).await;
    submit(
        &c,
        "form#create-user",
        &[
            ("username", "wanda"),
            ("partnership", "p1"),
            ("role", "outreach_worker"),
            ("neighborhood", "east"),
            ("language", "es"),
        ],
    )
    .await;
    shots.take(&c, "worker-created").await;
    let worker_id = find(&c, "#created-user")
        .await
        .attr("data-user-id")
        .await
        .unwrap()
        .unwrap_or_default();
    click(&c, "#make-enrollment-submit").await;
    let link = text(&c, "#enrollment-link").await;
    assert!(link.contains("/app/#enroll="), "{link}");
    shots.take(&c, "enrollment-link").await;

    // 4. A partner staff member, who sets a password through a one-time link.
    goto(&c, &format!("{base}/users")).await;
    submit(
        &c,
        "form#create-user",
        &[
            ("username", "pat"),
            ("partnership", "p1"),
            ("role", "partner_staff"),
            ("neighborhood", "east"),
            ("language", "en"),
        ],
    )
    .await;
    let reset = text(&c, "#reset-link").await;
    assert!(reset.contains("/reset/"), "{reset}");
    shots.take(&c, "staff-created").await;
    goto(&c, &reset).await;
    let password = "pat-chooses-a-long-password";
    submit(
        &c,
        "form#reset-form",
        &[("password", password), ("confirm", password)],
    )
    .await;
    find(&c, "#reset-done").await;
    shots.take(&c, "password-set").await;

    // 5. Wanda's phone enrolls with the link and syncs the household it records.
    let wanda = DeviceStore::open(dir.path().join("wanda.db").display().to_string()).unwrap();
    let session = wanda
        .enroll_with_link(link, "Wanda's phone".into())
        .await
        .unwrap();
    assert_eq!(session.username, "wanda");
    assert_eq!(session.user_id, worker_id, "the user made on the web");
    assert_eq!(session.role, "outreach_worker");
    let household = wanda
        .create_household("Familia Rivera".into(), "12 Elm St".into())
        .unwrap();
    // Her first survey, in Spanish: the family has no child, so it ends there.
    let first = wanda
        .start_response(
            "household_survey".into(),
            Some(household.clone()),
            "es".into(),
        )
        .unwrap();
    for (path, value) in [("consent", "yes"), ("has_child", "no")] {
        wanda
            .set_answer(
                first.id.clone(),
                path.into(),
                text_answer(value),
                "es".into(),
            )
            .unwrap();
    }
    let finished = wanda
        .finalize_response(first.id.clone(), "es".into())
        .unwrap();
    assert!(finished.finalized, "{:?}", finished.questions);
    wanda
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(wanda.pending_changes().unwrap(), 0, "everything pushed");
    let on_server: Vec<String> = server.column(&format!(
        "SELECT kind FROM records WHERE created_by = '{worker_id}' ORDER BY kind"
    ));
    assert_eq!(
        on_server,
        ["household", "response"],
        "the household and the survey"
    );

    // Other phones: a worker's surveys in two neighborhoods, a parent's check-ins.
    create_user(
        &base,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1"}),
    )
    .await;
    let ana_token = device_token(&base, "ana", "ana's phone").await;
    let ana_id = server.column::<String>("SELECT id FROM users WHERE username = 'ana'")[0].clone();
    let phone = device(dir.path(), "ana");
    let east = Scope::partnership("p1").with_neighborhood("east");
    let west = Scope::partnership("p1").with_neighborhood("west");
    let mut in_east = create_responses(&phone, 0..6, &east, &ana_id);
    in_east.push(first.id.parse().unwrap());
    let in_west = create_responses(&phone, 6..9, &west, &ana_id);
    sync(&phone, &base, &ana_token).await.unwrap();
    let family = Scope::partnership("p1")
        .with_neighborhood("east")
        .with_family(&household);
    create_user(
        &base,
        "pia",
        "parent",
        serde_json::to_value(&family).unwrap(),
    )
    .await;
    let pia_token = device_token(&base, "pia", "pia's phone").await;
    let pia_id = server.column::<String>("SELECT id FROM users WHERE username = 'pia'")[0].clone();
    let pia_phone = device(dir.path(), "pia");
    let mut checkins = BTreeMap::new();
    for week in 0..4i64 {
        let mut a = Answers::new();
        a.set("week_of", format!("2026-11-{:02}", 2 + 7 * week))
            .set("read_days", week + 2)
            .set("sing_rhyme_days", 7 - week)
            .set("want_callback", if week == 3 { "yes" } else { "no" });
        let id = pia_phone
            .lock()
            .unwrap()
            .create(
                RecordKind::Checkin,
                family.clone(),
                Some(FormRef {
                    id: "literacy_checkin".into(),
                    version: 1,
                }),
                &a,
                &Commit::new(&pia_id, "Check-in"),
            )
            .unwrap();
        checkins.insert(id.to_string(), week + 2);
    }
    sync(&pia_phone, &base, &pia_token).await.unwrap();

    // 6. The responses table: the east's six, then one opened.
    goto(
        &c,
        &format!("{base}/responses/household_survey?neighborhood=east"),
    )
    .await;
    let rows = all(&c, "table#responses tbody tr[data-record]").await;
    assert_eq!(rows.len(), in_east.len(), "the east's surveys");
    for row in &rows {
        let id = row.attr("data-record").await.unwrap().unwrap_or_default();
        assert!(in_east.iter().any(|r| r.to_string() == id), "{id}");
        assert!(!in_west.iter().any(|r| r.to_string() == id), "{id}");
    }
    shots.take(&c, "responses").await;
    click(&c, &format!("tr[data-record=\"{}\"] a", first.id)).await;
    let consent = text(&c, "[data-field=\"consent\"]").await;
    assert!(
        consent.contains("Yes") || consent.contains("yes"),
        "{consent}"
    );
    shots.take(&c, "response").await;

    // 7. The check-ins as a workbook: clicked, saved, read back with calamine.
    goto(&c, &format!("{base}/exports")).await;
    shots.take(&c, "exports").await;
    click(&c, "a#xlsx-literacy_checkin").await;
    let file = downloads.join("literacy_checkin.xlsx");
    wait_until("the check-ins workbook", || {
        std::fs::metadata(&file).is_ok_and(|m| m.len() > 0)
    });
    // Chromium writes the download under a temporary name and renames it when done.
    let mut book: Xlsx<_> = calamine::open_workbook(&file).unwrap();
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let mut lines = range.rows();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .iter()
        .map(|d| d.to_string())
        .collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let mut seen = BTreeMap::new();
    for line in lines {
        let id = line[col("_id")].to_string();
        let days = match &line[col("read_days")] {
            Data::Int(i) => *i,
            Data::Float(f) => *f as i64,
            other => other.to_string().parse().unwrap(),
        };
        seen.insert(id, days);
    }
    assert_eq!(seen, checkins, "one row per check-in, its answers");

    // 8. Pat writes a case note whose follow-up is due today, on a phone.
    let pat = DeviceStore::open(dir.path().join("pat.db").display().to_string()).unwrap();
    pat.sign_in(
        base.clone(),
        "pat".into(),
        password.into(),
        "Pat's phone".into(),
    )
    .await
    .unwrap();
    let today = chrono::Utc::now().date_naive();
    let yesterday = (today - chrono::Days::new(1)).to_string();
    let today = today.to_string();
    let note = pat
        .start_response("case_note".into(), None, "en".into())
        .unwrap();
    for (path, value) in [
        ("participant", "Rosa Rivera"),
        ("contact_date", yesterday.as_str()),
        ("contact_type", "phone"),
        ("followup_date", today.as_str()),
    ] {
        pat.set_answer(
            note.id.clone(),
            path.into(),
            text_answer(value),
            "en".into(),
        )
        .unwrap();
    }
    let done = pat.finalize_response(note.id.clone(), "en".into()).unwrap();
    assert!(done.finalized, "{:?}", done.questions);
    pat.sync(Arc::new(Quiet), CancelToken::new()).await.unwrap();

    let admin_id =
        server.column::<String>("SELECT id FROM users WHERE username = 'admin'")[0].clone();

    // 9. It is on the worklist; marked done, it leaves; Pat's phone pulls the change.
    goto(&c, &format!("{base}/follow-ups")).await;
    let row = format!("tr[data-followup=\"{}:followup\"]", note.id);
    find(&c, &row).await;
    shots.take(&c, "follow-ups").await;
    click(
        &c,
        &format!("{row} form[action$=\"/done\"] button[type=submit]"),
    )
    .await;
    // The post answers with the worklist again, without the row.
    let started = std::time::Instant::now();
    while !all(&c, &row).await.is_empty() {
        assert!(
            started.elapsed().as_secs() < 20,
            "a follow-up marked done stays on the worklist"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    find(&c, "main h1").await;
    shots.take(&c, "follow-up-done").await;
    pat.sync(Arc::new(Quiet), CancelToken::new()).await.unwrap();
    let history = pat.history(note.id.clone()).unwrap();
    assert!(
        history
            .iter()
            .any(|h| h.author == admin_id && h.message.to_lowercase().contains("done")),
        "the phone holds the change that marked it done: {history:?}"
    );

    c.close().await.unwrap();
    shots.assert_all_png();
    println!("screenshots in {}", shots.dir().display());
}
