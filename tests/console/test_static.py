"""The console's files: security headers, gzip, caching, and the first load's size."""

import gzip
import http.client
import re
from urllib.parse import urlsplit

from conftest import shot

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


def fetch(server, path, method="GET", accept="gzip"):
    u = urlsplit(server.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def assert_secure(h):
    assert h["content-security-policy"] == CSP
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert h["vary"] == "Accept-Encoding"


def assets_of(index: str):
    return re.findall(r'(?:src|href)="(/console/[0-9a-f]{12}/[^"]+)"', index)


def test_index_and_assets_have_security_headers_and_gzip(server):
    status, h, body = fetch(server, "/")
    assert status == 200
    assert_secure(h)
    assert h["content-type"] == "text/html; charset=utf-8"
    assert h["cache-control"] == "no-cache"
    assert h["content-encoding"] == "gzip"
    index = gzip.decompress(body).decode()
    status, plain_h, plain = fetch(server, "/", accept=None)
    assert "content-encoding" not in plain_h and plain.decode() == index
    assets = assets_of(index)
    assert any(a.endswith("/app.js") for a in assets) and any(a.endswith(".css") for a in assets)
    for path in assets:
        status, h, body = fetch(server, path)
        assert status == 200, path
        assert_secure(h)
        assert h["cache-control"] == "public, max-age=31536000, immutable"
        assert h["content-encoding"] == "gzip"
        gzip.decompress(body)
        kind = h["content-type"]
        if path.endswith(".js"):
            assert kind == "text/javascript; charset=utf-8"
        elif path.endswith(".css"):
            assert kind == "text/css; charset=utf-8"
    # gzip refused with q=0: identity
    _, h, _ = fetch(server, assets[0], accept="gzip;q=0, br")
    assert "content-encoding" not in h


def test_console_paths_redirect_404_and_405(server):
    for path in ("/console", "/console/"):
        status, h, _ = fetch(server, path)
        assert status == 302 and h["location"] == "/"
        assert_secure(h)
    for path in ("/console/000000000000/app.js", "/console/nope.js"):
        status, h, _ = fetch(server, path)
        assert status == 404 and h["content-type"].startswith("text/plain")
        assert_secure(h)
    status, h, _ = fetch(server, "/", method="POST")
    assert status == 405 and h["allow"] == "GET, HEAD"
    status, h, body = fetch(server, "/", method="HEAD")
    assert status == 200 and body == b"" and h["content-type"].startswith("text/html")


def test_first_load_is_under_100_kb_and_loads_nothing_from_elsewhere(page, server):
    transferred = []
    origins = set()

    def done(request):
        origins.add(f"{urlsplit(request.url).scheme}://{urlsplit(request.url).netloc}")
        resp = request.response()
        sizes = request.sizes()
        transferred.append((request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"], resp.headers.get("content-encoding")))

    page.on("requestfinished", done)
    page.goto("/")
    page.get_by_label("API key").wait_for()
    page.wait_for_load_state("networkidle")
    total = sum(n for _, n, _ in transferred)
    print(f"first load: {len(transferred)} requests, {total} bytes transferred (gzip)")
    assert origins == {server.url}, origins
    assert all(enc == "gzip" for url, _, enc in transferred if "/console/" in url or url.endswith("/")), transferred
    assert total <= 100_000, transferred
    shot(page, server, "sign-in")
