//! The bench binary, run as `bash bench/run.sh` runs it but short (`--quick`, two cold starts of
//! the debug `authorize` binary), against the test run's DynamoDB Local: it finishes, writes its
//! report, and the figures that are counts rather than times — DynamoDB requests per operation,
//! usage writes per key per minute — meet the bench's targets. Timings are not judged here (a
//! debug build on a busy machine): of the cold start, only that the binary starts and answers
//! (the bench fails a start whose answer is not an allow); the release run measures it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace's debug `authorize`, built as the e2e tests build the functions (without the
/// variables cargo sets for this test, which would make the nested build rebuild everything).
fn debug_authorize() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut cmd = integration_tests::runtime_api::cargo_command();
    cmd.args(["build", "--bin", "authorize", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .current_dir(root);
    integration_tests::runtime_api::stdout_of(&mut cmd, "cargo build --bin authorize");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let target = if target.is_absolute() { target } else { root.join(target) };
    let binary = target.join("debug").join("authorize");
    assert!(binary.is_file(), "no {}", binary.display());
    binary
}

#[test]
fn the_bench_runs_and_its_counted_targets_are_met() {
    if !integration_tests::dynamodb_local() {
        integration_tests::skip(
            "the_bench_runs_and_its_counted_targets_are_met",
            "DynamoDB Local is not running",
            "DYNAMODB_LOCAL_REQUIRED",
        );
        return;
    }
    let authorize = debug_authorize();
    let dir = std::env::temp_dir().join(format!("bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("results.md");
    let run = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--cold-runs", "2", "--authorize"])
        .arg(&authorize)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("running the bench");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "bench failed:\n{stderr}");
    let report = std::fs::read_to_string(&out).expect("the report file");
    assert_eq!(
        report.trim(),
        String::from_utf8_lossy(&run.stdout).trim(),
        "the printed report is the written one"
    );
    std::fs::remove_dir_all(&dir).ok();

    for heading in [
        "## Authorizer vs a bare GetItem",
        "## Token throughput",
        "## Management operations",
        "## Authorizer: DynamoDB requests per call",
        "## Usage writes under steady load",
        "## What the audit trail costs a change",
        "## Keys with limits",
        "## A simulated fleet on one hot key",
        "## Against the targets",
    ] {
        assert!(report.contains(heading), "no {heading:?} in:\n{report}");
    }
    // every row of the per-operation tables is judged on counted requests
    let section = |from: &str| {
        let start = report.find(from).unwrap();
        let rest = &report[start + from.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
    };
    let is_header = |l: &str| ["| operation", "| case", "| calls"].iter().any(|h| l.starts_with(h));
    for name in [
        "## Management operations",
        "## Authorizer: DynamoDB requests per call",
        "## Usage writes under steady load",
    ] {
        let text = section(name);
        let rows: Vec<&str> =
            text.lines().filter(|l| l.starts_with("| ") && !is_header(l)).collect();
        assert!(!rows.is_empty(), "{name}: no rows");
        for row in rows {
            assert!(row.ends_with("| met |"), "{name}: {row}");
        }
    }
    // every audited change is priced, the same on every call, and a transaction of the key's
    // write and its record costs what DynamoDB charges for those two writes in a transaction
    let audit = section("## What the audit trail costs a change");
    let rows: Vec<Vec<&str>> = audit
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| change"))
        .map(|l| l.trim_matches('|').split(" | ").map(str::trim).collect())
        .collect();
    let changes: Vec<&str> = rows.iter().map(|r| r[0]).collect();
    for change in ["create", "update", "disable", "replace", "delete"] {
        assert!(changes.iter().any(|c| c.contains(change)), "no {change:?} row in:\n{audit}");
    }
    for r in &rows {
        assert_eq!(r[3], "yes", "{r:?}");
        let now: f64 = r[2].trim_start_matches("**").split("**").next().unwrap().parse().unwrap();
        assert!(now > 0.0, "{r:?}");
    }
    // the fleet's bounds (a rate limit's windows, a quota's total) are judged even when quick
    let fleet = section("## A simulated fleet on one hot key");
    let rows: Vec<&str> =
        fleet.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| scenario")).collect();
    assert!(rows.len() >= 3, "{fleet}");
    for row in rows {
        assert!(row.ends_with("| met |"), "{row}");
    }
    for target in ["| round trips: authorize", "| round trips: create", "| usage writes"] {
        let row = report
            .lines()
            .find(|l| l.starts_with(target))
            .unwrap_or_else(|| panic!("no {target:?} row"));
        assert!(row.ends_with("| met |"), "{row}");
    }
    // the cold-start code ran: the debug binary started 1 + 2 × 2 times and answered each time
    let cold = section("## Cold start of the `authorize` binary");
    assert!(cold.contains(&format!("`{}`", authorize.display())), "{cold}");
    assert!(cold.contains("started 2 times"), "{cold}");
    for row in [
        "| exec → first answer |",
        "| second invocation, warm (event → answer) |",
        "| peak RSS (VmHWM) after the second answer |",
    ] {
        assert!(cold.contains(row), "no {row:?} in:\n{cold}");
    }
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("| cold start ≤ 30 ms (exec → first answer, emulator) |")),
        "{report}"
    );
    assert!(!report.contains("not measured (`--no-cold`)"), "{report}");
}
