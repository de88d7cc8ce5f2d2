//! `keys-admin`, the operator's break-glass tool: reads and changes keys straight in the table
//! with AWS credentials, for when no API key can (the first admin key of a team, a leaked key
//! whose team admins cannot be reached, a lost admin key).
//!
//! Every change is made as the API makes it: the same computation (`ApiKey::replaced`,
//! `Status::can_become`, `AuditAction::of_update`) and the same store write with its audit
//! record in one transaction — the record naming the operator (`Actor::Operator`, `$USER`) and an
//! `operator-<random>` request id. A refusal writes nothing.

use std::error::Error as StdError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use clap::{Args, Parser, Subcommand};
use serde_json::{json, Value};
use time::OffsetDateTime;

use shared::api::bootstrap_admin;
use shared::api::create::with_token;
use shared::api::replace::MAX_GRACE_SECONDS;
use shared::aws::{dynamo_client, Timeouts};
use shared::clock::{Clock, SystemClock};
use shared::config::{Config, ConfigError};
use shared::error::ApiError;
use shared::model::{
    format_time, Actor, ApiKey, AuditAction, AuditRecord, Changes, Ident, KeyName, Origin, Status,
};
use shared::store::dynamo::create_table;
use shared::store::{
    Conflict, CursorCodec, DynamoStore, KeyLister, KeyReader, KeyWriter, ListQuery, ListScope,
    StoreError, MAX_PAGE,
};
use shared::token::{KeyKind, Prefix, Token};

use crate::cli::{operator, write_key_file};

/// Exit code: done (or nothing to do).
pub const EXIT_DONE: i32 = 0;
/// Exit code: refused or failed; nothing was written.
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: bad usage (clap's own errors use it too).
pub const EXIT_USAGE: i32 = 2;

const AFTER_HELP: &str = "\
Exit codes:
  0  done, or nothing to do (disable/enable of a key that already has that status)
  1  refused or failed, and nothing was written: an unknown prefix, a deleted key, a status
     change the key's status does not allow (enabling a Pending key), a user who already has
     a team key, a table that is missing or unreachable, missing credentials; one line on
     stderr says which
  2  bad usage: an unknown command or option, a missing --table, a malformed id, prefix,
     name or --grace

Environment: credentials and region come from the AWS SDK's usual chain (AWS_PROFILE,
AWS_REGION, AWS_ACCESS_KEY_ID, SSO, ...); AWS_ENDPOINT_URL_DYNAMODB points it at DynamoDB
Local. AUDIT_RETENTION_DAYS (default 400) should be the stack's AuditRetentionDays. The audit
trail names the operator $USER (actor type operator, request id operator-<random>).";

/// The operator's commands on the key table (the stack's TableName output).
#[derive(Debug, Parser)]
#[command(
    name = "keys-admin",
    about = "Operator commands on the API key table, with AWS credentials",
    long_about = "Operator commands on the API key table, with AWS credentials: mint a team's \
first admin key, list and read keys, disable, enable, replace or delete a key. Every change is \
written with its audit record, naming the operator, exactly as the API writes its own.",
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// What every command takes.
#[derive(Debug, Args)]
pub struct Common {
    /// The key table: the stack's TableName output
    #[arg(long, value_name = "NAME", value_parser = table_name)]
    pub table: String,
    /// Print one JSON document on stdout instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mint an Active admin team key for USER in TEAM, printed once (or written to --key-file)
    #[command(after_help = AFTER_HELP)]
    Bootstrap {
        #[command(flatten)]
        common: Common,
        /// The team (account id)
        #[arg(long, value_name = "ID", value_parser = ident)]
        team: Ident,
        /// The user the key belongs to (one team key per user and team)
        #[arg(long, value_name = "ID", value_parser = ident)]
        user: Ident,
        /// The key's name
        #[arg(long, value_name = "TEXT", value_parser = key_name, default_value = "bootstrap admin")]
        name: KeyName,
        /// Write the key to this file (mode 0600, replacing what is there) instead of stdout
        #[arg(long, value_name = "PATH")]
        key_file: Option<PathBuf>,
    },
    /// List a team's keys (or one project's), newest first, every page unless --limit
    #[command(after_help = AFTER_HELP)]
    List {
        #[command(flatten)]
        common: Common,
        /// The team (account id)
        #[arg(long, value_name = "ID", value_parser = ident)]
        team: Ident,
        /// Only this project's keys
        #[arg(long, value_name = "ID", value_parser = ident)]
        project: Option<Ident>,
        /// Only keys of this status: Active, Disabled, Pending, Rejected, or Deleted (tombstones)
        #[arg(long, value_name = "S", value_parser = status)]
        status: Option<Status>,
        /// At most this many keys
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
        limit: Option<u64>,
    },
    /// Show one key (tombstones included)
    #[command(after_help = AFTER_HELP)]
    Get {
        #[command(flatten)]
        common: Common,
        /// The key's prefix: the 12 characters after sk-project- or sk-team-
        #[arg(value_parser = prefix)]
        prefix: Prefix,
    },
    /// Disable a key: it is refused from its next call (Active -> Disabled)
    #[command(after_help = AFTER_HELP)]
    Disable {
        #[command(flatten)]
        common: Common,
        /// The key's prefix: the 12 characters after sk-project- or sk-team-
        #[arg(value_parser = prefix)]
        prefix: Prefix,
    },
    /// Enable a disabled key again (Disabled -> Active; never approves a Pending key)
    #[command(after_help = AFTER_HELP)]
    Enable {
        #[command(flatten)]
        common: Common,
        /// The key's prefix: the 12 characters after sk-project- or sk-team-
        #[arg(value_parser = prefix)]
        prefix: Prefix,
    },
    /// Give a key a new secret under the same prefix, printed once (or written to --key-file)
    #[command(after_help = AFTER_HELP)]
    Replace {
        #[command(flatten)]
        common: Common,
        /// The key's prefix: the 12 characters after sk-project- or sk-team-
        #[arg(value_parser = prefix)]
        prefix: Prefix,
        /// Seconds the old secret keeps working (0 to 86400; 0, the default: it stops now)
        #[arg(long, value_name = "SECONDS", default_value = "0", value_parser = grace, allow_negative_numbers = true)]
        grace: u64,
        /// Write the new key to this file (mode 0600, replacing what is there) instead of stdout
        #[arg(long, value_name = "PATH")]
        key_file: Option<PathBuf>,
    },
    /// Delete a key: it stops working at once; a team key's user may then get a new one
    #[command(after_help = AFTER_HELP)]
    Delete {
        #[command(flatten)]
        common: Common,
        /// The key's prefix: the 12 characters after sk-project- or sk-team-
        #[arg(value_parser = prefix)]
        prefix: Prefix,
    },
}

// ---- argument values: a bad one is clap's usage error (exit 2) ---------------------------

fn ident(s: &str) -> Result<Ident, String> {
    Ident::parse(s)
}

fn key_name(s: &str) -> Result<KeyName, String> {
    KeyName::parse(s)
}

fn prefix(s: &str) -> Result<Prefix, String> {
    Prefix::parse(s).ok_or_else(|| {
        "a prefix is the 12 letters and digits after sk-project- or sk-team- (never paste the \
         whole key)"
            .to_owned()
    })
}

fn status(s: &str) -> Result<Status, String> {
    Status::parse(s)
        .ok_or_else(|| "must be one of Active, Disabled, Pending, Rejected, Deleted".to_owned())
}

fn grace(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|g| *g <= MAX_GRACE_SECONDS)
        .ok_or_else(|| format!("must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}"))
}

/// A DynamoDB table name, by the rule the functions' configuration checks `TABLE_NAME` with.
fn table_name(s: &str) -> Result<String, String> {
    Config::from_lookup(|k| (k == "TABLE_NAME").then(|| s.to_owned()))
        .map(|c| c.table_name)
        .map_err(|e| match e {
            ConfigError::Invalid { why, .. } => why,
            other => other.to_string(),
        })
}

// ---- failures ----------------------------------------------------------------------------

/// Why a command stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Refused or failed (exit 1).
    Refused(String),
    /// Bad usage found after parsing: the environment's settings (exit 2).
    Usage(String),
}

impl Failure {
    pub fn code(&self) -> i32 {
        match self {
            Failure::Refused(_) => EXIT_REFUSED,
            Failure::Usage(_) => EXIT_USAGE,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Failure::Refused(m) | Failure::Usage(m) => m,
        }
    }
}

fn refused(m: impl Into<String>) -> Failure {
    Failure::Refused(m.into())
}

/// Text on one line: whitespace runs become one space; at most 300 characters.
fn squash(text: &str) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.len() > 300 {
        let cut = (0..=300)
            .rev()
            .find(|i| line.is_char_boundary(*i))
            .unwrap_or(0);
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

/// One line for an error chain: its messages, without repeats.
fn one_line(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        let m = squash(&err.to_string());
        if !m.is_empty() && !parts.iter().any(|p| p.contains(&m)) {
            parts.push(m);
        }
        cur = err.source();
    }
    squash(&parts.join(": "))
}

/// An SDK error as one line: the service's code and message, or what kept the request from it.
fn sdk_error<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: std::fmt::Debug + 'static,
{
    match e {
        SdkError::ServiceError(s) => match (s.err().code(), s.err().message()) {
            (Some(c), Some(m)) => format!("{c}: {m}"),
            (Some(c), None) => c.to_owned(),
            _ => one_line(s.err()),
        },
        SdkError::TimeoutError(_) => "DynamoDB did not answer in time".to_owned(),
        SdkError::DispatchFailure(_) | SdkError::ConstructionFailure(_) => {
            // The innermost cause says it best: connection refused, no credentials, ...
            let mut cur: &(dyn StdError + 'static) = e;
            while let Some(s) = cur.source() {
                cur = s;
            }
            squash(&cur.to_string())
        }
        other => one_line(other),
    }
}

/// A store error of a command on `prefix` (or the team) as a refusal.
fn store_failure(e: StoreError, what: &str) -> Failure {
    match e {
        StoreError::NotFound => refused(format!("{what}: no such key; nothing written")),
        StoreError::Conflict(Conflict::VersionMismatch) => refused(format!(
            "{what}: the key changed while this command ran; nothing written: run it again"
        )),
        StoreError::Conflict(c) => refused(format!("{what}: {c}; nothing written")),
        StoreError::BadCursor => refused(format!("{what}: the table returned a cursor it refuses")),
        StoreError::Unavailable(src) => refused(format!(
            "{what}: the table is unavailable ({}); if this was a change, `keys-admin get` \
             tells whether it was made",
            one_line(&*src)
        )),
        StoreError::Corrupt(m) => refused(format!("{what}: a stored item could not be read: {m}")),
    }
}

// ---- the table ---------------------------------------------------------------------------

/// The CLI's client timeouts: more patient than the authorizer's (a person waits, not a call).
const TIMEOUTS: Timeouts = Timeouts {
    operation: StdDuration::from_secs(15),
    attempt: StdDuration::from_secs(5),
    connect: StdDuration::from_secs(3),
    max_attempts: 3,
    initial_backoff: StdDuration::from_millis(100),
};

/// The store on `--table`, and words for messages.
pub struct Table {
    pub store: DynamoStore,
    pub name: String,
}

/// Opens the table after checking it exists (DescribeTable). Only `bootstrap` against DynamoDB
/// Local (`AWS_ENDPOINT_URL_DYNAMODB` set) creates a missing table; against AWS a missing table
/// is a typo or the wrong account or region, and is refused.
pub async fn open(common: &Common, create_locally: bool) -> Result<Table, Failure> {
    let retention = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some(common.table.clone()),
        "AUDIT_RETENTION_DAYS" => std::env::var(k).ok(),
        _ => None,
    })
    .map_err(|e| Failure::Usage(e.to_string()))?
    .audit_retention;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let client = dynamo_client(TIMEOUTS).await;
    let Some(region) = client.config().region().map(|r| r.to_string()) else {
        return Err(refused(
            "no AWS region: set AWS_REGION, or AWS_PROFILE to a profile with a region",
        ));
    };
    let place = match &endpoint {
        Some(url) => format!("{url} ({region})"),
        None => format!("region {region}"),
    };
    let table = &common.table;
    match client.describe_table().table_name(table).send().await {
        Ok(_) => {}
        Err(SdkError::ServiceError(s)) if s.err().is_resource_not_found_exception() => {
            if !(create_locally && endpoint.is_some()) {
                return Err(refused(format!(
                    "no table {table} in {place}: use the stack's TableName output (and its \
                     account and region)"
                )));
            }
            create_table(&client, table).await.map_err(|e| {
                refused(format!(
                    "cannot create table {table} at {place}: {}",
                    one_line(&e)
                ))
            })?;
        }
        Err(e) => {
            return Err(refused(format!(
                "cannot read table {table} in {place}: {}",
                sdk_error(&e)
            )))
        }
    }
    let store = DynamoStore::new(client, table.as_str(), CursorCodec::for_table(table))
        .with_audit_retention(retention);
    Ok(Table {
        store,
        name: table.clone(),
    })
}

// ---- the commands --------------------------------------------------------------------------

/// Parses the arguments, runs the command, prints; returns the exit code.
pub async fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // help (exit 0) on stdout; a usage error (exit 2) on stderr
            let _ = e.print();
            return e.exit_code();
        }
    };
    match run(cli).await {
        Ok(()) => EXIT_DONE,
        Err(f) => {
            eprintln!("keys-admin: {}", f.message());
            f.code()
        }
    }
}

/// Runs one parsed command against its table.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let now = || SystemClock.now();
    match cli.command {
        Command::Bootstrap {
            common,
            team,
            user,
            name,
            key_file,
        } => {
            if let Some(path) = &key_file {
                probe_key_file(path)?;
            }
            let table = open(&common, true).await?;
            let (key, token) = bootstrap_admin(
                &table.store,
                &SystemClock,
                team.clone(),
                user.clone(),
                name.as_str(),
                &operator(),
            )
            .await
            .map_err(|e| bootstrap_failure(e, &team, &user))?;
            let what = format!("admin key {} for user {user} in team {team}", key.prefix);
            hand_out(&key, &token, key_file.as_deref(), common.json, &what)
        }
        Command::List {
            common,
            team,
            project,
            status,
            limit,
        } => {
            let table = open(&common, false).await?;
            let scope = match project {
                Some(p) => ListScope::Project(team.clone(), p),
                None => ListScope::WholeTeam(team.clone()),
            };
            let keys = list(&table.store, scope, status, limit.map(|n| n as usize))
                .await
                .map_err(|e| store_failure(e, &format!("listing team {team}")))?;
            if common.json {
                let items: Vec<Value> = keys.iter().map(ApiKey::to_json).collect();
                print_json(&json!({ "items": items }));
            } else {
                print!("{}", key_table(&keys));
            }
            Ok(())
        }
        Command::Get { common, prefix } => {
            let table = open(&common, false).await?;
            let key = read(&table, &prefix).await?;
            show(&key, common.json, now());
            Ok(())
        }
        Command::Disable { common, prefix } => {
            set_status(&common, &prefix, Status::Disabled, now()).await
        }
        Command::Enable { common, prefix } => {
            set_status(&common, &prefix, Status::Active, now()).await
        }
        Command::Replace {
            common,
            prefix,
            grace,
            key_file,
        } => {
            if let Some(path) = &key_file {
                probe_key_file(path)?;
            }
            let table = open(&common, false).await?;
            let current = live(&table, &prefix).await?;
            let at = now();
            let (next, token) = current.replaced(at, grace);
            let audit = operator_record(
                AuditAction::Replaced,
                &current,
                &next,
                current.replace_changes(&next, grace),
                at,
            );
            let stored = table
                .store
                .update(&next, current.version, &audit)
                .await
                .map_err(|e| store_failure(e, &format!("replacing key {prefix}")))?;
            let old = match &stored.previous {
                Some(p) => format!("the old secret works until {}", format_time(p.valid_until)),
                None => "the old secret stopped working".to_owned(),
            };
            let what = format!(
                "key {prefix} replaced (secret generation {}; {old})",
                stored.generation
            );
            hand_out(&stored, &token, key_file.as_deref(), common.json, &what)
        }
        Command::Delete { common, prefix } => {
            let table = open(&common, false).await?;
            let key = live(&table, &prefix).await?;
            let at = now();
            let mut dead = key.clone();
            dead.status = Status::Deleted;
            let audit = operator_record(AuditAction::Deleted, &key, &dead, Changes::new(), at);
            table
                .store
                .delete(&key, key.version, at, &audit)
                .await
                .map_err(|e| store_failure(e, &format!("deleting key {prefix}")))?;
            // the tombstone as stored (its new version); the key as deleted if it cannot be read
            let shown = table
                .store
                .get(&prefix)
                .await
                .ok()
                .flatten()
                .unwrap_or(dead);
            if common.json {
                print_json(&shown.to_json());
            } else {
                println!(
                    "key {prefix} deleted: it stops working at once{} (audit record {})",
                    match key.kind {
                        KeyKind::Team => "; its user may be given a new team key",
                        KeyKind::Project => "",
                    },
                    audit.id
                );
            }
            Ok(())
        }
    }
}

fn bootstrap_failure(e: ApiError, team: &Ident, user: &Ident) -> Failure {
    match e {
        ApiError::Conflict(_) => refused(format!(
            "user {user} already has a team key in team {team}; nothing written (`keys-admin \
             list --team {team}` shows it; delete it first to mint another)"
        )),
        ApiError::Unavailable(s) => store_failure(s, "bootstrap"),
        other => refused(format!("bootstrap: {}", one_line(&other))),
    }
}

/// The audit record of an operator's change: actor `operator` ($USER), request id
/// `operator-<random>`.
fn operator_record(
    action: AuditAction,
    before: &ApiKey,
    after: &ApiKey,
    extra: Changes,
    at: OffsetDateTime,
) -> AuditRecord {
    AuditRecord::of(
        action,
        Actor::Operator { name: operator() },
        Some(before),
        after,
        extra,
        Origin {
            request_id: format!("operator-{}", shared::token::random_base62(12)),
            ..Origin::default()
        },
        at,
    )
}

/// The key, tombstones included; an unknown prefix is refused.
async fn read(table: &Table, prefix: &Prefix) -> Result<ApiKey, Failure> {
    table
        .store
        .get(prefix)
        .await
        .map_err(|e| store_failure(e, &format!("reading key {prefix}")))?
        .ok_or_else(|| refused(format!("no key {prefix} in table {}", table.name)))
}

/// The key, which must not be deleted.
async fn live(table: &Table, prefix: &Prefix) -> Result<ApiKey, Failure> {
    let key = read(table, prefix).await?;
    if key.status == Status::Deleted {
        let when = key
            .deleted_at
            .map(|t| format!(" at {}", format_time(t)))
            .unwrap_or_default();
        return Err(refused(format!(
            "key {prefix} was deleted{when}; nothing written"
        )));
    }
    Ok(key)
}

/// `disable` and `enable`: a status change as the API makes it, refused when the key's status
/// does not allow it — and `enable` only re-enables a Disabled key (approving a Pending or
/// Rejected key is the team's decision, through the API).
async fn set_status(
    common: &Common,
    prefix: &Prefix,
    to: Status,
    at: OffsetDateTime,
) -> Result<(), Failure> {
    let (verb, expected) = match to {
        Status::Active => ("enable", AuditAction::Enabled),
        _ => ("disable", AuditAction::Disabled),
    };
    let table = open(common, false).await?;
    let current = live(&table, prefix).await?;
    if current.status == to {
        eprintln!("keys-admin: key {prefix} is already {to}; nothing written");
        if common.json {
            print_json(&current.to_json());
        } else {
            println!("key {prefix} is {to}");
        }
        return Ok(());
    }
    let mut next = current.clone();
    next.status = to;
    next.updated_at = at;
    let action = AuditAction::of_update(&current, &next);
    if !current.status.can_become(to) || action != expected {
        let hint = match current.status {
            Status::Pending | Status::Rejected if to == Status::Active => {
                ": approving a requested key is the team's decision, through the API (PATCH \
                 /keys/{prefix} with status Active, by an admin)"
            }
            Status::Pending | Status::Rejected => {
                ": it does not work anyway; `keys-admin delete` removes it"
            }
            _ => "",
        };
        return Err(refused(format!(
            "key {prefix} is {}: cannot {verb} it{}; nothing written",
            current.status,
            hint.replace("{prefix}", prefix.as_str())
        )));
    }
    let audit = operator_record(action, &current, &next, Changes::new(), at);
    let stored = table
        .store
        .update(&next, current.version, &audit)
        .await
        .map_err(|e| store_failure(e, &format!("{verb} key {prefix}")))?;
    if common.json {
        print_json(&stored.to_json());
    } else {
        println!(
            "key {prefix}: {} -> {} (audit record {})",
            current.status, stored.status, audit.id
        );
    }
    Ok(())
}

/// Every key of `scope` (of `status`, if given), newest first, page after page; at most `limit`.
pub async fn list<S: KeyLister>(
    store: &S,
    scope: ListScope,
    status: Option<Status>,
    limit: Option<usize>,
) -> Result<Vec<ApiKey>, StoreError> {
    let mut query = ListQuery::new(scope);
    query.status = status;
    let mut keys = Vec::new();
    loop {
        let want = limit.map_or(MAX_PAGE, |n| n.saturating_sub(keys.len()).min(MAX_PAGE));
        query.limit = want.max(1);
        let page = store.list(&query).await?;
        keys.extend(page.items);
        match page.next_cursor {
            Some(c) if limit.is_none_or(|n| keys.len() < n) => query.cursor = Some(c),
            _ => break,
        }
    }
    if let Some(n) = limit {
        keys.truncate(n);
    }
    Ok(keys)
}

/// Fails (nothing written) when no key file can be made in `path`'s directory: checked before a
/// key is minted or replaced, so a token is never made only to be lost.
fn probe_key_file(path: &Path) -> Result<(), Failure> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.file_name().is_none() || path.is_dir() {
        return Err(Failure::Usage(format!(
            "--key-file {}: names no file",
            path.display()
        )));
    }
    let probe = dir.join(format!(
        ".keys-admin.{}.probe",
        shared::token::random_base62(8)
    ));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| {
            refused(format!(
                "--key-file {}: cannot write in {}: {e}; nothing written",
                path.display(),
                dir.display()
            ))
        })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Hands a new token out once: to the key file, or on stdout (alone on its line, or as `key` in
/// the JSON). If the key file fails after all, the token goes to stdout rather than be lost.
fn hand_out(
    key: &ApiKey,
    token: &Token,
    key_file: Option<&Path>,
    json: bool,
    what: &str,
) -> Result<(), Failure> {
    if let Some(path) = key_file {
        match write_key_file(path, token.expose()) {
            Ok(()) => {
                if json {
                    let mut doc = key.to_json();
                    doc["keyFile"] = json!(path.display().to_string());
                    print_json(&doc);
                } else {
                    println!("{what}; the key is in {}", path.display());
                }
                return Ok(());
            }
            Err(e) => {
                eprintln!(
                    "keys-admin: --key-file {}: {e}; the change WAS made: the key follows, \
                     shown once",
                    path.display()
                );
                print_token(key, token, json, what);
                return Err(refused(format!(
                    "--key-file {}: {e} (the key was printed instead)",
                    path.display()
                )));
            }
        }
    }
    print_token(key, token, json, what);
    Ok(())
}

fn print_token(key: &ApiKey, token: &Token, json: bool, what: &str) {
    if json {
        print_json(&with_token(key, token));
    } else {
        eprintln!("{what}; the key, shown once:");
        println!("{}", token.expose());
    }
}

fn print_json(v: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(v).expect("JSON values print")
    );
}

fn show(key: &ApiKey, json: bool, now: OffsetDateTime) {
    if json {
        print_json(&key.to_json());
    } else {
        print!("{}", describe(key, now));
    }
}

fn owner(key: &ApiKey) -> String {
    match key.kind {
        KeyKind::Team => format!("user {}", key.user_id.as_ref().map_or("?", |u| u.as_str())),
        KeyKind::Project => format!(
            "project {}",
            key.project_id.as_ref().map_or("?", |p| p.as_str())
        ),
    }
}

fn kind(key: &ApiKey) -> &'static str {
    match key.kind {
        KeyKind::Team => "team",
        KeyKind::Project => "project",
    }
}

/// A key for people: one field a line.
pub fn describe(key: &ApiKey, now: OffsetDateTime) -> String {
    let mut out = String::new();
    let mut line = |name: &str, value: String| {
        let _ = writeln!(out, "{name:<12}{value}");
    };
    let or_none = |v: Vec<&str>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    line("prefix", format!("{} ({})", key.prefix, key.preview));
    line("name", key.name.as_str().to_owned());
    line("type", format!("{} key of {}", kind(key), owner(key)));
    line("team", key.team_id.as_str().to_owned());
    line("status", key.status.to_string());
    line("roles", or_none(key.roles.as_strs()));
    line(
        "labels",
        or_none(key.labels.as_slice().iter().map(String::as_str).collect()),
    );
    line(
        "expires",
        match key.expires_at {
            None => "never".to_owned(),
            Some(t) if t <= now => format!("{} (expired)", format_time(t)),
            Some(t) => format_time(t),
        },
    );
    let mut limits = Vec::new();
    if let Some(r) = key.rate_limit {
        limits.push(format!("{} calls per {} s", r.limit, r.period_seconds));
    }
    if let Some(q) = key.quota {
        let refill = q.refill.map_or(String::new(), |r| {
            format!(", refilled to {} every {}", r.amount, r.interval.as_str())
        });
        limits.push(format!("quota {} calls left{refill}", q.remaining));
    }
    line(
        "limits",
        if limits.is_empty() {
            "none".to_owned()
        } else {
            limits.join("; ")
        },
    );
    let previous = match &key.previous {
        Some(p) if now < p.valid_until => format!(
            "; the previous one works until {}",
            format_time(p.valid_until)
        ),
        _ => String::new(),
    };
    line("secret", format!("generation {}{previous}", key.generation));
    line(
        "created",
        format!("{} by {}", format_time(key.created_at), key.created_by),
    );
    line("updated", format_time(key.updated_at));
    if let Some(t) = key.deleted_at {
        line("deleted", format_time(t));
    }
    line(
        "last used",
        match key.last_active {
            Some(t) => format!("{} ({} calls counted)", format_time(t), key.submitted_jobs),
            None => "never".to_owned(),
        },
    );
    line("version", key.version.to_string());
    out
}

/// Keys for people: one a line, with a header; or `no keys`.
pub fn key_table(keys: &[ApiKey]) -> String {
    if keys.is_empty() {
        return "no keys\n".to_owned();
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12}  {:<8}  {:<7}  {:<24}  {:<24}  NAME",
        "PREFIX", "STATUS", "TYPE", "OWNER", "CREATED"
    );
    for k in keys {
        let _ = writeln!(
            out,
            "{:<12}  {:<8}  {:<7}  {:<24}  {:<24}  {}",
            k.prefix.as_str(),
            k.status.as_str(),
            kind(k),
            owner(k),
            format_time(k.created_at),
            k.name.as_str()
        );
    }
    let _ = writeln!(
        out,
        "{} key{}",
        keys.len(),
        if keys.len() == 1 { "" } else { "s" }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("keys-admin").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_usage_is_exit_2() {
        for args in [
            &[
                "replace",
                "AbCdEf123456",
                "--table",
                "keys",
                "--grace",
                "-1",
            ][..],
            &[
                "replace",
                "AbCdEf123456",
                "--table",
                "keys",
                "--grace",
                "86401",
            ],
            &["disable", "AbCdEf123456"],
            &["frobnicate", "--table", "keys"],
            &["get", "sk-team-AbCdEf123456_secret", "--table", "keys"],
            &["list", "--table", "keys", "--team", "bad team"],
            &["list", "--table", "keys", "--team", "t", "--status", "Gone"],
            &["list", "--table", "k", "--team", "t"],
        ] {
            let e = parse(args).expect_err(&format!("{args:?}"));
            assert_eq!(e.exit_code(), EXIT_USAGE, "{args:?}: {e}");
        }
        let e = parse(&[
            "replace",
            "AbCdEf123456",
            "--table",
            "keys",
            "--grace",
            "-1",
        ])
        .unwrap_err();
        assert!(e.to_string().contains("0 to 86400"), "{e}");
    }

    #[test]
    fn every_command_takes_table_and_json() {
        let p = "AbCdEf123456";
        for args in [
            &["bootstrap", "--team", "t", "--user", "u"][..],
            &[
                "list",
                "--team",
                "t",
                "--project",
                "p",
                "--status",
                "Active",
                "--limit",
                "3",
            ],
            &["get", p],
            &["disable", p],
            &["enable", p],
            &["replace", p, "--grace", "60"],
            &["delete", p],
        ] {
            let mut all = args.to_vec();
            all.extend(["--table", "keys", "--json"]);
            let cli = parse(&all).unwrap_or_else(|e| panic!("{all:?}: {e}"));
            let common = match &cli.command {
                Command::Bootstrap { common, .. }
                | Command::List { common, .. }
                | Command::Get { common, .. }
                | Command::Disable { common, .. }
                | Command::Enable { common, .. }
                | Command::Replace { common, .. }
                | Command::Delete { common, .. } => common,
            };
            assert_eq!(common.table, "keys");
            assert!(common.json);
        }
    }

    #[test]
    fn help_documents_the_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for word in [
            "Exit codes",
            "0  done",
            "1  refused",
            "2  bad usage",
            "AUDIT_RETENTION_DAYS",
        ] {
            assert!(help.contains(word), "--help lacks {word}");
        }
        let mut cmd = Cli::command();
        let sub = cmd.find_subcommand_mut("replace").unwrap();
        assert!(sub.render_long_help().to_string().contains("Exit codes"));
    }

    #[tokio::test]
    async fn lists_read_every_page_or_stop_at_the_limit() {
        use shared::store::{KeyWriter, MemoryStore};
        use shared::testing::{audit_of, sample_key};
        let store = MemoryStore::new(CursorCodec::new(b"admin-tests"));
        let team = Ident::parse("team-1").unwrap();
        for i in 0..(MAX_PAGE + 5) {
            let mut k = sample_key(KeyKind::Project);
            k.created_at += time::Duration::seconds(i as i64);
            store.create(&k, &audit_of(&k)).await.unwrap();
        }
        let all = list(&store, ListScope::WholeTeam(team.clone()), None, None)
            .await
            .unwrap();
        assert_eq!(all.len(), MAX_PAGE + 5);
        let some = list(&store, ListScope::WholeTeam(team.clone()), None, Some(7))
            .await
            .unwrap();
        assert_eq!(some.len(), 7);
        assert_eq!(some[..], all[..7]);
        let none = list(
            &store,
            ListScope::WholeTeam(team),
            Some(Status::Pending),
            None,
        )
        .await
        .unwrap();
        assert!(none.is_empty());
        assert_eq!(key_table(&none), "no keys\n");
        assert!(key_table(&some).ends_with("7 keys\n"));
    }

    #[test]
    fn one_line_keeps_a_chain_short_and_on_one_line() {
        let e = StoreError::Unavailable("first\nsecond".into());
        let line = one_line(&e);
        assert!(!line.contains('\n'));
        assert!(line.contains("first second"), "{line}");
    }
}
