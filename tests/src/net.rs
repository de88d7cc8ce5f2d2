//! Ports for tests, held for as long as a test needs them (a port bound and released before use
//! may be taken by anyone in between): a port where nothing listens, and a TCP relay that counts
//! its connections and can be pointed somewhere else (or nowhere) while the test runs.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A local port bound but not listening: connecting to it is refused, and nobody else can take
/// it while this is held.
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    port: u16,
}

impl ClosedPort {
    pub fn new() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket.bind("127.0.0.1:0".parse().unwrap()).expect("a local port");
        let port = socket.local_addr().expect("its address").port();
        ClosedPort { _socket: socket, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// A TCP relay on a port of its own (held for the rest of the process): every connection it
/// accepts is counted and piped to the current upstream; with no upstream (or one that refuses)
/// it is closed at once. Plain threads: nothing here needs an async runtime.
pub struct Relay {
    url: String,
    upstream: Arc<Mutex<Option<SocketAddr>>>,
    accepted: Arc<AtomicUsize>,
}

impl Relay {
    pub fn new(upstream: Option<SocketAddr>) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the relay");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Arc::new(Mutex::new(upstream));
        let accepted = Arc::new(AtomicUsize::new(0));
        let (to, count) = (Arc::clone(&upstream), Arc::clone(&accepted));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let target = *to.lock().unwrap();
                let Some(server) = target.and_then(|a| TcpStream::connect(a).ok()) else {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                };
                let pipe = |mut from: TcpStream, mut to: TcpStream| {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                };
                match (client.try_clone(), server.try_clone()) {
                    (Ok(c), Ok(s)) => {
                        pipe(c, s);
                        pipe(server, client);
                    }
                    _ => continue,
                }
            }
        });
        Relay { url, upstream, accepted }
    }

    /// `http://127.0.0.1:<port>`: what clients are given.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Where new connections go from now on (`None`: closed at once).
    pub fn point_at(&self, upstream: Option<SocketAddr>) {
        *self.upstream.lock().unwrap() = upstream;
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}
