# Shared by run.sh and test.sh: installs what the local stack needs and starts the AWS
# emulator. Source it from the repository root.

VENV=".local/venv"
# Exact versions: a fresh clone installs what the suite was last proven with.
MOTO_SPEC='moto[server]==5.2.5'
CFN_LINT_SPEC='cfn-lint==1.58.0'
SAM_SPEC='aws-sam-cli==1.170.0'
SCHEMATHESIS_SPEC='schemathesis==4.32.5'
HYPOTHESIS_SPEC='hypothesis==6.170.15'
CHATBOTKIT_SPEC='chatbotkit==0.6.0'

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Python tools go into a project venv, so nothing on the machine is changed or required.
ensure_python_tools() {
  if ! command -v python3 >/dev/null 2>&1; then
    log "installing python3 (apt)"
    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip >/dev/null
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV" || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$VENV"; }
  fi
  if ! "$VENV/bin/python" -c 'import moto, flask, cfnlint, chatbotkit' >/dev/null 2>&1 || [ ! -x "$VENV/bin/sam" ] || [ ! -x "$VENV/bin/st" ]; then
    log "installing moto server, cfn-lint, the SAM CLI, schemathesis and ChatBotKit's SDK into $VENV (pip)"
    "$VENV/bin/pip" install -q --disable-pip-version-check "$MOTO_SPEC" "$CFN_LINT_SPEC" "$SAM_SPEC" "$SCHEMATHESIS_SPEC" "$HYPOTHESIS_SPEC" "$CHATBOTKIT_SPEC"
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install Rust with rustup (https://rustup.rs) first" >&2
    exit 1
  fi
}

# Where cargo puts what it builds, wherever that is (CARGO_TARGET_DIR, build.target-dir in a
# cargo config, or ./target): every script starts binaries from here. Exported as TARGET_DIR
# for the Python helpers.
target_dir() {
  if [ -z "${TARGET_DIR:-}" ]; then
    TARGET_DIR="$(cargo metadata --format-version 1 --no-deps \
      | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
    export TARGET_DIR
  fi
  echo "$TARGET_DIR"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts moto (infra/local/moto_server.py) on a free loopback port; sets MOTO_PID and exports AWS_ENDPOINT_URL.
start_moto() {
  local port log_file="${MOTO_LOG:-.local/moto.log}"
  port=$(free_port)
  mkdir -p .local
  # moto's server with DynamoDB calls serialized, as DynamoDB's own writes are atomic.
  "$VENV/bin/python" infra/local/moto_server.py 127.0.0.1 "$port" >"$log_file" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$AWS_ENDPOINT_URL/moto-api/data.json', timeout=1)" >/dev/null 2>&1; then
      log "AWS emulator (moto) at $AWS_ENDPOINT_URL"
      return 0
    fi
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then break; fi
    sleep 0.2
  done
  echo "moto server did not start; its log:" >&2
  cat "$log_file" >&2
  exit 1
}

# Waits until the local stack at $1 (base URL) answers, or fails with its log ($3) if its
# process ($2) died.
wait_for_stack() {
  local base=$1 pid=$2 log_file=$3
  for _ in $(seq 1 150); do
    if python3 -c "import urllib.request; urllib.request.urlopen('$base/api/v1/openapi.json', timeout=1)" >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      cat "$log_file" >&2
      exit 1
    fi
    sleep 0.2
  done
  echo "the local stack at $base did not answer; its log:" >&2
  cat "$log_file" >&2
  exit 1
}

stop_moto() {
  if [ -n "${MOTO_PID:-}" ]; then kill "$MOTO_PID" 2>/dev/null || true; wait "$MOTO_PID" 2>/dev/null || true; fi
}

# Credentials and region the emulator accepts; real ones are never needed locally.
emulator_credentials() {
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-testing}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-testing}"
}
