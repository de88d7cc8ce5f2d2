//! `keys-admin bootstrap` — the operator's way to mint the first `admin` team key of a team,
//! writing straight to the table with AWS credentials (no API call: nothing can authorize one yet).

use std::path::PathBuf;

use local::cli::{open_store, parse_flags, write_key_file};
use shared::api::bootstrap_admin;
use shared::clock::SystemClock;
use shared::model::Ident;

const HELP: &str = "\
keys-admin: operator commands that write to the key table with AWS credentials

USAGE:
    keys-admin bootstrap --table NAME --team ID --user ID [--name TEXT] [--key-file PATH]

    Mints an Active team key with the `admin` role for USER in TEAM and prints it once
    (or writes it to --key-file, mode 0600, and prints only its prefix). Use the stack's
    TableName output. Credentials and region come from the usual AWS chain (AWS_PROFILE,
    AWS_REGION, ...); AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB Local.

    Refuses (exit 1) when the user already has a team key in that team.
";

#[tokio::main]
async fn main() {
    match run().await {
        Ok(()) => {}
        Err(e) => {
            eprintln!("keys-admin: {e}");
            std::process::exit(1);
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args.split_first().ok_or("no command; see --help")?;
    if command == "--help" || command == "-h" || command == "help" {
        print!("{HELP}");
        return Ok(());
    }
    if command != "bootstrap" {
        return Err(format!("unknown command '{command}'; see --help"));
    }
    let flags = parse_flags(rest, &["table", "team", "user", "name", "key-file"])?;
    if flags.contains_key("help") {
        print!("{HELP}");
        return Ok(());
    }
    let need = |k: &str| {
        flags
            .get(k)
            .ok_or_else(|| format!("--{k} is required; see --help"))
    };
    let table = need("table")?;
    let team = Ident::parse(need("team")?).map_err(|e| format!("--team {e}"))?;
    let user = Ident::parse(need("user")?).map_err(|e| format!("--user {e}"))?;
    let name = flags.get("name").map_or("bootstrap admin", String::as_str);
    let (store, _) = open_store(table, true).await?;
    let (key, token) = bootstrap_admin(
        &store,
        &SystemClock,
        team.clone(),
        user.clone(),
        name,
        &local::cli::operator(),
    )
    .await
    .map_err(|e| format!("{e}"))?;
    match flags.get("key-file") {
        Some(path) => {
            write_key_file(&PathBuf::from(path), token.expose())
                .map_err(|e| format!("--key-file {path}: {e}"))?;
            println!(
                "admin key {} for user {user} in team {team} written to {path}",
                key.prefix
            );
        }
        None => {
            eprintln!(
                "admin key {} for user {user} in team {team} (shown once):",
                key.prefix
            );
            println!("{}", token.expose());
        }
    }
    Ok(())
}
