//! The Kotlin bindings on a real JVM against a real server process: compiles the
//! generated bindings with `mobile/android/src/test/kotlin/**` using kotlinc, then runs
//! the scenarios (`Scenarios.kt`) with JNA loading `libsync_ffi.so`.
//!
//! Needs kotlinc (npm package `kotlin-compiler`, found in `$KOTLIN_HOME` or
//! `.tools/node_modules/kotlin-compiler`) and JNA (`/usr/share/java/jna.jar`, Debian's
//! `libjna-java`, or `$JNA_JAR`); `.ci/run` installs both.

use std::path::{Path, PathBuf};
use std::process::Command;

use scenarios::server::{create_user, TestServer};
use serde_json::json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn kotlin_home() -> PathBuf {
    let home = std::env::var_os("KOTLIN_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".tools/node_modules/kotlin-compiler"));
    assert!(
        home.join("bin/kotlinc").exists(),
        "kotlinc not found in {}: run `npm install --prefix .tools kotlin-compiler` \
         (or set KOTLIN_HOME); .ci/run does this",
        home.display()
    );
    home
}

fn jna_jar() -> PathBuf {
    let jar = std::env::var_os("JNA_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/jna.jar"));
    assert!(
        jar.exists(),
        "JNA not found at {}: `apt-get install libjna-java` (or set JNA_JAR); .ci/run does this",
        jar.display()
    );
    jar
}

/// Build `libsync_ffi.so` (debug), the apps' native library, and return its folder.
fn native_library() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--package", "sync-ffi", "--lib"])
        .current_dir(root())
        .status()
        .expect("run cargo build");
    assert!(
        status.success(),
        "building the native library (sync-ffi) failed"
    );
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("debug");
    assert!(dir.join("libsync_ffi.so").exists());
    dir
}

fn kotlin_sources() -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![
        root().join("mobile/android/src/main/kotlin"),
        root().join("mobile/android/src/test/kotlin"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("read a Kotlin folder")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "kt") {
                found.push(path);
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn kotlin_scenarios_against_a_real_server() {
    let home = kotlin_home();
    let jna = jna_jar();
    let native = native_library();
    let lib = home.join("lib");
    let coroutines = lib.join("kotlinx-coroutines-core-jvm.jar");
    let stdlib = lib.join("kotlin-stdlib.jar");

    let dir = tempfile::tempdir().unwrap();
    let jar = dir.path().join("scenarios.jar");
    let compile = Command::new(home.join("bin/kotlinc"))
        .args(kotlin_sources())
        .arg("-classpath")
        .arg(format!("{}:{}", jna.display(), coroutines.display()))
        .args(["-nowarn", "-d"])
        .arg(&jar)
        .output()
        .expect("run kotlinc");
    assert!(
        compile.status.success(),
        "kotlinc failed:\n{}",
        String::from_utf8_lossy(&compile.stderr)
    );

    let server = TestServer::start(&dir.path().join("server"));
    let url = server.url();
    create_user(
        &url,
        "worker",
        "outreach_worker",
        json!({"partnership": "p1", "neighborhood": "east"}),
    )
    .await;
    create_user(
        &url,
        "staff",
        "backbone_staff",
        json!({"partnership": "p1"}),
    )
    .await;
    create_user(
        &url,
        "parent",
        "parent",
        json!({"partnership": "p1", "neighborhood": "east", "family": "rivera"}),
    )
    .await;
    // Version 2 of the case note, with a consent signature (an image question), for
    // the scenario of form versions and attachments.
    let mut case_note = forms::instruments::seed_forms()
        .into_iter()
        .find(|f| f.id == "case_note")
        .unwrap();
    case_note.version = 2;
    case_note
        .items
        .push(forms::Item::Question(forms::Question::new(
            "signature",
            forms::QuestionType::Image,
        )));
    let admin =
        scenarios::server::token(&url, "admin", scenarios::server::ADMIN_PASSWORD, "console").await;
    let published = reqwest::Client::new()
        .post(format!("{url}/v1/admin/forms"))
        .bearer_auth(&admin)
        .body(case_note.to_json())
        .send()
        .await
        .unwrap();
    assert_eq!(
        published.status(),
        200,
        "{}",
        published.text().await.unwrap()
    );
    // A port nobody listens on: bound, then released.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let stores = dir.path().join("stores");
    std::fs::create_dir_all(&stores).unwrap();

    let run = tokio::task::spawn_blocking(move || {
        Command::new("java")
            .arg(format!("-Djna.library.path={}", native.display()))
            .arg("-cp")
            .arg(format!(
                "{}:{}:{}:{}",
                jar.display(),
                jna.display(),
                coroutines.display(),
                stdlib.display()
            ))
            .arg("org.cradletocareer.sync.ScenariosKt")
            .env("SERVER_URL", &url)
            .env("DEAD_URL", &dead_url)
            .env("STORE_DIR", &stores)
            .env("WORKER", "worker")
            .env("STAFF", "staff")
            .env("PARENT", "parent")
            .output()
            .expect("run java")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    println!("{stdout}");
    assert!(
        run.status.success(),
        "the Kotlin scenarios failed ({}):\n{stdout}\n{stderr}",
        run.status
    );
    assert!(stdout.contains("ALL 8 SCENARIOS PASSED"), "{stdout}");
    // The signature the phone attached is on the server, whole and exact.
    let name = stdout
        .lines()
        .find_map(|l| l.strip_prefix("SIGNATURE "))
        .expect("the signature's name");
    let signature: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let expected = sync_core::store::attachment_name(&signature, "signature.png");
    assert_eq!(name, expected, "the answer names other bytes");
    let sha = sync_core::protocol::attachment_sha256(&expected).unwrap();
    let (size, complete): (i64, bool) = server
        .db()
        .query_row(
            "SELECT size, complete FROM attachments WHERE sha256 = ?1",
            [sha],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((size, complete), (300_000, true));
    assert!(!server.log_has_panic(), "the server panicked");
}
