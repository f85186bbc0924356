#!/usr/bin/env bash
# Builds libsync_ffi.so (release) for arm64-v8a, armeabi-v7a and x86_64 into
# mobile/android/src/main/jniLibs. Can be called from any directory.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$root/mobile/android/src/main/jniLibs"
targets=(aarch64-linux-android armv7-linux-androideabi x86_64-linux-android)

if ! cargo --list 2>/dev/null | awk '$1 == "ndk" { found = 1 } END { exit !found }'; then
    echo "error: cargo-ndk is not installed. Install it and the Rust targets with:" >&2
    echo "  cargo install cargo-ndk" >&2
    echo "  rustup target add ${targets[*]}" >&2
    exit 1
fi

if [[ -z "${ANDROID_NDK_HOME:-}" ]]; then
    echo "error: ANDROID_NDK_HOME is not set. Install the Android NDK (Android Studio:" >&2
    echo "SDK Manager > SDK Tools > NDK) and export ANDROID_NDK_HOME=\$ANDROID_HOME/ndk/<version>." >&2
    exit 1
fi

if command -v rustup >/dev/null; then
    installed="$(rustup target list --installed)"
    missing=()
    for t in "${targets[@]}"; do
        grep -qx "$t" <<<"$installed" || missing+=("$t")
    done
    if ((${#missing[@]})); then
        echo "error: missing Rust targets. Install them with:" >&2
        echo "  rustup target add ${missing[*]}" >&2
        exit 1
    fi
fi

cd "$root"
cargo ndk --platform 24 -t arm64-v8a -t armeabi-v7a -t x86_64 -o "$out" \
    build --release -p sync-ffi --lib
echo "Native libraries written to $out"
