//! The command line: commands, options and their values (a bad value is clap's usage error).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use shared::api::replace::MAX_GRACE_SECONDS;
use shared::config::{Config, ConfigError};
use shared::model::{Ident, KeyName, Status};
use shared::token::Prefix;

pub(super) const AFTER_HELP: &str = "\
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

pub(super) fn ident(s: &str) -> Result<Ident, String> {
    Ident::parse(s)
}

pub(super) fn key_name(s: &str) -> Result<KeyName, String> {
    KeyName::parse(s)
}

pub(super) fn prefix(s: &str) -> Result<Prefix, String> {
    Prefix::parse(s).ok_or_else(|| {
        "a prefix is the 12 letters and digits after sk-project- or sk-team- (never paste the \
         whole key)"
            .to_owned()
    })
}

pub(super) fn status(s: &str) -> Result<Status, String> {
    Status::parse(s)
        .ok_or_else(|| "must be one of Active, Disabled, Pending, Rejected, Deleted".to_owned())
}

pub(super) fn grace(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .ok()
        .filter(|g| *g <= MAX_GRACE_SECONDS)
        .ok_or_else(|| format!("must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS}"))
}

/// A DynamoDB table name, by the rule the functions' configuration checks `TABLE_NAME` with.
pub(super) fn table_name(s: &str) -> Result<String, String> {
    Config::from_lookup(|k| (k == "TABLE_NAME").then(|| s.to_owned()))
        .map(|c| c.table_name)
        .map_err(|e| match e {
            ConfigError::Invalid { why, .. } => why,
            other => other.to_string(),
        })
}
