//! The performance benchmark, in one run against DynamoDB Local (the targets are in
//! `bench/README.md`):
//!
//! 1. the authorizer against a bare GetItem of the same item with the same client (interleaved);
//! 2. token generate / parse / verify throughput;
//! 3. every management operation's latency, through its handler with the DynamoDB store;
//! 4. DynamoDB requests per operation, counted by an SDK interceptor;
//! 5. the write units a change costs with its audit record (DynamoDB's consumed capacity);
//! 6. keys with limits against a bare GetItem and a bare conditional UpdateItem;
//! 7. a simulated fleet on one hot key: requests and units per item per second;
//! 8. usage writes per key per minute under a steady load (simulated minutes);
//! 9. cold start and peak RSS of the `authorize` binary under a Runtime API emulator.
//!
//! Run it with `bash bench/run.sh` (builds, starts DynamoDB Local, runs this); it prints a
//! markdown report and writes it to `target/bench/results.md`. Options: `--quick`,
//! `--iterations N`, `--ops N`, `--fleet-seconds N`, `--cold-runs N`, `--authorize PATH`,
//! `--no-cold`, `--cold-env K=V` (extra environment for the started function), `--watch` (also
//! one cold start under `cargo lambda watch --release`), `--out PATH`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use shared::aws::{dynamo_client, Timeouts};
use shared::store::dynamo::create_table;
use shared::store::{CursorCodec, DynamoStore, KeyWriter};
use shared::testing::sample_key_with_token;
use shared::token::KeyKind;

mod audit;
mod calls;
mod capacity;
mod cold;
mod events;
mod hot;
mod limited;
mod manage;
mod report;
mod stats;
mod tokens;
mod watch;

pub struct Options {
    pub iterations: usize,
    pub warmup: usize,
    pub ops: usize,
    pub token_ops: usize,
    pub cold_runs: usize,
    pub usage_keys: usize,
    pub usage_minutes: usize,
    pub usage_rate: usize,
    pub fleet_seconds: usize,
    /// The fleet's scenarios divided by this (1: full scale).
    pub fleet_scale: usize,
    pub authorize: Option<PathBuf>,
    pub cold_env: Vec<(String, String)>,
    /// Also one cold start under `cargo lambda watch --release`.
    pub watch: bool,
    pub out: PathBuf,
}

/// The workspace root (the bench always runs from its checkout).
fn root() -> PathBuf {
    let bench = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root().join("target"))
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        iterations: 3000,
        warmup: 300,
        ops: 100,
        token_ops: 50_000,
        cold_runs: 20,
        usage_keys: 5,
        usage_minutes: 10,
        usage_rate: 2,
        fleet_seconds: 3,
        fleet_scale: 1,
        authorize: Some(cold::default_binary(&target_dir())),
        cold_env: Vec::new(),
        watch: false,
        out: target_dir().join("bench").join("results.md"),
    };
    let mut args = std::env::args().skip(1);
    let num = |v: Option<String>, name: &str| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("{name} needs a positive number"))
    };
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => {
                o.iterations = 300;
                o.warmup = 50;
                o.ops = 25;
                o.token_ops = 5_000;
                o.cold_runs = 5;
                o.usage_minutes = 3;
                o.fleet_seconds = 2;
                o.fleet_scale = 10;
            }
            "--iterations" => o.iterations = num(args.next(), "--iterations")?,
            "--ops" => o.ops = num(args.next(), "--ops")?,
            "--fleet-seconds" => o.fleet_seconds = num(args.next(), "--fleet-seconds")?,
            "--cold-runs" => o.cold_runs = num(args.next(), "--cold-runs")?,
            "--authorize" => {
                o.authorize = Some(args.next().ok_or("--authorize needs a path")?.into())
            }
            "--no-cold" => o.authorize = None,
            "--watch" => o.watch = true,
            "--cold-env" => {
                let kv = args.next().ok_or("--cold-env needs K=V")?;
                let (k, v) = kv.split_once('=').ok_or("--cold-env needs K=V")?;
                o.cold_env.push((k.to_owned(), v.to_owned()));
            }
            "--out" => o.out = args.next().ok_or("--out needs a path")?.into(),
            "-h" | "--help" => {
                println!("usage: bench [--quick] [--iterations N] [--ops N] [--fleet-seconds N] [--cold-runs N] [--authorize PATH | --no-cold] [--cold-env K=V]... [--watch] [--out PATH]");
                println!("run it through bench/run.sh, which starts DynamoDB Local");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other} (see --help)")),
        }
    }
    Ok(o)
}

fn step(name: &str) -> Instant {
    eprintln!("==> bench: {name}");
    Instant::now()
}

// One thread, as the functions run (a current-thread runtime): no cross-thread wake-ups in the
// latencies, and the Runtime API emulator's tasks run whenever the bench waits.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench: {e}");
            return ExitCode::from(2);
        }
    };
    let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").ok().filter(|v| !v.is_empty())
    else {
        eprintln!("bench: AWS_ENDPOINT_URL_DYNAMODB is not set: run it with `bash bench/run.sh` (DynamoDB Local)");
        return ExitCode::from(2);
    };
    let started = Instant::now();
    let client = dynamo_client(Timeouts::default()).await;
    let table = format!("bench-{}-{}", std::process::id(), shared::token::random_base62(6));
    // Set-up is not measured: a patient client creates the table and writes one throwaway key
    // and its record, so that DynamoDB Local's first (slow, JIT-cold) transaction is not the
    // bench's, whose client has the functions' 2 s budget.
    let patient = dynamo_client(Timeouts {
        operation: std::time::Duration::from_secs(60),
        attempt: std::time::Duration::from_secs(30),
        ..Timeouts::default()
    })
    .await;
    if let Err(e) = create_table(&patient, &table).await {
        eprintln!("bench: creating table {table}: {}", shared::error::chain(&e));
        return ExitCode::FAILURE;
    }
    let codec = CursorCodec::new(b"bench");
    let warm = DynamoStore::new(patient, table.as_str(), codec.clone());
    let throwaway = shared::testing::sample_key(KeyKind::Project);
    if let Err(e) = warm.create(&throwaway, &shared::testing::audit_of(&throwaway)).await {
        eprintln!("bench: warming DynamoDB Local up: {}", shared::error::chain(&e));
        return ExitCode::FAILURE;
    }
    let store = DynamoStore::new(client.clone(), table.as_str(), codec.clone());
    let counter = integration_tests::requests::CallCounter::default();
    let capacity = capacity::Capacity::default();
    let counted_client = integration_tests::requests::counting_client(&client, &counter);
    let counted_client = aws_sdk_dynamodb::Client::from_conf(
        counted_client.config().to_builder().interceptor(capacity.clone()).build(),
    );
    let counted = DynamoStore::new(counted_client, table.as_str(), codec);

    let t = step("authorizer vs bare GetItem");
    let hot = hot::run(&store, o.iterations, o.warmup).await;
    let hot_time = t.elapsed();

    let t = step("token throughput");
    let tokens = tokens::run(o.token_ops);
    let token_time = t.elapsed();

    let t = step("management operations");
    let manage = manage::run(counted.clone(), &counter, o.ops).await;
    let manage_time = t.elapsed();

    let t = step("audit write units");
    let audit = audit::run(counted.clone(), &capacity, o.ops.min(20)).await;
    let audit_time = t.elapsed();

    let t = step("keys with limits vs GetItem and UpdateItem");
    let limited_hot = limited::hot(&store, &counted, &counter, o.iterations, o.warmup).await;
    let limited_time = t.elapsed();

    let t = step("simulated fleet on one hot key");
    let fleet = limited::Fleet { store: &counted, counter: &counter, capacity: &capacity };
    let mut fleet_runs = Vec::new();
    for scenario in limited::scenarios(o.fleet_seconds, o.fleet_scale) {
        eprintln!("    {}", scenario.name);
        fleet_runs.push(fleet.run(scenario).await);
    }
    let fleet_time = t.elapsed();

    let t = step("authorizer calls per request");
    let auth_calls = calls::authorize_calls(counted.clone(), &counter, 20).await;
    let t2 = step("usage writes under steady load");
    let usage =
        calls::usage_load(counted.clone(), &counter, o.usage_keys, o.usage_minutes, o.usage_rate)
            .await;
    let calls_time = t.elapsed();
    let usage_time = t2.elapsed();

    let mut watched = None;
    let cold = match &o.authorize {
        None => None,
        Some(binary) => {
            let t = step(&format!("cold start of {}", binary.display()));
            let (key, token) = sample_key_with_token(KeyKind::Project);
            if let Err(e) = store.create(&key, &shared::testing::audit_of(&key)).await {
                eprintln!("bench: storing the cold-start key: {e}");
                return ExitCode::FAILURE;
            }
            let log = o.out.with_file_name("authorize-cold-start.log");
            if let Some(dir) = log.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = std::fs::remove_file(&log);
            let event = events::authorizer_event(token.expose());
            let setup = cold::Setup {
                binary: binary.clone(),
                table: table.clone(),
                endpoint: endpoint.clone(),
                event: event.clone(),
                log,
                extra_env: o.cold_env.clone(),
            };
            let cold = match cold::run(setup, o.cold_runs).await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("bench: cold start failed: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if o.watch {
                step("one cold start under cargo lambda watch --release");
                let root = root();
                let env = [
                    ("TABLE_NAME", table.as_str()),
                    ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
                    ("AWS_REGION", "us-east-1"),
                    ("AWS_ACCESS_KEY_ID", "test"),
                    ("AWS_SECRET_ACCESS_KEY", "test"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .to_vec();
                let binary = binary.clone();
                let log = o.out.with_file_name("cargo-lambda-watch.log");
                let result = tokio::task::spawn_blocking(move || {
                    watch::run(&watch::WatchSetup {
                        root: &root,
                        binary: &binary,
                        env,
                        event: &event,
                        log,
                    })
                })
                .await;
                match result {
                    Ok(Ok(w)) => watched = Some(w),
                    Ok(Err(e)) => {
                        eprintln!("bench: cargo lambda watch: {e}");
                        return ExitCode::FAILURE;
                    }
                    Err(e) => {
                        eprintln!("bench: cargo lambda watch: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            Some((cold, t.elapsed()))
        }
    };
    let _ = client.delete_table().table_name(&table).send().await;

    let md = report::render(&report::Input {
        options: &o,
        hot: &hot,
        tokens: &tokens,
        manage: &manage,
        audit: &audit,
        limited: &limited_hot,
        fleet: &fleet_runs,
        auth_calls: &auth_calls,
        usage: &usage,
        cold: cold.as_ref().map(|(c, _)| c),
        watch: watched.as_ref(),
        timings: &[
            ("authorizer vs GetItem", hot_time),
            ("token throughput", token_time),
            ("management operations", manage_time),
            ("audit write units", audit_time),
            ("keys with limits", limited_time),
            ("simulated fleet", fleet_time),
            ("calls per request + usage load", calls_time),
            ("  of which usage load", usage_time),
            ("cold start", cold.as_ref().map(|(_, d)| *d).unwrap_or_default()),
            ("total", started.elapsed()),
        ],
    });
    println!("{md}");
    if let Some(dir) = o.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&o.out, &md) {
        Ok(()) => eprintln!("==> bench: report written to {}", o.out.display()),
        Err(e) => {
            eprintln!("bench: writing {}: {e}", o.out.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
