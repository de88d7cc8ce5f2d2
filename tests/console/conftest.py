"""Fixtures of the console's browser tests.

Each store (in memory; DynamoDB Local when AWS_ENDPOINT_URL_DYNAMODB is set) gets one keys-dev
started from KEYS_DEV_BIN (default target/debug/keys-dev) with --port 0; the tests seed their
callers through the HTTP API with its bootstrap admin key, and drive Debian's Chromium through
Playwright (never a browser Playwright downloads).

Every page a test opens is checked when the test ends: no API key in any URL the page visited or
requested, in localStorage, in a cookie, in a console message, or in keys-dev's log.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/lib/chromium/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SHOTS = ROOT / "target" / "console-screenshots"
TOKEN = re.compile(r"sk-(?:team|project)-[A-Za-z0-9]{12}_[A-Za-z0-9]{20,}")

expect.set_options(timeout=10_000)


def uniq(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:6]}"


# ---------------------------------------------------------------------------------------------
# The HTTP API, as the tests' own (admin) client.


class Api:
    def __init__(self, base: str, key: str, secrets: set[str]):
        self.base = base
        self.key = key
        self.secrets = secrets

    def call(self, method: str, path: str, body=None, key: str | None = None, headers=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {key or self.key}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                raw = res.read()
                status, hdrs = res.status, dict(res.headers)
        except urllib.error.HTTPError as e:
            raw, status, hdrs = e.read(), e.code, dict(e.headers)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        if isinstance(payload, dict) and isinstance(payload.get("key"), str):
            self.secrets.add(payload["key"])
        return status, payload, hdrs

    def ok(self, method, path, body=None, key=None, expect_status=(200, 201, 204)):
        status, payload, _ = self.call(method, path, body, key)
        assert status in expect_status, f"{method} {path}: {status} {payload}"
        return payload

    def create(self, key=None, **body):
        return self.ok("POST", "/keys", body, key=key, expect_status=(201,))

    def get(self, prefix, key=None):
        return self.ok("GET", f"/keys/{prefix}", key=key, expect_status=(200,))

    def status_of(self, prefix) -> int:
        return self.call("GET", f"/keys/{prefix}")[0]

    def patch(self, prefix, key=None, **body):
        return self.ok("PATCH", f"/keys/{prefix}", body, key=key, expect_status=(200,))

    def list(self, key=None, **params):
        q = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        return self.ok("GET", f"/keys?{q}", key=key, expect_status=(200,))

    def works(self, token: str) -> bool:
        """Whether `token` passes the authorizer ("another API" behind it)."""
        return self.call("GET", "/protected/check", key=token)[0] == 200

    # Callers, seeded by the admin.
    def team_key(self, roles=(), user=None, name=None):
        return self.create(name=name or uniq("team key"), userId=user or uniq("user"), roles=list(roles))

    def project_key(self, project, roles=(), name=None, **more):
        return self.create(name=name or uniq("project key"), projectId=project, roles=list(roles), **more)



# ---------------------------------------------------------------------------------------------
# keys-dev, once per store.


@dataclass
class Server:
    store: str
    url: str
    admin_key: str
    api: Api
    stderr: Path
    secrets: set[str] = field(default_factory=set)
    proc: subprocess.Popen | None = None

    def log(self) -> str:
        return self.stderr.read_text(errors="replace")


def _keys_dev_bin() -> Path:
    b = Path(os.environ.get("KEYS_DEV_BIN", ROOT / "target" / "debug" / "keys-dev"))
    if not b.is_absolute():
        b = ROOT / b
    if not b.exists():
        pytest.fail(f"keys-dev not found at {b}: build it (cargo build -p local --bin keys-dev) or set KEYS_DEV_BIN")
    return b


def _start(store: str, tmp: Path) -> Server:
    env = dict(os.environ)
    key_file = tmp / f"admin-{store}.key"
    stderr = tmp / f"keys-dev-{store}.log"
    args = [str(_keys_dev_bin()), "--port", "0", "--key-file", str(key_file)]
    if store == "memory":
        env.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    else:
        args += ["--table", f"console-tests-{uuid.uuid4().hex[:12]}"]
    env.setdefault("RUST_LOG", "info")
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=stderr.open("w"), stdin=subprocess.DEVNULL, env=env, text=True
    )
    atexit.register(lambda: proc.poll() is None and proc.kill())  # even if pytest is interrupted
    lines: queue.Queue[str | None] = queue.Queue()

    def pump():
        for line in proc.stdout:  # keep draining so keys-dev never blocks on stdout
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    url, deadline = None, time.monotonic() + 90
    while url is None:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = None
        if line is None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"keys-dev ({store}) did not start; its log:\n{stderr.read_text()[-3000:]}")
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if m:
            url = m.group(1)
    for _ in range(100):
        if key_file.exists() and key_file.read_text().strip():
            break
        time.sleep(0.05)
    admin = key_file.read_text().strip()
    secrets = {admin}
    server = Server(store, url, admin, Api(url, admin, secrets), stderr, secrets, proc)
    return server


def _stop(server: Server):
    p = server.proc
    if p and p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def _stores():
    return ["memory", "dynamodb"]


@pytest.fixture(scope="session")
def _tmp():
    d = Path(tempfile.mkdtemp(prefix="console-tests-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session", params=_stores())
def server(request, _tmp) -> Server:
    store = request.param
    if store == "dynamodb" and not os.environ.get("AWS_ENDPOINT_URL_DYNAMODB"):
        if os.environ.get("CONSOLE_TESTS_REQUIRE_DYNAMODB") == "1":
            pytest.fail("CONSOLE_TESTS_REQUIRE_DYNAMODB=1 but AWS_ENDPOINT_URL_DYNAMODB is not set")
        pytest.skip("DynamoDB Local not running (set AWS_ENDPOINT_URL_DYNAMODB, or run through tests/run.sh)")
    s = _start(store, _tmp)
    yield s
    _stop(s)
    log = s.log()
    leaked = [t for t in s.secrets if t in log]
    assert not leaked, f"keys-dev's log holds {len(leaked)} key(s)"
    assert not TOKEN.search(log), "keys-dev's log holds something shaped like a key"


@pytest.fixture
def api(server) -> Api:
    return server.api


# ---------------------------------------------------------------------------------------------
# The browser.


@pytest.fixture(scope="session")
def browser() -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        try:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as e:  # noqa: BLE001
            pytest.fail(
                f"Playwright could not drive {CHROMIUM}: the installed Chromium and the pinned "
                f"Playwright (tests/requirements-tools.txt) may not talk to each other after a "
                f"Chromium update. {e}"
            )
        yield b
        b.close()


@dataclass
class Watch:
    urls: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def new_page(browser: Browser, server: Server, watch: Watch, width=1280, height=860) -> Page:
    ctx = browser.new_context(
        base_url=server.url,
        viewport={"width": width, "height": height},
        permissions=["clipboard-read", "clipboard-write"],
    )
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    page.on("framenavigated", lambda f: watch.urls.append(f.url))
    page.on("request", lambda r: watch.urls.append(r.url))
    page.on("console", lambda m: watch.console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: watch.errors.append(str(e)))
    return page


def check_no_leak(page: Page, server: Server, watch: Watch):
    secrets = set(server.secrets)
    secrets.update(TOKEN.findall(" ".join(watch.console)))
    try:
        local = page.evaluate("JSON.stringify(Object.assign({}, localStorage))")
    except Exception:  # noqa: BLE001  (a closed page)
        local = ""
    cookies = page.context.cookies()
    assert not cookies, f"the console set cookies: {[c['name'] for c in cookies]}"
    for where, text in (
        ("a URL", "\n".join(watch.urls)),
        ("localStorage", local),
        ("a console message", "\n".join(watch.console)),
        ("keys-dev's log", server.log()),
    ):
        assert not any(s in text for s in secrets), f"an API key appears in {where}"
        assert not TOKEN.search(text), f"something shaped like an API key appears in {where}"
    assert not watch.errors, f"JavaScript errors: {watch.errors}"
    csp = [m for m in watch.console if "Content Security Policy" in m]
    assert not csp, f"CSP violations: {csp}"


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def page(browser, server, watch) -> Page:
    p = new_page(browser, server, watch)
    yield p
    check_no_leak(p, server, watch)
    p.context.close()


@pytest.fixture
def open_page(browser, server):
    """Opens more pages (another person, a phone-sized one); each is checked like `page`."""
    opened = []

    def make(width=1280, height=860) -> Page:
        w = Watch()
        p = new_page(browser, server, w, width, height)
        opened.append((p, w))
        return p

    yield make
    for p, w in opened:
        check_no_leak(p, server, w)
        p.context.close()


# ---------------------------------------------------------------------------------------------
# What a person does.


def sign_in(page: Page, key: str, heading: str | None = None):
    page.goto("/")
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    if heading:
        expect(page.get_by_role("heading", level=1, name=heading, exact=True)).to_be_visible()


def top_message(page: Page):
    return page.locator("#messages")


def confirm_replace(page: Page, server: Server) -> str:
    """Confirms "Replace API Key" (a permanent action), reads the new key from the dialog that
    shows it once, notes it as a secret for the leak checks and closes the dialog."""
    confirm = page.get_by_role("dialog", name="Replace API Key")
    expect(confirm).to_contain_text("This is a permanent action")
    confirm.get_by_role("button", name="Replace Key").click()
    dialog = page.get_by_role("dialog", name="Your new API key")
    token = dialog.get_by_label("Your new API key").input_value()
    server.secrets.add(token)
    expect(dialog).to_contain_text("Important: copy this key now, it will not be shown again.")
    dialog.get_by_role("button", name="I have copied it").click()
    return token


def row(page: Page, name: str):
    return page.locator("tbody tr").filter(has_text=name)


def shot(page: Page, server: Server, name: str):
    d = SHOTS / server.store
    d.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(d / f"{name}.png"), full_page=True)
