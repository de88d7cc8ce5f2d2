//! Cold start of the release `authorize` binary under a minimal Lambda Runtime API of our own:
//! exec → the first invocation's response arriving, and the process's peak RSS (`VmHWM`).
//!
//! Each run binds a fresh Runtime API on 127.0.0.1, spawns the binary with the environment
//! Lambda gives a function (`AWS_LAMBDA_RUNTIME_API`, function name/memory/version, region,
//! credentials) plus `TABLE_NAME` and `AWS_ENDPOINT_URL_DYNAMODB`, hands it one authorizer event
//! with a real key, and records when it asks for work (`GET …/invocation/next`: init done) and
//! when it answers (`POST …/invocation/{id}/response`). Then a second event measures a warm
//! invocation in the same process before it is killed.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use crate::stats::Samples;

/// What the Runtime API saw.
#[derive(Debug)]
enum Seen {
    Next(usize, Instant),
    Response(Instant, Bytes),
    Error(String),
}

struct Api {
    events: Vec<Bytes>,
    next: AtomicUsize,
    /// One permit per event the function may take now.
    gate: Semaphore,
    seen: mpsc::UnboundedSender<Seen>,
}

fn reply(status: u16, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("a response")
}

async fn serve(api: Arc<Api>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let now = Instant::now();
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let n = api.next.fetch_add(1, Ordering::SeqCst);
        let _ = api.seen.send(Seen::Next(n, now));
        // Hold the request until the bench lets this event go (or forever, after the last).
        let Some(event) = api.events.get(n).cloned() else {
            std::future::pending::<()>().await;
            unreachable!()
        };
        if let Ok(permit) = api.gate.acquire().await {
            permit.forget();
        }
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
            + 30_000;
        return Ok(Response::builder()
            .status(200)
            .header("content-type", "application/json")
            .header("lambda-runtime-aws-request-id", format!("bench-invocation-{n}"))
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:authorize",
            )
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
            .body(Full::new(event))
            .expect("a response"));
    }
    if method == Method::POST && path.starts_with("/2018-06-01/runtime/invocation/") {
        if path.ends_with("/response") {
            let _ = api.seen.send(Seen::Response(now, body));
        } else {
            let _ =
                api.seen.send(Seen::Error(format!("{path}: {}", String::from_utf8_lossy(&body))));
        }
        return Ok(reply(202, r#"{"status":"OK"}"#));
    }
    if method == Method::POST && path == "/2018-06-01/runtime/init/error" {
        let _ =
            api.seen.send(Seen::Error(format!("init error: {}", String::from_utf8_lossy(&body))));
        return Ok(reply(202, r#"{"status":"OK"}"#));
    }
    Ok(reply(404, "{}"))
}

/// One cold start.
#[derive(Debug, Clone)]
pub struct Run {
    /// exec → the first `GET …/next` (the function's init).
    pub init: Duration,
    /// exec → the first response received.
    pub first_answer: Duration,
    /// The first invocation alone: event handed over → response.
    pub first_invoke: Duration,
    /// A second invocation in the same process.
    pub warm_invoke: Duration,
    /// Peak RSS after the first answer, KiB.
    pub hwm_first_kib: u64,
    /// Peak RSS after the second answer, KiB.
    pub hwm_kib: u64,
}

pub struct Setup {
    pub binary: PathBuf,
    pub table: String,
    pub endpoint: String,
    pub event: Value,
    pub log: PathBuf,
    /// Extra environment for the function (`--cold-env K=V`), for experiments.
    pub extra_env: Vec<(String, String)>,
}

/// A process's peak resident set (`VmHWM` of /proc/<pid>/status), in KiB.
pub fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

const TIMEOUT: Duration = Duration::from_secs(10);

async fn expect_next(rx: &mut mpsc::UnboundedReceiver<Seen>, n: usize) -> Result<Instant, String> {
    match tokio::time::timeout(TIMEOUT, rx.recv()).await {
        Ok(Some(Seen::Next(m, at))) if m == n => Ok(at),
        Ok(Some(Seen::Error(e))) => Err(format!("the function reported an error: {e}")),
        Ok(other) => Err(format!("expected the function's request for event {n}, got {other:?}")),
        Err(_) => Err(format!("the function did not ask for event {n} within {TIMEOUT:?}")),
    }
}

async fn expect_response(
    rx: &mut mpsc::UnboundedReceiver<Seen>,
) -> Result<(Instant, Bytes), String> {
    match tokio::time::timeout(TIMEOUT, rx.recv()).await {
        Ok(Some(Seen::Response(at, body))) => Ok((at, body)),
        Ok(Some(Seen::Error(e))) => Err(format!("the function reported an error: {e}")),
        Ok(other) => Err(format!("expected a response, got {other:?}")),
        Err(_) => Err(format!("no response within {TIMEOUT:?}")),
    }
}

fn check_allowed(body: &Bytes) -> Result<(), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    if v["isAuthorized"] != Value::Bool(true) {
        return Err(format!("the key was not allowed: {v}"));
    }
    Ok(())
}

/// One cold start; `warm_up` false sets `DYNAMODB_WARM_UP=false` (no connection opened at init).
pub async fn run_once(setup: &Setup, warm_up: bool) -> Result<Run, String> {
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let event = Bytes::from(setup.event.to_string());
    let api = Arc::new(Api {
        events: vec![event.clone(), event],
        next: AtomicUsize::new(0),
        gate: Semaphore::new(1),
        seen: tx,
    });
    let mut tasks = JoinSet::new();
    let accept_api = Arc::clone(&api);
    tasks.spawn(async move {
        let mut conns = JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let api = Arc::clone(&accept_api);
            conns.spawn(async move {
                let svc = service_fn(move |req| serve(Arc::clone(&api), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });

    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&setup.log)
        .map_err(|e| format!("{}: {e}", setup.log.display()))?;
    let mut cmd = Command::new(&setup.binary);
    cmd.env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "authorize")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/authorize")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_ENDPOINT_URL_DYNAMODB", &setup.endpoint)
        .env("TABLE_NAME", &setup.table)
        .env("LAMBDA_TASK_ROOT", "/var/task")
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC")
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("DYNAMODB_WARM_UP", if warm_up { "true" } else { "false" })
        .envs(setup.extra_env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log);

    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("starting {}: {e}", setup.binary.display()))?;
    let pid = child.id();
    let result = async {
        let next0 = expect_next(&mut rx, 0).await?;
        let (answered, body) = expect_response(&mut rx).await?;
        check_allowed(&body)?;
        expect_next(&mut rx, 1).await?;
        let hwm_first = vm_hwm_kib(pid).ok_or("no /proc status for the function")?;
        let released = Instant::now();
        api.gate.add_permits(1);
        let (answered2, body2) = expect_response(&mut rx).await?;
        check_allowed(&body2)?;
        expect_next(&mut rx, 2).await?;
        let hwm = vm_hwm_kib(pid).ok_or("no /proc status for the function")?;
        Ok(Run {
            init: next0 - started,
            first_answer: answered - started,
            first_invoke: answered - next0,
            warm_invoke: answered2 - released,
            hwm_first_kib: hwm_first,
            hwm_kib: hwm,
        })
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    tasks.abort_all();
    result
}

pub struct ColdStart {
    pub binary: PathBuf,
    pub binary_bytes: u64,
    /// As deployed: the connection opened at init.
    pub runs: Vec<Run>,
    /// The same binary with `DYNAMODB_WARM_UP=false`, started alternately with `runs`.
    pub runs_without_warm_up: Vec<Run>,
}

impl ColdStart {
    pub fn series(&self, f: impl Fn(&Run) -> Duration) -> Samples {
        Samples::new(self.runs.iter().map(f).collect())
    }
    pub fn series_without_warm_up(&self, f: impl Fn(&Run) -> Duration) -> Samples {
        Samples::new(self.runs_without_warm_up.iter().map(f).collect())
    }
    pub fn hwm(&self, f: impl Fn(&Run) -> u64) -> (u64, u64) {
        let mut v: Vec<u64> = self.runs.iter().map(f).collect();
        v.sort_unstable();
        (v[(v.len() - 1) / 2], v.last().copied().unwrap_or(0))
    }
}

pub async fn run(setup: Setup, runs: usize) -> Result<ColdStart, String> {
    let binary_bytes = std::fs::metadata(&setup.binary)
        .map_err(|e| {
            format!(
                "{}: {e} (build it: cargo build --release -p authorize)",
                setup.binary.display()
            )
        })?
        .len();
    // One unmeasured start: the page cache holds the binary afterwards, as on a warm host.
    run_once(&setup, true).await?;
    let mut on = Vec::with_capacity(runs);
    let mut off = Vec::with_capacity(runs);
    // alternately, so both series see the same machine load
    for _ in 0..runs {
        on.push(run_once(&setup, true).await?);
        off.push(run_once(&setup, false).await?);
    }
    Ok(ColdStart { binary: setup.binary, binary_bytes, runs: on, runs_without_warm_up: off })
}

pub fn default_binary(target: &Path) -> PathBuf {
    target.join("release").join("authorize")
}
