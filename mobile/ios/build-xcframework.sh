#!/usr/bin/env bash
# Builds libsync_ffi.a (release) for iOS devices and simulators and packs it with the
# generated C header and module map into mobile/ios/SyncCoreFFI.xcframework.
# macOS only; can be called from any directory.
set -euo pipefail

if [[ "$(uname -s)" != "Darwin" ]]; then
    echo "error: building the iOS xcframework needs macOS with Xcode (xcodebuild, lipo)." >&2
    exit 1
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
ios="$root/mobile/ios"
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)

if ! command -v xcodebuild >/dev/null || ! command -v lipo >/dev/null; then
    echo "error: xcodebuild and lipo not found. Install Xcode and run:" >&2
    echo "  xcode-select --install" >&2
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

if [[ ! -f "$ios/Headers/sync_coreFFI.h" || ! -f "$ios/Headers/sync_coreFFI.modulemap" ]]; then
    echo "error: $ios/Headers is missing the generated header; run: cargo xtask bindings" >&2
    exit 1
fi

cd "$root"
# The crate's manifest declares lib + cdylib; the staticlib is asked for here.
for t in "${targets[@]}"; do
    cargo rustc --release -p sync-ffi --lib --target "$t" --crate-type staticlib
done

target_dir="${CARGO_TARGET_DIR:-$root/target}"
work="$target_dir/xcframework"
rm -rf "$work"
mkdir -p "$work/headers" "$work/ios-simulator"

cp "$ios"/Headers/* "$work/headers/"
mv "$work/headers/sync_coreFFI.modulemap" "$work/headers/module.modulemap"

lipo -create \
    "$target_dir/aarch64-apple-ios-sim/release/libsync_ffi.a" \
    "$target_dir/x86_64-apple-ios/release/libsync_ffi.a" \
    -output "$work/ios-simulator/libsync_ffi.a"

rm -rf "$ios/SyncCoreFFI.xcframework"
xcodebuild -create-xcframework \
    -library "$target_dir/aarch64-apple-ios/release/libsync_ffi.a" -headers "$work/headers" \
    -library "$work/ios-simulator/libsync_ffi.a" -headers "$work/headers" \
    -output "$ios/SyncCoreFFI.xcframework"
echo "Wrote $ios/SyncCoreFFI.xcframework"
