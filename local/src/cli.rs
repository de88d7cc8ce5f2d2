//! Small hand-written argument parsing (no CLI framework: build time matters on 2 cores) and
//! what both binaries share: picking the store, writing a key file.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use shared::aws::{dynamo_client, Timeouts};
use shared::store::dynamo::create_table;
use shared::store::{AnyStore, CursorCodec, DynamoStore, MemoryStore};

/// `--name value` pairs; `--help`/`-h` as `help`. Unknown flags are errors.
pub fn parse_flags(args: &[String], known: &[&str]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--help" || a == "-h" {
            out.insert("help".into(), String::new());
            continue;
        }
        let Some(name) = a.strip_prefix("--") else {
            return Err(format!("unexpected argument '{a}'"));
        };
        let (name, value) = match name.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => {
                let v = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
                (name.to_owned(), v.clone())
            }
        };
        if !known.contains(&name.as_str()) {
            return Err(format!("unknown option --{name}"));
        }
        out.insert(name, value);
    }
    Ok(out)
}

/// The in-memory store, or DynamoDB when `AWS_ENDPOINT_URL_DYNAMODB` is set (or `force_dynamo`),
/// creating the table when it is missing.
pub async fn open_store(
    table: &str,
    cursor_key: &[u8],
    force_dynamo: bool,
) -> Result<(AnyStore, &'static str), String> {
    let codec = CursorCodec::new(cursor_key);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|v| !v.is_empty());
    if !endpoint && !force_dynamo {
        return Ok((AnyStore::Memory(MemoryStore::new(codec)), "in-memory"));
    }
    let client = dynamo_client(Timeouts::default()).await;
    create_table(&client, table).await.map_err(|e| {
        format!(
            "cannot reach or create table {table}: {}",
            shared::error::chain(&e)
        )
    })?;
    Ok((
        AnyStore::Dynamo(DynamoStore::new(client, table, codec)),
        "DynamoDB",
    ))
}

/// Writes a key to a file only its owner can read.
pub fn write_key_file(path: &Path, token: &str) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    writeln!(f, "{token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flags() {
        let f = parse_flags(&args(&["--port", "0", "--team=t1"]), &["port", "team"]).unwrap();
        assert_eq!(f["port"], "0");
        assert_eq!(f["team"], "t1");
        assert!(parse_flags(&args(&["--bogus", "1"]), &["port"]).is_err());
        assert!(parse_flags(&args(&["--port"]), &["port"]).is_err());
        assert!(parse_flags(&args(&["stray"]), &["port"]).is_err());
        assert!(parse_flags(&args(&["-h"]), &[])
            .unwrap()
            .contains_key("help"));
    }
}
