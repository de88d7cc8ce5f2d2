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

/// Who the audit trail names for an operator's command: `$USER` (else `operator`).
pub fn operator() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .map(|u| u.chars().filter(|c| !c.is_control()).take(64).collect())
        .unwrap_or_else(|| "operator".into())
}

/// The in-memory store, or DynamoDB when `AWS_ENDPOINT_URL_DYNAMODB` is set (or `force_dynamo`),
/// creating the table when it is missing.
pub async fn open_store(
    table: &str, force_dynamo: bool,
) -> Result<(AnyStore, &'static str), String> {
    let codec = CursorCodec::for_table(table);
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|v| !v.is_empty());
    if !endpoint && !force_dynamo {
        return Ok((AnyStore::Memory(MemoryStore::new(codec)), "in-memory"));
    }
    let client = dynamo_client(Timeouts::default()).await;
    create_table(&client, table).await.map_err(|e| {
        format!("cannot reach or create table {table}: {}", shared::error::chain(&e))
    })?;
    Ok((AnyStore::Dynamo(DynamoStore::new(client, table, codec)), "DynamoDB"))
}

/// Writes a key to a file only its owner can read: a new file (mode 0600, created exclusively)
/// in the target's directory, synced and renamed into place. Whatever was at the path — an
/// older key file, a world-readable file, a symlink — is replaced, never written through or
/// left with its old permissions.
pub fn write_key_file(path: &Path, token: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?
        .to_string_lossy()
        .into_owned();
    let temp = dir.join(format!(".{name}.{}.tmp", shared::token::random_base62(8)));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = (|| {
        let mut f = opts.open(&temp)?;
        writeln!(f, "{token}")?;
        f.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[cfg(unix)]
    #[test]
    fn key_files_replace_what_was_there_and_are_private() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("keyfile-{}", shared::token::random_base62(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().mode() & 0o777;
        // an existing world-readable file is replaced by a private one
        let file = dir.join("admin.key");
        std::fs::write(&file, "old\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_key_file(&file, "sk-team-new").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "sk-team-new\n");
        assert_eq!(mode(&file), 0o600);
        // a symlink at the path is replaced, its target untouched
        let target = dir.join("elsewhere");
        std::fs::write(&target, "precious\n").unwrap();
        let link = dir.join("link.key");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_key_file(&link, "sk-team-other").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "sk-team-other\n");
        assert_eq!(mode(&link), 0o600);
        // and no temporary file is left behind
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags() {
        let f = parse_flags(&args(&["--port", "0", "--team=t1"]), &["port", "team"]).unwrap();
        assert_eq!(f["port"], "0");
        assert_eq!(f["team"], "t1");
        assert!(parse_flags(&args(&["--bogus", "1"]), &["port"]).is_err());
        assert!(parse_flags(&args(&["--port"]), &["port"]).is_err());
        assert!(parse_flags(&args(&["stray"]), &["port"]).is_err());
        assert!(parse_flags(&args(&["-h"]), &[]).unwrap().contains_key("help"));
    }
}
