//! Publishing form versions through the router and a real SQLite file: the admin API
//! (workbook or JSON; errors by sheet, row and column; taken and older versions
//! refused; roles), what a device is sent on sync, and the staff page's upload, error
//! list, preview and publish.

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use sync_core::protocol::{FormVersion, FormsRequest, FormsResponse, PROTOCOL_VERSION};

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/xlsform")
        .join(name);
    std::fs::read(path).unwrap()
}

/// The seed case note at `version`, with one more question when `extra` is given.
fn case_note(version: u32, extra: Option<&str>) -> Vec<u8> {
    let mut form = forms::instruments::seed_forms()
        .into_iter()
        .find(|f| f.id == "case_note")
        .unwrap();
    form.version = version;
    if let Some(name) = extra {
        form.items.push(forms::Item::Question(forms::Question::new(
            name,
            forms::QuestionType::Text,
        )));
    }
    form.to_json().into_bytes()
}

async fn publish(s: &TestServer, token: &str, body: Vec<u8>) -> Reply {
    s.raw("/v1/admin/forms", Some(token), None, body).await
}

fn json(reply: &Reply) -> serde_json::Value {
    reply.message()
}

async fn missing(s: &TestServer, token: &str, have: &[(&str, u32)]) -> FormsResponse {
    let have = have
        .iter()
        .map(|(id, version)| FormVersion {
            id: id.to_string(),
            version: *version,
        })
        .collect();
    s.post(
        "/v1/sync/forms",
        Some(token),
        &FormsRequest {
            v: PROTOCOL_VERSION,
            have,
        },
    )
    .await
    .message()
}

on_both_backends!(the_admin_api_publishes_new_versions_only);

async fn the_admin_api_publishes_new_versions_only(s: TestServer) {
    let admin = s.admin.clone();

    let first = publish(&s, &admin, case_note(2, Some("consent_on_file"))).await;
    assert_eq!(first.status, StatusCode::OK);
    let answer = json(&first);
    assert_eq!(
        (answer["version"].as_u64(), answer["new"].as_bool()),
        (Some(2), Some(true))
    );
    // The same definition again changes nothing.
    let again = publish(&s, &admin, case_note(2, Some("consent_on_file"))).await;
    assert_eq!(json(&again)["new"], false);
    // Another definition under a published version, or an older version: refused.
    let taken = publish(&s, &admin, case_note(2, Some("other"))).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(taken.error().error, "version_exists");
    assert!(
        taken.error().message.contains("higher version"),
        "{}",
        taken.error().message
    );
    // Version 1 is the seed: taken with another definition.
    let older = publish(&s, &admin, case_note(1, Some("other"))).await;
    assert_eq!(older.status, StatusCode::CONFLICT);

    // A workbook with errors: 422, every error with its sheet, row and column.
    let bad = publish(&s, &admin, fixture("choice_filter_unknown_column.xlsx")).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error().error, "invalid_form");
    assert!(
        bad.error()
            .message
            .contains("survey sheet, row 3, column choice_filter"),
        "{}",
        bad.error().message
    );
    let junk = publish(&s, &admin, b"\x00\x01 not a form".to_vec()).await;
    assert_eq!(junk.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A good workbook.
    let workbook = publish(&s, &admin, fixture("choice_filter.xlsx")).await;
    assert_eq!(workbook.status, StatusCode::OK, "{:?}", workbook.error());

    // Only admins and backbone staff publish.
    let worker = s.user("wanda", "outreach_worker", Some(east())).await;
    let staff = s.user("pam", "partner_staff", Some(east())).await;
    let backbone = s.user("bo", "backbone_staff", Some(east())).await;
    for token in [&worker, &staff] {
        let refused = publish(&s, token, case_note(3, None)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(
        publish(&s, &backbone, case_note(3, None)).await.status,
        StatusCode::OK
    );

    // A device is sent what it lacks, and nothing once it has everything.
    let seeds = [
        ("case_note", 1),
        ("household_survey", 1),
        ("literacy_checkin", 1),
    ];
    let lacking = missing(&s, &worker, &seeds).await;
    let got: Vec<(String, u32)> = lacking
        .forms
        .iter()
        .map(|f| (f.id.clone(), f.version))
        .collect();
    assert_eq!(
        got,
        [
            ("case_note".to_string(), 2),
            ("case_note".to_string(), 3),
            ("edge".to_string(), 2026112201)
        ]
    );
    assert!(!lacking.more);
    let parsed = forms::Form::from_json(&lacking.forms[0].definition).unwrap();
    assert!(parsed.items.iter().any(|i| i.name() == "consent_on_file"));
    let mut all = seeds.to_vec();
    all.extend([("case_note", 2), ("case_note", 3), ("edge", 2026112201)]);
    assert!(missing(&s, &worker, &all).await.forms.is_empty());
    // Without a token: 401.
    let anonymous = s
        .post(
            "/v1/sync/forms",
            None,
            &FormsRequest {
                v: PROTOCOL_VERSION,
                have: vec![],
            },
        )
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

async fn staff_upload_see_errors_preview_and_publish_a_workbook(s: TestServer) {
    let cookie = session(&s, "admin", ADMIN_PASSWORD).await;
    let page = get(&s, "/forms", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("<code>household_survey</code>"),
        "{}",
        page.body
    );
    let csrf = hidden_csrf(&page.body);

    // A workbook with an error: the list names sheet, row and column; nothing published.
    let bad = post_upload(
        &s,
        "/forms/preview",
        &cookie,
        &csrf,
        "bad.xlsx",
        &fixture("choice_filter_unknown_column.xlsx"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = between(
        &bad.body,
        "<ul class=\"error\" id=\"form-errors\">",
        "</ul>",
    );
    assert!(
        errors.contains("survey sheet, row 3, column choice_filter: `state` is not a column"),
        "{errors}"
    );

    // A good one: the preview shows each question in both languages and its rules.
    let preview = post_upload(
        &s,
        "/forms/preview",
        &cookie,
        &csrf,
        "places.xlsx",
        &fixture("choice_filter.xlsx"),
    )
    .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let table = between(&preview.body, "<table id=\"preview\">", "</table>");
    assert!(
        table.contains("<th>English</th><th>Español</th>"),
        "{table}"
    );
    assert!(
        table.contains("choices where <code>county = ${county}</code>"),
        "{table}"
    );
    let bilingual = post_upload(
        &s,
        "/forms/preview",
        &cookie,
        &csrf,
        "bilingual.xlsx",
        &fixture("bilingual.xlsx"),
    )
    .await;
    let table = between(&bilingual.body, "<table id=\"preview\">", "</table>");
    assert!(
        table.contains("<td>Consent?</td><td>¿Consiente?</td><td>required"),
        "{table}"
    );
    assert!(!get(&s, "/forms", Some(&cookie))
        .await
        .body
        .contains("<code>edge</code>"));

    // Publishing posts back the previewed definition.
    let definition = between(&preview.body, "name=\"definition\" value=\"", "\">");
    let definition = definition
        .trim_start_matches("name=\"definition\" value=\"")
        .trim_end_matches("\">");
    let definition = definition
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let body = format!("csrf={csrf}&definition={}", url_escape(&definition));
    let done = post_form(&s, "/forms/publish", &cookie, &body).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let list = get(&s, "/forms", Some(&cookie)).await;
    assert!(
        list.body
            .contains("<code>edge</code></td><td>2026112201</td>"),
        "{}",
        list.body
    );
    assert!(s.storage.form("edge", 2026112201).unwrap().is_some());

    // The same version again is refused at the preview, before anything is posted.
    let again = post_upload(
        &s,
        "/forms/preview",
        &cookie,
        &csrf,
        "places.xlsx",
        &fixture("choice_filter.xlsx"),
    )
    .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("higher version"), "{}", again.body);

    // A wrong CSRF token, and partner staff, are refused.
    let forged = post_upload(&s, "/forms/preview", &cookie, "nope", "x.xlsx", b"x").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    s.user("pam", "partner_staff", Some(east())).await;
    let pam = session(&s, "pam", "password-123").await;
    assert_eq!(
        get(&s, "/forms", Some(&pam)).await.status,
        StatusCode::FORBIDDEN
    );
}

/// Percent-encode a form value.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

on_both_backends!(staff_upload_see_errors_preview_and_publish_a_workbook,);
