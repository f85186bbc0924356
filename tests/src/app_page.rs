//! The field app (`/app/`) as a test drives it in Chromium: waiting for it to start
//! and for a screen, calling its core the way the page does (through `rpc.js`), the
//! outbox count, a sync with its outcome, the service worker's control, and signing
//! in to the staff pages beside it.

use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{json, Value};

use crate::chromium::{click, find, goto, text, type_into};

/// Browser scenarios take turns: each runs a server, Chromium and the core in wasm,
/// and on two cores several at once starve each other's timeouts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Wait for the other browser scenarios of this test binary; hold the guard to the end.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().await
}

/// Wait for the app's store to be open and its first screen drawn.
pub async fn ready(c: &Client) {
    let script = "const done = arguments[arguments.length - 1];
        const wait = () => window.c2cReady
            ? window.c2cReady.then(() => done('ok'), (e) => done('failed: ' + e))
            : setTimeout(wait, 50);
        wait();";
    let answer = c.execute_async(script, vec![]).await.unwrap();
    assert_eq!(answer, json!("ok"), "the app did not start");
}

/// The name of the screen shown (`data-screen` on `<main>`), once it is `want`.
pub async fn screen(c: &Client, want: &str) {
    let started = Instant::now();
    loop {
        let shown = c
            .execute(
                "const m = document.querySelector('main');
                 return [m.dataset.screen, m.innerText, document.getElementById('status').innerText];",
                vec![],
            )
            .await
            .unwrap();
        if shown[0] == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the app shows {shown}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Call the core in the page's worker, as the app does (`rpc.js`), and return what it
/// answers: for checks on what the browser's store holds.
pub async fn core(c: &Client, method: &str, args: Value) -> Value {
    let script = "const [method, args, done] = arguments;
        import('./rpc.js')
            .then((rpc) => rpc.call(method, ...args))
            .then((v) => done({ok: v === undefined ? null : v}), (e) => done({error: String(e.message || e)}));";
    let answer = c
        .execute_async(script, vec![json!(method), args])
        .await
        .unwrap();
    match answer.get("ok") {
        Some(v) => v.clone(),
        None => panic!("{method}: {answer}"),
    }
}

/// Answer as the survey screen does: `setAnswer` names the view the page holds (kept
/// on the test page as `globalThis.testView`, first read whole with `response`), and
/// the changes it returns are applied to it (`survey.js`'s `withChanges`). Returns the
/// view the page holds then.
pub async fn answer_on_held_view(
    c: &Client,
    id: &str,
    path: &str,
    value: Value,
    lang: &str,
) -> Value {
    let script = "const [id, path, value, lang, done] = arguments;
        Promise.all([import('./rpc.js'), import('./survey.js')]).then(async ([rpc, survey]) => {
            if (!globalThis.testView || globalThis.testView.id !== id) {
                globalThis.testView = await rpc.call('response', id, lang);
            }
            const held = globalThis.testView;
            const update = await rpc.call('setAnswer', id, path, value, lang, held.view_number);
            globalThis.testView = survey.withChanges(held, update);
            done({ok: globalThis.testView});
        }).catch((e) => done({error: String(e.message || e)}));";
    let answer = c
        .execute_async(script, vec![json!(id), json!(path), value, json!(lang)])
        .await
        .unwrap();
    match answer.get("ok") {
        Some(v) => v.clone(),
        None => panic!("setAnswer on the held view: {answer}"),
    }
}

/// The changes waiting to be sent, as the store counts them.
pub async fn pending(c: &Client) -> u64 {
    core(c, "pendingChanges", json!([])).await.as_u64().unwrap()
}

/// The changes waiting to be sent, as the store counts them, once the header shows the
/// same count (changes made through the app's screens).
pub async fn outbox(c: &Client) -> u64 {
    let pending = pending(c).await;
    let started = Instant::now();
    loop {
        let shown: u64 = text(c, "[data-test=outbox-count]").await.parse().unwrap();
        if shown == pending {
            return pending;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the header shows {shown} waiting, the store {pending}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Wait until no sync runs (one the app started by itself, say); returns the last
/// outcome shown.
pub async fn settled(c: &Client) -> String {
    let script = "const busy = !document.getElementById('sync-panel').hidden
            || document.querySelector('[data-test=sync]').disabled;
        return busy ? null : document.querySelector('[data-test=sync-outcome]').textContent;";
    let shown = first_text(c, script, Duration::from_secs(60)).await;
    shown
        .unwrap_or_else(|| panic!("a sync never ended"))
        .trim()
        .to_string()
}

/// Press Sync (once no sync runs) and wait for its outcome; returns the outcome's text.
pub async fn sync(c: &Client) -> String {
    settled(c).await;
    // Cleared, so the outcome read below is this sync's.
    c.execute(
        "document.querySelector('[data-test=sync-outcome]').textContent = ''",
        vec![],
    )
    .await
    .unwrap();
    click(c, "[data-test=sync]").await;
    let started = Instant::now();
    loop {
        let shown = settled(c).await;
        if !shown.is_empty() {
            return shown;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no sync outcome"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// On a survey screen, wait for its way on: `"next"` (another screen) or
/// `"finalize"` (the review screen).
pub async fn survey_step(c: &Client) -> String {
    let script = "if (document.querySelector('main[data-screen=survey] [data-test=finalize]')) return 'finalize';
        if (document.querySelector('main[data-screen=survey] [data-test=next]')) return 'next';
        return null;";
    match first_text(c, script, Duration::from_secs(20)).await {
        Some(step) => step,
        None => panic!(
            "no way on from this survey screen: {}",
            text(c, "main").await
        ),
    }
}

/// The first text `script` returns in the page within `limit` (it returns null until
/// what it waits for is there); `None` when the time ran out.
async fn first_text(c: &Client, script: &str, limit: Duration) -> Option<String> {
    let started = Instant::now();
    loop {
        let answer = c.execute(script, vec![]).await.unwrap();
        if let Some(text) = answer.as_str() {
            return Some(text.to_string());
        }
        if started.elapsed() > limit {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Wait until the service worker controls the page (so a reload offline is served
/// from its cache).
pub async fn controlled(c: &Client) {
    let script = "const done = arguments[arguments.length - 1];
        const check = () => navigator.serviceWorker.controller ? done(true) : setTimeout(check, 50);
        navigator.serviceWorker.ready.then(check);";
    assert_eq!(c.execute_async(script, vec![]).await.unwrap(), json!(true));
}

/// The finalized responses, once the app shows one.
pub async fn wait_for_final(phone: &Client) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let responses = core(phone, "responses", json!([null])).await;
        let list = responses.as_array().cloned().unwrap_or_default();
        if list.iter().any(|r| r["finalized"] == true) {
            return list;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the survey was not finalized: {}",
            text(phone, "main").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sign in on the staff pages as `user` (password `<user>-password`).
pub async fn staff_sign_in(c: &Client, base: &str, user: &str) {
    goto(c, &format!("{base}/sign-in")).await;
    let password = format!("{user}-password");
    for (input, value) in [("username", user), ("password", password.as_str())] {
        find(c, &format!("input[name={input}]"))
            .await
            .send_keys(value)
            .await
            .unwrap();
    }
    click(c, "main button[type=submit]").await;
    find(c, "table#indicators").await;
}

/// A one-time enrollment code for `username`, as the users page makes one.
pub fn enrollment_code(server: &crate::server::TestServer, username: &str) -> String {
    let storage = server.storage();
    let user = storage
        .users()
        .unwrap()
        .into_iter()
        .find(|u| u.username == username)
        .unwrap_or_else(|| panic!("no user {username}"));
    storage.create_enrollment(&user.id, "admin").unwrap().code
}

/// A phone's browser (360 × 740, touch) with a profile of its own in `profile`.
pub async fn phone(
    driver: &crate::chromium::Chromedriver,
    profile: &std::path::Path,
) -> fantoccini::Client {
    driver
        .browser(&crate::chromium::BrowserOptions {
            phone: true,
            profile: Some(profile.to_path_buf()),
            ..Default::default()
        })
        .await
}

/// Open the enrollment link of `code` on `base` and wait for the home screen `home`
/// (`worker-home`, `parent-home`).
pub async fn enroll(c: &Client, base: &str, code: &str, home: &str) {
    goto(c, &format!("{base}/app/#enroll={code}")).await;
    ready(c).await;
    screen(c, home).await;
    controlled(c).await;
}

/// A question the survey screen shows: its path, its type, whether it holds an answer
/// (or has nothing to type: a note, a value the app filled in).
#[derive(Debug, Clone)]
pub struct Shown {
    /// `child[2]/age_years`.
    pub path: String,
    /// `select_one`, `integer`, ...
    pub kind: String,
    /// Whether it is answered already.
    pub answered: bool,
}

/// The questions on the survey screen now, read in one go (the screen redraws
/// questions as answers arrive, so element handles would go stale).
pub async fn questions_on_screen(c: &Client) -> Vec<Shown> {
    let read = c
        .execute(
            "return [...document.querySelectorAll('[data-test=question]')].map((b) => {
                 const inputs = [...b.querySelectorAll('input, textarea')];
                 const answered = !inputs.length || inputs.some((i) =>
                     (i.type === 'radio' || i.type === 'checkbox') ? i.checked : i.value !== '');
                 return [b.dataset.path, b.dataset.type || '', answered];
             });",
            vec![],
        )
        .await
        .unwrap();
    read.as_array()
        .unwrap()
        .iter()
        .map(|q| Shown {
            path: q[0].as_str().unwrap_or_default().to_string(),
            kind: q[1].as_str().unwrap_or_default().to_string(),
            answered: q[2] == json!(true),
        })
        .collect()
}

/// Answer what the survey's screen asks that is not answered yet: the first choice,
/// 3 for a number, today for a date, `words` for a text.
pub async fn answer_screen(c: &Client, words: &str) {
    for Shown {
        path,
        kind,
        answered,
    } in questions_on_screen(c).await
    {
        if answered {
            continue;
        }
        match kind.as_str() {
            "select_one" | "select_multiple" => {
                let css = format!("[data-test=question][data-path='{path}'] label.choice");
                click(c, &css).await;
            }
            "date" => {
                // What the date picker does: the input's value, then its change event.
                c.execute(
                    "const i = document.querySelector(`input[name='${arguments[0]}']`);
                     i.value = new Date().toISOString().slice(0, 10);
                     i.dispatchEvent(new Event('input', {bubbles: true}));
                     i.dispatchEvent(new Event('change', {bubbles: true}));",
                    vec![json!(path)],
                )
                .await
                .unwrap();
            }
            "integer" | "decimal" => type_into(c, &format!("input[name='{path}']"), "3").await,
            "text" => type_into(c, &format!("[name='{path}']"), words).await,
            _ => {}
        }
    }
}

/// Go to the survey's next screen and wait until it is drawn (its "Screen i of n"
/// changes): the app saves what was typed first, then draws.
pub async fn next_screen(c: &Client) {
    let progress =
        "const p = document.getElementById('progress-text'); return p ? p.textContent : '';";
    let before = c.execute(progress, vec![]).await.unwrap();
    click(c, "[data-test=next]").await;
    let started = Instant::now();
    while c.execute(progress, vec![]).await.unwrap() == before {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the survey stayed on {before}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
