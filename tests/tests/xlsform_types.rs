//! The XLSForm question types end to end (#19): staff publish a workbook using the new
//! types through the admin API; a phone gets it on sync and fills a response through
//! the app API the Kotlin and Swift apps call: metadata (start, end, today, deviceid,
//! username) filled by the core itself, a `time`, a `datetime`, a `range` (a value out
//! of bounds or off its steps refused, one in bounds accepted), an `or_other` select
//! with its text, a `select_multiple`, a choice from a CSV file attached to the workbook
//! (`select_one_from_file`), a `barcode`, and an `image` and a `file` answer
//! whose bytes go up through the resumable attachment path; the response finalizes and
//! syncs, the server validates it, and the CSV export shows each answer as the
//! reference (ODK Central) lays it out: a column per question named by the question,
//! select_multiple space-separated (plus a 0/1 column per choice), the metadata
//! columns, and the attachment's file name.

use std::sync::Arc;

use scenarios::on_both_databases;
use scenarios::server::{create_user, read_json, token, Database, TestServer, ADMIN_PASSWORD};
use scenarios::xlsx::{rows, xlsx};
use serde_json::json;
use sync_core::app::{
    AnswerValue, AppError, CancelToken, DeviceStore, ProgressObserver, QuestionState, ResponseView,
};
use sync_core::sync::SyncProgress;

on_both_databases!(a_form_with_the_new_types_is_filled_synced_and_exported);

struct Quiet;

impl ProgressObserver for Quiet {
    fn on_progress(&self, _: SyncProgress) -> Result<(), AppError> {
        Ok(())
    }
}

/// The CSV attached to the workbook: the choices of `select_one_from_file fruits.csv`.
const FRUITS: &[u8] = b"name,label\napple,Apple\nkiwi,Kiwi\nmango,Mango\n";

/// A `multipart/form-data` body of `(part name, file name, bytes)`, and its content type.
fn multipart(parts: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    const BOUNDARY: &str = "xlsform-types-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file_name, bytes) in parts {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={BOUNDARY}"), body)
}

/// The form: every type a device fills or asks that the seed instruments lack.
fn workbook() -> Vec<u8> {
    let survey = rows(&[
        &["type", "name", "label", "parameters", "appearance"],
        &["start", "start"],
        &["end", "end"],
        &["today", "today"],
        &["deviceid", "deviceid"],
        &["username", "username"],
        &["time", "visit_time", "Time of the visit"],
        &["datetime", "next_visit", "Next visit"],
        &[
            "range",
            "satisfaction",
            "How satisfied are you?",
            "start=0 end=10 step=2",
            "rating",
        ],
        &[
            "select_one transport or_other",
            "transport",
            "How did you come?",
        ],
        &[
            "select_multiple services",
            "services",
            "Services used",
            "",
            "minimal",
        ],
        &["barcode", "card", "Scan the family's card"],
        &["image", "photo", "Photo of the porch", "max-pixels=1024"],
        &["file", "consent_form", "Signed consent (PDF)"],
        &["begin_group", "details", "Details"],
        &["integer", "household_size", "People living here"],
        &["end_group"],
        &[
            "select_one_from_file fruits.csv",
            "fruit",
            "Favourite fruit",
        ],
    ]);
    let choices = rows(&[
        &["list_name", "name", "label"],
        &["transport", "walk", "On foot"],
        &["transport", "bus", "Bus"],
        &["transport", "car", "Car"],
        &["services", "food", "Food bank"],
        &["services", "clinic", "Clinic"],
        &["services", "school", "School"],
    ]);
    let settings = rows(&[
        &["form_id", "version", "form_title"],
        &["field_visit", "1", "Field visit"],
    ]);
    xlsx(&[
        ("survey", survey),
        ("choices", choices),
        ("settings", settings),
    ])
}

fn text(s: &str) -> Option<AnswerValue> {
    Some(AnswerValue::Text { value: s.into() })
}

fn int(i: i64) -> Option<AnswerValue> {
    Some(AnswerValue::Int { value: i })
}

fn state<'a>(view: &'a ResponseView, name: &str) -> &'a QuestionState {
    view.questions
        .iter()
        .find(|q| q.name == name)
        .unwrap_or_else(|| panic!("no question {name}: {:#?}", view.questions))
}

/// A question's answer as text (numbers as written).
fn value(view: &ResponseView, name: &str) -> Option<String> {
    state(view, name).value.as_ref().map(|v| match v {
        AnswerValue::Text { value } => value.clone(),
        AnswerValue::Int { value } => value.to_string(),
        AnswerValue::Decimal { value } => value.to_string(),
        AnswerValue::Bool { value } => value.to_string(),
    })
}

/// ODK's timestamp, as the core writes `start` and `end`: `2026-12-04T14:30:05.123-05:00`.
fn odk_time(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%:z")
        .unwrap_or_else(|e| panic!("`{s}` is not ODK's timestamp: {e}"))
}

async fn a_form_with_the_new_types_is_filled_synced_and_exported(db: Database) {
    let dir = tempfile::tempdir().unwrap();
    let server = db.start(&dir.path().join("server"));
    let url = server.url();
    create_user(
        &url,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;

    // Staff publish the workbook with the CSV attached, as the Forms page sends them.
    let admin = token(&url, "admin", ADMIN_PASSWORD, "console").await;
    let book = workbook();
    let (content_type, body) = multipart(&[
        ("form", "field_visit.xlsx", &book),
        ("file", "fruits.csv", FRUITS),
    ]);
    let published = reqwest::Client::new()
        .post(format!("{url}/v1/admin/forms"))
        .bearer_auth(&admin)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = published.status();
    let answer = read_json(published).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["id"].as_str(), answer["version"].as_u64()),
        (Some("field_visit"), Some(1)),
        "{answer}"
    );
    assert_eq!(
        answer["warnings"],
        json!([]),
        "every column and type is kept"
    );

    // The version keeps the workbook and the CSV it uses.
    let kept = reqwest::Client::new()
        .get(format!("{url}/v1/admin/forms/field_visit/1"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    let kept = read_json(kept).await;
    let names: Vec<&str> = kept["files"]
        .as_array()
        .unwrap_or_else(|| panic!("{kept}"))
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["field_visit.xlsx", "fruits.csv"], "{kept}");

    // A phone signs in and gets it on sync.
    let phone = DeviceStore::open(dir.path().join("phone.db").display().to_string()).unwrap();
    let session = phone
        .sign_in(
            url.clone(),
            "ana".into(),
            "ana-password".into(),
            "Ana's phone".into(),
        )
        .await
        .unwrap();
    let summary = phone
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(summary.forms, 1);
    assert!(phone
        .forms("en".into())
        .unwrap()
        .iter()
        .any(|f| f.id == "field_visit" && f.title == "Field visit"));

    // Started: the core fills start, today, deviceid and username; nobody is asked.
    let started = phone
        .start_response("field_visit".into(), None, "en".into())
        .unwrap();
    let id = started.id.clone();
    for meta in ["start", "end", "today", "deviceid", "username"] {
        let q = state(&started, meta);
        assert!(!q.shown && !q.required, "{q:?}");
        assert_eq!(q.question_type, meta);
    }
    let start = value(&started, "start").expect("start filled at start");
    let start_at = odk_time(&start);
    let age = chrono::Utc::now().signed_duration_since(start_at);
    assert!(
        age.num_seconds().abs() < 120,
        "start {start} is not now ({age})"
    );
    assert_eq!(
        value(&started, "today").as_deref(),
        Some(&start[..10]),
        "today is the start's date"
    );
    assert!(chrono::NaiveDate::parse_from_str(&start[..10], "%Y-%m-%d").is_ok());
    assert_eq!(
        value(&started, "deviceid").as_deref(),
        Some(session.device_id.as_str())
    );
    assert!(!session.device_id.is_empty());
    assert_eq!(value(&started, "username").as_deref(), Some("ana"));
    assert_eq!(value(&started, "end"), None, "end waits for finalize");
    assert!(state(&started, "visit_time").shown);

    let set = |path: &str, v: Option<AnswerValue>| {
        phone
            .set_answer(id.clone(), path.into(), v, "en".into())
            .unwrap()
    };

    // A time and a date-time, as ODK writes them; a time that is not one is refused.
    let view = set("visit_time", text("half past two"));
    assert!(state(&view, "visit_time").error.is_some());
    let view = set("visit_time", text("14:30:00.000-05:00"));
    assert_eq!(state(&view, "visit_time").error, None);
    let view = set("next_visit", text("2026-12-11"));
    assert!(
        state(&view, "next_visit").error.is_some(),
        "a date is not a date-time"
    );
    let view = set("next_visit", text("2026-12-11T09:15:00.000-05:00"));
    assert_eq!(state(&view, "next_visit").error, None);

    // The range: its bounds in the state; out of bounds and off its steps refused.
    let range = state(&view, "satisfaction").range.clone().expect("bounds");
    assert_eq!(
        (range.start, range.end, range.step, range.decimal),
        (0.0, 10.0, 2.0, false)
    );
    assert_eq!(
        state(&view, "satisfaction").appearance.as_deref(),
        Some("rating")
    );
    for refused in [12, -2, 3] {
        let view = set("satisfaction", int(refused));
        assert!(
            state(&view, "satisfaction").error.is_some(),
            "{refused} accepted"
        );
    }
    let refused = phone.finalize_response(id.clone(), "en".into()).unwrap();
    assert!(!refused.finalized, "finalized with satisfaction 3");
    assert!(state(&refused, "satisfaction").error.is_some());
    let view = set("satisfaction", int(6));
    assert_eq!(state(&view, "satisfaction").error, None);

    // or_other: "other" chosen, then its text asked.
    let transport = state(&view, "transport");
    assert!(
        transport.choices.iter().any(|c| c.name == "other"),
        "{transport:?}"
    );
    assert!(!state(&view, "transport_other").relevant);
    let view = set("transport", text("other"));
    assert!(state(&view, "transport_other").relevant);
    set("transport_other", text("Tricycle"));
    set("services", text("food clinic"));
    set("card", text("4006381333931"));
    set("household_size", int(4));

    // A choice from the attached CSV: its rows are the choices; another value is refused.
    let fruit = state(&view, "fruit");
    let offered: Vec<(&str, &str)> = fruit
        .choices
        .iter()
        .map(|c| (c.name.as_str(), c.label.as_str()))
        .collect();
    assert_eq!(
        offered,
        [("apple", "Apple"), ("kiwi", "Kiwi"), ("mango", "Mango")],
        "{fruit:?}"
    );
    let view = set("fruit", text("banana"));
    assert!(
        state(&view, "fruit").error.is_some(),
        "banana is not in fruits.csv"
    );
    let view = set("fruit", text("kiwi"));
    assert_eq!(state(&view, "fruit").error, None);

    // An image and a file: the bytes kept in the store, the answer their name.
    let photo: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let pdf = b"%PDF-1.4\n% signed consent\n".repeat(100);
    let view = phone
        .attach_bytes(
            id.clone(),
            "photo".into(),
            "porch.jpg".into(),
            photo.clone(),
            "en".into(),
        )
        .unwrap();
    let photo_name = value(&view, "photo").unwrap();
    assert!(
        photo_name.ends_with(".jpg") && photo_name.len() == 64 + 4,
        "{photo_name}"
    );
    assert_eq!(
        state(&view, "photo").parameters.as_deref(),
        Some("max-pixels=1024")
    );
    let view = phone
        .attach_bytes(
            id.clone(),
            "consent_form".into(),
            "consent.pdf".into(),
            pdf.clone(),
            "en".into(),
        )
        .unwrap();
    let pdf_name = value(&view, "consent_form").unwrap();
    assert!(pdf_name.ends_with(".pdf"), "{pdf_name}");
    assert_eq!(phone.pending_attachments().unwrap(), 2);

    // Finalized: end filled now, not before start.
    let done = phone.finalize_response(id.clone(), "en".into()).unwrap();
    assert!(done.finalized, "{:#?}", done.questions);
    assert_eq!(done.error_count, 0);
    let end = value(&done, "end").expect("end filled at finalize");
    assert!(odk_time(&end) >= start_at, "end {end} before start {start}");
    assert_eq!(value(&done, "start").as_deref(), Some(start.as_str()));

    // Synced: the response is accepted and validated by the server, the files go up.
    let summary = phone
        .sync(Arc::new(Quiet), CancelToken::new())
        .await
        .unwrap();
    assert_eq!(summary.rejected, 0);
    assert_eq!(summary.attachments_uploaded, 2);
    assert_eq!(phone.pending_attachments().unwrap(), 0);
    let issues: Vec<String> = server.column(&format!(
        "SELECT CAST(issues AS TEXT) FROM records WHERE id = '{id}'"
    ));
    assert_eq!(issues, ["[]"], "server-side validation");
    for (name, bytes) in [(&photo_name, &photo), (&pdf_name, &pdf)] {
        assert_eq!(
            server_bytes(&server, &name[..64]),
            *bytes,
            "the server's copy of {name}"
        );
    }

    // The export, as staff download it.
    let csv = export(&url, "field_visit").await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let questions: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| !h.starts_with('_'))
        .collect();
    assert_eq!(
        questions,
        [
            "start",
            "end",
            "today",
            "deviceid",
            "username",
            "visit_time",
            "next_visit",
            "satisfaction",
            "transport",
            "transport_other",
            "services",
            "services/food",
            "services/clinic",
            "services/school",
            "card",
            "photo",
            "consent_form",
            "household_size",
            "fruit",
        ],
        "{header:?}"
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1, "{csv}");
    let row = |column: &str| -> String {
        let at = header.iter().position(|h| h == column).unwrap();
        records[0][at].to_string()
    };
    assert_eq!(row("_id"), id);
    assert_eq!(row("_status"), "final");
    for (column, expected) in [
        ("start", start.as_str()),
        ("end", end.as_str()),
        ("today", &start[..10]),
        ("deviceid", session.device_id.as_str()),
        ("username", "ana"),
        ("visit_time", "14:30:00.000-05:00"),
        ("next_visit", "2026-12-11T09:15:00.000-05:00"),
        ("satisfaction", "6"),
        ("transport", "other"),
        ("transport_other", "Tricycle"),
        ("services", "food clinic"),
        ("services/food", "1"),
        ("services/clinic", "1"),
        ("services/school", "0"),
        ("card", "4006381333931"),
        ("photo", photo_name.as_str()),
        ("consent_form", pdf_name.as_str()),
        ("household_size", "4"),
        ("fruit", "kiwi"),
    ] {
        assert_eq!(row(column), expected, "column {column}");
    }
    assert!(!server.log_has_panic());
}

/// The server's bytes of an attachment, its chunks in order (empty when it has none).
fn server_bytes(server: &TestServer, sha256: &str) -> Vec<u8> {
    let complete: Vec<bool> = server.column(&format!(
        "SELECT complete FROM attachments WHERE sha256 = '{sha256}'"
    ));
    assert_eq!(complete, [true], "the upload of {sha256} is complete");
    let chunks: Vec<Vec<u8>> = server.column(&format!(
        "SELECT bytes FROM attachment_chunks WHERE sha256 = '{sha256}' ORDER BY \"offset\""
    ));
    chunks.concat()
}

/// A form's CSV export as an admin's browser session downloads it.
async fn export(url: &str, form: &str) -> String {
    // A staff member's browser session is a device named "web session".
    let cookie = format!(
        "c2c_session={}",
        token(url, "admin", ADMIN_PASSWORD, "web session").await
    );
    let answer = reqwest::Client::new()
        .get(format!("{url}/exports/{form}"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.text().await.unwrap()
}
