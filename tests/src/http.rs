//! A minimal HTTP/1.1 client, and a collector of a child process's stderr: for the tests that run
//! the dev server (or any binary) as a process.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::Value;

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A minimal HTTP/1.1 client: one request per connection.
pub fn http(
    addr: &str, method: &str, path: &str, headers: &[(String, String)], body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer (413) and close before reading a large body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: body.to_owned() }
}

/// Everything a pipe wrote (a server's stderr: its log lines, scanned by the tests for tokens),
/// collected by a thread of its own until the pipe closes.
pub struct Collected {
    state: Arc<(Mutex<(String, bool)>, Condvar)>,
}

impl Collected {
    /// What was read so far.
    pub fn text(&self) -> String {
        self.state.0.lock().unwrap().0.clone()
    }

    /// Everything, once the pipe has closed (the process, and every child that shares the pipe,
    /// has ended): read to the end, not for a while. Fails the test if it is still open after
    /// `deadline`.
    pub fn until_eof(&self, deadline: Duration) -> String {
        let (lock, closed) = &*self.state;
        let (guard, waited) =
            closed.wait_timeout_while(lock.lock().unwrap(), deadline, |(_, eof)| !*eof).unwrap();
        assert!(
            !waited.timed_out(),
            "the pipe was still open {deadline:?} later: a process is still writing to it"
        );
        guard.0.clone()
    }
}

/// Collects everything `pipe` writes until it closes.
pub fn collect(mut pipe: impl Read + Send + 'static) -> Collected {
    let state = Arc::new((Mutex::new((String::new(), false)), Condvar::new()));
    let sink = Arc::clone(&state);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink.0.lock().unwrap().0.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        sink.0.lock().unwrap().1 = true;
        sink.1.notify_all();
    });
    Collected { state }
}
