#!/usr/bin/env bash
# The one command that runs Evently's whole test suite: makes sure PostgreSQL and a recent
# nats-server are there (deploy/ensure-services.sh --test), then runs every test of the workspace
# with cargo-nextest (or cargo test without it). Extra arguments go to the test runner.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
data_dir="${EVENTLY_DATA_DIR:-$root/.evently}"

bash deploy/ensure-services.sh --test
set -a
# shellcheck disable=SC1091
. "$data_dir/test.env"
set +a

if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --no-fail-fast "$@"
else
  exec cargo test --workspace --no-fail-fast "$@"
fi
