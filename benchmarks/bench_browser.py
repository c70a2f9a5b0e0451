"""The HTML report and ``tracktui serve`` in headless Chromium: how soon the page shows.

    python benchmarks/bench_browser.py [--sizes 10,100] [--reps 7]

For each size, a demo database of that many runs (400 steps each, media and health events as in
``tracktui demo``), its report written by ``tracktui report`` (time and size), then the file
opened ``--reps`` times, each in a fresh browser context (no cache): first contentful paint,
DOMContentLoaded and the load event, from the page's own performance entries. Then
``tracktui serve`` on the 10-run database: from ``page.goto`` to the runs table on the
terminal (its app process started, the table drawn through the websocket). Medians; the
system's Chromium through Playwright (tests/browser.py).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.browser import (
    TERMINAL_HOOK,
    free_port,
    launch,
    new_page,
    wait_for_port,
    wait_for_screen,
)
from tui.cli import build_parser
from tui.demo_db import build_demo_database

SERVE_CHILD = (
    "import sys; from tui.cli import build_parser; from tui import serve; "
    "a = build_parser().parse_args(sys.argv[1:]); a.databases = []; sys.exit(serve.run(a))"
)
TIMINGS = """() => {
  const paint = Object.fromEntries(performance.getEntriesByType("paint")
    .map((entry) => [entry.name, entry.startTime]));
  const navigation = performance.getEntriesByType("navigation")[0];
  return {
    fcp: paint["first-contentful-paint"] ?? paint["first-paint"] ?? -1,
    dcl: navigation.domContentLoadedEventEnd,
    load: navigation.loadEventEnd,
  };
}"""


def write_report(database: Path, output: Path) -> float:
    args = build_parser().parse_args(["report", "--db", str(database), "-o", str(output)])
    args.databases = []
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = importlib.import_module("tui.report_cli").run(args)
    if code != 0:
        raise SystemExit("tracktui report failed")
    return time.perf_counter() - started


def open_report(browser: Any, report: Path, reps: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {"fcp": [], "dcl": [], "load": []}
    for _ in range(reps):
        page, log = new_page(browser)
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_function("() => performance.getEntriesByType('paint').length > 0")
        timings = page.evaluate(TIMINGS)
        if log.errors():
            raise SystemExit(f"the report logged errors: {log.errors()}")
        page.context.close()
        for key in samples:
            samples[key].append(float(timings[key]))
    return {key: statistics.median(values) for key, values in samples.items()}


def serve_to_table(browser: Any, database: Path, reps: int) -> float:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_CHILD, "serve", "--port", str(port), "--db", str(database)],
        stdout=subprocess.DEVNULL,
    )
    samples = []
    try:
        wait_for_port(port, lambda: server.poll() is None)
        for _ in range(reps):
            page, _log = new_page(browser, 1280, 800)
            page.add_init_script(TERMINAL_HOOK)
            started = time.perf_counter()
            page.goto(f"http://127.0.0.1:{port}/")
            wait_for_screen(page, lambda text: "lora-r4-lr0.0003" in text, timeout=30)
            samples.append(time.perf_counter() - started)
            page.context.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(15)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,100", help="numbers of runs, comma-separated")
    parser.add_argument("--reps", type=int, default=7, help="page loads per size")
    options = parser.parse_args()
    sizes = [int(size) for size in options.sizes.split(",")]
    os.environ["TRACKTUI_SYSTEM_METRICS"] = "0"
    with tempfile.TemporaryDirectory() as tmp, launch() as browser:
        folder = Path(tmp)
        print(f"{'runs':>5} {'report s':>9} {'MB':>6} {'FCP ms':>8} {'DCL ms':>8} {'load ms':>8}")
        for size in sizes:
            database = folder / f"demo{size}.db"
            build_demo_database(database, runs=size)
            report = folder / f"report{size}.html"
            made = write_report(database, report)
            megabytes = report.stat().st_size / 1e6
            timings = open_report(browser, report, options.reps)
            print(
                f"{size:>5} {made:>9.2f} {megabytes:>6.2f} {timings['fcp']:>8.0f} "
                f"{timings['dcl']:>8.0f} {timings['load']:>8.0f}",
                flush=True,
            )
        database = folder / f"demo{sizes[0]}.db"
        seconds = serve_to_table(browser, database, max(3, options.reps // 2))
        print(
            f"serve, {sizes[0]} runs: page opened to runs table on screen {seconds:.2f} s (median)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
