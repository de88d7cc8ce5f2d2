//! One cold start under cargo-lambda's own emulator (`cargo lambda watch --release`), next to
//! the bench's Runtime API: the first invocation through its invoke API starts the function
//! (`cargo run --release --bin authorize`, which finds the binary fresh and only checks it),
//! the second is warm. The function process's peak RSS is read from /proc.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cold::vm_hwm_kib;

pub struct WatchRun {
    /// Invoke API: request sent → answer, for the invocation that started the function.
    pub first: Duration,
    /// The same for the next invocation (warm).
    pub second: Duration,
    /// Peak RSS of the function process, KiB (None if it was not found).
    pub hwm_kib: Option<u64>,
}

pub struct WatchSetup<'a> {
    pub root: &'a Path,
    pub binary: &'a Path,
    pub env: Vec<(String, String)>,
    pub event: &'a Value,
    pub log: PathBuf,
}

/// Stops the emulator's process group, whatever happens.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", self.0.id())]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.0.id())]).status();
        let _ = self.0.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A blocking `POST` of `body` (HTTP/1.1, `Connection: close`): status and body.
fn post(
    addr: SocketAddr, path: &str, body: &str, timeout: Duration,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let status = raw.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Ok((status, body))
}

/// The process running `binary` (the function instance the emulator started).
fn find_process(binary: &Path) -> Option<u32> {
    let want = std::fs::canonicalize(binary).ok()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let exe = std::fs::read_link(e.path().join("exe")).ok()?;
        (exe == want).then_some(pid)
    })
}

fn check(status: u16, body: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if status != 200 || v["isAuthorized"] != Value::Bool(true) {
        return Err(format!("the invoke API answered {status}: {body}"));
    }
    Ok(())
}

/// `cargo lambda watch` must be on PATH (tests/run.sh puts the tool venv there).
pub fn run(setup: &WatchSetup<'_>) -> Result<WatchRun, String> {
    let port = free_port().map_err(|e| e.to_string())?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let env_file = setup.log.with_file_name("watch.env");
    let text: String = setup.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(&env_file, text).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(&setup.log).map_err(|e| e.to_string())?;
    let mut cmd = Command::new("cargo");
    cmd.args(["lambda", "watch", "--release", "--ignore-changes", "--invoke-address", "127.0.0.1"])
        .arg("--invoke-port")
        .arg(port.to_string())
        .arg("--env-file")
        .arg(&env_file)
        .current_dir(setup.root)
        .envs(setup.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .process_group(0);
    let mut group = Group(cmd.spawn().map_err(|e| format!("starting cargo lambda watch: {e}"))?);

    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = group.0.try_wait() {
            return Err(format!(
                "cargo lambda watch exited ({status}); see {}",
                setup.log.display()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "cargo lambda watch did not listen within 60 s; see {}",
                setup.log.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let path = "/2015-03-31/functions/authorize/invocations";
    let body = setup.event.to_string();
    let started = Instant::now();
    let (status, answer) =
        post(addr, path, &body, Duration::from_secs(120)).map_err(|e| e.to_string())?;
    let first = started.elapsed();
    check(status, &answer)?;
    let started = Instant::now();
    let (status, answer) =
        post(addr, path, &body, Duration::from_secs(30)).map_err(|e| e.to_string())?;
    let second = started.elapsed();
    check(status, &answer)?;
    let hwm_kib = find_process(setup.binary).and_then(vm_hwm_kib);
    drop(group);
    Ok(WatchRun { first, second, hwm_kib })
}
