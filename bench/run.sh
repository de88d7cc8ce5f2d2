#!/usr/bin/env bash
# The performance benchmark, in one command:
#
#   bash bench/run.sh [--readme] [BENCH ARGS...]    e.g. --quick, --iterations 5000, --cold-runs 50, --no-cold
#
#   1. builds the release `authorize` binary (what the cold-start part starts) on its own, with
#      the features `cargo lambda build --bin authorize` gives it, and then the bench with the
#      same release profile, niced (the first build takes several minutes; later ones only
#      relink what changed);
#   2. runs the bench under `tests/run.sh --exec`, which starts DynamoDB Local (and the pinned
#      tool venv) and stops it afterwards; the bench prints a markdown report and writes it to
#      target/bench/results.md; with --watch (which this script passes) it also times one cold
#      start under `cargo lambda watch --release` (cargo-lambda comes from the tool venv);
#   3. with --readme only: builds the release keys-dev, measures the web console in headless
#      Chromium (bench/console.py: page weight, the 1,000-key list's render) and writes
#      bench/README.md from bench/targets.md, both reports and bench/sizes.md. Nothing else
#      writes bench/README.md (the test run's bench smoke never does).
#
# The arm64 `bootstrap` sizes are a separate command (a cross build) that writes bench/sizes.md:
#   bash bench/size.sh
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

readme=false
args=()
for a in "$@"; do
    if [[ "$a" == --readme ]]; then readme=true; else args+=("$a"); fi
done

started=$(date +%s)
echo "==> building the release authorize binary and the bench (nice)"
nice -n 10 cargo build --release --locked --bin authorize
nice -n 10 cargo build --release --locked -p bench
$readme && nice -n 10 cargo build --release --locked -p local --bin keys-dev
echo "==> built in $(($(date +%s) - started)) s"

results="$TARGET/bench/results.md"
bash "$ROOT/tests/run.sh" --exec "$TARGET/release/bench" --authorize "$TARGET/release/authorize" \
    --watch --out "$results" ${args[@]+"${args[@]}"}
$readme || exit 0

console="$TARGET/bench/console.md"
echo "==> the web console in headless Chromium (bench/console.py)"
bash "$ROOT/tests/run.sh" --exec "$ROOT/.venv/bin/python" "$ROOT/bench/console.py" \
    --keys-dev "$TARGET/release/keys-dev" --out "$console" >/dev/null

{
    cat "$ROOT/bench/targets.md"
    echo
    # the report's own title is this page's
    sed '1{/^# /d}' "$results"
    echo
    cat "$console"
    echo
    if [[ -f "$ROOT/bench/sizes.md" ]]; then
        cat "$ROOT/bench/sizes.md"
    else
        echo "## arm64 bootstrap sizes"
        echo
        echo "Not measured yet: run \`bash bench/size.sh\`."
    fi
} >"$ROOT/bench/README.md"
echo "==> wrote bench/README.md"
