#!/usr/bin/env bash
# The one command that runs Evently's whole test suite (what CI runs, through .ci/run): makes sure
# PostgreSQL and a nats-server >= 2.10 are there (deploy/ensure-services.sh --test, which installs
# what is missing), exports DATABASE_URL and EVENTLY_NATS_SERVER, then runs every test of the
# workspace with cargo-nextest, or with cargo test where nextest is not installed; then fuzzes the
# HTTP API with schemathesis (deploy/api-fuzz.sh) against the `evently` binary the tests built,
# then tests the web app (deploy/web.sh test: type check, lint, unit tests, browser journeys
# against that same binary), then checks the dependencies (deploy/deps-check.sh: cargo deny's
# licences, bans and sources; npm audit). Extra arguments go to the test runner, e.g. a filter:
# `deploy/test.sh nats_server` (a filtered run skips the API fuzz, the web app's tests and the
# dependency check; EVENTLY_API_FUZZ=0, EVENTLY_WEB_TEST=0 and EVENTLY_DEPS_CHECK=0 skip them too).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services="$(bash deploy/ensure-services.sh --test)"
set -a
eval "$services"
set +a

status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@" || status=$?
else
  cargo test --workspace --no-fail-fast "$@" || status=$?
fi

evently_bin="${CARGO_TARGET_DIR:-$(pwd)/target}/debug/evently"
if [ "$#" -eq 0 ] && [ "${EVENTLY_API_FUZZ:-1}" != "0" ]; then
  EVENTLY_BIN="$evently_bin" bash deploy/api-fuzz.sh || status=$?
fi
if [ "$#" -eq 0 ] && [ "${EVENTLY_WEB_TEST:-1}" != "0" ]; then
  # DATABASE_URL and EVENTLY_NATS_SERVER (from ensure-services, exported above) go along.
  EVENTLY_BIN="$evently_bin" bash deploy/web.sh test || status=$?
fi
if [ "$#" -eq 0 ] && [ "${EVENTLY_DEPS_CHECK:-1}" != "0" ]; then
  bash deploy/deps-check.sh || status=$?
fi
exit "$status"
