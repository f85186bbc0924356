//! Project tasks, run as `cargo xtask TASK` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask bindings`: build the apps' shared library (`sync-ffi`) and regenerate
//!   sync-core's Kotlin and Swift bindings into `mobile/`.
//! - `cargo xtask bindings --check`: the same into a temporary folder; fails, naming
//!   the files, when the committed bindings differ (the workspace tests run this).
//! - `cargo xtask forms`: regenerate the instruments' JSON definitions
//!   (`crates/forms/instruments/*.json`, what the apps and the server load) from their
//!   XLSForm workbooks (`*.xlsx`, the source). `crates/forms/tests/xlsform_instruments.rs`
//!   fails while the two differ.
//! - `cargo xtask test [ARGS]`: install what the tests need beyond Rust when it is
//!   missing (JDK, JNA, kotlinc, Chromium and chromedriver, OpenSSL headers; a running
//!   PostgreSQL), then run every test: `cargo test --workspace --no-fail-fast ARGS`.
//!   The README's test command, and what `.ci/run` calls.

mod test;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use uniffi::{GenerateOptions, TargetLanguage};

/// Where each generated file lives in the repository, by its name in bindgen's output.
const PLACES: [(&str, &str); 4] = [
    (
        "org/cradletocareer/sync/sync_core.kt",
        "mobile/android/src/main/kotlin/org/cradletocareer/sync/sync_core.kt",
    ),
    (
        "sync_core.swift",
        "mobile/ios/Sources/SyncCore/sync_core.swift",
    ),
    ("sync_coreFFI.h", "mobile/ios/Headers/sync_coreFFI.h"),
    (
        "sync_coreFFI.modulemap",
        "mobile/ios/Headers/sync_coreFFI.modulemap",
    ),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["bindings"] => bindings(false),
        ["bindings", "--check"] => bindings(true),
        ["forms"] => forms(),
        ["test", rest @ ..] => {
            let rest: Vec<String> = rest.iter().map(|s| s.to_string()).collect();
            test::run(&root(), &rest)
        }
        _ => bail!(
            "usage: cargo xtask bindings [--check] | cargo xtask forms | cargo xtask test [ARGS]"
        ),
    }
}

/// Write each instrument's JSON from its workbook; the errors, by sheet, row and column,
/// when a workbook does not read.
fn forms() -> Result<()> {
    let dir = root().join("crates/forms/instruments");
    let mut workbooks: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xlsx"))
        .collect();
    workbooks.sort();
    for path in workbooks {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let form = forms::xlsform::read_xlsx(&bytes).map_err(|errors| {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            anyhow::anyhow!("{}:\n{}", path.display(), lines.join("\n"))
        })?;
        let json = path.with_extension("json");
        std::fs::write(&json, form.to_json() + "\n")
            .with_context(|| format!("writing {}", json.display()))?;
        println!("wrote {}", json.display());
    }
    Ok(())
}

/// The workspace root (this crate's parent folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Build the apps' shared library (`crates/sync-ffi`, debug) and return its path.
pub fn build_library(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--package", "sync-ffi", "--lib"])
        .current_dir(root)
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --package sync-ffi failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let name = if cfg!(target_os = "macos") {
        "libsync_ffi.dylib"
    } else {
        "libsync_ffi.so"
    };
    let library = target.join("debug").join(name);
    if !library.exists() {
        bail!("{} was not built", library.display());
    }
    Ok(library)
}

fn bindings(check: bool) -> Result<()> {
    let root = root();
    let library = build_library(&root)?;
    let out = tempfile::tempdir()?;
    let out_dir = out.path().to_path_buf();
    uniffi::generate(GenerateOptions {
        languages: vec![TargetLanguage::Kotlin, TargetLanguage::Swift],
        source: library
            .try_into()
            .context("the library path is not UTF-8")?,
        out_dir: out_dir
            .clone()
            .try_into()
            .context("temp dir is not UTF-8")?,
        config_override: None,
        format: false,
        crate_filter: Some("sync_core".into()),
        metadata_no_deps: false,
    })?;
    let mut stale = Vec::new();
    for (generated, committed) in PLACES {
        let fresh = std::fs::read(out_dir.join(generated))
            .with_context(|| format!("bindgen did not write {generated}"))?;
        let target = root.join(committed);
        if check {
            if std::fs::read(&target).ok().as_deref() != Some(fresh.as_slice()) {
                stale.push(committed);
            }
        } else {
            if let Some(dir) = target.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&target, fresh)?;
            println!("wrote {committed}");
        }
    }
    if !stale.is_empty() {
        bail!(
            "the committed bindings are stale: {}; run `cargo xtask bindings` and commit",
            stale.join(", ")
        );
    }
    if check {
        println!("bindings are current");
    }
    Ok(())
}
