#!/usr/bin/env bash
# The side-by-side benchmark in one command (see bench/peers/README.md):
#   bench/peers/run.sh [--docs 10000] [--systems ours,automerge-repo,pouchdb] [--timeout-s 600] ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --release -p scenarios --bins
# `npm ci` refuses this lock file: npm 11 leaves the optional per-platform packages of
# cbor-extract out of it and then reports them missing. `npm install` installs from
# the same lock file (versions pinned in package.json) without that check.
npm install --prefix bench/peers --no-audit --no-fund
exec node bench/peers/run.mjs "$@"
