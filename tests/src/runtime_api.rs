//! A Lambda Runtime API of our own, for running a function's real binary as Lambda would:
//! the runtime loop (`GET …/invocation/next`, `POST …/response|error`, `POST …/init/error`)
//! and the Extensions API's registration (`POST /2020-01-01/extension/register`, then an
//! `event/next` that waits, as it does for an extension subscribed to no events).
//!
//! [`RuntimeApi::start`] serves it on 127.0.0.1; [`Function::spawn`] starts a binary against it
//! with Lambda's environment, and collects its stdout and stderr to the end.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How a function answered one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Response(Value),
    /// `POST …/error`: the error document.
    Error(Value),
}

#[derive(Default)]
struct State {
    /// Answer the Extensions API with 404, as an emulator without it does.
    no_extensions: bool,
    /// Invocations waiting for the function's next `GET …/next`.
    queue: Mutex<VecDeque<(String, Bytes)>>,
    queued: Notify,
    answers: Mutex<HashMap<String, Answer>>,
    answered: Notify,
    init_errors: Mutex<Vec<String>>,
    extensions: Mutex<Vec<String>>,
    next_polls: AtomicUsize,
    ids: AtomicUsize,
}

/// The Runtime API, served until dropped.
pub struct RuntimeApi {
    address: String,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        Self::serve(State::default()).await
    }

    /// A Runtime API without the Extensions API (as some emulators are).
    pub async fn start_without_extensions() -> RuntimeApi {
        Self::serve(State { no_extensions: true, ..State::default() }).await
    }

    async fn serve(state: State) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port for the Runtime API");
        let address = listener.local_addr().expect("its address").to_string();
        let state = Arc::new(state);
        let serving = Arc::clone(&state);
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&serving);
                tokio::spawn(async move {
                    let svc = service_fn(move |req| serve(Arc::clone(&state), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        RuntimeApi { address, state, server }
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` holds it.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Hands the function one event and waits (at most `deadline`) for its answer.
    pub async fn invoke(&self, event: &Value, deadline: Duration) -> Option<Answer> {
        let id = format!("invocation-{}", self.state.ids.fetch_add(1, Ordering::SeqCst));
        self.state.queue.lock().unwrap().push_back((id.clone(), Bytes::from(event.to_string())));
        self.state.queued.notify_waiters();
        tokio::time::timeout(deadline, async {
            loop {
                let answered = self.state.answered.notified();
                if let Some(a) = self.state.answers.lock().unwrap().remove(&id) {
                    return a;
                }
                answered.await;
            }
        })
        .await
        .ok()
    }

    /// The names of the extensions that registered.
    pub fn extensions(&self) -> Vec<String> {
        self.state.extensions.lock().unwrap().clone()
    }

    /// What the function reported through `POST …/init/error`.
    pub fn init_errors(&self) -> Vec<String> {
        self.state.init_errors.lock().unwrap().clone()
    }

    /// How many times the function has asked for an event (it has finished its init once it
    /// has asked).
    pub fn next_polls(&self) -> usize {
        self.state.next_polls.load(Ordering::SeqCst)
    }

    /// Waits (at most `deadline`) until the function has asked for an event `n` times.
    pub async fn wait_for_polls(&self, n: usize, deadline: Duration) -> bool {
        tokio::time::timeout(deadline, async {
            while self.next_polls() < n {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .is_ok()
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .expect("a response")
}

async fn serve(
    state: Arc<State>, req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let name =
        req.headers().get("lambda-extension-name").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let json = || serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
    Ok(match (method, path.as_str()) {
        (Method::GET, "/2018-06-01/runtime/invocation/next") => {
            state.next_polls.fetch_add(1, Ordering::SeqCst);
            let (id, event) = loop {
                let queued = state.queued.notified();
                if let Some(next) = state.queue.lock().unwrap().pop_front() {
                    break next;
                }
                queued.await;
            };
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                + 30_000;
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("lambda-runtime-aws-request-id", id)
                .header("lambda-runtime-deadline-ms", deadline.to_string())
                .header(
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:under-test",
                )
                .header(
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0",
                )
                .body(Full::new(event))
                .expect("a response")
        }
        (Method::POST, p) if p.starts_with("/2018-06-01/runtime/invocation/") => {
            let rest = &p["/2018-06-01/runtime/invocation/".len()..];
            let (id, kind) = rest.rsplit_once('/').unwrap_or((rest, ""));
            let answer = match kind {
                "response" => Answer::Response(json()),
                _ => Answer::Error(json()),
            };
            state.answers.lock().unwrap().insert(id.to_owned(), answer);
            state.answered.notify_waiters();
            reply(202, r#"{"status":"OK"}"#)
        }
        (Method::POST, "/2018-06-01/runtime/init/error") => {
            state.init_errors.lock().unwrap().push(String::from_utf8_lossy(&body).into_owned());
            reply(202, r#"{"status":"OK"}"#)
        }
        (_, p) if state.no_extensions && p.starts_with("/2020-01-01/extension/") => {
            reply(404, r#"{"errorType":"NotFound"}"#)
        }
        (Method::POST, "/2020-01-01/extension/register") => {
            let name = name.unwrap_or_default();
            state.extensions.lock().unwrap().push(name.clone());
            Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .header("lambda-extension-identifier", format!("ext-{name}"))
                .body(Full::new(Bytes::from(
                    r#"{"functionName":"under-test","functionVersion":"$LATEST","handler":"bootstrap"}"#,
                )))
                .expect("a response")
        }
        // An extension subscribed to no events waits here until the instance goes.
        (Method::GET, "/2020-01-01/extension/event/next") => {
            std::future::pending::<()>().await;
            unreachable!()
        }
        _ => reply(404, r#"{"errorType":"NotFound"}"#),
    })
}

/// A function's binary running against a [`RuntimeApi`].
pub struct Function {
    child: Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Function {
    /// Starts `binary` with the environment Lambda gives a function (the Runtime API's address,
    /// function name, memory, region, credentials), plus `env`.
    pub fn spawn(binary: &std::path::Path, api: &RuntimeApi, env: &[(&str, String)]) -> Function {
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]0")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/under-test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_SESSION_TOKEN", "test")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child =
            cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let read_all = |mut r: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                let _ = r.read_to_end(&mut out);
                String::from_utf8_lossy(&out).into_owned()
            })
        };
        let stdout = read_all(Box::new(child.stdout.take().expect("stdout")));
        let stderr = read_all(Box::new(child.stderr.take().expect("stderr")));
        Function { child, stdout, stderr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `SIGTERM`, as Lambda does before shutting an instance down.
    pub fn terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    /// Waits (at most `deadline`, then kills it) for the process to end; its exit code (none if
    /// killed) and everything it wrote, stdout then stderr, read to the end.
    pub fn finish(mut self, deadline: Duration) -> (Option<i32>, String, String) {
        let started = std::time::Instant::now();
        let code = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if started.elapsed() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break None;
                }
            }
        };
        let out = self.stdout.join().unwrap_or_default();
        let err = self.stderr.join().unwrap_or_default();
        (code, out, err)
    }

    /// Kills the process and returns what it wrote.
    pub fn kill(mut self) -> (String, String) {
        let _ = self.child.kill();
        let (_, out, err) = {
            let _ = self.child.wait();
            self.finish(Duration::ZERO)
        };
        (out, err)
    }
}

/// `cargo`, as the test was started by (or from PATH).
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// A `cargo` command without the per-package variables cargo sets for this test process
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). Build scripts may watch them — ring's does
/// (`rerun-if-env-changed=CARGO_MANIFEST_DIR`) — so a nested build that saw them would rebuild
/// ring and everything above it, and `cargo lambda watch` would then rebuild it again.
pub fn cargo_command() -> Command {
    let mut cmd = Command::new(cargo());
    for (k, _) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_MANIFEST_")
            || matches!(k, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "OUT_DIR")
        {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Runs `cmd` to its end and returns its stdout; a command that cannot start or that fails
/// fails the test, naming `what` and showing its output.
#[track_caller]
pub fn stdout_of(cmd: &mut Command, what: &str) -> Vec<u8> {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
