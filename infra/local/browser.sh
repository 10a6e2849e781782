#!/usr/bin/env bash
# Connect with Notion in a real browser: Debian's Chromium (apt) driven by playwright-core
# (npm, pinned) through tests/browser/oauth.mjs, against the local stack with OAuth
# configured and the Notion emulator as Notion. Needs AWS_ENDPOINT_URL (test.sh starts
# the emulator) or starts its own.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh
target_dir >/dev/null
PLAYWRIGHT_SPEC='playwright-core@1.64.1'

ensure_python_tools
if ! command -v chromium >/dev/null 2>&1; then
  log "installing chromium (apt)"
  apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  log "installing node.js (apt)"
  apt-get update -qq >/dev/null && apt-get install -y -qq nodejs npm >/dev/null
fi
mkdir -p .local/browser
if [ ! -d .local/browser/node_modules/playwright-core ]; then
  log "installing $PLAYWRIGHT_SPEC (npm)"
  (cd .local/browser && npm install --no-audit --no-fund --silent "$PLAYWRIGHT_SPEC" >/dev/null)
fi
if [ -z "${AWS_ENDPOINT_URL:-}" ]; then
  emulator_credentials
  start_moto
  trap stop_moto EXIT
fi

cargo build -q -p local-stack -p notion-emulator
notion_port=$(free_port)
port=$(free_port)
key="sk_browser_$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
suffix=$(python3 -c 'import secrets; print(secrets.token_hex(4))')
client_secret="browser_$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
"$TARGET_DIR"/debug/notion-emulator --port "$notion_port" --pages 4 --seed 2 --token secret_unused --window-budget 0 \
  --oauth-client-id browser-client --oauth-client-secret "$client_secret" >.local/browser-notion.log 2>&1 &
notion_pid=$!
PORT="$port" DEV_API_KEY="$key" TABLE_NAME="br-$suffix" RECORDS_TABLE_NAME="br-$suffix-records" \
  SECRET_PREFIX="br/$suffix/" SYNC_QUEUE_NAME="br-$suffix" SCHEDULE_GROUP="br-$suffix" \
  NOTION_API_URL="http://127.0.0.1:$notion_port" NOTION_OAUTH_CLIENT_ID=browser-client \
  NOTION_OAUTH_CLIENT_SECRET="$client_secret" RUST_LOG=warn \
  "$TARGET_DIR"/debug/local-stack serve >.local/browser-stack.log 2>&1 &
stack_pid=$!
cleanup_browser() {
  kill "$stack_pid" "$notion_pid" 2>/dev/null || true
  wait "$stack_pid" "$notion_pid" 2>/dev/null || true
}
trap 'cleanup_browser; stop_moto' EXIT

base="http://127.0.0.1:$port"
wait_for_stack "$base" "$stack_pid" .local/browser-stack.log

log "Connect with Notion in headless Chromium"
# Run from beside its node_modules, where ES module imports resolve.
cp tests/browser/oauth.mjs .local/browser/oauth.mjs
BASE="$base" KEY="$key" SCREENSHOT=.local/browser/oauth-connected.png node .local/browser/oauth.mjs
