#!/usr/bin/env bash
# Runs the benchmarks (release build) against a fresh AWS emulator and writes BENCHMARKS.md.
# Pass `--sizes 100,1000` to run fewer workspace sizes, `--sync-only` to skip the API and
# Lambda-shape parts, `--out FILE` to write somewhere else than BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh

ensure_rust
ensure_python_tools
emulator_credentials
unset AWS_ENDPOINT_URL
start_moto
trap stop_moto EXIT
log "building the benchmark, the Notion emulator and a route function (release)"
cargo build -q --release -p bench -p notion-emulator -p integration-fetch
MOTO_PID="$MOTO_PID" target/release/bench "$@"
