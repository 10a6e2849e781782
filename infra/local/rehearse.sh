#!/usr/bin/env bash
# The deploy rehearsal (infra/local/rehearse.py): translates TEMPLATE (default template.yaml)
# offline, lints the plain CloudFormation, creates the stack in a moto server of its own with
# IAM enforced on the resources each call touches (moto_iam.py), checks the API wiring, and
# runs every function's binary with its role's credentials through a scenario of every
# route, the schedule trigger and the crawler. Exits non-zero, naming what failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh
template="${1:-template.yaml}"

ensure_rust
target_dir >/dev/null
ensure_python_tools
functions=$(ls functions)
packages=""
for f in $functions; do packages="$packages -p $f"; done
# shellcheck disable=SC2086
cargo build -q $packages -p local-stack -p notion-emulator

workdir=$(mktemp -d "${TMPDIR:-/tmp}/rehearsal.XXXXXX")
emulator_credentials
unset AWS_ENDPOINT_URL
# MOTO_IAM_LOAD_MANAGED_POLICIES: AWS managed policies (SAM attaches them by ARN) exist.
export MOTO_IAM_DENIALS="$workdir/denials.jsonl"
MOTO_IAM_RESOURCES=1 MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_LOG="$workdir/moto.log" start_moto
notion_port=$(free_port)
token="secret_rehearsal_$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
oauth_secret="oauth_$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
"$TARGET_DIR"/debug/notion-emulator --port "$notion_port" --pages 10 --seed 3 --token "$token" --window-budget 0 \
  --oauth-client-id rehearsal-client --oauth-client-secret "$oauth_secret" \
  >"$workdir/notion.log" 2>&1 &
notion_pid=$!
cleanup_rehearsal() {
  kill "$notion_pid" 2>/dev/null || true
  wait "$notion_pid" 2>/dev/null || true
  stop_moto
}
trap cleanup_rehearsal EXIT

REHEARSAL_NOTION_URL="http://127.0.0.1:$notion_port" REHEARSAL_NOTION_TOKEN="$token" \
  REHEARSAL_OAUTH_CLIENT_ID=rehearsal-client REHEARSAL_OAUTH_CLIENT_SECRET="$oauth_secret" \
  REHEARSAL_API_KEY="sk_rehearsal_$(python3 -c 'import secrets; print(secrets.token_hex(16))')" \
  "$VENV/bin/python" infra/local/rehearse.py "$template" "$workdir"
