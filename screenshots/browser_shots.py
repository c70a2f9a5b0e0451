"""Render the README's browser screenshots (PNG) from the deterministic demo database.

    python screenshots/browser_shots.py

Writes screenshots/report.png (the top of ``tracktui report``'s page: the runs table and the
first charts) and screenshots/serve.png (``tracktui serve`` in the browser: the runs table),
both taken by headless Chromium through Playwright (tests/browser.py). The demo's times are
moved to now so the ages read as a fresh sweep.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.browser import (  # noqa: E402
    TERMINAL_HOOK,
    free_port,
    launch,
    new_page,
    terminal_text,
    wait_for_port,
    wait_for_screen,
)
from tui.cli import build_parser  # noqa: E402
from tui.demo_db import build_demo_database  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

MODULES = {"report": "tui.report_cli", "serve": "tui.serve"}

# The subcommand through the real parser and module (what `tracktui serve ...` runs).
SERVE_CHILD = (
    "import sys; from tui.cli import build_parser; from tui import serve; "
    "a = build_parser().parse_args(sys.argv[1:]); a.databases = []; sys.exit(serve.run(a))"
)


def command(argv: list[str]) -> int:
    """Run one ``tracktui`` subcommand in this process, through its parser and module."""
    args = build_parser().parse_args(argv)
    args.databases = []
    module = importlib.import_module(MODULES[argv[0]])
    return int(module.run(args))


def settled(page: Page, rounds: int = 3) -> None:
    """Until the terminal's text is the same for ``rounds`` looks in a row (plots drawn)."""
    last, same = "", 0
    while same < rounds:
        page.wait_for_timeout(200)
        text = terminal_text(page)
        same = same + 1 if text == last else 0
        last = text


def shoot_report(browser: Browser, database: Path, folder: Path) -> None:
    output = folder / "report.html"
    if command(["report", "--db", database.name, "-o", str(output)]) != 0:
        raise SystemExit("tracktui report failed")
    page, log = new_page(browser, 1280, 900)
    page.goto(output.as_uri(), wait_until="load")
    page.screenshot(path=str(HERE / "report.png"))
    if log.errors():
        raise SystemExit(f"the report logged errors: {log.errors()}")
    page.context.close()


def shoot_serve(browser: Browser, database: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVE_CHILD, "serve", "--port", str(port), "--db", database.name],
        stdout=subprocess.DEVNULL,
        cwd=database.parent,  # the header shows the database as given: demo.db
    )
    try:
        wait_for_port(port, lambda: server.poll() is None)
        page, log = new_page(browser, 1280, 800)
        page.add_init_script(TERMINAL_HOOK)
        page.goto(f"http://127.0.0.1:{port}/")
        wait_for_screen(page, lambda text: "lora-r4-lr0.0003" in text and "GPU 0" in text)
        settled(page)
        page.screenshot(path=str(HERE / "serve.png"))
        if log.errors():
            raise SystemExit(f"the served page logged errors: {log.errors()}")
        page.context.close()
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        database = folder / "demo.db"
        build_demo_database(database, now=time.time())
        with launch() as browser:
            here = os.getcwd()
            os.chdir(folder)  # the report names its database as given: demo.db
            try:
                shoot_report(browser, database, folder)
            finally:
                os.chdir(here)
            shoot_serve(browser, database)
    print(f"wrote {HERE / 'report.png'} and {HERE / 'serve.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
