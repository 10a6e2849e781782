#!/usr/bin/env bash
# Drives ChatBotKit's official Python SDK (PyPI chatbotkit, pinned) through every route it
# has against the local stack in TIMESTAMP_FORMAT=epoch_ms mode, with a sync against the
# project's Notion emulator (tests/sdk/python_sdk.py). Needs AWS_ENDPOINT_URL (test.sh
# starts the emulator) or starts its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh
target_dir >/dev/null

ensure_python_tools
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  emulator_credentials
  start_moto
  trap stop_moto EXIT
fi

cargo build -q -p local-stack -p notion-emulator
notion_port=$(free_port)
port=$(free_port)
token="secret_sdk_$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
key="sk_sdk_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
mkdir -p .local
"$TARGET_DIR"/debug/notion-emulator --port "$notion_port" --pages 12 --seed 5 --token "$token" --window-budget 0 \
  >.local/sdk-notion.log 2>&1 &
notion_pid=$!
PORT="$port" DEV_API_KEY="$key" TABLE_NAME="sdk-$suffix" RECORDS_TABLE_NAME="sdk-$suffix-records" \
  SECRET_PREFIX="sdk/$suffix/" SYNC_QUEUE_NAME="sdk-$suffix" SCHEDULE_GROUP="sdk-$suffix" \
  NOTION_API_URL="http://127.0.0.1:$notion_port" NOTION_MAX_RPS=50 TIMESTAMP_FORMAT=epoch_ms \
  RUST_LOG=warn "$TARGET_DIR"/debug/local-stack serve >.local/sdk-stack.log 2>&1 &
stack_pid=$!
cleanup_sdk() {
  kill "$stack_pid" "$notion_pid" 2>/dev/null || true
  wait "$stack_pid" "$notion_pid" 2>/dev/null || true
}
trap 'cleanup_sdk; stop_moto' EXIT

base="http://127.0.0.1:$port"
wait_for_stack "$base" "$stack_pid" .local/sdk-stack.log

log "ChatBotKit's Python SDK against the local stack (epoch_ms)"
if ! BASE_URL="$base" API_KEY="$key" NOTION_TOKEN="$token" "$VENV/bin/python" tests/sdk/python_sdk.py; then
  echo "--- local stack log" >&2
  tail -50 .local/sdk-stack.log >&2
  exit 1
fi
