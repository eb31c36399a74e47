#!/usr/bin/env bash
# The one command that runs Evently's whole test suite (what CI runs, through .ci/run): makes sure
# PostgreSQL and a nats-server >= 2.10 are there (deploy/ensure-services.sh --test, which installs
# what is missing), exports DATABASE_URL and EVENTLY_NATS_SERVER, then runs every test of the
# workspace with cargo-nextest, or with cargo test where nextest is not installed.
# Extra arguments go to the test runner, e.g. a filter: `deploy/test.sh nats_server`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

services="$(bash deploy/ensure-services.sh --test)"
set -a
eval "$services"
set +a

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
else
  exec cargo test --workspace --no-fail-fast "$@"
fi
