//! The field app's budgets, measured in Debian's headless Chromium against a real
//! server process (docs/benchmarks.md, "The field app in the browser"):
//!
//! 1. what a first visit transfers (the app, the core's wasm, styles), counted on the
//!    wire by a proxy in front of the server, compressed as sent;
//! 2. a first sync of 1,000 records into the browser's store;
//! 3. an offline cold start to the household list, with 4× CPU throttling (a cheap
//!    phone), from navigation to the list drawn (the app's `c2c-ready` mark);
//! 4. answering a question in a 60-question form (the core re-evaluates the whole form
//!    and saves the answer), page → worker → core → page (the questions it changed,
//!    applied to the page's view, as the survey screen does), with 4× CPU throttling.
//!
//! `cargo bench -p scenarios --bench field_app` (`RUNS=n` cold starts, default 7;
//! `ANSWERS=n`, default 300).

use std::time::Duration;

use scenarios::app_page::{controlled, core, ready, screen};
use scenarios::chromium::{cdp, goto, set_offline, BrowserOptions, Chromedriver};
use scenarios::device::{device, device_sign_in, sync as device_sync};
use scenarios::proxy::Proxy;
use scenarios::server::{create_user, token, TestServer, ADMIN_PASSWORD};
use serde_json::{json, Value};
use sync_core::{Answers, Commit, RecordKind, Scope};

/// Households on the server; each has one member, so twice as many records.
const HOUSEHOLDS: usize = 500;
const QUESTIONS: usize = 60;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A form of 60 questions: integers with constraints, choices shown by relevance on
/// them, texts whose labels name earlier answers, calculations over them.
fn sixty_questions() -> Value {
    let mut items = Vec::new();
    for i in 0..QUESTIONS {
        let name = format!("q{i:02}");
        let item = match i % 4 {
            0 => json!({"type": "integer", "name": name,
                        "label": {"en": format!("How many, {i}?")},
                        "constraint": ". >= 0 and . <= 100",
                        "constraint_message": {"en": "From 0 to 100."}}),
            1 => json!({"type": "select_one yes_no", "name": name,
                        "label": {"en": format!("Is it so, {i}?")},
                        "relevant": format!("${{q{:02}}} > 10", i - 1)}),
            2 => json!({"type": "text", "name": name,
                        "label": {"en": format!("Tell us about ${{q{:02}}}", i - 2)}}),
            _ => json!({"type": "calculate", "name": name,
                        "calculation": format!("coalesce(${{q{:02}}}, 0) * 2", i - 3)}),
        };
        items.push(item);
    }
    json!({
        "id": "bench_sixty", "version": 1,
        "title": {"en": "Sixty questions"},
        "languages": [{"code": "en", "name": "English"}],
        "default_language": "en",
        "items": items,
        "choices": {"yes_no": [
            {"name": "yes", "label": {"en": "Yes"}},
            {"name": "no", "label": {"en": "No"}},
        ]},
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(label: &str, mut values: Vec<f64>, unit: &str) {
    values.sort_by(f64::total_cmp);
    println!(
        "{label}: n={} median {:.1} {unit}, p90 {:.1} {unit}, p99 {:.1} {unit}, max {:.1} {unit}",
        values.len(),
        percentile(&values, 0.5),
        percentile(&values, 0.9),
        percentile(&values, 0.99),
        values[values.len() - 1],
    );
}

/// Run a page script that times `n` calls on the response `id` and answers `{times}`
/// (and, optionally, `{changed}`: how many questions each result carried).
async fn timed(c: &fantoccini::Client, script: &str, id: &str, n: usize) -> (Vec<f64>, Vec<f64>) {
    let answer = c
        .execute_async(script, vec![json!(id), json!(n)])
        .await
        .unwrap();
    assert!(answer.get("error").is_none(), "{answer}");
    let numbers = |key: &str| -> Vec<f64> {
        answer[key]
            .as_array()
            .map(|a| a.iter().map(|t| t.as_f64().unwrap()).collect())
            .unwrap_or_default()
    };
    (numbers("times"), numbers("changed"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs = env_or("RUNS", 7);
    let answers = env_or("ANSWERS", 300);
    let dir = tempfile::tempdir().unwrap();
    let driver = Chromedriver::start(&dir.path().join("chromedriver.log"));
    let server = TestServer::start(&dir.path().join("server"));
    let scope = json!({"partnership": "p1", "neighborhood": "east"});
    create_user(&server.url(), "ana", "outreach_worker", scope).await;

    // The server holds 1,000 records in the worker's scope, and the 60-question form.
    let worker = device_sign_in(&server.url(), "ana", "seeding phone").await;
    let store = device(dir.path(), "seeding");
    {
        let mut store = store.lock().unwrap();
        let scope = Scope::partnership("p1").with_neighborhood("east");
        for i in 0..HOUSEHOLDS {
            let mut fields = Answers::new();
            fields
                .set("name", format!("Household {i:03}"))
                .set("address", format!("{i} Elm St"));
            let commit = Commit::new(&worker.user_id, "Enrolled");
            let household = store
                .create(RecordKind::Household, scope.clone(), None, &fields, &commit)
                .unwrap();
            let mut fields = Answers::new();
            fields
                .set("household", household.to_string())
                .set("name", "Kid")
                .set("relationship", "child");
            let commit = Commit::new(&worker.user_id, "Added a member");
            store
                .create(RecordKind::Person, scope.clone(), None, &fields, &commit)
                .unwrap();
        }
    }
    device_sync(&store, &server.url(), &worker.token)
        .await
        .unwrap();
    let admin = token(&server.url(), "admin", ADMIN_PASSWORD, "bench").await;
    let published = reqwest::Client::new()
        .post(format!("{}/v1/admin/forms", server.url()))
        .bearer_auth(&admin)
        .json(&sixty_questions())
        .send()
        .await
        .unwrap();
    assert!(
        published.status().is_success(),
        "{:?}",
        published.text().await
    );

    // 1. The first visit, counted on the wire.
    let proxy = Proxy::start(server.addr).await;
    let base = proxy.url();
    let c = driver
        .browser(&BrowserOptions {
            phone: true,
            profile: Some(dir.path().join("profile")),
            ..BrowserOptions::default()
        })
        .await;
    proxy.reset_counts();
    goto(&c, &format!("{base}/app/")).await;
    ready(&c).await;
    controlled(&c).await;
    let down = proxy.bytes() - proxy.bytes_up();
    println!(
        "first visit: {} bytes down, {} bytes up (app, core, styles, icons; the service worker's copy included)",
        down,
        proxy.bytes_up()
    );

    // 2. A first sync of 1,000 records into the browser's store.
    let timed_sync = "const [done] = [arguments[arguments.length - 1]];
        import('./rpc.js').then(async (rpc) => {
            await rpc.call('signIn', location.origin, 'ana', 'ana-password', 'bench phone');
            const t0 = performance.now();
            const summary = await rpc.call('sync');
            const ms = performance.now() - t0;
            const households = (await rpc.call('households')).length;
            done({ms, summary, households});
        }).catch((e) => done({error: String(e.message || e)}));";
    let synced = c.execute_async(timed_sync, vec![]).await.unwrap();
    assert!(synced.get("error").is_none(), "{synced}");
    assert_eq!(synced["households"], HOUSEHOLDS);
    println!(
        "first sync of {} records: {:.2} s ({} pulled, {} bytes)",
        2 * HOUSEHOLDS,
        synced["ms"].as_f64().unwrap() / 1000.0,
        synced["summary"]["pulled"],
        synced["summary"]["bytes"],
    );

    // 3. Offline cold starts, 4× slower CPU.
    set_offline(&c, true).await;
    cdp(&c, "Emulation.setCPUThrottlingRate", json!({"rate": 4})).await;
    let mut starts = Vec::new();
    for _ in 0..runs {
        c.refresh().await.unwrap();
        ready(&c).await;
        screen(&c, "worker-home").await;
        let ms = c
            .execute(
                "return performance.getEntriesByName('c2c-ready')[0].startTime",
                vec![],
            )
            .await
            .unwrap();
        starts.push(ms.as_f64().unwrap());
    }
    summary(
        &format!("offline cold start to the list of {HOUSEHOLDS} households, 4x CPU"),
        starts,
        "ms",
    );

    // 4. Answers in the 60-question form, 4× slower CPU.
    let view = core(&c, "startResponse", json!(["bench_sixty", null, "en"])).await;
    let id = view["id"].as_str().unwrap().to_string();
    assert_eq!(
        view["questions"].as_array().unwrap().len(),
        QUESTIONS,
        "the form's questions"
    );
    let timed_answers = "const [id, n, done] = arguments;
        Promise.all([import('./rpc.js'), import('./survey.js')]).then(async ([rpc, survey]) => {
            const times = [];
            const changed = [];
            let view = await rpc.call('response', id, 'en');
            for (let i = 0; i < n; i++) {
                const q = (i * 4) % 60;
                const t0 = performance.now();
                // As the survey screen answers: the worker sends what changed, the page
                // applies it to the view it holds.
                const update = await rpc.call('setAnswer', id, 'q' + String(q).padStart(2, '0'),
                    {type: 'int', value: (i * 7) % 40}, 'en', view.view_number);
                view = survey.withChanges(view, update);
                times.push(performance.now() - t0);
                if (view.questions.length !== 60) throw new Error('a view of ' + view.questions.length);
                if (update.changed) changed.push(update.changed.length);
            }
            // The view the changes built is the one the core gives whole.
            const whole = await rpc.call('response', id, 'en');
            if (JSON.stringify(whole.questions) !== JSON.stringify(view.questions)) {
                throw new Error('the view built from changes differs from the whole view');
            }
            done({times, changed});
        }).catch((e) => done({error: String(e.message || e)}));";
    let patient = fantoccini::wd::TimeoutConfiguration::new(
        Some(Duration::from_secs(600)),
        Some(Duration::from_secs(60)),
        Some(Duration::from_secs(0)),
    );
    c.update_timeouts(patient).await.unwrap();
    let (times, changed) = timed(&c, timed_answers, &id, answers).await;
    summary(
        "an answer in a 60-question form (re-evaluated and saved), 4x CPU",
        times,
        "ms",
    );
    assert_eq!(changed.len(), answers, "every answer sent its changes only");
    summary("questions an answer's result carried (of 60)", changed, "");

    // The same form's state read back without a change: what re-evaluation alone costs.
    let timed_reads = "const [id, n, done] = arguments;
        import('./rpc.js').then(async (rpc) => {
            const times = [];
            for (let i = 0; i < n; i++) {
                const t0 = performance.now();
                await rpc.call('response', id, 'en');
                times.push(performance.now() - t0);
            }
            done({times});
        }).catch((e) => done({error: String(e.message || e)}));";
    let (times, _) = timed(&c, timed_reads, &id, answers).await;
    summary(
        "the 60-question form's state read back (re-evaluated, nothing saved), 4x CPU",
        times,
        "ms",
    );

    c.close().await.unwrap();
    assert!(!server.log_has_panic());
}
