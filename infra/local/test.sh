#!/usr/bin/env bash
# Runs every check and test: formatting, clippy, the template lint, the deploy rehearsal
# and its negative controls, unit tests, the
# integration tests against a fresh AWS emulator on a free port, ChatBotKit's Python SDK
# against the local stack, and the API fuzzing.
set -euo pipefail
cd "$(dirname "$0")/../.."
source infra/local/lib.sh

ensure_rust
target_dir >/dev/null
ensure_python_tools

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --workspace --all-targets --features shared/testing -q -- -D warnings
log "cfn-lint template.yaml"
"$VENV/bin/cfn-lint" template.yaml
log "sam validate --lint"
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION="${AWS_REGION:-us-east-1}" "$VENV/bin/sam" validate --lint --template template.yaml

log "deploy rehearsal: template.yaml translated, deployed to moto with IAM enforced, every route run"
bash infra/local/rehearse.sh template.yaml
log "deploy rehearsal negative controls: three broken copies of the template must fail"
"$VENV/bin/python" infra/local/rehearse_controls.py

emulator_credentials
unset AWS_ENDPOINT_URL
start_moto
trap stop_moto EXIT

log "tests (unit, the fast in-memory tier, and the integration tests against the emulators)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --features shared/testing --no-fail-fast
else
  cargo test --workspace --features shared/testing --no-fail-fast
fi

log "ChatBotKit's Python SDK through every route it has (epoch_ms)"
bash infra/local/sdk.sh

log "Connect with Notion in a real browser (headless Chromium)"
bash infra/local/browser.sh

log "fuzzing the API (schemathesis, from the OpenAPI document)"
bash infra/local/fuzz.sh
