//! One set of validation cases (`tests/validation_cases.json`: answers in, verdicts and
//! messages out) run through the forms engine three ways, each held to the verdicts
//! written in the file (never one engine compared with itself):
//!
//! 1. natively: the seed form compiled and `CompiledForm::validate` in the case's
//!    language; the issues' (path, kind, message) must equal the file's;
//! 2. on the server's push path: a real server process; each case is a record created
//!    on a device store with its answers and `_status: final` (as a finalized response
//!    looks; the device's own finalize would refuse the invalid ones, so the raw record
//!    is pushed) and synced. Valid ⇔ accepted. A refused record's reason
//!    (`storage/push.rs`: `"<why>: <path>: <message>; ..."`) is parsed back into
//!    (path, message) pairs. The server words it as follows, and the comparison follows
//!    it exactly: it validates in the form's default language (English), so an `es`
//!    case is held to each issue's `message_en`; when any issue is "hard" (type, not a
//!    choice, unknown question) it names only the hard ones ("the answers break the
//!    form"), otherwise all of them ("a final response must pass its form"); it names at
//!    most five (no case has more). For accepted ones, the record row's stored
//!    (cleaned) fields must hold the case's expected `values`;
//! 3. in the browser build: the field app's core (WebAssembly, in its worker) in
//!    headless Chromium, called as the app calls it: `startResponse`, `addRepeat` and
//!    `setAnswer` for every answer, then `response`: the questions' non-null `error`s
//!    with their paths must equal the file's (path, message) pairs, `error_count` the
//!    number of issues, and `values` the questions' values; then `finalizeResponse`
//!    finalizes exactly the valid ones. The view has a question entry only for the
//!    form's own items, so an issue at a path the form does not have (an unknown
//!    question) is carried in the view's `other_errors` as `path: message` (shown on
//!    the review screen) and must be there; an issue of any other kind at a path the
//!    view lacks is a failure.
//!
//! Each test collects every mismatch and fails with all of them, so one run shows
//! where the engines disagree.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use forms::instruments::seed_form;
use scenarios::app_page::{answer_on_held_view, core, enroll, enrollment_code, phone};
use scenarios::chromium::Chromedriver;
use scenarios::device::{device, sync, user_signed_in, SignedIn};
use scenarios::server::{create_user, TestServer};
use serde_json::{json, Value as Json};
use sync_core::record::STATUS_FIELD;
use sync_core::{Answers, Commit, FormRef, RecordKind, Scope, Store};

/// One expected issue.
#[derive(Debug, Clone)]
struct Expected {
    path: String,
    kind: String,
    message: String,
    /// The English message, for the server (which validates in English).
    message_en: String,
}

/// One case of the file.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    form: String,
    lang: String,
    answers: Json,
    valid: bool,
    issues: Vec<Expected>,
    /// Cleaned values by path (`child[1]/age_years`), after calculations.
    values: BTreeMap<String, Json>,
}

fn str_of(v: &Json, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string `{key}` in {v}"))
        .to_string()
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/validation_cases.json");
    let file: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases: Vec<Case> = file["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let expect = &c["expect"];
            let issues = expect["issues"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    let message = str_of(i, "message");
                    Expected {
                        path: str_of(i, "path"),
                        kind: str_of(i, "kind"),
                        message_en: i["message_en"]
                            .as_str()
                            .map_or_else(|| message.clone(), str::to_string),
                        message,
                    }
                })
                .collect();
            let values = expect["values"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            Case {
                name: str_of(c, "name"),
                form: str_of(c, "form"),
                lang: str_of(c, "lang"),
                answers: c["answers"].clone(),
                valid: expect["valid"].as_bool().unwrap(),
                issues,
                values,
            }
        })
        .collect();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "case names must be unique");
    for c in &cases {
        assert_eq!(
            c.valid,
            c.issues.is_empty(),
            "{}: valid must mean no issues",
            c.name
        );
        let pairs: Vec<(&str, &str)> = c
            .issues
            .iter()
            .map(|i| (i.path.as_str(), i.message.as_str()))
            .collect();
        let mut sorted = pairs.clone();
        sorted.sort();
        assert_eq!(pairs, sorted, "{}: issues must be sorted", c.name);
    }
    cases
}

fn answers_of(case: &Case) -> Answers {
    serde_json::from_value(case.answers.clone())
        .unwrap_or_else(|e| panic!("{}: answers: {e}", case.name))
}

/// Sorted (path, message) pairs.
fn pairs<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        items.map(|(p, m)| (p.to_string(), m.to_string())).collect();
    out.sort();
    out
}

/// The value at `child[2]/age_years` in answers as JSON.
fn json_at<'a>(fields: &'a Json, path: &str) -> Option<&'a Json> {
    let mut at = fields;
    for part in path.split('/') {
        at = match part.split_once('[') {
            Some((name, rest)) => {
                let n: usize = rest.trim_end_matches(']').parse().ok()?;
                at.get(name)?.get(n.checked_sub(1)?)?
            }
            None => at.get(part)?,
        };
    }
    Some(at)
}

fn fail_if_any(engine: &str, failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{engine}: {} case(s) differ from the file:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn native_forms_engine_gives_the_verdicts_of_the_file() {
    let today = chrono::Utc::now().date_naive();
    let mut failures = Vec::new();
    for case in cases() {
        let form = seed_form(&case.form).unwrap().unwrap();
        let validation = form.validate(&answers_of(&case), &case.lang, today);
        let mut got: Vec<(String, String, String)> = validation
            .issues
            .iter()
            .map(|i| {
                let kind = serde_json::to_value(i.kind).unwrap();
                (
                    i.path.clone(),
                    kind.as_str().unwrap().to_string(),
                    i.message.clone(),
                )
            })
            .collect();
        got.sort();
        let mut want: Vec<(String, String, String)> = case
            .issues
            .iter()
            .map(|i| (i.path.clone(), i.kind.clone(), i.message.clone()))
            .collect();
        want.sort();
        eprintln!(
            "native {}: valid={} issues={got:?}",
            case.name,
            validation.is_valid()
        );
        if got != want || validation.is_valid() != case.valid {
            failures.push(format!(
                "{}: valid {} (want {}), issues {got:?}, want {want:?}",
                case.name,
                validation.is_valid(),
                case.valid
            ));
        }
        let cleaned = serde_json::to_value(&validation.answers).unwrap();
        for (path, want) in &case.values {
            let got = json_at(&cleaned, path);
            if got != Some(want) {
                failures.push(format!(
                    "{}: value at {path} is {got:?}, want {want}",
                    case.name
                ));
            }
        }
    }
    fail_if_any("native", &failures);
}

/// Issue kinds the server refuses even in a draft (`is_hard` in `storage/push.rs`).
const HARD: [&str; 3] = ["type", "not_a_choice", "unknown_question"];

/// What the server's reason must say for a case: its prefix and (path, message) pairs.
fn server_expectation(case: &Case) -> (&'static str, Vec<(String, String)>) {
    let hard: Vec<&Expected> = case
        .issues
        .iter()
        .filter(|i| HARD.contains(&i.kind.as_str()))
        .collect();
    let (why, named) = if hard.is_empty() {
        (
            "a final response must pass its form",
            case.issues.iter().collect::<Vec<_>>(),
        )
    } else {
        ("the answers break the form", hard)
    };
    assert!(
        named.len() <= 5,
        "{}: the server names at most 5",
        case.name
    );
    (
        why,
        pairs(
            named
                .iter()
                .map(|i| (i.path.as_str(), i.message_en.as_str())),
        ),
    )
}

/// A refusal's reason, `"<why>: <path>: <message>; <path>: <message>"`, parsed.
fn parse_reason(reason: &str) -> Option<(String, Vec<(String, String)>)> {
    let (why, rest) = reason.split_once(": ")?;
    let issues = rest
        .split("; ")
        .map(|item| item.split_once(": "))
        .collect::<Option<Vec<_>>>()?;
    Some((why.to_string(), pairs(issues.into_iter())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_push_path_gives_the_verdicts_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("server"));
    let url = server.url();
    // Outreach workers send surveys; parents send literacy check-ins.
    let worker = user_signed_in(
        &url,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    let parent = user_signed_in(
        &url,
        "rosa",
        "parent",
        json!({"partnership": "p1", "neighborhood": "east", "family": "rivera"}),
    )
    .await;
    let worker_phone = device(dir.path(), "worker");
    let parent_phone = device(dir.path(), "parent");
    let cases = cases();
    let mut ids = Vec::new();
    for case in &cases {
        let (phone, who, scope, kind): (&Mutex<Store>, &SignedIn, Scope, RecordKind) =
            match case.form.as_str() {
                "household_survey" => (
                    &worker_phone,
                    &worker,
                    Scope::partnership("p1").with_neighborhood("east"),
                    RecordKind::Response,
                ),
                "literacy_checkin" => (
                    &parent_phone,
                    &parent,
                    Scope::partnership("p1")
                        .with_neighborhood("east")
                        .with_family("rivera"),
                    RecordKind::Checkin,
                ),
                other => panic!("{}: no device sends {other}", case.name),
            };
        let version = seed_form(&case.form).unwrap().unwrap().form().version;
        let mut answers = answers_of(case);
        // A finalized response, as the device's finalize marks it.
        answers.set(STATUS_FIELD, "final");
        let id = phone
            .lock()
            .unwrap()
            .create(
                kind,
                scope,
                Some(FormRef {
                    id: case.form.clone(),
                    version,
                }),
                &answers,
                &Commit::new(&who.user_id, "Finalized"),
            )
            .unwrap();
        ids.push(id);
    }
    let mut refusals: HashMap<uuid::Uuid, Vec<String>> = HashMap::new();
    for (phone, who) in [(&worker_phone, &worker), (&parent_phone, &parent)] {
        let report = sync(phone, &url, &who.token).await.unwrap();
        for (id, reason) in report.refusals {
            refusals.entry(id).or_default().push(reason);
        }
    }
    let logged: BTreeSet<String> = server.logged_record_ids().into_iter().collect();
    let mut failures = Vec::new();
    for (case, id) in cases.iter().zip(&ids) {
        let accepted = logged.contains(&id.to_string());
        let reasons = refusals.get(id).cloned().unwrap_or_default();
        eprintln!(
            "server {}: accepted={accepted} reasons={reasons:?}",
            case.name
        );
        if accepted != reasons.is_empty() {
            failures.push(format!(
                "{}: logged {accepted} but refusals {reasons:?}",
                case.name
            ));
            continue;
        }
        if accepted != case.valid {
            failures.push(format!(
                "{}: accepted {accepted}, want valid {} (reasons {reasons:?})",
                case.name, case.valid
            ));
            continue;
        }
        if accepted {
            let fields: Vec<String> =
                server.column(&format!("SELECT fields FROM records WHERE id = '{id}'"));
            let fields: Json = serde_json::from_str(&fields[0]).unwrap();
            for (path, want) in &case.values {
                let got = json_at(&fields, path);
                if got != Some(want) {
                    failures.push(format!(
                        "{}: stored value at {path} is {got:?}, want {want}",
                        case.name
                    ));
                }
            }
            continue;
        }
        let (why, want) = server_expectation(case);
        let got: Vec<_> = reasons.iter().map(|r| parse_reason(r)).collect();
        if got != vec![Some((why.to_string(), want.clone()))] {
            failures.push(format!(
                "{}: refused with {reasons:?}, want `{why}` naming {want:?}",
                case.name
            ));
        }
    }
    fail_if_any("server push", &failures);
}

/// A JSON answer as the app's `AnswerValue`.
fn answer_value(v: &Json) -> Json {
    match v {
        Json::Null => Json::Null,
        Json::Bool(b) => json!({"type": "bool", "value": b}),
        Json::Number(n) if n.is_i64() => json!({"type": "int", "value": n}),
        Json::Number(n) => json!({"type": "decimal", "value": n}),
        Json::String(s) => json!({"type": "text", "value": s}),
        other => panic!("not a scalar answer: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_build_gives_the_verdicts_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = TestServer::start(&dir.path().join("server"));
    let base = server.url();
    create_user(
        &base,
        "ana",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    let c = phone(&driver, &dir.path().join("phone")).await;
    enroll(&c, &base, &enrollment_code(&server, "ana"), "worker-home").await;

    let mut failures = Vec::new();
    for case in cases() {
        let lang = case.lang.as_str();
        let started = core(&c, "startResponse", json!([case.form, null, lang])).await;
        let id = started["id"].as_str().unwrap().to_string();
        // Answered as the survey screen answers: each answer's result is the changes to
        // the view the page holds (repeats added in between move the questions after).
        let mut held = started.clone();
        for (name, answer) in case.answers.as_object().unwrap() {
            match answer {
                Json::Array(instances) => {
                    for instance in instances {
                        let n = core(&c, "addRepeat", json!([id, name])).await;
                        for (q, v) in instance.as_object().unwrap() {
                            let path = format!("{name}[{n}]/{q}");
                            held = answer_on_held_view(&c, &id, &path, answer_value(v), lang).await;
                        }
                    }
                }
                v => {
                    held = answer_on_held_view(&c, &id, name, answer_value(v), lang).await;
                }
            }
        }
        let view = core(&c, "response", json!([id, lang])).await;
        if held["questions"] != view["questions"] || held["error_count"] != view["error_count"] {
            failures.push(format!(
                "{}: the view built from each answer's changes is not the whole view",
                case.name
            ));
        }
        let questions = view["questions"].as_array().unwrap();
        let shown_paths: BTreeSet<&str> = questions
            .iter()
            .filter_map(|q| q["path"].as_str())
            .collect();
        let got = pairs(
            questions
                .iter()
                .filter_map(|q| Some((q["path"].as_str()?, q["error"].as_str()?))),
        );
        // Issues at paths the view has no question for are only counted.
        let want = pairs(
            case.issues
                .iter()
                .filter(|i| shown_paths.contains(i.path.as_str()))
                .map(|i| (i.path.as_str(), i.message.as_str())),
        );
        // Only an answer to a question the form lacks may go without a question, and
        // then the view's other errors carry it.
        let others: Vec<&str> = view["other_errors"]
            .as_array()
            .map(|a| a.iter().filter_map(|e| e.as_str()).collect())
            .unwrap_or_default();
        let mut want_others = Vec::new();
        for unseen in case
            .issues
            .iter()
            .filter(|i| !shown_paths.contains(i.path.as_str()))
        {
            if unseen.kind != "unknown_question" {
                failures.push(format!(
                    "{}: no question in the view for the issue at {} ({})",
                    case.name, unseen.path, unseen.kind
                ));
            }
            want_others.push(format!("{}: {}", unseen.path, unseen.message));
        }
        if others != want_others {
            failures.push(format!(
                "{}: other errors {others:?}, want {want_others:?}",
                case.name
            ));
        }
        let error_count = view["error_count"].as_u64().unwrap();
        eprintln!(
            "browser {}: error_count={error_count} errors={got:?}",
            case.name
        );
        if got != want || error_count != case.issues.len() as u64 {
            failures.push(format!(
                "{}: error_count {error_count} (want {}), errors {got:?}, want {want:?}",
                case.name,
                case.issues.len()
            ));
        }
        for (path, want) in &case.values {
            let got = questions
                .iter()
                .find(|q| q["path"] == path.as_str())
                .map(|q| &q["value"]["value"]);
            if got != Some(want) {
                failures.push(format!(
                    "{}: shown value at {path} is {got:?}, want {want}",
                    case.name
                ));
            }
        }
        let finalized = core(&c, "finalizeResponse", json!([id, lang])).await;
        if finalized["finalized"] != case.valid {
            failures.push(format!(
                "{}: finalized {}, want {}",
                case.name, finalized["finalized"], case.valid
            ));
        }
    }
    c.close().await.unwrap();
    fail_if_any("browser", &failures);
}
