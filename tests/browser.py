"""The browser tests' helpers: headless Chromium (the system's, driven by Playwright), a free
port, a record of what a page did (console errors, page errors, every request), and a
``tracktui serve`` process to point it at (:class:`Served`).

The browser is Debian's ``chromium`` (``.ci/run`` installs it when missing); Playwright never
downloads one. Where Playwright or Chromium is missing, :func:`launch` skips with the reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil
import pytest

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Error,
        Page,
        Request,
        Response,
        WebSocket,
    )


TRACKTUI = [sys.executable, "-c", "import sys; from tui.cli import main; sys.exit(main())"]
STOP_S = 15.0


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def launch() -> Iterator[Browser]:
    """Headless Chromium for one test module; a skip saying what is missing, if anything."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install playwright; no browser download)")
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium on PATH (apt-get install chromium; .ci/run does it)")
    flags = ["--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to sandbox as root (containers, CI)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=flags)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, alive: Callable[[], bool], timeout: float = 20.0) -> None:
    """Until something accepts on 127.0.0.1:``port``; fails early when ``alive()`` turns false
    (the server exited)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise AssertionError(f"the server exited before listening on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)  # polling a condition: how often, not how long
    raise AssertionError(f"nothing listened on port {port} within {timeout} s")


@dataclass
class PageLog:
    """What a page did: console errors, uncaught exceptions and every request's URL."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> Page:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(message.text)

        def on_failed(request: Request) -> None:
            self.failed.append(f"{request.url}: {request.failure}")

        def on_response(response: Response) -> None:
            if response.status >= 400:
                self.bad_responses.append(f"{response.status} {response.url}")

        def on_page_error(error: Error) -> None:
            self.page_errors.append(str(error))

        def on_request(request: Request) -> None:
            self.requests.append(request.url)

        def on_websocket(websocket: WebSocket) -> None:
            self.requests.append(websocket.url)

        page.on("console", on_console)
        page.on("pageerror", on_page_error)
        page.on("request", on_request)
        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        page.on("websocket", on_websocket)
        return page

    def errors(self) -> list[str]:
        return [*self.console_errors, *self.page_errors, *self.failed, *self.bad_responses]


def new_page(browser: Browser, width: int = 1280, height: int = 800) -> tuple[Page, PageLog]:
    """A fresh page in its own context (no shared cache or storage), logged from the start."""
    context = browser.new_context(viewport={"width": width, "height": height})
    log = PageLog()
    return log.attach(context.new_page()), log


def evaluate(page: Page, script: str, arg: Any = None) -> Any:
    """``page.evaluate`` typed as ``Any`` for the tests' own checks."""
    return page.evaluate(script, arg)


# xterm.js keeps the screen in its buffer, drawn on a canvas (WebGL): there is no text in the
# DOM to read. textual-serve's page does not expose its Terminal, so this script, run before the
# page's own, catches it as it is assigned (``this.terminal = new Terminal(...)``) through a
# setter on Object.prototype that then makes the property an ordinary one on that object.
TERMINAL_HOOK = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer && !window.__tracktuiTerminal) window.__tracktuiTerminal = value;
  },
});
"""
_SCREEN = """() => {
  const terminal = window.__tracktuiTerminal;
  if (!terminal) return "";
  const buffer = terminal.buffer.active;
  const lines = [];
  for (let row = 0; row < terminal.rows; row++) {
    const line = buffer.getLine(buffer.viewportY + row);
    lines.push(line ? line.translateToString(true) : "");
  }
  return lines.join("\\n");
}"""


def terminal_text(page: Page) -> str:
    """The text on the page's terminal now, one line per row (what xterm.js shows)."""
    return str(page.evaluate(_SCREEN))


def wait_for_screen(page: Page, check: Callable[[str], bool], timeout: float = 15.0) -> str:
    """Until ``check(terminal_text)``; the text then. Fails with the last screen seen."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = terminal_text(page)
        if check(text):
            return text
        page.wait_for_timeout(50)  # polling a condition: how often, not how long
    raise AssertionError(f"the screen did not show what was expected; it shows:\n{text}")


class Served:
    """A ``tracktui serve`` process and the port it listens on."""

    def __init__(self, tmp: Path, *args: str, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        self.stdout_path, self.stderr_path = tmp / "serve.out", tmp / "serve.err"
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = subprocess.Popen(
                [*TRACKTUI, "serve", "--port", str(self.port), *args],
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                cwd=tmp,  # a relative path typed in the app would land here
                start_new_session=True,  # no controlling terminal, as under a service manager
            )

    def wait_listening(self) -> None:
        wait_for_port(self.port, lambda: self.process.poll() is None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def apps(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def stop(self, number: int = signal.SIGINT, group: bool = False) -> int:
        """Signal the server (``group``: and its apps, as Ctrl+C in a terminal does); its code."""
        if self.process.poll() is None:
            if group:
                os.killpg(self.process.pid, number)
            else:
                self.process.send_signal(number)
        try:
            return self.process.wait(STOP_S)
        finally:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stderr(self) -> str:
        return self.stderr_path.read_text()


def gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Which of these are still alive after STOP_S (a zombie counts as alive: not reaped)."""
    _, alive = psutil.wait_procs(processes, timeout=STOP_S)
    return alive
