#!/usr/bin/env bash
# The side-by-side benchmark in one command (see bench/peers/README.md):
#   bench/peers/run.sh [--docs 10000] [--systems ours,automerge-repo,pouchdb] [--timeout-s 600] ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
cargo build --release -p scenarios --bins
npm ci --prefix bench/peers --no-audit --no-fund
exec node bench/peers/run.mjs "$@"
