use std::io::Read;

use super::*;

fn get(path: &str, accept: Option<&str>) -> Reply {
    respond(&Method::GET, path, accept).unwrap_or_else(|| panic!("{path} is the console's"))
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers().get(name).unwrap_or_else(|| panic!("no {name}")).to_str().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    // Reproducible: no file name, mtime 0.
    assert_eq!(&bytes[..8], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0], "gzip header");
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

const SECURITY: [(&str, &str); 4] = [
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("vary", "Accept-Encoding"),
];

fn assert_secure(r: &Reply) {
    for (name, value) in SECURITY {
        assert_eq!(header(r, name), value, "{name} on a {}", r.status());
    }
}

#[test]
fn the_version_is_twelve_hex_digits_and_names_the_base() {
    assert_eq!(VERSION.len(), 12);
    assert!(VERSION.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(BASE, format!("/console/{VERSION}/"));
}

#[test]
fn the_index_is_served_at_the_root_uncached_with_the_asset_base_filled_in() {
    let r = get("/", None);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    assert!(r.headers().get("content-encoding").is_none());
    assert_secure(&r);
    let html = std::str::from_utf8(r.body()).unwrap();
    assert!(!html.contains("%ASSETS%"), "the placeholder is replaced");
    assert!(html.contains(&format!("{BASE}app.js")), "{html}");
    assert!(html.contains(&format!("{BASE}console.css")), "{html}");
}

#[test]
fn assets_are_immutable_under_their_version_with_the_right_content_type() {
    for a in ASSETS.iter().filter(|a| a.path != "index.html") {
        let r = get(&format!("{BASE}{}", a.path), None);
        assert_eq!(r.status(), StatusCode::OK, "{}", a.path);
        assert_eq!(header(&r, "cache-control"), IMMUTABLE);
        assert_eq!(header(&r, "content-type"), a.content_type);
        assert_eq!(r.body().as_ref(), a.raw);
        assert_secure(&r);
    }
    let ct = |p: &str| header(&get(&format!("{BASE}{p}"), None), "content-type").to_owned();
    assert_eq!(ct("app.js"), "text/javascript; charset=utf-8");
    assert_eq!(ct("console.css"), "text/css; charset=utf-8");
    assert_eq!(ct("icon.svg"), "image/svg+xml; charset=utf-8");
}

/// ` onclick=`, ` style="`: what a strict CSP refuses in markup.
fn inline_attribute(text: &str) -> Option<&str> {
    let b = text.as_bytes();
    for (i, w) in b.windows(3).enumerate() {
        if !w[0].is_ascii_whitespace() {
            continue;
        }
        let rest = &text[i + 1..];
        let name_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let name = &rest[..name_len];
        let after = rest[name_len..].trim_start();
        let is_attr =
            after.starts_with("=\"") || after.starts_with("='") || after.starts_with("=`");
        if is_attr && ((name.len() > 2 && name.starts_with("on")) || name == "style") {
            return Some(&rest[..name_len + 1]);
        }
    }
    None
}

#[test]
fn every_text_asset_says_its_charset_and_nothing_is_inline() {
    for a in ASSETS {
        if a.content_type.starts_with("text/") {
            assert!(a.content_type.ends_with("; charset=utf-8"), "{}", a.path);
        }
        if a.path.ends_with(".css") {
            let text = std::str::from_utf8(a.raw).unwrap();
            assert!(!text.contains("url(http") && !text.contains("@import"), "{}", a.path);
        }
        if a.path.ends_with(".html") || a.path.ends_with(".js") {
            let text = std::str::from_utf8(a.raw).unwrap();
            assert_eq!(inline_attribute(text), None, "{}: an inline handler or style", a.path);
            assert!(!text.contains("<script>"), "{}: inline script", a.path);
            for load in [
                "src=\"http", "href=\"http", "url(http", "from 'http", "import('http",
                "fetch('http", "//cdn",
            ] {
                assert!(!text.contains(load), "{}: loads from another origin ({load})", a.path);
            }
            assert!(!text.contains("console.log") && !text.contains("localStorage"), "{}", a.path);
        }
    }
    assert_eq!(inline_attribute("<a onclick=\"x()\">"), Some("onclick="));
    assert_eq!(inline_attribute("<p style='color:red'>"), Some("style="));
    assert_eq!(inline_attribute("<p>only one</p> on=1"), None);
}

#[test]
fn gzip_is_served_when_accepted_and_holds_the_same_bytes() {
    let r = get("/", Some("gzip, deflate, br"));
    assert_eq!(header(&r, "content-encoding"), "gzip");
    assert_eq!(gunzip(r.body()), get("/", None).body().as_ref());
    for a in ASSETS {
        assert_eq!(gunzip(a.gzip), a.raw, "{}", a.path);
        assert!(a.gzip.len() < a.raw.len() || a.raw.len() < 200, "{} compresses", a.path);
    }
    let js = get(&format!("{BASE}app.js"), Some("gzip"));
    assert_eq!(header(&js, "content-encoding"), "gzip");
    assert_eq!(header(&js, "vary"), "Accept-Encoding");
    assert_eq!(js.body().as_ref(), asset("app.js").unwrap().gzip);
}

#[test]
fn accept_encoding_q_values_are_honoured() {
    for yes in [
        "gzip", "GZIP", "x-gzip", "deflate, gzip;q=0.5", "gzip;q=1.0", "*", "br, *;q=0.1",
        " gzip ; q=0.001 ",
    ] {
        assert!(accepts_gzip(Some(yes)), "{yes}");
    }
    for no in [
        "", "identity", "br, deflate", "gzip;q=0", "gzip;q=0.000", "*;q=0", "gzip;q=0, *",
        "*, gzip;q=0", "gzip;q=nonsense",
    ] {
        assert!(!accepts_gzip(Some(no)), "{no}");
    }
    assert!(!accepts_gzip(None));
    let r = get("/", Some("gzip;q=0, *"));
    assert!(r.headers().get("content-encoding").is_none());
    assert_eq!(header(&r, "vary"), "Accept-Encoding");
}

#[test]
fn console_without_a_file_redirects_to_the_root() {
    for path in ["/console", "/console/"] {
        let r = get(path, Some("gzip"));
        assert_eq!(r.status(), StatusCode::FOUND, "{path}");
        assert_eq!(header(&r, "location"), "/");
        assert_secure(&r);
    }
}

#[test]
fn unknown_files_and_old_versions_are_plain_404s() {
    let old = "/console/000000000000/app.js";
    assert_ne!(VERSION, "000000000000");
    for path in [
        old.to_owned(),
        format!("{BASE}nope.js"),
        format!("{BASE}index.html"),
        BASE.to_owned(),
        format!("/console/{VERSION}"),
        format!("{BASE}../{VERSION}/app.js"),
        "/console/app.js".to_owned(),
    ] {
        let r = get(&path, Some("gzip"));
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert_eq!(header(&r, "content-type"), "text/plain; charset=utf-8");
        assert!(r.headers().get("content-encoding").is_none());
        assert_secure(&r);
    }
}

#[test]
fn other_methods_are_405_with_allow() {
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS] {
        for path in ["/", "/console", "/console/", &format!("{BASE}app.js"), "/console/x"] {
            let r = respond(&method, path, None).unwrap();
            assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_eq!(header(&r, "allow"), "GET, HEAD");
            assert_secure(&r);
        }
    }
}

#[test]
fn head_has_the_get_headers_and_no_body() {
    for path in ["/".to_owned(), format!("{BASE}app.js")] {
        for accept in [None, Some("gzip")] {
            let g = get(&path, accept);
            let h = respond(&Method::HEAD, &path, accept).unwrap();
            assert_eq!(h.status(), StatusCode::OK);
            assert!(h.body().is_empty());
            assert_eq!(header(&h, "content-length"), g.body().len().to_string());
            for name in ["content-type", "cache-control", "content-encoding", "vary"] {
                assert_eq!(h.headers().get(name), g.headers().get(name), "{name}");
            }
        }
    }
}

#[test]
fn other_paths_are_not_the_consoles() {
    for path in ["/keys", "/keys/abc", "/me", "/audit", "/consoles", "/index.html", ""] {
        assert!(respond(&Method::GET, path, None).is_none(), "{path}");
    }
}

#[test]
fn the_lambda_answer_is_binary_with_the_same_headers() {
    let req = http::Request::builder()
        .method("GET")
        .uri(format!("https://example.com{BASE}app.js"))
        .header("accept-encoding", "gzip")
        .body(lambda_http::Body::Empty)
        .unwrap();
    let r = lambda_response(&req);
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(r.headers()["content-security-policy"], CSP);
    match r.body() {
        lambda_http::Body::Binary(b) => assert_eq!(b.as_slice(), asset("app.js").unwrap().gzip),
        other => panic!("{other:?}"),
    }
    let req = http::Request::builder()
        .uri("https://example.com/elsewhere")
        .body(lambda_http::Body::Empty)
        .unwrap();
    let r = lambda_response(&req);
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
}

#[test]
fn the_first_load_is_small() {
    // index.html and what it loads before any API call, gzipped: well under 100 KB.
    let total: usize = ASSETS.iter().map(|a| a.gzip.len()).sum();
    assert!(total < 100_000, "all assets gzipped: {total} bytes");
}
