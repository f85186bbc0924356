//! The field app (`/app/`) as a test drives it in Chromium: waiting for it to start
//! and for a screen, calling its core the way the page does (through `rpc.js`), the
//! outbox count, a sync with its outcome, the service worker's control, and signing
//! in to the staff pages beside it.

use std::time::{Duration, Instant};

use fantoccini::Client;
use serde_json::{json, Value};

use crate::chromium::{click, find, goto, text};

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

/// The changes waiting to be sent, as the store counts them; the header shows the
/// same count once it has caught up.
pub async fn outbox(c: &Client) -> u64 {
    let pending = core(c, "pendingChanges", json!([])).await.as_u64().unwrap();
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

/// Press Sync and wait for its outcome; returns the outcome's text.
pub async fn sync(c: &Client) -> String {
    let before = c
        .execute(
            "return document.querySelector('[data-test=sync-outcome]').textContent",
            vec![],
        )
        .await
        .unwrap();
    // Clear it, so the outcome read below is this sync's.
    c.execute(
        "document.querySelector('[data-test=sync-outcome]').textContent = ''",
        vec![],
    )
    .await
    .unwrap();
    click(c, "[data-test=sync]").await;
    let started = Instant::now();
    loop {
        let shown = c
            .execute(
                "const o = document.querySelector('[data-test=sync-outcome]');
                 const busy = !document.getElementById('sync-panel').hidden;
                 return busy ? '' : o.textContent;",
                vec![],
            )
            .await
            .unwrap();
        let shown = shown.as_str().unwrap_or_default().trim().to_string();
        if !shown.is_empty() {
            return shown;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no sync outcome (before: {before})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
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
