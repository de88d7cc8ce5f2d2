//! Builds the console's asset table: every file under `assets/`, its content type, its bytes and
//! its gzip bytes, all embedded in the binary. One version string (the first 12 hex digits of a
//! SHA-256 over every file's path and bytes) names the immutable asset URLs, `/console/<version>/`,
//! which is written into `index.html` in place of `%ASSETS%`.

use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use sha2::{Digest, Sha256};

const PLACEHOLDER: &str = "%ASSETS%";

fn main() {
    println!("cargo:rerun-if-changed=assets");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("assets");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    assert!(files.iter().any(|(p, _)| p == "index.html"), "assets/index.html is missing");

    // The version: paths and bytes, each length-prefixed so no two trees hash alike.
    let mut hash = Sha256::new();
    for (path, bytes) in &files {
        hash.update((path.len() as u64).to_le_bytes());
        hash.update(path.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    let version: String = hash.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
    let base = format!("/console/{version}/");

    let dir = out.join("console-assets");
    let _ = fs::remove_dir_all(&dir);
    let mut table = String::new();
    writeln!(table, "/// The first 12 hex digits of SHA-256 over every asset's path and bytes.")
        .unwrap();
    writeln!(table, "pub const VERSION: &str = {version:?};").unwrap();
    writeln!(table, "/// Where the assets are served: `/console/<VERSION>/`.").unwrap();
    writeln!(table, "pub const BASE: &str = {base:?};").unwrap();
    writeln!(table, "/// Every file of `assets/`, sorted by path.").unwrap();
    writeln!(table, "pub static ASSETS: &[Asset] = &[").unwrap();
    for (i, (path, bytes)) in files.iter().enumerate() {
        let bytes = if path == "index.html" {
            let text = std::str::from_utf8(bytes).expect("index.html is UTF-8");
            assert!(text.contains(PLACEHOLDER), "index.html names no {PLACEHOLDER}");
            text.replace(PLACEHOLDER, &base).into_bytes()
        } else {
            bytes.clone()
        };
        let content_type = content_type(path);
        let raw_path = dir.join(format!("{i}.raw"));
        let gz_path = dir.join(format!("{i}.gz"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(&raw_path, &bytes).unwrap();
        fs::write(&gz_path, gzip(&bytes)).unwrap();
        writeln!(
            table,
            "    Asset {{ path: {path:?}, content_type: {content_type:?}, raw: include_bytes!({:?}), gzip: include_bytes!({:?}) }},",
            raw_path.display().to_string(),
            gz_path.display().to_string()
        )
        .unwrap();
    }
    writeln!(table, "];").unwrap();
    fs::write(out.join("assets.rs"), table).unwrap();
}

/// Every file under `dir`, as (path relative to `root` with `/` separators, bytes).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, Vec<u8>)>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with('.') || name.ends_with('~') {
            continue; // editor and OS leftovers
        }
        let rel = path.strip_prefix(root).unwrap();
        let rel: Vec<String> =
            rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        files.push((rel.join("/"), fs::read(&path).unwrap()));
    }
}

/// Deterministic gzip (no file name, mtime 0), best compression.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc: GzEncoder<Vec<u8>> =
        GzBuilder::new().mtime(0).write(Vec::new(), Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "webmanifest" => "application/manifest+json; charset=utf-8",
        "svg" => "image/svg+xml; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => panic!("assets/{path}: no content type known for '.{ext}' (add it to build.rs)"),
    }
}
