#!/usr/bin/env bash
# Fuzzes the HTTP API with schemathesis (from PyPI) against the OpenAPI document Evently serves,
# authenticated as an admin, and fails on any 5xx, any response that breaks its documented schema,
# status or content type, any schema-invalid request that is accepted, and any operation that
# ignores its authentication. Run by deploy/test.sh after the tests (CI), or alone:
#   deploy/api-fuzz.sh                       # EVENTLY_API_FUZZ_EXAMPLES per operation (default 20)
#   EVENTLY_API_FUZZ_EXAMPLES=200 deploy/api-fuzz.sh
#   EVENTLY_FUZZ_SEED=1234567 deploy/api-fuzz.sh   # replays the run of that seed
#   deploy/api-fuzz.sh --include-path-regex bookings   # extra arguments go to `schemathesis run`
# Each run draws a fresh seed, so that CI keeps exploring new inputs instead of replaying one path;
# the seed is printed at the start and in the failure message, and EVENTLY_FUZZ_SEED replays it.
# It runs `evently up` (debug build) against a fresh database on the test PostgreSQL and a private
# nats-server on free ports, and removes both afterwards. The report lands in
# target/api-fuzz/ (JUnit XML and the failing cases as a pytest file).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

say() { printf 'api-fuzz: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

examples="${EVENTLY_API_FUZZ_EXAMPLES:-20}"
# EVENTLY_API_FUZZ_SEED is the setting's earlier name.
seed="${EVENTLY_FUZZ_SEED:-${EVENTLY_API_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' \n')}}"
case "$seed" in
  '' | *[!0-9]*) die "EVENTLY_FUZZ_SEED must be a number, not '$seed'" ;;
esac
say "seed $seed (replay this run with EVENTLY_FUZZ_SEED=$seed bash deploy/api-fuzz.sh)"
schemathesis_version="4.32.5"

services="$(bash deploy/ensure-services.sh --test)"
set -a
eval "$services"
set +a

# --- schemathesis, in a virtual environment under .evently/tools ------------------------------------
venv="$root/.evently/tools/schemathesis"
st="$venv/bin/schemathesis"
if ! "$st" --version 2>/dev/null | grep -q "$schemathesis_version"; then
  say "installing schemathesis $schemathesis_version from PyPI into $venv"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get install -y -q python3-venv >&2
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version" >&2
fi

# --- Evently, on its own database and nats-server -----------------------------------------------------
# EVENTLY_BIN: an `evently` binary already built (deploy/test.sh passes the one the tests built).
evently_bin="${EVENTLY_BIN:-}"
if [ -z "$evently_bin" ] || [ ! -x "$evently_bin" ]; then
  cargo build --quiet --bin evently
  evently_bin="$root/target/debug/evently"
fi
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
work="$(mktemp -d)"
db="evently_apifuzz_$$"
base_url="${DATABASE_URL%%\?*}"
query="${DATABASE_URL#"$base_url"}" # "?sslmode=require" or empty
database_url="${base_url%/*}/$db$query"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql -qtAc "DROP DATABASE IF EXISTS $db WITH (FORCE)" "$DATABASE_URL" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -qtAc "CREATE DATABASE $db" "$DATABASE_URL" >/dev/null

nats_port="$(free_port)"
"$EVENTLY_NATS_SERVER" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats" >"$work/nats.log" 2>&1 &
pids+=("$!")

http_port="$(free_port)"
base="http://127.0.0.1:$http_port"
admin_email="fuzz-admin@example.com"
admin_password="api-fuzz-admin-password-$$"
DATABASE_URL="$database_url" NATS_URL="nats://127.0.0.1:$nats_port" \
  EVENTLY_HTTP_ADDR="127.0.0.1:$http_port" EVENTLY_DATA_DIR="$work/data" \
  EVENTLY_ADMIN_EMAIL="$admin_email" EVENTLY_ADMIN_PASSWORD="$admin_password" \
  EVENTLY_SECURITY__AUTH_RATE_LIMIT=1000000 EVENTLY_SECURITY__BOOKING_RATE_LIMIT=1000000 \
  EVENTLY_SECURITY__LOCKOUT_THRESHOLD=1000000 \
  RUST_LOG="${RUST_LOG:-warn}" \
  "$evently_bin" up >"$work/evently.log" 2>&1 &
pids+=("$!")

ready() {
  python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "$base/health/ready" >/dev/null 2>&1
}
for _ in $(seq 1 120); do
  ready && break
  kill -0 "${pids[1]}" 2>/dev/null || { cat "$work/evently.log" >&2; die "evently did not start"; }
  sleep 0.5
done
ready || { tail -50 "$work/evently.log" >&2; die "evently is not ready"; }

token="$(python3 - "$base/api/v1/auth/login" "$admin_email" "$admin_password" <<'PY'
import json, sys, urllib.request
url, email, password = sys.argv[1:4]
request = urllib.request.Request(
    url, data=json.dumps({"email": email, "password": password}).encode(),
    headers={"content-type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["access_token"])
PY
)"

# --- The run ---------------------------------------------------------------------------------------------
# Every check but `positive_data_acceptance` (a request valid by the schema must be accepted): the
# schema states each field's type, range, length and pattern, but not the rules across fields or
# against data (`ends_at` after `starts_at`, `starts_at` in the future, an unused email, a
# non-trivial password, a category from the list), so valid-looking requests are rightly refused
# with a 422 naming the field.
# One worker: schemathesis's workers are threads, and CPython 3.11's AST constructor keeps its
# recursion depth per interpreter, so two threads describing strategies at once fail with
# "AST constructor recursion depth mismatch" (python/cpython#106905), an error of the fuzzer's
# own, not of the API.
report="$root/target/api-fuzz"
mkdir -p "$report"
say "schemathesis against $base/api/openapi.json, $examples examples per operation, seed $seed"
status=0
"$st" --config-file "$root/deploy/api-fuzz.toml" run "$base/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --max-examples "$examples" \
  --seed "$seed" \
  --workers 1 \
  --request-timeout 10 \
  --report junit,pytest --report-dir "$report" \
  --generation-database none \
  --no-color \
  "$@" || status=$?

if grep -q 'panicked' "$work/evently.log"; then
  say "evently logged a panic:"
  grep 'panicked' "$work/evently.log" | head -20 >&2
  status=1
fi
if [ "$status" -eq 0 ]; then
  say "passed with seed $seed: no 5xx, no schema violations"
else
  # The server's log goes with the report: a crash or a 500's cause is in it.
  cp "$work/evently.log" "$report/evently-$seed.log" 2>/dev/null || true
  say "last lines of evently's log ($report/evently-$seed.log):"
  tail -n 30 "$work/evently.log" >&2 || true
  say "failed with seed $seed (replay: EVENTLY_FUZZ_SEED=$seed bash deploy/api-fuzz.sh; report in $report)"
fi
exit "$status"
