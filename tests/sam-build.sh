#!/usr/bin/env bash
# The documented `sam build` of template.yaml: every function as an arm64 `bootstrap` for
# provided.al2023, built by SAM's rust-cargolambda build method (cargo-lambda + Zig, no Docker).
#
#   tests/sam-build.sh [SAM BUILD ARGS...]
#
# From any working directory, it:
#   1. installs the pinned tools of tests/requirements-tools.txt into .venv/ if they are missing
#      (tests/run.sh keeps that venv current) and puts .venv/bin first on PATH: SAM looks up the
#      `cargo-lambda` executable there, and cargo-lambda runs Zig as `python3 -m ziglang`, so
#      `python3` must be the venv's;
#   2. adds the arm64 standard library: `rustup target add aarch64-unknown-linux-gnu`;
#   3. points CARGO_TARGET_DIR at .aws-sam/cargo-target/ (or $SAM_CARGO_TARGET_DIR): it survives
#      `sam build` (SAM cleans only .aws-sam/build/), so cargo's incremental build is the build
#      cache (samconfig.toml turns SAM's own off: it hashes the whole workspace per function), and
#      it is not the test build's target/, so a build here never waits on a `cargo test`'s lock;
#   4. runs `sam build --beta-features ARGS` (samconfig.toml adds parallel, not cached);
#   5. checks that every function of template.yaml has .aws-sam/build/<Function>/bootstrap, a
#      64-bit little-endian AArch64 ELF executable, and prints its size (bench/targets.md aims at
#      5 MB; sizes above 5 MiB are flagged, not failed).
#
# Time on the 2-core development machine: a cold build (empty cargo target dir) takes 8 minutes
# or more (19 min measured under `nice -n 19` while other builds ran), so tests/run.sh does not
# run it; a rebuild with nothing changed takes about 10 s.
# Then `sam deploy --guided` (needs AWS credentials) deploys .aws-sam/build/template.yaml.

set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"

readonly VENV="$ROOT/.venv"
readonly TOOLS_REQ="$ROOT/tests/requirements-tools.txt"
readonly TARGET="aarch64-unknown-linux-gnu"
STARTED="$(date +%s)"

say() { printf '==> %s\n' "$*"; }
die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}

# 1. tools
if ! [[ -x "$VENV/bin/sam" && -x "$VENV/bin/cargo-lambda" ]] ||
    ! "$VENV/bin/python" -c 'import ziglang' 2>/dev/null; then
    say "installing the tools of ${TOOLS_REQ#"$ROOT"/} into .venv"
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV" ||
        die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        -r "$TOOLS_REQ" || die "pip install -r ${TOOLS_REQ#"$ROOT"/} failed"
fi
export PATH="$VENV/bin:$PATH"
[[ "$(command -v python3)" == "$VENV/bin/python3" ]] || die "python3 on PATH is not the venv's"
say "$(sam --version), $(cargo lambda --version), zig $(python3 -m ziglang version)"

# 2. the arm64 standard library
if ! rustup target list --installed | grep -qx "$TARGET"; then
    say "rustup target add $TARGET"
    rustup target add "$TARGET"
fi

# 3. cargo's output inside .aws-sam/
export CARGO_TARGET_DIR="${SAM_CARGO_TARGET_DIR:-$ROOT/.aws-sam/cargo-target}"
export SAM_CLI_TELEMETRY=0
say "CARGO_TARGET_DIR=${CARGO_TARGET_DIR#"$ROOT"/}"

# 4. build
say "sam build --beta-features $*"
sam build --beta-features "$@"

# 5. check: one aarch64 ELF bootstrap per function of the template
# Logical ids of the template's AWS::Serverless::Function resources (two-space indented keys).
mapfile -t functions < <(awk '/^  [A-Za-z0-9]+:$/ { id = substr($1, 1, length($1) - 1) }
    /^    Type: AWS::Serverless::Function$/ { print id }' template.yaml)
((${#functions[@]} > 0)) || die "no AWS::Serverless::Function in template.yaml"
bad=0
for f in "${functions[@]}"; do
    b=".aws-sam/build/$f/bootstrap"
    if [[ ! -f "$b" ]]; then
        printf '    MISSING  %s\n' "$b" >&2
        bad=1
        continue
    fi
    # ELF magic, class 2 (64-bit), data 1 (little-endian); e_machine (offset 18) 0xb7 = AArch64
    read -r -a h < <(od -An -v -tx1 -w20 -N20 "$b")
    if [[ "${h[*]:0:6}" != "7f 45 4c 46 02 01" || "${h[18]}${h[19]}" != "b700" ]]; then
        printf '    NOT AARCH64  %s (%s)\n' "$b" "$(file -b "$b" 2>/dev/null || echo "${h[*]}")" >&2
        bad=1
        continue
    fi
    [[ -x "$b" ]] || {
        printf '    NOT EXECUTABLE  %s\n' "$b" >&2
        bad=1
        continue
    }
    size=$(stat -c %s "$b")
    printf '    ok  %-44s %6d KiB  aarch64 ELF\n' "$b" $((size / 1024))
    if ((size > 5 * 1024 * 1024)); then
        printf "        (over the 5 MiB size target in bench/targets.md)\n"
    fi
done
((bad == 0)) || die "sam build did not produce an arm64 bootstrap for every function"
say "sam build: ${#functions[@]} arm64 bootstraps in .aws-sam/build/ after $(($(date +%s) - STARTED))s"
