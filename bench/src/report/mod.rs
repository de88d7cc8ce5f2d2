//! The markdown report: one table per measurement and a summary against the targets.

mod limits;

use std::fmt::Write as _;
use std::time::Duration;

use crate::calls::{AuthCalls, UsageLoad};
use crate::cold::ColdStart;
use crate::hot::HotPath;
use crate::manage::OpResult;
use crate::stats::{ms, ratio, Samples};
use crate::tokens::Throughput;
use crate::Options;

pub struct Input<'a> {
    pub options: &'a Options,
    pub hot: &'a HotPath,
    pub tokens: &'a [Throughput],
    pub manage: &'a [OpResult],
    pub audit: &'a [crate::audit::ChangeCost],
    pub limited: &'a crate::limited::LimitedHot,
    pub fleet: &'a [crate::limited::FleetRun],
    pub auth_calls: &'a [AuthCalls],
    pub usage: &'a UsageLoad,
    pub cold: Option<&'a ColdStart>,
    pub watch: Option<&'a crate::watch::WatchRun>,
    pub timings: &'a [(&'static str, Duration)],
}

const HOT_TARGET: f64 = 1.15;
const COLD_TARGET: Duration = Duration::from_millis(30);
const RSS_TARGET_BYTES: u64 = 20_000_000;

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**not met**"
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn command_line(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB ({:.1} MB)", kib as f64 / 1024.0, kib as f64 * 1024.0 / 1e6)
}

pub fn render(i: &Input<'_>) -> String {
    let mut s = String::new();
    let now = time::OffsetDateTime::now_utc();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(s, "# Benchmark results\n");
    let _ = writeln!(
        s,
        "Run {} UTC on {} ({} cores, {}), kernel {}; commit {}; DynamoDB Local 3.3.0 (in-memory, same machine) via `tests/run.sh`. Command: `bash bench/run.sh`.\n",
        now.date(),
        cpu_model(),
        cores,
        format_args!(
            "{:.1} GiB RAM",
            std::fs::read_to_string("/proc/meminfo")
                .ok()
                .and_then(|m| m.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<f64>().ok()))
                .unwrap_or(0.0)
                / 1024.0
                / 1024.0
        ),
        command_line("uname", &["-r"]).unwrap_or_default(),
        command_line("git", &["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "?".into()),
    );

    // 1. hot path
    let h = i.hot;
    let g50 = h.bare.p50();
    let g99 = h.bare.p99();
    let _ = writeln!(
        s,
        "## Authorizer vs a bare GetItem\n\n{} calls of each, interleaved in rotating order after {} warm-up rounds; the same item, the same SDK client (consistent reads). Ratios are to the bare GetItem's p50 and p99.\n",
        h.iterations, i.options.warmup
    );
    s.push_str("| measurement | p50 ms | p99 ms | × GetItem p50 | × GetItem p99 |\n|---|---:|---:|---:|---:|\n");
    let row = |s: &mut String, name: &str, x: &Samples| {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {:.3} | {:.3} |",
            ms(x.p50()),
            ms(x.p99()),
            ratio(x.p50(), g50),
            ratio(x.p99(), g99)
        );
    };
    row(&mut s, "bare GetItem", &h.bare);
    row(&mut s, "`store.get`: GetItem + item → key", &h.store_get);
    row(&mut s, "authorize: `decide(token)`", &h.decide);
    row(&mut s, "authorize: `handle(event)`, HTTP API v2 — what the Lambda runs", &h.handle);
    let _ = writeln!(
        s,
        "| malformed key: `handle(event)` (no DynamoDB call) | {} | {} | — | — |\n",
        ms(h.malformed.p50()),
        ms(h.malformed.p99())
    );
    let hot_p50 = ratio(h.handle.p50(), g50);
    let hot_p99 = ratio(h.handle.p99(), g99);

    // 2. tokens
    s.push_str("## Token throughput (one thread)\n\n| operation | ops/s | µs/op | what it does |\n|---|---:|---:|---|\n");
    for t in i.tokens {
        let _ = writeln!(
            s,
            "| {} | {:.0} | {:.2} | {} |",
            t.name,
            t.per_second(),
            t.micros_per_op(),
            t.what
        );
    }
    s.push('\n');

    // 3 + 4. management
    let _ = writeln!(
        s,
        "## Management operations\n\n{} calls each through the Lambda handler (`shared::api`) with the DynamoDB store, as an admin key; the requests each call made counted by an SDK interceptor on the client (one count per request sent, so a retry would show).\n",
        i.options.ops
    );
    s.push_str("| operation | route | p50 ms | p99 ms | DynamoDB requests per call | reads | writes | target | met |\n|---|---|---:|---:|---|---:|---:|---|---|\n");
    let mut manage_ok = true;
    for op in i.manage {
        let pattern = if op.patterns.len() == 1 {
            op.counts.describe()
        } else {
            op.patterns.iter().map(|(p, n)| format!("{p} (×{n})")).collect::<Vec<_>>().join("; ")
        };
        let is_list = op.route == "GET /keys";
        let (target, ok) = if is_list {
            (
                "1 Query a page",
                op.patterns.len() == 1 && op.counts.get("Query") == 1 && op.counts.writes() == 0,
            )
        } else if op.route == "GET /keys/{prefix}" {
            ("1 read", op.patterns.len() == 1 && op.counts.reads() == 1 && op.counts.writes() == 0)
        } else {
            (
                "1 read round trip (caller + key) + 1 write call",
                op.patterns.len() == 1 && op.counts.writes() == 1 && op.counts.reads() == 1,
            )
        };
        manage_ok &= ok;
        let _ = writeln!(
            s,
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |",
            op.name,
            op.route,
            ms(op.latency.p50()),
            ms(op.latency.p99()),
            pattern,
            op.counts.reads(),
            op.counts.writes(),
            target,
            verdict(ok)
        );
    }
    s.push_str("\nEvery request re-reads its caller's stored key: create, get and list read it with one GetItem; update, replace and delete read the caller and the target together in one BatchGetItem (consistent). Every change is one TransactWriteItems call: the key's write and its audit record (and for a team key, the one-team-key-per-user sentinel).\n\n");
    limits::audit(&mut s, i.audit);
    let (limited_ratio, small_ratio) = limits::hot(&mut s, i.limited, i.options.warmup);
    let fleet_ok = limits::fleet(&mut s, i.fleet, i.options.fleet_scale);

    // authorizer calls
    s.push_str("## Authorizer: DynamoDB requests per call\n\nThrough `handle` (the Lambda entry point, which waits up to 50 ms for a usage write it started), counted by the interceptor.\n\n| case | calls | requests per call | reads | writes | target | met |\n|---|---:|---|---:|---:|---|---|\n");
    let mut auth_ok = true;
    for c in i.auth_calls {
        let (target, ok) = match c.name {
            n if n.starts_with("authorize, a key's first") => (
                "1 read (+ the usage write, ≤ 1 a minute per key)",
                c.per_call.reads() == 1
                    && c.per_call.get("UpdateItem") <= 1
                    && c.per_call.total() <= 2,
            ),
            n if n.starts_with("malformed") || n.starts_with("no key") => {
                ("0", c.per_call.total() == 0)
            }
            _ => ("1 read", c.per_call.reads() == 1 && c.per_call.writes() == 0),
        };
        let ok = ok && c.uniform;
        auth_ok &= ok;
        let _ = writeln!(
            s,
            "| {} | {} | {}{} | {} | {} | {} | {} |",
            c.name,
            c.calls,
            c.per_call.describe(),
            if c.uniform { "" } else { " (calls differed)" },
            c.per_call.reads(),
            c.per_call.writes(),
            target,
            verdict(ok)
        );
    }
    s.push('\n');

    // 5. usage
    let u = i.usage;
    let usage_ok = u.max_writes_per_key_minute <= 1 && u.recorded == u.calls;
    let _ = writeln!(
        s,
        "## Usage writes under steady load\n\n{} keys, {} calls a second each, for {} simulated minutes (a `FixedClock` the bench moves; the DynamoDB calls are real).\n\n| calls | GetItem | usage writes (UpdateItem) | most writes for one key in one minute | target | calls recorded in `submittedJobs` after flush | met |\n|---:|---:|---:|---:|---|---:|---|\n| {} | {} | {} | {} | ≤ 1 per key per minute | {} / {} | {} |\n",
        u.keys,
        u.calls_per_key_per_second,
        u.minutes,
        u.calls,
        u.reads,
        u.total_writes,
        u.max_writes_per_key_minute,
        u.recorded,
        u.calls,
        verdict(usage_ok)
    );

    // 6. cold start
    let mut cold_ok = None;
    if let Some(c) = i.cold {
        let first = c.series(|r| r.first_answer);
        let (hwm1_p50, hwm1_max) = c.hwm(|r| r.hwm_first_kib);
        let (hwm_p50, hwm_max) = c.hwm(|r| r.hwm_kib);
        let ok_time = first.p50() <= COLD_TARGET;
        let ok_rss = hwm_max * 1024 <= RSS_TARGET_BYTES;
        cold_ok = Some((ok_time, ok_rss, first.p50(), hwm_max));
        let _ = writeln!(
            s,
            "## Cold start of the `authorize` binary\n\n`{}` ({:.2} MB, x86_64 release build), started {} times under the bench's Runtime API emulator (after one unmeasured start), with Lambda's environment, against DynamoDB Local; the event is an HTTP API v2 authorizer event with a valid key, so the first invocation does its GetItem and its usage write.\n",
            c.binary.display(),
            c.binary_bytes as f64 / 1e6,
            c.runs.len()
        );
        s.push_str("| measure | p50 | max | target | met |\n|---|---:|---:|---|---|\n");
        let _ = writeln!(
            s,
            "| exec → first answer | {} ms | {} ms | ≤ 30 ms | {} |",
            ms(first.p50()),
            ms(first.max()),
            verdict(ok_time)
        );
        for (name, x) in [
            ("exec → init done (first `GET …/next`)", c.series(|r| r.init)),
            ("first invocation (event → answer)", c.series(|r| r.first_invoke)),
            ("second invocation, warm (event → answer)", c.series(|r| r.warm_invoke)),
        ] {
            let _ = writeln!(s, "| {name} | {} ms | {} ms | | |", ms(x.p50()), ms(x.max()));
        }
        let _ = writeln!(
            s,
            "| peak RSS (VmHWM) after the first answer | {} | {} | ≤ 20 MB | {} |",
            mib(hwm1_p50),
            mib(hwm1_max),
            verdict(hwm1_max * 1024 <= RSS_TARGET_BYTES)
        );
        let _ = writeln!(
            s,
            "| peak RSS (VmHWM) after the second answer | {} | {} | ≤ 20 MB | {} |\n",
            mib(hwm_p50),
            mib(hwm_max),
            verdict(ok_rss)
        );
        let _ = writeln!(
            s,
            "Opening the DynamoDB connection at init (one GetItem of an item no key has; the default) against not opening it (`DYNAMODB_WARM_UP=false`), {} starts each, alternating:\n",
            c.runs_without_warm_up.len()
        );
        s.push_str(
            "| p50 | warm-up at init (default) | no warm-up | difference |\n|---|---:|---:|---:|\n",
        );
        for (name, f) in [
            ("exec → init done", (|r: &crate::cold::Run| r.init) as fn(&_) -> Duration),
            ("first invocation (event → answer)", |r| r.first_invoke),
            ("exec → first answer", |r| r.first_answer),
        ] {
            let (on, off) = (c.series(f).p50(), c.series_without_warm_up(f).p50());
            let diff = on.as_secs_f64() - off.as_secs_f64();
            let _ =
                writeln!(s, "| {name} | {} ms | {} ms | {:+.3} ms |", ms(on), ms(off), diff * 1e3);
        }
        s.push('\n');
    }

    if let Some(w) = i.watch {
        let _ = writeln!(
            s,
            "Once under cargo-lambda's emulator (`cargo lambda watch --release`, its invoke API on 127.0.0.1): the invocation that starts the function took {} ms from the invoke request to its answer — that includes `cargo run` checking that the binary is fresh and the emulator's own hops — and the next one {} ms; the function process's peak RSS was {}.\n",
            ms(w.first),
            ms(w.second),
            w.hwm_kib.map(mib).unwrap_or_else(|| "not found".into())
        );
    }

    // summary
    s.push_str("## Against the targets\n\n| target | measured | met |\n|---|---|---|\n");
    let _ = writeln!(
        s,
        "| authorizer ≤ 1.15× a bare GetItem at p50 and p99 | `handle` {:.3}× at p50, {:.3}× at p99 (`decide` {:.3}×, {:.3}×) | {} |",
        hot_p50,
        hot_p99,
        ratio(h.decide.p50(), g50),
        ratio(h.decide.p99(), g99),
        verdict(hot_p50 <= HOT_TARGET && hot_p99 <= HOT_TARGET)
    );
    match cold_ok {
        Some((ok_time, ok_rss, first, hwm)) => {
            let _ = writeln!(
                s,
                "| cold start ≤ 30 ms (exec → first answer, emulator) | {} ms p50 | {} |",
                ms(first),
                verdict(ok_time)
            );
            let _ = writeln!(s, "| peak RSS ≤ 20 MB | {} max | {} |", mib(hwm), verdict(ok_rss));
        }
        None => s.push_str("| cold start, peak RSS | not measured (`--no-cold`) | — |\n"),
    }
    let _ = writeln!(
        s,
        "| round trips: authorize 1 read, malformed 0 | see above | {} |",
        verdict(auth_ok)
    );
    let _ = writeln!(
        s,
        "| round trips: create/replace/update/delete 1 read round trip (caller + key) + 1 write call; list 1 Query a page (+ the caller's GetItem) | see above | {} |",
        verdict(manage_ok)
    );
    let _ = writeln!(
        s,
        "| usage writes ≤ 1 per key per minute | {} | {} |",
        u.max_writes_per_key_minute,
        verdict(usage_ok)
    );
    let _ = writeln!(
        s,
        "| limited key ≤ 1.15× a bare GetItem at p50; one-call charge ≤ 1.15× a bare conditional UpdateItem | {:.3}×; {:.3}× | {} |",
        limited_ratio,
        small_ratio,
        verdict(limited_ratio <= limits::HOT_TARGET && small_ratio <= limits::HOT_TARGET)
    );
    let _ = writeln!(
        s,
        "| one limited key ≥ 5,000 calls/s under 1,000 write units/s; over-admission within the stated bounds | see the fleet table | {} |",
        verdict(fleet_ok)
    );
    s.push_str("| arm64 `bootstrap` ≤ 5 MB | measured separately: `bash bench/size.sh` | — |\n\n");

    s.push_str("Section run times: ");
    let parts: Vec<String> =
        i.timings.iter().map(|(n, d)| format!("{} {:.1} s", n.trim(), d.as_secs_f64())).collect();
    s.push_str(&parts.join(", "));
    s.push_str(".\n");
    s
}
