//! The committed Kotlin and Swift bindings match what uniffi generates from the current
//! `sync-core` (`cargo xtask bindings --check`).

use std::process::Command;

#[test]
fn committed_bindings_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--package",
            "xtask",
            "--",
            "bindings",
            "--check",
        ])
        .current_dir(&root)
        .output()
        .expect("run cargo xtask");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
