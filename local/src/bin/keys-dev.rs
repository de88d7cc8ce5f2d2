//! `cargo run -p local --bin keys-dev` — the whole API key service on 127.0.0.1.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use local::cli::{open_store, parse_flags, write_key_file};
use local::server::{serve, App};
use shared::api::{bootstrap_admin, AppState};
use shared::authorizer::Authorizer;
use shared::clock::{Clock, SystemClock};
use shared::model::Ident;

const HELP: &str = "\
keys-dev: the API key service on one machine (the management API behind the real authorizer)

USAGE:
    cargo run -p local --bin keys-dev -- [OPTIONS]

OPTIONS:
    --port N         port on 127.0.0.1 (default 8080; 0 picks a free one)
    --team ID        team of the bootstrap admin key (default local-team)
    --user ID        user of the bootstrap admin key (default admin)
    --key-file PATH  also write the bootstrap admin key to PATH (mode 0600)
    --table NAME     DynamoDB table, when DynamoDB is used (default $TABLE_NAME or api-keys-local)
    -h, --help       this text

ROUTES (every one behind the authorizer: Authorization: Bearer <key> or x-api-key: <key>):
    POST /keys, GET /keys, GET|PATCH|DELETE /keys/{prefix}, POST /keys/{prefix}/replace
    ANY /protected/{proxy+}   a stand-in for another API: answers with the authorizer context

STORE:
    In memory by default (gone when the server stops). With AWS_ENDPOINT_URL_DYNAMODB set, the
    DynamoDB at that endpoint (e.g. DynamoDB Local), creating the table if it is missing.

LOGS:
    One line per request (method, route, status, time, key prefix; never a key). RUST_LOG sets
    the level. Ctrl-C stops the server.
";

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("keys-dev: {e}");
        std::process::exit(2);
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags = parse_flags(&args, &["port", "team", "user", "key-file", "table"])?;
    if flags.contains_key("help") {
        print!("{HELP}");
        return Ok(());
    }
    local::init_logging();
    let port: u16 = flags
        .get("port")
        .map(|p| p.parse().map_err(|_| format!("--port: '{p}' is not a port number")))
        .transpose()?
        .unwrap_or(8080);
    let team = Ident::parse(flags.get("team").map_or("local-team", String::as_str))
        .map_err(|e| format!("--team {e}"))?;
    let user = Ident::parse(flags.get("user").map_or("admin", String::as_str))
        .map_err(|e| format!("--user {e}"))?;
    let table = flags
        .get("table")
        .cloned()
        .or_else(|| std::env::var("TABLE_NAME").ok())
        .unwrap_or_else(|| "api-keys-local".into());
    let (store, kind) = open_store(&table, false).await?;

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (key, token) = bootstrap_admin(&store, clock.as_ref(), team.clone(), user.clone(), "bootstrap admin", "keys-dev")
        .await
        .map_err(|e| format!("could not mint the bootstrap admin key: {e} (with DynamoDB, the user may already have a team key: pass another --user)"))?;
    let app = Arc::new(App {
        api: AppState::new(store.clone(), clock.clone()),
        authorizer: Authorizer::new(store, clock, Duration::ZERO),
    });

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!(
        "keys-dev listening on http://{addr} (store: {kind}{})",
        if kind == "DynamoDB" { format!(", table {table}") } else { String::new() }
    );
    println!("bootstrap admin key (team {team}, user {user}, prefix {}):", key.prefix);
    println!("{}", token.expose());
    if let Some(path) = flags.get("key-file") {
        write_key_file(&PathBuf::from(path), token.expose())
            .map_err(|e| format!("--key-file {path}: {e}"))?;
        println!("(also written to {path})");
    }
    println!("console: http://{addr}/");
    println!("try: curl -s http://{addr}/protected/hello -H \"Authorization: Bearer $KEY\"");
    serve(listener, app, local::shutdown_signal()).await;
    Ok(())
}
