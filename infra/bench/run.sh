#!/usr/bin/env bash
# Runs the benchmarks (release build) against a fresh AWS emulator and writes BENCHMARKS.md.
# Pass `--sizes 100,1000` to run fewer workspace sizes, `--sync-only` to skip the API and
# Lambda-shape parts, `--out FILE` to write somewhere else than BENCHMARKS.md.
# `--freshness [ARGS]` runs only the webhook freshness benchmark (edit → record updated at
# 100 and 10,000 pages) and rewrites its section of BENCHMARKS.md; ARGS go to it
# (`--sizes 100 --edits 20 --debounce 2`).
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh

ensure_rust
ensure_python_tools
emulator_credentials
unset AWS_ENDPOINT_URL
start_moto
trap stop_moto EXIT
if [ "${1:-}" = "--freshness" ]; then
  shift
  log "building the freshness benchmark (release)"
  cargo build -q --release -p bench --bin freshness
  "$(target_dir)"/release/freshness --write BENCHMARKS.md "$@"
  exit 0
fi
log "building the benchmark, the Notion emulator and a route function (release)"
cargo build -q --release -p bench -p notion-emulator -p integration-fetch
MOTO_PID="$MOTO_PID" "$(target_dir)"/release/bench "$@"
