"""bench/console.py runs and reports what it is for (its figures are the benchmark's to judge;
here only the page weight, which is counted, not timed)."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_the_console_benchmark_reports_weight_and_render(tmp_path):
    out = tmp_path / "console.md"
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "console.py"), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    report = out.read_text()
    assert report.strip() == run.stdout.strip(), "the printed report is the written one"
    for heading in ("## Web console in headless Chromium", "### Page weight", "### The Keys list with 200 keys"):
        assert heading in report, report
    # the first load's files, counted: within the 100 KB budget, and the scripts are all there
    m = re.search(r"\| \*\*first load, files\*\* \(target ≤ 100 KB\) \| (\d+) \| \*\*([\d,]+) B", report)
    assert m, report
    requests, size = int(m.group(1)), int(m.group(2).replace(",", ""))
    assert requests >= 10 and 10_000 < size <= 100 * 1024, report
    for script in ("app.js", "views/keys.js", "console.css"):
        assert f"/{script}`" in report, script
    # both render cases were measured, with numbers
    assert re.search(r'\| one "Load more" page of 100 rows \| 1 \| [\d.]+ ms \| [\d.]+ ms \|', report), report
    assert re.search(r"\| 200 rows in one answer: the first rows on screen \(target < 200 ms\) \| 2 \| [\d.]+ ms \| \*\*[\d.]+ ms\*\*", report), report
    assert re.search(r"\| 200 rows in one answer: all of them in the list \| 2 \| [\d.]+ ms \| [\d.]+ ms \|", report), report
    assert re.search(r"\| for scale: a bare 200-row table of plain text, inserted at once \| 2 \| [\d.]+ ms", report), report
