//! What a test logged: captured through the production subscriber (`shared::telemetry`), at
//! `TRACE`, so a scan for secrets sees exactly the lines a function would write.

use std::cell::RefCell;
use std::sync::Once;

use shared::telemetry::{get_subscriber, init_subscriber, LogFormat, LogSettings};
use shared::testing::LogBuffer;
use tracing::level_filters::LevelFilter;

thread_local! {
    static SINK: RefCell<Option<LogBuffer>> = const { RefCell::new(None) };
}

/// Captures what this thread logs, at every level, as JSON lines, until the returned guard
/// drops. One global subscriber serves every test of the process and writes to the capturing
/// thread's own buffer (per-test scoped subscribers race with tracing's callsite-interest cache
/// when tests run in parallel and miss events). Run the code under test on a current-thread
/// runtime so its spawned tasks log on this thread too.
pub fn capture_logs() -> LogCapture {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let settings = LogSettings::at(LevelFilter::TRACE, LogFormat::Json);
        init_subscriber(&settings, get_subscriber(&settings, || ThreadSink));
    });
    let buf = LogBuffer::default();
    SINK.with(|s| *s.borrow_mut() = Some(buf.clone()));
    LogCapture { buf }
}

/// The writer of the global test subscriber: this thread's capture buffer, if any.
struct ThreadSink;

impl std::io::Write for ThreadSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| match s.borrow_mut().as_mut() {
            Some(sink) => sink.write(buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Logs captured on this thread; capturing stops when it drops.
pub struct LogCapture {
    buf: LogBuffer,
}

impl LogCapture {
    pub fn text(&self) -> String {
        self.buf.text()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        SINK.with(|s| *s.borrow_mut() = None);
    }
}
