//! The bench binary, run as `bash bench/run.sh` runs it but short (`--quick`, no cold start),
//! against the test run's DynamoDB Local: it finishes, writes its report, and the figures that
//! are counts rather than times — DynamoDB requests per operation, usage writes per key per
//! minute — meet DESIGN §10. Timings are not judged here (a debug build on a busy machine).

use std::process::Command;

#[test]
fn the_bench_runs_and_its_counted_targets_are_met() {
    if !integration_tests::dynamodb_local() {
        eprintln!("skipped: DynamoDB Local is not running (use tests/run.sh)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("results.md");
    let run = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--quick", "--no-cold", "--out"])
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
        "## Against DESIGN §10",
    ] {
        assert!(report.contains(heading), "no {heading:?} in:\n{report}");
    }
    // every row of the per-operation tables is judged on counted requests
    let section = |from: &str| {
        let start = report.find(from).unwrap();
        let rest = &report[start + from.len()..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_owned()
    };
    let is_header = |l: &str| {
        ["| operation", "| case", "| calls"]
            .iter()
            .any(|h| l.starts_with(h))
    };
    for name in [
        "## Management operations",
        "## Authorizer: DynamoDB requests per call",
        "## Usage writes under steady load",
    ] {
        let text = section(name);
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("| ") && !is_header(l))
            .collect();
        assert!(!rows.is_empty(), "{name}: no rows");
        for row in rows {
            assert!(row.ends_with("| met |"), "{name}: {row}");
        }
    }
    for target in [
        "| round trips: authorize",
        "| round trips: create",
        "| usage writes",
    ] {
        let row = report
            .lines()
            .find(|l| l.starts_with(target))
            .unwrap_or_else(|| panic!("no {target:?} row"));
        assert!(row.ends_with("| met |"), "{row}");
    }
    assert!(report.contains("| cold start, peak RSS | not measured (`--no-cold`) | — |"));
}
