"""The web console's benchmark: what a first visit transfers and how fast the Keys list renders.

    python bench/console.py [--keys-dev PATH] [--keys N] [--repeat N] [--quick] [--out FILE]

Starts its own keys-dev (`--port 0`, the in-memory store unless AWS_ENDPOINT_URL_DYNAMODB is set)
and drives Debian's Chromium headless through Playwright, as the console's tests do (their
fixtures in tests/console/conftest.py start the server and the browser; this script reuses them).

It measures, and prints as markdown (also written to --out):
- page weight: the bytes on the wire (encoded bodies plus headers) of the sign-in page's first
  load, then of signing in and opening the Keys page, the API's answers counted apart;
- the Keys list with N keys (seeded through the HTTP API): each "Load more" page of 100 rows,
  and all N rows in one answer (the list request answered from the browser with every item, as
  a caller with N keys on one page would see it). The console marks its own rendering with
  `performance.measure('keys-render')` (from the state change to the rows in the DOM); the
  "to next frame" figure adds style, layout and paint up to the frame after.

Figures go in bench/README.md (bash bench/run.sh --readme); nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "console"))

from conftest import CHROMIUM, CHROMIUM_ARGS, _start, _stop, sign_in  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

WEIGHT_TARGET = 100 * 1024
RENDER_TARGET_MS = 200
PAGE = 100  # the console's page size

# Resolves once the list holds `rows` rows, with the console's own measures: `keys-render` (its
# first insertion of the list's rows) and `keys-render-all` (the last, when a long list fills in
# a chunk a frame), each with the time from its start to the frame after it (one animation frame
# and a task after it, so its paint is done). A MutationObserver sees rows as soon as the task
# that inserted them ends.
WAIT_FOR_RENDER = """(rows) => { window.__render = new Promise((resolve) => {
  const tbody = document.querySelector('#keys-rows');
  const out = {};
  const after = (name, key) => {
    const e = performance.getEntriesByName(name).pop();
    out[key] = e.duration;
    requestAnimationFrame(() => setTimeout(() => {
      out[key + 'Frame'] = performance.now() - e.startTime;
      if ('allFrame' in out && 'firstFrame' in out) resolve(out);
    }));
  };
  const seen = new MutationObserver(() => {
    const n = tbody.querySelectorAll('tr').length;
    if (n > 0 && !('first' in out)) after('keys-render', 'first');
    if (n !== rows) return;
    seen.disconnect();
    after('keys-render-all', 'all');
  });
  seen.observe(tbody, { childList: true });
}); }"""


def transferred(request) -> tuple[str, int]:
    """A finished request's path and the bytes its answer took on the wire."""
    sizes = request.sizes()
    return urllib.parse.urlparse(request.url).path, sizes["responseBodySize"] + sizes["responseHeadersSize"]


def is_api(path: str) -> bool:
    return path in ("/me", "/keys") or path.startswith("/keys/") or path.startswith("/audit")


def weight(browser, server) -> dict:
    ctx = browser.new_context(base_url=server.url)
    page = ctx.new_page()
    seen: list[tuple[str, int]] = []
    page.on("requestfinished", lambda req: seen.append(transferred(req)))
    page.goto("/", wait_until="networkidle")
    first = list(seen)
    seen.clear()
    sign_in(page, server.admin_key, heading="Keys")
    expect(page.locator("#keys-rows tr").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    after = list(seen)
    ctx.close()
    total = lambda rs: (len(rs), sum(size for _, size in rs))  # noqa: E731
    return {
        "first": total(first),
        "static": total([r for r in after if not is_api(r[0])]),
        "api": total([r for r in after if is_api(r[0])]),
        "files": sorted(first),
    }


def seed(server, project: str, n: int):
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: server.api.project_key(project, name=f"bench key {i:04d}"), range(n)))


def all_items(server, project: str) -> list:
    items, cursor = [], None
    while True:
        page = server.api.list(projectId=project, limit=PAGE, cursor=cursor)
        items += page["items"]
        cursor = page.get("nextCursor")
        if not cursor:
            return items


def open_project(page, project: str):
    with page.expect_response(lambda r: f"projectId={project}" in r.url):
        page.get_by_label("Project", exact=True).fill(project)
    expect(page.get_by_role("heading", level=1, name="API keys", exact=True)).to_be_visible()


def load_more(browser, server, project: str, n: int, repeat: int) -> list[dict]:
    """Every "Load more" page's render, `repeat` times through the whole list."""
    pages = []
    for _ in range(repeat):
        ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
        page = ctx.new_page()
        sign_in(page, server.admin_key, heading="Keys")
        open_project(page, project)
        rows = page.locator("#keys-rows tr")
        expect(rows).to_have_count(min(PAGE, n))
        for count in range(2 * PAGE, n + 1, PAGE):
            page.evaluate(WAIT_FOR_RENDER, count)
            page.get_by_role("button", name="Load more").click()
            pages.append(page.evaluate("window.__render"))
        ctx.close()
    return pages


def all_at_once(browser, server, project: str, items: list, repeat: int) -> list[dict]:
    """All of `items` in one list answer: a new search each time redraws every row."""
    body = json.dumps({"items": items, "nextCursor": None})
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 860})
    page = ctx.new_page()
    sign_in(page, server.admin_key, heading="Keys")
    open_project(page, project)

    def answer(route):
        query = urllib.parse.parse_qs(urllib.parse.urlparse(route.request.url).query)
        if urllib.parse.urlparse(route.request.url).path == "/keys" and "cursor" not in query:
            route.fulfill(status=200, content_type="application/json", body=body)
        else:
            route.continue_()

    page.route("**/keys?*", answer)
    runs = []
    for i in range(repeat + 1):  # the first run warms the page up and is not counted
        page.evaluate(WAIT_FOR_RENDER, len(items))
        page.get_by_role("searchbox", name="Search").fill(f"bench key {i}")
        result = page.evaluate("window.__render")
        if i:
            runs.append(result)
    ctx.close()
    return runs


def bare_table(browser, n: int, repeat: int) -> list[tuple[float, float]]:
    """A plain table of `n` text rows put in at once, then its layout forced: what the browser
    costs on this machine for that many rows, whatever the console does."""
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.set_content("<table style='width:100%;border-collapse:collapse'><tbody></tbody></table>")
    runs = [
        page.evaluate(
            """(n) => { const body = document.querySelector('tbody'); let h = '';
              for (let i = 0; i < n; i++) h += `<tr><td>bench key ${i} <span>sk-project-...abcd</span></td>`
                + '<td>Active</td><td>sk-team-ABCDEFGHIJKL</td><td>Dec 3, 2026</td><td>Never</td><td>0</td>'
                + '<td><a href="#">Detail</a> <button>c</button> <button>m</button></td></tr>';
              const t0 = performance.now(); body.innerHTML = h; const t1 = performance.now();
              body.offsetHeight; return [t1 - t0, performance.now() - t1]; }""",
            n,
        )
        for _ in range(repeat + 1)
    ][1:]
    page.close()
    return runs


def ms(values) -> str:
    return f"{statistics.median(values):.1f} ms"


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def report(w, pages, once, plain, n, repeat, browser_version, store) -> str:
    kb = lambda b: f"{b:,} B ({b / 1024:.1f} KB)"  # noqa: E731
    first_load = w["first"][1] + w["static"][1]
    lines = [
        "## Web console in headless Chromium",
        "",
        f"Measured {datetime.date.today().isoformat()} at commit {commit()}, Chromium {browser_version}, "
        f"keys-dev on its {store} store (`bench/console.py`).",
        "",
        "### Page weight",
        "",
        "| what | requests | transferred |",
        "|---|---:|---:|",
        f"| the sign-in page, first load | {w['first'][0]} | {kb(w['first'][1])} |",
        f"| signing in and opening Keys: files | {w['static'][0]} | {kb(w['static'][1])} |",
        f"| signing in and opening Keys: API answers | {w['api'][0]} | {kb(w['api'][1])} |",
        f"| **first load, files** (target ≤ 100 KB) | {w['first'][0] + w['static'][0]} | **{kb(first_load)}** "
        f"{'✅' if first_load <= WEIGHT_TARGET else '❌'} |",
        "",
        "Per file on the sign-in page: "
        + ", ".join(f"`{path}` {size:,} B" for path, size in w["files"])
        + ".",
        "",
        f"### The Keys list with {n:,} keys",
        "",
        "| case | runs | render (median) | to next frame (median) |",
        "|---|---:|---:|---:|",
    ]
    if pages:
        lines.append(
            f"| one \"Load more\" page of {PAGE} rows | {len(pages)} | {ms([p['first'] for p in pages])} "
            f"| {ms([p['firstFrame'] for p in pages])} |"
        )
    first = statistics.median([r["firstFrame"] for r in once])
    ok = "✅" if first < RENDER_TARGET_MS else "❌"
    lines += [
        f"| {n:,} rows in one answer: the first rows on screen (target < 200 ms) | {len(once)} | "
        f"{ms([r['first'] for r in once])} | **{first:.1f} ms** {ok} |",
        f"| {n:,} rows in one answer: all of them in the list | {len(once)} | "
        f"{ms([r['all'] for r in once])} | {ms([r['allFrame'] for r in once])} |",
        f"| for scale: a bare {n:,}-row table of plain text, inserted at once | {len(plain)} | "
        f"{ms([p[0] for p in plain])} | {ms([p[0] + p[1] for p in plain])} (to its layout) |",
        "",
        "Render: from the list's state change to rows in the DOM (the console's own measures: "
        "`keys-render` for its first insertion, `keys-render-all` for its last). To next frame: "
        "the same start to the frame after, so style, layout and paint are in. A list longer than "
        f"{PAGE} rows goes in {PAGE} rows a frame, so the first rows show at once and the page "
        "stays responsive while the rest fills in; the frame that paints the first rows also adds "
        f"the next {PAGE}. {repeat} runs a case; medians.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys-dev", help="the keys-dev binary (default target/debug/keys-dev)")
    ap.add_argument("--keys", type=int, default=1000, help="keys in the list (default 1000)")
    ap.add_argument("--repeat", type=int, default=10, help="runs a case (default 10)")
    ap.add_argument("--quick", action="store_true", help="200 keys, 2 runs: to check the script")
    ap.add_argument("--out", help="also write the report here")
    a = ap.parse_args()
    if a.quick:
        a.keys, a.repeat = 200, 2
    if a.keys_dev:
        os.environ["KEYS_DEV_BIN"] = str(Path(a.keys_dev).resolve())
    store = "DynamoDB Local" if os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") else "in-memory"
    tmp = Path(tempfile.mkdtemp(prefix="console-bench-"))
    server = _start("dynamodb" if store != "in-memory" else "memory", tmp)
    try:
        project = f"bench-{uuid.uuid4().hex[:6]}"
        seed(server, project, a.keys)
        items = all_items(server, project)
        assert len(items) == a.keys, f"seeded {a.keys} keys, listed {len(items)}"
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                w = weight(browser, server)
                pages = load_more(browser, server, project, a.keys, max(1, a.repeat // 5))
                once = all_at_once(browser, server, project, items, a.repeat)
                plain = bare_table(browser, a.keys, a.repeat)
                text = report(w, pages, once, plain, a.keys, a.repeat, browser.version, store)
            finally:
                browser.close()
    finally:
        _stop(server)
    leaked = [s for s in server.secrets if s in server.log()]
    assert not leaked, "keys-dev's log holds a key"
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
