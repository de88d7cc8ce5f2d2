//! The web console: plain files (`assets/`: HTML, CSS, ES modules) built into the binary by
//! `build.rs`, each with its gzip form, and served by [`respond`] from the Lambda function
//! (`src/main.rs`) or the dev server (`keys-dev`).
//!
//! - `GET|HEAD /` → `index.html`, `Cache-Control: no-cache` (it names the current asset version);
//! - `GET|HEAD /console/<version>/<file>` → the file, cached for a year (`immutable`): a new
//!   build has a new version, so a browser never mixes files of two builds;
//! - `/console` and `/console/` → 302 to `/`; any other `/console/...` (an unknown file, an
//!   old version) → 404; another method on any of these → 405 with `Allow: GET, HEAD`.
//!
//! Every answer carries a strict Content-Security-Policy (no inline script or style, nothing
//! from another origin), `nosniff`, `no-referrer` and `Vary: Accept-Encoding`. The console
//! pages are public: only the API behind them needs a key.

use std::borrow::Cow;

use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    LOCATION, REFERRER_POLICY, VARY, X_CONTENT_TYPE_OPTIONS,
};
use http::{Method, Response, StatusCode};

/// One file of `assets/`.
#[derive(Debug)]
pub struct Asset {
    /// Relative to `assets/`, `/`-separated.
    pub path: &'static str,
    pub content_type: &'static str,
    pub raw: &'static [u8],
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The console's Content-Security-Policy: everything from this origin, in files.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

pub type Reply = Response<Cow<'static, [u8]>>;

/// The asset at `path` (relative to `assets/`), if there is one.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.binary_search_by(|a| a.path.cmp(path)).ok().map(|i| &ASSETS[i])
}

/// The console's answer to `method path`, or `None` when the path is not the console's
/// (`/` and `/console...`).
pub fn respond(method: &Method, path: &str, accept_encoding: Option<&str>) -> Option<Reply> {
    let target = Target::of(path)?;
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        r.headers_mut().insert(ALLOW, http::HeaderValue::from_static("GET, HEAD"));
        return Some(head_only(method, r));
    }
    let reply = match target {
        Target::Index => {
            file(asset("index.html").expect("index.html is built in"), NO_CACHE, accept_encoding)
        }
        Target::Redirect => {
            let mut r = plain(StatusCode::FOUND, "Found: /\n");
            r.headers_mut().insert(LOCATION, http::HeaderValue::from_static("/"));
            r
        }
        Target::Asset(rest) => match rest
            .strip_prefix(VERSION)
            .and_then(|r| r.strip_prefix('/'))
            .filter(|file| *file != "index.html")
            .and_then(asset)
        {
            Some(a) => file(a, IMMUTABLE, accept_encoding),
            None => plain(StatusCode::NOT_FOUND, "Not Found\n"),
        },
    };
    Some(head_only(method, reply))
}

/// What a console path names.
enum Target<'a> {
    Index,
    Redirect,
    /// What follows `/console/`.
    Asset(&'a str),
}

impl<'a> Target<'a> {
    fn of(path: &'a str) -> Option<Self> {
        match path {
            "/" => Some(Target::Index),
            "/console" | "/console/" => Some(Target::Redirect),
            _ => path.strip_prefix("/console/").map(Target::Asset),
        }
    }
}

/// Whether `Accept-Encoding` accepts gzip (RFC 9110 §12.5.3): `gzip` (or `x-gzip`) with a
/// q-value above 0, or, when gzip is not named, `*` with a q-value above 0.
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    let mut star = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0_f32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=') {
                if k.trim().eq_ignore_ascii_case("q") {
                    q = v.trim().parse().unwrap_or(0.0);
                }
            }
        }
        match coding.as_str() {
            "gzip" | "x-gzip" => return q > 0.0,
            "*" => star = Some(q > 0.0),
            _ => {}
        }
    }
    star.unwrap_or(false)
}

fn file(a: &'static Asset, cache: &'static str, accept_encoding: Option<&str>) -> Reply {
    let gzip = accepts_gzip(accept_encoding);
    let body: &'static [u8] = if gzip { a.gzip } else { a.raw };
    let mut r = Response::new(Cow::Borrowed(body));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, http::HeaderValue::from_static(a.content_type));
    h.insert(CACHE_CONTROL, http::HeaderValue::from_static(cache));
    if gzip {
        h.insert(CONTENT_ENCODING, http::HeaderValue::from_static("gzip"));
    }
    secure(r)
}

fn plain(status: StatusCode, text: &'static str) -> Reply {
    let mut r = Response::new(Cow::Borrowed(text.as_bytes()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(CACHE_CONTROL, http::HeaderValue::from_static(NO_CACHE));
    secure(r)
}

/// The headers every console answer carries.
fn secure(mut r: Reply) -> Reply {
    let h = r.headers_mut();
    h.insert(CONTENT_SECURITY_POLICY, http::HeaderValue::from_static(CSP));
    h.insert(X_CONTENT_TYPE_OPTIONS, http::HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, http::HeaderValue::from_static("no-referrer"));
    h.insert(VARY, http::HeaderValue::from_static("Accept-Encoding"));
    r
}

/// A HEAD answer: the GET answer's headers (with its length), no body.
fn head_only(method: &Method, mut r: Reply) -> Reply {
    if method == Method::HEAD {
        let len = r.body().len();
        r.headers_mut().insert(CONTENT_LENGTH, len.into());
        *r.body_mut() = Cow::Borrowed(&[]);
    }
    r
}

/// The Lambda function's answer to an API Gateway request: the console's, or a 404 for a path
/// that is not the console's.
pub fn lambda_response(req: &lambda_http::Request) -> lambda_http::Response<lambda_http::Body> {
    use lambda_http::RequestExt;
    let raw = req.raw_http_path();
    let path = if raw.is_empty() { req.uri().path() } else { raw };
    let accept = req.headers().get(http::header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok());
    let reply = respond(req.method(), path, accept)
        .unwrap_or_else(|| secure(plain(StatusCode::NOT_FOUND, "Not Found\n")));
    let (parts, body) = reply.into_parts();
    let body = if body.is_empty() {
        lambda_http::Body::Empty
    } else {
        lambda_http::Body::Binary(body.into_owned())
    };
    lambda_http::Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests;
