//! The local dev server and the operator's bootstrap CLI.
//!
//! `keys-dev` serves the management API of DESIGN §5 on 127.0.0.1 through the same handlers the
//! Lambda functions run, with the real authorizer in front of every route (as API Gateway would
//! put it), plus `ANY /protected/{proxy+}`, a stand-in for "another API" that answers with the
//! authorizer context it received. `keys-admin bootstrap` mints the first admin key in a table.

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
