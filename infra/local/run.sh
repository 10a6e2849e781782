#!/usr/bin/env bash
# Starts the whole service locally: the AWS emulator (unless AWS_ENDPOINT_URL points at
# one), the tables, the DEV_API_KEY accounts, and the API at http://127.0.0.1:${PORT:-3000}.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh

ensure_rust
target_dir >/dev/null
ensure_python_tools
emulator_credentials
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  start_moto
  trap stop_moto EXIT
fi
export TABLE_NAME="${TABLE_NAME:-notion-local}"
export RECORDS_TABLE_NAME="${RECORDS_TABLE_NAME:-notion-local-records}"
export SECRET_PREFIX="${SECRET_PREFIX:-notion-integrations/local/}"

# The same settings, for `cargo lambda watch --env-file .local/lambda.env`.
mkdir -p .local
cat >.local/lambda.env <<ENV
AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL
AWS_REGION=$AWS_REGION
AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID
AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY
TABLE_NAME=$TABLE_NAME
RECORDS_TABLE_NAME=$RECORDS_TABLE_NAME
SECRET_PREFIX=$SECRET_PREFIX
ENV

log "building the local stack"
cargo build -q -p local-stack
"$TARGET_DIR"/debug/local-stack serve &
STACK_PID=$!
trap 'kill $STACK_PID 2>/dev/null || true; wait $STACK_PID 2>/dev/null || true; stop_moto' EXIT INT TERM
wait "$STACK_PID"
