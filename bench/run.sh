#!/usr/bin/env bash
# The performance benchmark of DESIGN §10 (issue 7), in one command:
#
#   bash bench/run.sh [BENCH ARGS...]     e.g. --quick, --iterations 5000, --cold-runs 50, --no-cold
#
#   1. builds the release `authorize` binary (what the cold-start part starts) on its own, with
#      the features `cargo lambda build --bin authorize` gives it, and then the bench with the
#      same release profile, niced (the first build takes several minutes; later ones only
#      relink what changed);
#   2. runs the bench under `tests/run.sh --exec`, which starts DynamoDB Local (and the pinned
#      tool venv) and stops it afterwards;
#   3. the bench prints a markdown report and writes it to target/bench/results.md; with
#      --watch (which this script passes) it also times one cold start under
#      `cargo lambda watch --release` (cargo-lambda comes from the tool venv).
#
# The arm64 `bootstrap` sizes are a separate command (a cross build): bash bench/size.sh
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

started=$(date +%s)
echo "==> building the release authorize binary and the bench (nice)"
nice -n 10 cargo build --release --locked --bin authorize
nice -n 10 cargo build --release --locked -p bench
echo "==> built in $(($(date +%s) - started)) s"
exec bash "$ROOT/tests/run.sh" --exec "$TARGET/release/bench" --authorize "$TARGET/release/authorize" --watch "$@"
