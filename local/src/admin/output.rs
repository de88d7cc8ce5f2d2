//! What the commands print: a new token handed out once, a key described, the list as a table.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};
use time::OffsetDateTime;

use shared::api::create::with_token;
use shared::model::{format_time, ApiKey};
use shared::token::{KeyKind, Token};

use super::failure::{refused, Failure};
use crate::cli::write_key_file;

/// Hands a new token out once: to the key file, or on stdout (alone on its line, or as `key` in
/// the JSON). If the key file fails after all, the token goes to stdout rather than be lost.
pub(super) fn hand_out(
    key: &ApiKey, token: &Token, key_file: Option<&Path>, json: bool, what: &str,
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

pub(super) fn print_token(key: &ApiKey, token: &Token, json: bool, what: &str) {
    if json {
        print_json(&with_token(key, token));
    } else {
        eprintln!("{what}; the key, shown once:");
        println!("{}", token.expose());
    }
}

pub(super) fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON values print"));
}

pub(super) fn show(key: &ApiKey, json: bool, now: OffsetDateTime) {
    if json {
        print_json(&key.to_json());
    } else {
        print!("{}", describe(key, now));
    }
}

pub(super) fn owner(key: &ApiKey) -> String {
    match key.kind {
        KeyKind::Team => format!("user {}", key.user_id.as_ref().map_or("?", |u| u.as_str())),
        KeyKind::Project => {
            format!("project {}", key.project_id.as_ref().map_or("?", |p| p.as_str()))
        }
    }
}

pub(super) fn kind(key: &ApiKey) -> &'static str {
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
    line("labels", or_none(key.labels.as_slice().iter().map(String::as_str).collect()));
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
    line("limits", if limits.is_empty() { "none".to_owned() } else { limits.join("; ") });
    let previous = match &key.previous {
        Some(p) if now < p.valid_until => {
            format!("; the previous one works until {}", format_time(p.valid_until))
        }
        _ => String::new(),
    };
    line("secret", format!("generation {}{previous}", key.generation));
    line("created", format!("{} by {}", format_time(key.created_at), key.created_by));
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
    let _ = writeln!(out, "{} key{}", keys.len(), if keys.len() == 1 { "" } else { "s" });
    out
}
