//! `cargo xtask test [ARGS...]`: install what the test suite needs beyond Rust, then
//! run every test (`cargo test --workspace --no-fail-fast`, ARGS passed on).
//!
//! What the tests need (each installed only when missing, with apt-get or npm, the way
//! `.ci/run` does it, which calls this very command):
//! - a JDK and JNA (Debian's `libjna-java`) for the Kotlin bindings on a JVM;
//! - kotlinc (the npm package `kotlin-compiler`, in `.tools/`);
//! - Chromium and chromedriver (Debian's `chromium`, `chromium-driver`) for the
//!   browser tests;
//! - OpenSSL's headers and pkg-config (the WebDriver client links OpenSSL);
//! - PostgreSQL answering at `TEST_DATABASE_URL` (default
//!   `postgres://postgres@127.0.0.1:5432/test`): a stopped local cluster is started;
//!   a missing database `test` is created.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

/// The database the PostgreSQL tests use unless `TEST_DATABASE_URL` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The version of kotlinc the Kotlin tests were written against.
const KOTLIN_COMPILER: &str = "kotlin-compiler@2.4.20";

/// Set up what is missing, then run the whole suite.
pub fn run(root: &Path, args: &[String]) -> Result<()> {
    let mut apt: Vec<&str> = Vec::new();
    if !Path::new("/usr/share/java/jna.jar").exists() {
        apt.push("libjna-java");
    }
    if !Path::new("/usr/bin/chromedriver").exists() {
        apt.extend(["chromium", "chromium-driver"]);
    }
    if !succeeds("pkg-config", &["--exists", "openssl"]) {
        apt.extend(["libssl-dev", "pkg-config"]);
    }
    if !succeeds("java", &["-version"]) {
        apt.push("default-jdk-headless");
    }
    if !succeeds("pg_isready", &["--version"]) {
        apt.push("postgresql-client");
    }
    if !apt.is_empty() {
        println!("xtask test: installing {}", apt.join(" "));
        step("apt-get", &["update", "-qq"], root)?;
        let mut install = vec!["install", "-y", "-qq"];
        install.extend(&apt);
        step("apt-get", &install, root)?;
    }
    if !root
        .join(".tools/node_modules/kotlin-compiler/bin/kotlinc")
        .exists()
    {
        println!("xtask test: installing {KOTLIN_COMPILER} into .tools/");
        step(
            "npm",
            &[
                "install",
                "--prefix",
                ".tools",
                "--no-audit",
                "--no-fund",
                KOTLIN_COMPILER,
            ],
            root,
        )?;
    }
    let url = std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_DATABASE_URL.into());
    postgres(&url)?;

    println!(
        "xtask test: cargo test --workspace --no-fail-fast {}",
        args.join(" ")
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut test = Command::new(cargo);
    test.args(["test", "--workspace", "--no-fail-fast"])
        .args(args)
        .env("TEST_DATABASE_URL", &url)
        .current_dir(root);
    if std::env::var_os("PROPTEST_CASES").is_none() {
        test.env("PROPTEST_CASES", "256");
    }
    let status = test.status().context("running cargo test")?;
    if !status.success() {
        bail!("some tests failed (cargo test exited with {status})");
    }
    Ok(())
}

/// Make sure PostgreSQL answers at `url`: start a local cluster that is stopped, and
/// create the database when it is missing.
fn postgres(url: &str) -> Result<()> {
    let (host, port, user, db) = parts(url);
    let ready = || succeeds("pg_isready", &["-h", &host, "-p", &port]);
    if !ready() {
        // Debian's clusters: `pg_ctlcluster VERSION main start`.
        if let Ok(versions) = std::fs::read_dir("/etc/postgresql") {
            for version in versions.flatten() {
                let version = version.file_name().to_string_lossy().into_owned();
                println!("xtask test: starting PostgreSQL {version}");
                let _ = Command::new("pg_ctlcluster")
                    .args(["--skip-systemctl-redirect", &version, "main", "start"])
                    .status();
            }
        }
        for _ in 0..30 {
            if ready() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
    if !ready() {
        bail!(
            "PostgreSQL does not answer at {host}:{port}. The server's tests run on it as well \
             as on SQLite: install and start PostgreSQL (Debian: apt-get install postgresql), \
             or point TEST_DATABASE_URL at one (trust or password in the URL)"
        );
    }
    let exists = Command::new("psql")
        .args([
            "-h", &host, "-p", &port, "-U", &user, "-d", &db, "-c", "SELECT 1",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !exists {
        println!("xtask test: creating database {db}");
        let _ = Command::new("psql")
            .args([
                "-h",
                &host,
                "-p",
                &port,
                "-U",
                &user,
                "-d",
                "postgres",
                "-c",
                &format!("CREATE DATABASE \"{db}\""),
            ])
            .status();
    }
    Ok(())
}

/// Host, port, user and database of a `postgres://user@host:port/db` URL (the tests'
/// form; anything missing takes PostgreSQL's default).
fn parts(url: &str) -> (String, String, String, String) {
    let rest = url
        .split_once("://")
        .map_or(url, |(_, r)| r)
        .split('?')
        .next()
        .unwrap_or_default();
    let (authority, db) = rest.split_once('/').unwrap_or((rest, "postgres"));
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, hp)) => (user.split(':').next().unwrap_or("postgres"), hp),
        None => ("postgres", authority),
    };
    let (host, port) = host_port.rsplit_once(':').unwrap_or((host_port, "5432"));
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    (
        or(host, "127.0.0.1"),
        or(port, "5432"),
        or(user, "postgres"),
        or(db, "postgres"),
    )
}

fn succeeds(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn step(program: &str, args: &[&str], root: &Path) -> Result<()> {
    let status = Command::new(program)
        .args(args)
        .current_dir(root)
        .status()
        .with_context(|| format!("running {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_split_into_their_parts() {
        let p = |u: &str| parts(u);
        assert_eq!(
            p(DEFAULT_DATABASE_URL),
            (
                "127.0.0.1".into(),
                "5432".into(),
                "postgres".into(),
                "test".into()
            )
        );
        assert_eq!(
            p("postgresql://ana:secret@db.example:6543/c2c?sslmode=require"),
            (
                "db.example".into(),
                "6543".into(),
                "ana".into(),
                "c2c".into()
            )
        );
        assert_eq!(
            p("postgres://localhost"),
            (
                "localhost".into(),
                "5432".into(),
                "postgres".into(),
                "postgres".into()
            )
        );
    }
}
