//! `keys-admin`, the operator's break-glass tool: reads and changes keys straight in the table
//! with AWS credentials, for when no API key can (the first admin key of a team, a leaked key
//! whose team admins cannot be reached, a lost admin key).
//!
//! Every change is made as the API makes it: the same computation (`ApiKey::replaced`,
//! `Status::can_become`, `AuditAction::of_update`) and the same store write with its audit
//! record in one transaction — the record naming the operator (`Actor::Operator`, `$USER`) and an
//! `operator-<random>` request id. A refusal writes nothing.

use std::path::{Path, PathBuf};

use clap::Parser;
use serde_json::{json, Value};
use time::OffsetDateTime;

use shared::api::bootstrap_admin;
use shared::clock::{Clock, SystemClock};
use shared::error::ApiError;
use shared::model::{
    format_time, Actor, ApiKey, AuditAction, AuditRecord, Changes, Ident, Origin, Status,
};
use shared::store::{KeyLister, KeyReader, KeyWriter, ListQuery, ListScope, StoreError, MAX_PAGE};
use shared::token::{KeyKind, Prefix};

use crate::cli::operator;

mod args;
mod failure;
mod output;
mod table;

pub use args::{Cli, Command, Common};
pub use failure::Failure;
pub use output::{describe, key_table};
pub use table::{open, Table};

use failure::{one_line, refused, store_failure};
use output::{hand_out, print_json, show};

/// Exit code: done (or nothing to do).
pub const EXIT_DONE: i32 = 0;
/// Exit code: refused or failed; nothing was written.
pub const EXIT_REFUSED: i32 = 1;
/// Exit code: bad usage (clap's own errors use it too).
pub const EXIT_USAGE: i32 = 2;

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
        Command::Bootstrap { common, team, user, name, key_file } => {
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
        Command::List { common, team, project, status, limit } => {
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
        Command::Replace { common, prefix, grace, key_file } => {
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
                shared::model::replace_changes(&current, &next, grace),
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
            let what =
                format!("key {prefix} replaced (secret generation {}; {old})", stored.generation);
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
            let shown = table.store.get(&prefix).await.ok().flatten().unwrap_or(dead);
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
    action: AuditAction, before: &ApiKey, after: &ApiKey, extra: Changes, at: OffsetDateTime,
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
        let when = key.deleted_at.map(|t| format!(" at {}", format_time(t))).unwrap_or_default();
        return Err(refused(format!("key {prefix} was deleted{when}; nothing written")));
    }
    Ok(key)
}

/// `disable` and `enable`: a status change as the API makes it, refused when the key's status
/// does not allow it — and `enable` only re-enables a Disabled key (approving a Pending or
/// Rejected key is the team's decision, through the API).
async fn set_status(
    common: &Common, prefix: &Prefix, to: Status, at: OffsetDateTime,
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
    store: &S, scope: ListScope, status: Option<Status>, limit: Option<usize>,
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
        return Err(Failure::Usage(format!("--key-file {}: names no file", path.display())));
    }
    let probe = dir.join(format!(".keys-admin.{}.probe", shared::token::random_base62(8)));
    std::fs::OpenOptions::new().write(true).create_new(true).open(&probe).map_err(|e| {
        refused(format!(
            "--key-file {}: cannot write in {}: {e}; nothing written",
            path.display(),
            dir.display()
        ))
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use shared::store::CursorCodec;

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
            &["replace", "AbCdEf123456", "--table", "keys", "--grace", "-1"][..],
            &["replace", "AbCdEf123456", "--table", "keys", "--grace", "86401"],
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
        let e =
            parse(&["replace", "AbCdEf123456", "--table", "keys", "--grace", "-1"]).unwrap_err();
        assert!(e.to_string().contains("0 to 86400"), "{e}");
    }

    #[test]
    fn every_command_takes_table_and_json() {
        let p = "AbCdEf123456";
        for args in [
            &["bootstrap", "--team", "t", "--user", "u"][..],
            &["list", "--team", "t", "--project", "p", "--status", "Active", "--limit", "3"],
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
        for word in ["Exit codes", "0  done", "1  refused", "2  bad usage", "AUDIT_RETENTION_DAYS"]
        {
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
        let all = list(&store, ListScope::WholeTeam(team.clone()), None, None).await.unwrap();
        assert_eq!(all.len(), MAX_PAGE + 5);
        let some = list(&store, ListScope::WholeTeam(team.clone()), None, Some(7)).await.unwrap();
        assert_eq!(some.len(), 7);
        assert_eq!(some[..], all[..7]);
        let none =
            list(&store, ListScope::WholeTeam(team), Some(Status::Pending), None).await.unwrap();
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
