#!/usr/bin/env bash
# Size of each function's arm64 release `bootstrap` (target: ≤ 5 MB each), built the way
# `sam build` builds them (cargo lambda, --arm64, the workspace's release profile):
#
#   bash bench/size.sh
#
# The cross build goes to its own target dir (target/arm64-release, or $SIZE_TARGET_DIR), so it
# never holds the main target dir's lock, and runs under `nice -n 19`. On the 2-core machine of
# bench/README.md a cold build of all the functions takes minutes with the machine to itself and
# much longer while other builds run (one fat-LTO link per function).
# The table is printed and written, stamped with the date and commit, to bench/sizes.md (which
# `bench/run.sh --readme` puts into bench/README.md), or to $SIZE_OUT. To try another profile
# without editing Cargo.toml, use cargo's overrides with a target dir of their own, e.g.
#   CARGO_PROFILE_RELEASE_OPT_LEVEL=s SIZE_TARGET_DIR=target/arm64-opt-s \
#     SIZE_OUT=target/bench/size-opt-s.md bash bench/size.sh
# Needs the tool venv (.venv, made by tests/run.sh: cargo-lambda and zig) and the
# aarch64-unknown-linux-gnu rust target (added here with rustup if missing).
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
BINS=(authorize create-key list-keys replace-key update-key delete-key list-audit console)
LIMIT=5000000
export CARGO_TARGET_DIR="${SIZE_TARGET_DIR:-$ROOT/target/arm64-release}"
OUT="${SIZE_OUT:-$ROOT/bench/sizes.md}"

if [[ ! -x "$ROOT/.venv/bin/cargo-lambda" ]]; then
    echo "==> no tool venv yet: letting tests/run.sh create it"
    bash "$ROOT/tests/run.sh" --exec true
fi
# zig is found as `python3 -m ziglang`: the venv's python must come first.
export PATH="$ROOT/.venv/bin:$PATH"
if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu
fi

started=$(date +%s)
args=()
for b in "${BINS[@]}"; do args+=(--bin "$b"); done
echo "==> cargo lambda build --release --arm64 ${args[*]} (target dir ${CARGO_TARGET_DIR#"$ROOT"/}, nice 19)"
nice -n 19 cargo lambda build --release --arm64 --locked "${args[@]}"
took=$(($(date +%s) - started))

mkdir -p "$(dirname "$OUT")"
{
    echo "## arm64 bootstrap sizes"
    echo
    echo "Measured $(date -u +%Y-%m-%d) at commit $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- shared functions Cargo.toml Cargo.lock || echo ' (with uncommitted changes)') by \`bash bench/size.sh\`."
    echo
    echo "| function | bootstrap bytes | MB | MiB | ≤ 5 MB |"
    echo "|---|---:|---:|---:|---|"
    for b in "${BINS[@]}"; do
        f="$CARGO_TARGET_DIR/lambda/$b/bootstrap"
        bytes=$(stat -c %s "$f")
        verdict=met
        ((bytes <= LIMIT)) || verdict="**not met**"
        awk -v b="$b" -v n="$bytes" -v v="$verdict" \
            'BEGIN { printf "| %s | %d | %.2f | %.2f | %s |\n", b, n, n / 1e6, n / 1048576, v }'
    done
    echo
    overrides="$(env | grep '^CARGO_PROFILE_RELEASE_' | paste -sd' ' || true)"
    echo "arm64 (aarch64-unknown-linux-gnu, cargo lambda + zig), profile.release of Cargo.toml${overrides:+ with $overrides}; built in ${took} s on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))."
} | tee "$OUT"
echo "==> written to ${OUT#"$ROOT"/}"
