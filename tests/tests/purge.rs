//! Consent withdrawal, end to end: a real server process and two phones. A household,
//! its member and their survey response are recorded on one phone and synced to both;
//! an admin purges the household. Afterwards its answers appear nowhere: not in the
//! server's database files (raw bytes, write-ahead log included), not in either phone's
//! store files after they sync, not in the CSV export; and the audit log names who
//! purged which ids, when and why, without the data. The server logs every request
//! (level info) and its log holds no token, no password and no answer.

use std::path::Path;

use scenarios::device::{all_records, device, sync, user_signed_in, SignedIn};
use scenarios::server::{read_json, token, user_with_token, TestServer, ADMIN_PASSWORD};
use serde_json::json;
use sync_core::{Answers, Commit, FormRef, RecordKind, Scope, Value};

/// Answers nobody else would give: found anywhere, they leaked.
const NAME: &str = "Zyxquorbel Household";
const ADDRESS: &str = "4242 Purgeable Lane";
const MEMBER: &str = "Quimbertine Zyxquorbel";

fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

#[tokio::test]
async fn a_purged_household_is_gone_from_the_server_files_the_phones_and_the_exports() {
    let dir = tempfile::tempdir().unwrap();
    let server_dir = dir.path().join("server");
    let phones = dir.path().join("phones");
    std::fs::create_dir_all(&phones).unwrap();
    let server = TestServer::start_logging(&server_dir, "127.0.0.1:0", "info");
    let url = server.url();
    let east = json!({"partnership": "p1", "neighborhood": "east"});
    let SignedIn {
        token: worker,
        user_id: ana,
    } = user_signed_in(&url, "ana", "outreach_worker", east.clone()).await;
    let staff = user_with_token(&url, "bo", "backbone_staff", json!({"partnership": "p1"})).await;
    let scope = Scope::partnership("p1").with_neighborhood("east");

    let phone = device(&phones, "ana");
    let other = device(&phones, "bo");
    let (household, member, response, kept) = {
        let mut store = phone.lock().unwrap();
        let commit = Commit::new(&ana, "Enrolled");
        let mut h = Answers::new();
        h.set("name", NAME).set("address", ADDRESS);
        let household = store
            .create(RecordKind::Household, scope.clone(), None, &h, &commit)
            .unwrap();
        let mut p = Answers::new();
        p.set("household", household.to_string())
            .set("name", MEMBER)
            .set("relationship", "child");
        let member = store
            .create(RecordKind::Person, scope.clone(), None, &p, &commit)
            .unwrap();
        let mut r = scenarios::household_survey_answers(7);
        r.set("_household", household.to_string())
            .set("_status", Value::from("final"));
        let form = Some(FormRef {
            id: "household_survey".into(),
            version: 1,
        });
        let response = store
            .create(
                RecordKind::Response,
                scope.clone(),
                form.clone(),
                &r,
                &commit,
            )
            .unwrap();
        // Another household's response, which must stay.
        let kept = store
            .create(
                RecordKind::Response,
                scope.clone(),
                form,
                &scenarios::household_survey_answers(8),
                &commit,
            )
            .unwrap();
        (household, member, response, kept)
    };
    // Edit the address once, so an older version of it is in the history too.
    {
        let mut store = phone.lock().unwrap();
        store
            .update(household, &Commit::new(&ana, "Moved"), |e| {
                e.set_field("address", format!("{ADDRESS} (rear)"))
            })
            .unwrap();
    }
    sync(&phone, &url, &worker).await.unwrap();
    sync(&other, &url, &staff).await.unwrap();
    assert_eq!(all_records(&other).len(), 4);
    assert!(
        !files_holding(&server_dir, ADDRESS).is_empty(),
        "the test looks in the right place"
    );

    // The purge.
    let admin = token(&url, "admin", ADMIN_PASSWORD, "admin console").await;
    let answer = reqwest::Client::new()
        .post(format!("{url}/v1/admin/purge"))
        .bearer_auth(&admin)
        .json(&json!({"v": 1, "subject": household, "reason": "consent withdrawn by phone, case 118"}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let answer = read_json(answer).await;
    let purged: Vec<String> = serde_json::from_value(answer["records"].clone()).unwrap();
    let mut expected = vec![
        household.to_string(),
        member.to_string(),
        response.to_string(),
    ];
    let mut got = purged.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);

    // The phones sync: the tombstones remove the records.
    let report = sync(&phone, &url, &worker).await.unwrap();
    assert_eq!(report.removed, 3, "{report:?}");
    sync(&other, &url, &staff).await.unwrap();
    for store in [&phone, &other] {
        let ids: Vec<_> = all_records(store).iter().map(|r| r.meta.id).collect();
        assert_eq!(ids, vec![kept]);
    }

    // Nowhere in the files: the server's database and log, and both phones' stores.
    for needle in [NAME, ADDRESS, MEMBER] {
        assert_eq!(
            files_holding(&server_dir, needle),
            Vec::<String>::new(),
            "server: {needle}"
        );
        assert_eq!(
            files_holding(&phones, needle),
            Vec::<String>::new(),
            "phones: {needle}"
        );
    }

    // Nor in the export.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // A staff member's browser session is a device named "web session".
    let cookie = format!(
        "c2c_session={}",
        token(&url, "bo", "bo-password", "web session").await
    );
    let csv = page
        .get(format!("{url}/exports/household_survey"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    let csv = csv.text().await.unwrap();
    assert!(csv.contains(&kept.to_string()));
    assert!(!csv.contains(&response.to_string()) && !csv.contains(&household.to_string()));

    // The audit log: who, which ids, when, why; no data.
    let db = server.db();
    let rows: Vec<(String, String, String, String)> = db
        .prepare("SELECT record_id, kind, purged_by, reason FROM purges ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, household.to_string());
    assert_eq!(rows[0].1, "household");
    assert!(rows
        .iter()
        .all(|r| r.3 == "consent withdrawn by phone, case 118"));
    let admin_id: String = db
        .query_row("SELECT id FROM users WHERE username = 'admin'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(rows.iter().all(|r| r.2 == admin_id));

    // The log (in the server's directory, so already searched for the answers above)
    // names requests and ids, never a secret.
    let log = server.log_text();
    assert!(log.contains("/v1/admin/purge"), "the log is at info level");
    for secret in [
        &worker,
        &staff,
        &admin,
        "ana-password",
        "bo-password",
        ADMIN_PASSWORD,
    ] {
        assert!(!log.contains(secret), "the log holds a secret");
    }

    // A second purge of the same id finds nothing.
    let again = reqwest::Client::new()
        .post(format!("{url}/v1/admin/purge"))
        .bearer_auth(&admin)
        .json(&json!({"v": 1, "subject": household, "reason": "again"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404);
}
