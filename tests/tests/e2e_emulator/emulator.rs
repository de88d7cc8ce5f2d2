//! `cargo lambda watch` (cargo-lambda's Lambda runtime emulator) as a test fixture.
//!
//! [`Emulator::start`] builds the function binaries once with the workspace's own `cargo build`
//! (the debug profile and feature set `cargo lambda watch` uses, so watch finds them fresh and
//! compiles nothing), starts `cargo lambda watch --ignore-changes` in a process group of its own
//! on a free 127.0.0.1 port with the functions' environment from an env file, and returns once
//! the invoke API answers. Dropping it (also while a test panics) stops the emulator and every
//! function instance it started; a watchdog process kills the group should the test process die
//! without unwinding.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest wait for the invoke API to answer after the emulator starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest wait for one invocation. The first one of a function includes `cargo run` checking
/// the (already built) binary and the function's cold start.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the emulator gets to stop its function instances after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether `name` is an executable file on `PATH`.
pub fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join(name);
            p.is_file()
                && std::fs::metadata(&p).is_ok_and(|m| {
                    use std::os::unix::fs::PermissionsExt;
                    m.permissions().mode() & 0o111 != 0
                })
        })
    })
}

/// Builds `bins` the way `cargo lambda watch` does (`cargo run --manifest-path <root>/Cargo.toml
/// --bin <bin>`: dev profile, workspace features), all in one cargo call.
pub fn build(root: &Path, bins: &[&str]) {
    let started = Instant::now();
    let mut cmd = integration_tests::runtime_api::cargo_command();
    cmd.arg("build").arg("--manifest-path").arg(root.join("Cargo.toml")).current_dir(root);
    for b in bins {
        cmd.args(["--bin", b]);
    }
    let out = cmd.output().expect("running cargo build");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "cargo build of {bins:?} failed:\n{stderr}");
    let compiled: Vec<&str> =
        stderr.lines().filter_map(|l| l.trim_start().strip_prefix("Compiling ")).collect();
    eprintln!("built {bins:?} in {:.1?} (compiled: {compiled:?})", started.elapsed());
}

/// A `POST` answered by the emulator's invoke API.
#[derive(Debug)]
pub struct Invocation {
    /// The invoke API's HTTP status: 200 for a result, 500 for a function error.
    pub http_status: u16,
    pub text: String,
    /// `text` as JSON (`Null` if it is not JSON).
    pub body: Value,
}

impl Invocation {
    /// The function's result, failing the test on a function error.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.http_status, 200, "function error: {}", self.text);
        self.body
    }

    /// The `errorMessage` of a function error, failing the test on a result.
    #[track_caller]
    pub fn error_message(self) -> String {
        assert_eq!(self.http_status, 500, "expected a function error: {}", self.text);
        self.body["errorMessage"]
            .as_str()
            .unwrap_or_else(|| panic!("no errorMessage: {}", self.text))
            .to_owned()
    }
}

pub struct Emulator {
    /// `cargo lambda watch` (cargo execs cargo-lambda, so this is the emulator itself): the
    /// leader of its own process group.
    child: Child,
    watchdog: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Emulator {
    /// Starts the emulator in `root` with the functions' environment `env` (and nothing else of
    /// this process's AWS settings) and waits until its invoke API answers.
    pub fn start(root: &Path, env: &[(&str, String)]) -> Emulator {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        // One file per emulator: cargo-lambda reads it each time it starts a function instance.
        let env_file = dir.join(format!(
            "e2e-emulator-{}-{}.env",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let mut text = String::new();
        for (k, v) in env {
            assert!(!v.contains('\n'), "{k}");
            text.push_str(&format!("{k}={v}\n"));
        }
        std::fs::write(&env_file, text).unwrap();

        let mut last_log = String::new();
        // The port is free when picked but released for cargo-lambda to bind: someone may take
        // it in between, and then another one is tried.
        for _attempt in 0..5 {
            let port = free_port();
            let log = dir.join(format!("e2e-emulator-{port}.log"));
            let log_file = std::fs::File::create(&log).unwrap();
            let mut cmd = integration_tests::runtime_api::cargo_command();
            cmd.args(["lambda", "watch", "--ignore-changes", "--invoke-address"])
                .arg("127.0.0.1")
                .arg("--invoke-port")
                .arg(port.to_string())
                .arg("--env-file")
                .arg(&env_file)
                .arg("--manifest-path")
                .arg(root.join("Cargo.toml"))
                .current_dir(root)
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file);
            // The functions see the env file only (as with the README's command), not this
            // test's DynamoDB settings.
            for (k, _) in std::env::vars() {
                if k.starts_with("AWS_") || k == "TABLE_NAME" {
                    cmd.env_remove(k);
                }
            }
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
            let child = cmd.spawn().expect("starting cargo lambda watch");
            let watchdog = spawn_watchdog(child.id());
            let mut emulator = Emulator { child, watchdog, port, log };
            match emulator.wait_ready() {
                Ok(()) => return emulator,
                Err(Exit::PortTaken) => {
                    last_log = emulator.log_text();
                    continue; // dropped: stopped
                }
                Err(Exit::Failed(why)) => panic!("{why}\n{}", emulator.log_tail(40)),
            }
        }
        panic!("cargo lambda watch found no free port in 5 attempts:\n{last_log}");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Polls the invoke API until it answers (a made-up function name gets cargo-lambda's own
    /// "Missing function" 404), the emulator exits, or [`START_TIMEOUT`] passes.
    fn wait_ready(&mut self) -> Result<(), Exit> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = self.log_text();
                if log.contains("Address already in use") || log.contains("address in use") {
                    return Err(Exit::PortTaken);
                }
                return Err(Exit::Failed(format!(
                    "cargo lambda watch exited during start-up ({status})"
                )));
            }
            match post(self.port, &path("e2e-readiness-probe"), b"{}", INVOKE_TIMEOUT) {
                Ok((404, text)) if text.contains("Missing function") => return Ok(()),
                // someone else answers there: the port was taken before cargo-lambda bound it
                Ok((status, text)) => {
                    eprintln!(
                        "port {} answered {status} {text}: not cargo-lambda; trying another",
                        self.port
                    );
                    return Err(Exit::PortTaken);
                }
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100)); // poll interval
                }
                Err(e) => {
                    return Err(Exit::Failed(format!(
                    "cargo lambda watch did not answer on port {} within {START_TIMEOUT:?}: {e}",
                    self.port
                )))
                }
            }
        }
    }

    /// Invokes `function` (a binary name) with `event` through the invoke API.
    pub fn invoke(&self, function: &str, event: &Value) -> Invocation {
        let payload = serde_json::to_vec(event).unwrap();
        let (http_status, text) = post(self.port, &path(function), &payload, INVOKE_TIMEOUT)
            .unwrap_or_else(|e| panic!("invoking {function}: {e}\n{}", self.log_tail(40)));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Invocation { http_status, text, body }
    }

    /// Everything the emulator, cargo and the functions printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        format!(
            "---- {} (last {lines} lines) ----\n{}",
            self.log.display(),
            all[all.len().saturating_sub(lines)..].join("\n")
        )
    }

    /// Stops the emulator's process group (SIGTERM: cargo-lambda then stops its function
    /// instances, which run in sessions of their own), waits for it and them, and SIGKILLs
    /// whatever is left after [`STOP_TIMEOUT`].
    fn stop(&mut self) {
        let pgid = self.child.id();
        let instances = descendants(pgid);
        signal_group(pgid, "TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        let mut exited = false;
        while Instant::now() < deadline {
            exited = exited || self.child.try_wait().ok().flatten().is_some();
            if exited && !group_alive(pgid) && instances.iter().all(|p| !alive(*p)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50)); // poll interval
        }
        signal_group(pgid, "KILL");
        for p in &instances {
            if alive(*p) {
                eprintln!("function instance {p} outlived the emulator: SIGKILL");
                let _ = Command::new("kill").args(["-s", "KILL", &p.to_string()]).status();
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("{}", self.log_tail(60));
        }
    }
}

enum Exit {
    PortTaken,
    Failed(String),
}

fn path(function: &str) -> String {
    format!("/2015-03-31/functions/{function}/invocations")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A process that kills the emulator's group if this test process dies without running the
/// guard (SIGKILL, abort). It polls its parent once a second; the guard kills it first.
fn spawn_watchdog(pgid: u32) -> Option<Child> {
    let script =
        r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -s KILL -- "-$2" 2>/dev/null"#;
    use std::os::unix::process::CommandExt;
    Command::new("sh")
        .args(["-c", script, "e2e-watchdog"])
        .arg(std::process::id().to_string())
        .arg(pgid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .ok()
}

fn signal_group(pgid: u32, signal: &str) {
    let _ = Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stderr(Stdio::null())
        .status();
}

/// Whether any process of the group still runs (not counting zombies).
fn group_alive(pgid: u32) -> bool {
    processes().any(|(pid, _, pg, state)| pg == pgid && state != 'Z' && pid != 0)
}

fn alive(pid: u32) -> bool {
    processes().any(|(p, _, _, state)| p == pid && state != 'Z')
}

/// Every process descended from `root` (function instances run in sessions of their own, so
/// the process group does not cover them).
fn descendants(root: u32) -> Vec<u32> {
    let all: Vec<(u32, u32, u32, char)> = processes().collect();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|p| p.1 == parent).map(|p| p.0));
        i += 1;
    }
    found.remove(0);
    found
}

/// `(pid, ppid, pgid, state)` of every process, from /proc.
fn processes() -> impl Iterator<Item = (u32, u32, u32, char)> {
    std::fs::read_dir("/proc").into_iter().flatten().flatten().filter_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // "pid (comm) state ppid pgrp ...": comm may contain spaces and parentheses
        let rest = &stat[stat.rfind(')')? + 2..];
        let mut f = rest.split(' ');
        let state = f.next()?.chars().next()?;
        let ppid = f.next()?.parse().ok()?;
        let pgrp = f.next()?.parse().ok()?;
        Some((pid, ppid, pgrp, state))
    })
}

/// One HTTP/1.1 POST with `Connection: close`: status and body (de-chunked).
fn post(port: u16, path: &str, body: &[u8], timeout: Duration) -> std::io::Result<(u16, String)> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_write_timeout(Some(timeout))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("no complete answer within {timeout:?}"),
            ));
        }
        s.set_read_timeout(Some(left))?;
        match s.read(&mut buf)? {
            0 => break,
            n => raw.extend_from_slice(&buf[..n]),
        }
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        payload = dechunk(&payload)?;
    }
    Ok((status, String::from_utf8_lossy(&payload).into_owned()))
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = || std::io::Error::other("bad chunked body");
    let mut out = Vec::new();
    loop {
        let eol = data.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .map_err(|_| bad())?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
