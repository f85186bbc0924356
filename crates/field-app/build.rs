//! Builds the field app: `crates/sync-web` for `wasm32-unknown-unknown` (by a nested
//! cargo into a target directory of its own), wasm-bindgen's JavaScript glue for it,
//! and the pages of `mobile/web/`, all written into `files.rs` for `lib.rs` to embed.
//!
//! What the wasm build needs arrives through the build itself, so that
//! `cargo run -p server -- serve` works on a fresh machine: the `wasm32-unknown-unknown`
//! target is added with rustup when missing, and `clang` (SQLite is compiled from C for
//! the browser) is installed with apt-get when missing and the build runs as root.
//! `FIELD_APP_SKIP=1` builds without the core (the pages only, `BUILT` false): quicker
//! for work on the server alone; the server then says the app was not built.

use std::collections::BTreeMap;
use std::env;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const TARGET: &str = "wasm32-unknown-unknown";
/// The cargo profile the core is built with for the browser (the workspace's Cargo.toml).
const PROFILE: &str = "wasm-release";

type Result<T> = std::result::Result<T, String>;

fn main() {
    if let Err(e) = run() {
        // A build script's panic message is what cargo shows: make it the whole story.
        panic!("\n\nthe field app (crates/field-app) could not be built:\n{e}\n");
    }
}

fn run() -> Result<()> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(|e| e.to_string())?);
    let workspace = manifest
        .parent()
        .and_then(Path::parent)
        .ok_or("crates/field-app is not two levels below the workspace")?
        .to_path_buf();
    let out = PathBuf::from(env::var("OUT_DIR").map_err(|e| e.to_string())?);
    let pages = workspace.join("mobile/web");

    for watched in [
        "mobile/web",
        "crates/sync-web",
        "crates/sync-core/src",
        "crates/sync-core/Cargo.toml",
        "crates/forms/src",
        "crates/forms/Cargo.toml",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=FIELD_APP_SKIP");

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    collect_pages(&pages, &pages, &mut files)?;

    let built = env::var("FIELD_APP_SKIP").map_or(true, |v| v.is_empty() || v == "0");
    if built {
        let wasm = build_core(&workspace)?;
        let pkg = out.join("pkg");
        let _ = fs::remove_dir_all(&pkg);
        wasm_bindgen_cli_support::Bindgen::new()
            .input_path(&wasm)
            .out_name("sync_web")
            .web(true)
            .map_err(|e| format!("wasm-bindgen: {e:#}"))?
            .typescript(false)
            // `init()` with no argument fetches `sync_web_bg.wasm` beside the glue (the
            // CLI's default; the library's is to leave the path out).
            .omit_default_module_path(false)
            // Function names and the producer list are for debuggers: ~a fifth of the
            // file a phone downloads.
            .remove_name_section(true)
            .remove_producers_section(true)
            .generate(&pkg)
            .map_err(|e| format!("wasm-bindgen could not write the glue: {e:#}"))?;
        for entry in fs::read_dir(&pkg).map_err(|e| e.to_string())? {
            let path = entry.map_err(|e| e.to_string())?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if name.ends_with(".js") || name.ends_with(".wasm") {
                let bytes = fs::read(&path).map_err(|e| e.to_string())?;
                files.insert(format!("pkg/{name}"), bytes);
            }
        }
    } else {
        println!("cargo:warning=FIELD_APP_SKIP is set: the field app is built without its core");
    }

    // The build id: a hash of every file but the service worker, which carries it.
    let mut hash = Sha256::new();
    for (path, bytes) in &files {
        if path != "sw.js" {
            hash.update(path.as_bytes());
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(bytes);
        }
    }
    let build_id = hex::encode(&hash.finalize()[..8]);
    if let Some(sw) = files.get_mut("sw.js") {
        let text = String::from_utf8(std::mem::take(sw)).map_err(|e| e.to_string())?;
        *sw = text.replace("__BUILD_ID__", &build_id).into_bytes();
    }

    write_files(&out, &files, &build_id, built)
}

/// Every page, script, style and icon of `mobile/web/` (not its tools or README).
fn collect_pages(root: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let relative = path
            .strip_prefix(root)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        if relative == "tools" || relative == "pkg" || relative.ends_with(".md") {
            continue;
        }
        if path.is_dir() {
            collect_pages(root, &path, files)?;
        } else if content_type(&relative).is_some() {
            let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.insert(relative, bytes);
        }
    }
    Ok(())
}

fn content_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.')?.1;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => return None,
    })
}

/// Builds `sync-web` for the browser and returns its `.wasm`.
fn build_core(workspace: &Path) -> Result<PathBuf> {
    ensure_target()?;
    ensure_clang()?;
    // A target directory of its own: the outer cargo holds its own directory's lock,
    // and the core's browser build must not invalidate the native one.
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"))
        .join("field-app");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(workspace)
        .args(["build", "-p", "sync-web", "--lib", "--target", TARGET])
        .args(["--profile", PROFILE])
        .arg("--target-dir")
        .arg(&target_dir);
    // What the outer build set for itself (clippy as the compiler, its flags, its
    // target directory) is not for this one; the jobserver (CARGO_MAKEFLAGS) is kept so
    // the two builds share the machine's cores.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CLIPPY_ARGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        build.env_remove(var);
    }
    let status = build
        .status()
        .map_err(|e| format!("cargo could not be run: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`cargo build -p sync-web --target {TARGET} --profile {PROFILE}` failed ({status}); \
             its errors are above"
        ));
    }
    let wasm = target_dir.join(TARGET).join(PROFILE).join("sync_web.wasm");
    if !wasm.is_file() {
        return Err(format!("{} was not written", wasm.display()));
    }
    Ok(wasm)
}

/// Adds the wasm target with rustup when this toolchain lacks it (a `rust-toolchain.toml`
/// does not, on machines with `RUSTUP_AUTO_INSTALL=0`).
fn ensure_target() -> Result<()> {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc could not be run: {e}"))?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(TARGET).is_dir() {
        return Ok(());
    }
    println!("cargo:warning=adding the {TARGET} target with rustup (the field app's core)");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .map_err(|e| format!("the {TARGET} target is missing and rustup could not be run: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`rustup target add {TARGET}` failed ({status})"))
    }
}

/// SQLite is compiled from C for the browser, which takes clang (gcc has no wasm
/// target). Installed with apt-get when missing and the build runs as root.
fn ensure_clang() -> Result<()> {
    let works = |program: &str| {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works("clang") {
        return Ok(());
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root && works("apt-get") {
        println!("cargo:warning=installing clang with apt-get (SQLite is compiled for the browser with it)");
        let apt = |args: &[&str]| {
            Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success())
        };
        let install = ["install", "-y", "-qq", "clang"];
        // A machine whose package lists were never fetched needs them first.
        let installed = apt(&install) || (apt(&["update", "-qq"]) && apt(&install));
        if installed && works("clang") {
            return Ok(());
        }
    }
    Err(
        "clang is needed to compile SQLite for the browser and is not installed: \
         install it (`apt-get install clang` on Debian and Ubuntu), or set FIELD_APP_SKIP=1 \
         to build the server without the field app"
            .to_string(),
    )
}

fn write_files(
    out: &Path,
    files: &BTreeMap<String, Vec<u8>>,
    build_id: &str,
    built: bool,
) -> Result<()> {
    let dir = out.join("files");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut code = String::from("/// Every file of the app.\npub static FILES: &[AppFile] = &[\n");
    for (i, (path, bytes)) in files.iter().enumerate() {
        let raw = dir.join(format!("{i}"));
        let gz = dir.join(format!("{i}.gz"));
        fs::write(&raw, bytes).map_err(|e| e.to_string())?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).map_err(|e| e.to_string())?;
        fs::write(&gz, encoder.finish().map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        let kind = content_type(path).unwrap_or("application/octet-stream");
        code.push_str(&format!(
            "    AppFile {{ path: {path:?}, content_type: {kind:?}, bytes: include_bytes!({:?}), gzip: include_bytes!({:?}) }},\n",
            raw.display().to_string(),
            gz.display().to_string(),
        ));
    }
    code.push_str("];\n");
    code.push_str(&format!(
        "/// A hash of the app's files: the service worker's cache is named after it.\n\
         pub const BUILD_ID: &str = {build_id:?};\n\
         /// Whether the core was built (false under `FIELD_APP_SKIP=1`).\n\
         pub const BUILT: bool = {built};\n"
    ));
    fs::write(out.join("files.rs"), code).map_err(|e| e.to_string())
}
