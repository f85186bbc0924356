//! The files of a form version (issue 19 item 5): the workbook and its attached CSV
//! files published through the admin API (`multipart/form-data`) and the Forms page,
//! kept beside the version (once: an unchanged re-publication adds nothing), read back
//! byte for byte (`GET /v1/admin/forms/{id}/{version}[/files/{name}]` and the page's
//! links), refused to other roles, 404 for a file there is not. On SQLite and
//! PostgreSQL.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::pages::*;
use common::*;
use http_body_util::BodyExt;
use tower::ServiceExt;

/// The workbook's name: HTML and URL special characters, to see them escaped.
const WORKBOOK: &str = "Fruit <&> survey's.xlsx";
const CSV: &[u8] = b"name,label\napple,Apple\nkiwi,Kiwi\n";

/// A small XLSForm workbook (`.xlsx`), form id `fruit_survey` at `version`: a text
/// question and a select from `fruits.csv`.
fn workbook(version: u32) -> Vec<u8> {
    fruit_survey(version, true)
}

/// [`workbook`], with the select from `fruits.csv` only when `uses_csv`.
fn fruit_survey(version: u32, uses_csv: bool) -> Vec<u8> {
    let mut rows: Vec<&[&str]> = vec![
        &["type", "name", "label"],
        &["text", "who", "Who is answering?"],
    ];
    if uses_csv {
        rows.push(&[
            "select_one_from_file fruits.csv",
            "fruit",
            "Favourite fruit",
        ]);
    }
    let survey = sheet(&rows);
    let choices = sheet(&[&["list_name", "name", "label"]]);
    let version = version.to_string();
    let settings = sheet(&[&["form_id", "version"], &["fruit_survey", &version]]);
    xlsx(&[
        ("survey", survey),
        ("choices", choices),
        ("settings", settings),
    ])
}

/// A worksheet's XML, every cell an inline string.
fn sheet(rows: &[&[&str]]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
         <worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>",
    );
    for (r, row) in rows.iter().enumerate() {
        xml.push_str(&format!("<row r=\"{}\">", r + 1));
        for (c, cell) in row.iter().enumerate() {
            xml.push_str(&format!(
                "<c r=\"{}{}\" t=\"inlineStr\"><is><t>{cell}</t></is></c>",
                (b'A' + c as u8) as char,
                r + 1
            ));
        }
        xml.push_str("</row>");
    }
    xml.push_str("</sheetData></worksheet>");
    xml
}

/// An `.xlsx` package of these sheets (a zip whose parts are stored, not deflated).
fn xlsx(sheets: &[(&str, String)]) -> Vec<u8> {
    const MAIN: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
    const RELS: &str = "http://schemas.openxmlformats.org/package/2006/relationships";
    const DOC: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let mut types = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>",
    );
    let mut book = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><workbook xmlns=\"{MAIN}\" \
         xmlns:r=\"{DOC}\"><sheets>"
    );
    let mut book_rels =
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"{RELS}\">");
    let mut parts = Vec::new();
    for (i, (name, xml)) in sheets.iter().enumerate() {
        let n = i + 1;
        types.push_str(&format!(
            "<Override PartName=\"/xl/worksheets/sheet{n}.xml\" \
             ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        ));
        book.push_str(&format!(
            "<sheet name=\"{name}\" sheetId=\"{n}\" r:id=\"rId{n}\"/>"
        ));
        book_rels.push_str(&format!(
            "<Relationship Id=\"rId{n}\" Type=\"{DOC}/worksheet\" Target=\"worksheets/sheet{n}.xml\"/>"
        ));
        parts.push((format!("xl/worksheets/sheet{n}.xml"), xml.clone()));
    }
    types.push_str("</Types>");
    book.push_str("</sheets></workbook>");
    book_rels.push_str("</Relationships>");
    let root_rels = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"{RELS}\">\
         <Relationship Id=\"rId1\" Type=\"{DOC}/officeDocument\" Target=\"xl/workbook.xml\"/>\
         </Relationships>"
    );
    let mut all = vec![
        ("[Content_Types].xml".to_string(), types),
        ("_rels/.rels".to_string(), root_rels),
        ("xl/workbook.xml".to_string(), book),
        ("xl/_rels/workbook.xml.rels".to_string(), book_rels),
    ];
    all.extend(parts);
    stored_zip(&all)
}

/// A zip archive of these files, stored (method 0).
fn stored_zip(files: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let mut crc = flate2::Crc::new();
        crc.update(data.as_bytes());
        let (crc, size, offset) = (crc.sum(), data.len() as u32, out.len() as u32);
        // Version 2.0, no flags, stored, 1980-01-01 00:00.
        let common = |v: &mut Vec<u8>| {
            for x in [20u16, 0, 0, 0, 0x21] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            for x in [crc, size, size] {
                v.extend_from_slice(&x.to_le_bytes());
            }
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes());
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data.as_bytes());
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes());
        common(&mut central);
        for x in [0u16, 0, 0] {
            central.extend_from_slice(&x.to_le_bytes());
        }
        central.extend_from_slice(&0u32.to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let (at, len) = (out.len() as u32, central.len() as u32);
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for x in [0u16, 0, files.len() as u16, files.len() as u16] {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A `multipart/form-data` body of (field, filename, bytes) parts.
fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, filename, bytes) in parts {
        body.extend_from_slice(b"--XBOUNDARYX\r\n");
        let disposition = match filename {
            Some(f) => format!("form-data; name=\"{field}\"; filename=\"{f}\""),
            None => format!("form-data; name=\"{field}\""),
        };
        body.extend_from_slice(
            format!(
                "Content-Disposition: {disposition}\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XBOUNDARYX--\r\n");
    body
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (gzip-compressed when the answer says so).
    fn json(&self) -> serde_json::Value {
        let mut text = Vec::new();
        if self.header("content-encoding") == "gzip" {
            use std::io::Read;
            flate2::read::GzDecoder::new(self.body.as_slice())
                .read_to_end(&mut text)
                .unwrap();
        } else {
            text = self.body.clone();
        }
        serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&text)))
    }

    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }
}

async fn call(s: &TestServer, req: Request<Body>) -> Answer {
    let resp = s.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn publish_multipart(s: &TestServer, token: &str, body: Vec<u8>) -> Answer {
    let req = Request::post("/v1/admin/forms")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "multipart/form-data; boundary=XBOUNDARYX")
        .body(Body::from(body))
        .unwrap();
    call(s, req).await
}

async fn api_get(s: &TestServer, token: &str, path: &str) -> Answer {
    let req = Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    call(s, req).await
}

fn unescape_html(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The value of the hidden field `name` of a page.
fn hidden(body: &str, name: &str) -> String {
    let start = format!("name=\"{name}\" value=\"");
    let at = body
        .find(&start)
        .unwrap_or_else(|| panic!("no hidden `{name}` in {body}"))
        + start.len();
    unescape_html(&body[at..at + body[at..].find('"').unwrap()])
}

on_both_backends!(
    the_admin_api_keeps_a_workbook_and_its_csv_and_gives_them_back,
    the_forms_page_uploads_lists_and_serves_the_files,
);

async fn the_admin_api_keeps_a_workbook_and_its_csv_and_gives_them_back(s: TestServer) {
    let admin = s.admin.clone();
    let book = workbook(3);
    let body = multipart(&[
        ("form", Some(WORKBOOK), &book),
        ("file", Some("fruits.csv"), CSV),
    ]);
    let published = publish_multipart(&s, &admin, body.clone()).await;
    assert_eq!(
        published.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&published.body)
    );
    let answer = published.json();
    assert_eq!(answer["id"], "fruit_survey");
    assert_eq!(answer["version"], 3);
    assert_eq!(answer["new"], true);

    // The definition and the list of files.
    let read = api_get(&s, &admin, "/v1/admin/forms/fruit_survey/3").await;
    assert_eq!(read.status, StatusCode::OK);
    let read = read.json();
    assert_eq!(read["definition"]["id"], "fruit_survey");
    assert_eq!(read["definition"]["version"], 3);
    assert!(read["published_at"].as_i64().unwrap() > 0);
    assert_eq!(
        read["files"],
        serde_json::json!([
            {"name": WORKBOOK, "size": book.len(), "kind": "workbook"},
            {"name": "fruits.csv", "size": CSV.len(), "kind": "data"},
        ])
    );

    // Each file byte for byte, as a download.
    let path = format!(
        "/v1/admin/forms/fruit_survey/3/files/{}",
        server::web::url_encode(WORKBOOK)
    );
    let got = api_get(&s, &admin, &path).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, book);
    assert_eq!(
        got.header("content-type"),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let disposition = got.header("content-disposition");
    assert!(disposition.starts_with("attachment; "), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''Fruit%20%3C%26%3E%20survey%27s.xlsx"),
        "{disposition}"
    );
    let csv = api_get(
        &s,
        &admin,
        "/v1/admin/forms/fruit_survey/3/files/fruits.csv",
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.body, CSV);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");

    // What is not there is 404.
    for path in [
        "/v1/admin/forms/fruit_survey/3/files/other.csv",
        "/v1/admin/forms/fruit_survey/4/files/fruits.csv",
        "/v1/admin/forms/fruit_survey/x/files/fruits.csv",
        "/v1/admin/forms/fruit_survey/4",
        "/v1/admin/forms/nope/1",
    ] {
        let missing = api_get(&s, &admin, path).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(missing.json()["error"], "not_found", "{path}");
    }

    // Other roles are refused, as for publishing.
    for (name, role) in [("pam", "partner_staff"), ("olive", "outreach_worker")] {
        let token = s.user(name, role, Some(east())).await;
        for path in ["/v1/admin/forms/fruit_survey/3", &path] {
            let refused = api_get(&s, &token, path).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{role} {path}");
        }
        let refused = publish_multipart(&s, &token, body.clone()).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }

    // The same publication again changes nothing and keeps no second copy.
    let again = publish_multipart(&s, &admin, body.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["new"], false);
    assert_eq!(s.sql("SELECT COUNT(*) FROM form_files"), 2);

    // The raw body still publishes: a workbook named by `?file_name=` keeps it.
    let plain = fruit_survey(4, false);
    let raw = Request::post("/v1/admin/forms?file_name=fruit%20v4.xlsx")
        .header("authorization", format!("Bearer {admin}"))
        .body(Body::from(plain.clone()))
        .unwrap();
    let raw = call(&s, raw).await;
    assert_eq!(
        raw.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&raw.body)
    );
    let read = api_get(&s, &admin, "/v1/admin/forms/fruit_survey/4")
        .await
        .json();
    assert_eq!(
        read["files"],
        serde_json::json!([{"name": "fruit v4.xlsx", "size": plain.len(), "kind": "workbook"}])
    );
    // A JSON definition keeps no file; its definition reads back.
    let mut note = forms::instruments::seed_forms()
        .into_iter()
        .find(|f| f.id == "case_note")
        .unwrap();
    note.version = 2;
    let json = Request::post("/v1/admin/forms")
        .header("authorization", format!("Bearer {admin}"))
        .body(Body::from(note.to_json()))
        .unwrap();
    assert_eq!(call(&s, json).await.status, StatusCode::OK);
    let read = api_get(&s, &admin, "/v1/admin/forms/case_note/2")
        .await
        .json();
    assert_eq!(read["files"], serde_json::json!([]));
    assert_eq!(read["definition"]["id"], "case_note");

    // Refused uploads publish nothing: a CSV that is not UTF-8 text (named in the
    // error), too many files, two files of one name, a file part with no filename, no
    // workbook part.
    let bad = publish_multipart(
        &s,
        &admin,
        multipart(&[
            ("form", Some("v5.xlsx"), &workbook(5)),
            ("file", Some("fruits.csv"), b"name,label\n\xff\xfe,x\n"),
        ]),
    )
    .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = bad.json();
    assert_eq!(error["error"], "invalid_form");
    assert!(
        error["message"].as_str().unwrap().contains("fruits.csv"),
        "{error}"
    );
    let book5 = workbook(5);
    let mut many: Vec<(&str, Option<&str>, &[u8])> = vec![("form", Some("v5.xlsx"), &book5)];
    let names: Vec<String> = (0..21).map(|i| format!("f{i}.csv")).collect();
    for name in &names {
        many.push(("file", Some(name), CSV));
    }
    let too_many = publish_multipart(&s, &admin, multipart(&many)).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_many.json()["message"]
        .as_str()
        .unwrap()
        .contains("at most 20"));
    let twice = publish_multipart(
        &s,
        &admin,
        multipart(&[
            ("form", Some("v5.xlsx"), &book5),
            ("file", Some("fruits.csv"), CSV),
            ("file", Some("dir/fruits.csv"), CSV),
        ]),
    )
    .await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A CSV over 2 MiB: the body is over axum's default limit too, which does not apply.
    let big = vec![b'a'; 2 * 1024 * 1024 + 1];
    let too_big = publish_multipart(
        &s,
        &admin,
        multipart(&[
            ("form", Some("v5.xlsx"), &book5),
            ("file", Some("big.csv"), &big),
        ]),
    )
    .await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = too_big.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("`big.csv` is 2097153 bytes"), "{message}");
    let unnamed = publish_multipart(
        &s,
        &admin,
        multipart(&[("form", Some("v5.xlsx"), &book5), ("file", None, CSV)]),
    )
    .await;
    assert_eq!(unnamed.status, StatusCode::BAD_REQUEST);
    let no_form = publish_multipart(&s, &admin, multipart(&[("file", Some("a.csv"), CSV)])).await;
    assert_eq!(no_form.status, StatusCode::BAD_REQUEST);
    let twice_a_column = publish_multipart(
        &s,
        &admin,
        multipart(&[
            ("form", Some("v5.xlsx"), &book5),
            ("file", Some("fruits.csv"), b"name,name\na,b\n"),
        ]),
    )
    .await;
    assert_eq!(twice_a_column.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = twice_a_column.json()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("attached file `fruits.csv`"),
        "{message}"
    );
    assert!(s.storage.form("fruit_survey", 5).unwrap().is_none());
    assert_eq!(s.sql("SELECT COUNT(*) FROM form_files"), 3);

    // A file the form does not use is a warning, and not kept.
    let published = publish_multipart(
        &s,
        &admin,
        multipart(&[
            ("form", Some("v5.xlsx"), &book5),
            ("file", Some("fruits.csv"), CSV),
            ("file", Some("spare.csv"), CSV),
        ]),
    )
    .await
    .json();
    assert!(
        published["warnings"].to_string().contains("spare.csv"),
        "{published}"
    );
    let read = api_get(&s, &admin, "/v1/admin/forms/fruit_survey/5")
        .await
        .json();
    let names: Vec<&str> = read["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["v5.xlsx", "fruits.csv"]);
}

async fn the_forms_page_uploads_lists_and_serves_the_files(s: TestServer) {
    let cookie = session(&s, "admin", ADMIN_PASSWORD).await;
    let page = get(&s, "/forms", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains("<input type=\"file\" name=\"files\" multiple accept=\".csv\">"),
        "{}",
        page.body
    );
    let csrf = hidden_csrf(&page.body);

    // The upload: the workbook and its CSV, as a browser sends them.
    let book = workbook(7);
    let body = multipart(&[
        ("csrf", None, csrf.as_bytes()),
        ("file", Some(WORKBOOK), &book),
        ("files", Some("fruits.csv"), CSV),
    ]);
    let req = Request::post("/forms/preview")
        .header("cookie", &cookie)
        .header("content-type", "multipart/form-data; boundary=XBOUNDARYX")
        .body(Body::from(body))
        .unwrap();
    let preview = send(&s, req).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", preview.body);
    let kept = between(&preview.body, "<ul id=\"form-files\">", "</ul>");
    assert!(kept.contains("Fruit &lt;&amp;&gt; survey's.xlsx"), "{kept}");
    assert!(kept.contains("fruits.csv"), "{kept}");
    assert!(!preview.body.contains(WORKBOOK), "the name is escaped");

    // Publish what the preview carries.
    let form = format!(
        "csrf={csrf}&definition={}&files={}",
        server::web::url_encode(&hidden(&preview.body, "definition")),
        server::web::url_encode(&hidden(&preview.body, "files"))
    );
    let done = post_form(&s, "/forms/publish", &cookie, &form).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert!(s.storage.form("fruit_survey", 7).unwrap().is_some());

    // The list links each file; the links serve them byte for byte.
    let list = get(&s, "/forms", Some(&cookie)).await;
    let workbook_link = "/forms/fruit_survey/7/files/Fruit%20%3C%26%3E%20survey%27s.xlsx";
    assert!(
        list.body.contains(&format!(
            "<a href=\"{workbook_link}\" download>Fruit &lt;&amp;&gt; survey's.xlsx</a>"
        )),
        "{}",
        list.body
    );
    let csv_link = "/forms/fruit_survey/7/files/fruits.csv";
    assert!(
        list.body
            .contains(&format!("<a href=\"{csv_link}\" download>fruits.csv</a>")),
        "{}",
        list.body
    );
    assert!(!list.body.contains(WORKBOOK), "the name is escaped");
    // A version with no kept files (the seed instruments) shows no link.
    let seed_row = between(&list.body, "<code>household_survey</code>", "</tr>");
    assert!(!seed_row.contains("<a "), "{seed_row}");

    let req = Request::get(workbook_link)
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let resp = s.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; "));
    let got = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(got.as_ref(), book.as_slice());
    let req = Request::get(csv_link)
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let resp = s.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let got = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(got.as_ref(), CSV);

    // No such file: 404. Partner staff: refused. Signed out: to the sign-in page.
    let missing = get(&s, "/forms/fruit_survey/7/files/other.csv", Some(&cookie)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    s.user("pam", "partner_staff", Some(east())).await;
    let pam = session(&s, "pam", "password-123").await;
    assert_eq!(
        get(&s, csv_link, Some(&pam)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(get(&s, csv_link, None).await.status, StatusCode::SEE_OTHER);

    // Publishing the same again keeps no second copy.
    let again = post_form(&s, "/forms/publish", &cookie, &form).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(s.sql("SELECT COUNT(*) FROM form_files"), 2);
}
