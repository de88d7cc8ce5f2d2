//! Figures a hardening test counts and reports: requests, 5xx answers, allows during faults,
//! lost updates, secrets seen, cross-team hits. Printed (stderr) and appended to
//! `target/tmp/hardening-figures.txt`, so a run's figures can be collected without
//! `--nocapture`.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::api::Answer;

/// The closing note's figures for one test. Every counter starts at zero; a test counts what
/// it measures and asserts on the ones that must stay zero.
#[derive(Debug, Default)]
pub struct Figures {
    pub requests: AtomicUsize,
    pub server_errors: AtomicUsize,
    pub allows_during_faults: AtomicUsize,
    pub lost_updates: AtomicUsize,
    pub secret_hits: AtomicUsize,
    pub cross_team_hits: AtomicUsize,
}

impl Figures {
    /// Counts one answer of a handler: a request, and a 5xx if it was one.
    pub fn answer(&self, a: &Answer) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if a.status >= 500 {
            self.server_errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn add(counter: &AtomicUsize, n: usize) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::Relaxed)
    }

    /// One line per test: `hardening <test>: requests N, 5xx N, ...` plus what else it measured.
    pub fn report(&self, test: &str, extra: &str) {
        let line = format!(
            "hardening {test}: requests {}, 5xx {}, allows during faults {}, lost updates {}, \
             secret hits {}, cross-team hits {}{}{extra}",
            Self::get(&self.requests),
            Self::get(&self.server_errors),
            Self::get(&self.allows_during_faults),
            Self::get(&self.lost_updates),
            Self::get(&self.secret_hits),
            Self::get(&self.cross_team_hits),
            if extra.is_empty() { "" } else { "; " },
        );
        eprintln!("{line}");
        let file = crate::target_tmp().join("hardening-figures.txt");
        if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
            let _ = writeln!(f, "{} {line}", time::OffsetDateTime::now_utc());
        }
    }
}
