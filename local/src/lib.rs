//! The local dev server and the operator's bootstrap CLI.
//!
//! `keys-dev` serves the management API of DESIGN §5 on 127.0.0.1 through the same handlers the
//! Lambda functions run, with the real authorizer in front of every route (as API Gateway would
//! put it), plus `ANY /protected/{proxy+}`, a stand-in for "another API" that answers with the
//! authorizer context it received. `keys-admin bootstrap` mints the first admin key in a table.

pub mod cli;
pub mod gateway;
pub mod server;

/// Human-readable logs on stderr (stdout carries only the banner); `RUST_LOG` sets the level.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
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
