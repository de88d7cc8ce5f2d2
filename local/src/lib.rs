//! The local dev server and the operator's CLI.
//!
//! `keys-dev` serves the management API on 127.0.0.1 through the same handlers the
//! Lambda functions run, with the real authorizer in front of every route (as API Gateway would
//! put it), plus `ANY /protected/{proxy+}`, a stand-in for "another API" that answers with the
//! authorizer context it received. `keys-admin` ([`admin`]) is the operator's break-glass tool:
//! it mints a team's first admin key and lists, reads, disables, enables, replaces and deletes
//! keys straight in a table, each change audited as the operator's.

pub mod admin;
pub mod cli;
pub mod gateway;
pub mod server;

/// Human-readable logs on stderr (stdout carries only the banner); `RUST_LOG` sets the level
/// (the one logging set-up of every binary: `shared::telemetry`).
pub fn init_logging() {
    shared::telemetry::init_cli();
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("keys-dev: stopping");
}
