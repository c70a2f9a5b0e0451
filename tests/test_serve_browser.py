"""``tracktui serve`` in a real browser: the server is a real process, the page is headless
Chromium, the screen is read from xterm.js's own buffer (tests/browser.py).

One browser for the module. Checked: the runs table appears; keys reach the app (down, enter
opens the run, escape comes back, ? lists the keys); a run named with HTML and markup shows
as text; no console error; no request leaves 127.0.0.1 (the page's fonts are served locally);
closing the page ends its app; SIGINT and SIGTERM stop the server and every app it started;
a server killed with SIGKILL takes its apps with it, and SIGTERM to an app ends it; the export
screen downloads to the browser and writes no file on the server, and ``t`` tags nothing unless
--allow-writes; past --max-sessions a page is told the server is full; a non-loopback --host
warns; a port in use is one clear line and exit 1.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tracker
from tui.demo_db import build_demo_database
from tui.screens.export import download_name
from tui.serve import host_allowed, is_loopback, same_origin

from .browser import (
    STOP_S,
    TERMINAL_HOOK,
    TRACKTUI,
    Served,
    evaluate,
    gone,
    launch,
    new_page,
    wait_for_screen,
)

# One xdist worker runs this module (--dist loadgroup): Chromium launched once.
pytestmark = pytest.mark.xdist_group("chromium")

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

HOSTILE = "<script>x[b]"  # short enough for the name column: shown whole


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launch() as chromium:
        yield chromium


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve") / "runs.db"
    build_demo_database(path, runs=3, steps=60)
    run = tracker.init(project="demo", name=HOSTILE, db=path, system_metrics=False, quiet=True)
    run.log({"train/loss": 1.0}, step=0)
    run.finish()
    return path


def test_browser_sees_the_runs_and_drives_the_app(
    browser: Browser, database: Path, tmp_path: Path
) -> None:
    served = Served(tmp_path, "--db", str(database))
    try:
        served.wait_listening()
        page, log = new_page(browser, 1100, 640)
        page.add_init_script(TERMINAL_HOOK)
        page.goto(served.url)
        screen = wait_for_screen(page, lambda text: "lora-r16-lr0.001" in text and "4 runs" in text)
        assert HOSTILE in screen  # shown as it is: not parsed as markup, not run as HTML
        apps = served.apps()
        assert len(apps) == 1, apps

        # No click: the page focuses xterm.js's textarea itself, so keys typed at once count.
        focused = evaluate(page, "document.activeElement.className")
        assert "xterm-helper-textarea" in focused
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        run_view = wait_for_screen(page, lambda text: "esc back" in text)
        assert "id demo0" in run_view  # the second row: a demo run (the hostile one is newest)
        page.keyboard.press("Escape")
        wait_for_screen(page, lambda text: "4 runs" in text and "esc back" not in text)
        page.keyboard.press("?")
        wait_for_screen(page, lambda text: "tracktui — keys" in text)

        assert log.errors() == []
        origin = f"127.0.0.1:{served.port}/"
        away = [url for url in log.requests if url.split("://", 1)[-1][: len(origin)] != origin]
        assert [url for url in away if not url.startswith("data:")] == []
        assert any(url.startswith(f"ws://{origin}ws") for url in log.requests)

        page.context.close()  # the session ends: its app is told to quit
        assert gone(apps) == []
        assert served.process.poll() is None  # the server carries on for the next page
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0, served.stderr()
    assert served.stderr() == ""  # no traceback, no warning (the serving line is on stdout)


@pytest.mark.parametrize(
    ("number", "group"),
    [(signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["sigterm-to-the-server", "ctrl-c-to-the-process-group"],
)
def test_a_signal_stops_the_server_and_its_open_sessions(
    browser: Browser, tmp_path: Path, number: int, group: bool
) -> None:
    # A path the shell would expand, were the app's command not quoted.
    database = tmp_path / "runs $(touch pwned) 'q' ;.db"
    build_demo_database(database, runs=3, steps=20)
    served = Served(tmp_path, str(database))
    try:
        served.wait_listening()
        page, _ = new_page(browser, 900, 500)
        page.add_init_script(TERMINAL_HOOK)
        page.goto(served.url)
        wait_for_screen(page, lambda text: "lora-r16-lr0.001" in text)
        apps = served.apps()
        assert apps
        code = served.stop(number, group)  # the page is still open
        assert gone(apps) == []
        assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()
        page.context.close()
    finally:
        served.stop(signal.SIGKILL)
    assert code == 0, served.stderr()
    assert served.stderr() == ""  # no traceback, no warning (the serving line is on stdout)


def test_other_pages_and_rebound_names_get_nothing(
    browser: Browser, database: Path, tmp_path: Path
) -> None:
    served = Served(tmp_path, "--db", str(database))
    try:
        served.wait_listening()
        page, _ = new_page(browser)
        page.goto("about:blank")  # any other page: its websocket's Origin is not the server's
        outcome = page.evaluate(
            """(url) => new Promise((resolve) => {
              const socket = new WebSocket(url);
              socket.onopen = () => resolve("open");
              socket.onerror = () => resolve("refused");
            })""",
            f"ws://127.0.0.1:{served.port}/ws",
        )
        page.context.close()
        assert outcome == "refused"
        assert served.apps() == []  # no app was started for it
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(
                urllib.request.Request(served.url, headers={"Host": f"evil.example:{served.port}"}),
                timeout=STOP_S,
            )
        assert refused.value.code == 403
        with urllib.request.urlopen(served.url, timeout=STOP_S) as answer:
            assert answer.status == 200 and b"/ws" in answer.read()
    finally:
        served.stop(signal.SIGINT)


def test_a_host_beyond_this_machine_warns_there_is_no_authentication(
    database: Path, tmp_path: Path
) -> None:
    served = Served(tmp_path, "--host", "0.0.0.0", "--db", str(database))
    try:
        served.wait_listening()
        warning = served.stderr()
    finally:
        code = served.stop(signal.SIGINT)
    assert "no authentication" in warning and "0.0.0.0" in warning, warning
    assert "cannot write files here" in warning and "or change the databases" in warning
    assert "at most 8 of them" in warning
    assert code == 0


def test_allow_writes_is_named_in_the_warning(database: Path, tmp_path: Path) -> None:
    served = Served(
        tmp_path, "--host", "0.0.0.0", "--allow-writes", "--max-sessions", "2", str(database)
    )
    try:
        served.wait_listening()
        warning = served.stderr()
    finally:
        served.stop(signal.SIGINT)
    assert "can change the databases" in warning and "at most 2 of them" in warning, warning


def test_loopback_hosts_do_not_warn(database: Path, tmp_path: Path) -> None:
    served = Served(tmp_path, "--host", "localhost", "--db", str(database))
    try:
        served.wait_listening()
    finally:
        served.stop(signal.SIGINT)
    assert "authentication" not in served.stderr()


def test_a_port_in_use_is_a_clear_error(database: Path, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        served = Served(tmp_path, "--db", str(database), port=port)
        code = served.process.wait(STOP_S)
    err = served.stderr()
    assert code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err, err
    assert "Traceback" not in err


def test_an_unknown_host_is_a_clear_error(database: Path, tmp_path: Path) -> None:
    served = Served(tmp_path, "--host", "no-such-host.invalid", str(database))
    code = served.process.wait(STOP_S)
    err = served.stderr()
    assert code == 1
    assert "cannot listen on no-such-host.invalid" in err and "Traceback" not in err, err


@given(st.ip_addresses(v=4))
def test_only_loopback_addresses_count_as_this_machine(address: ipaddress.IPv4Address) -> None:
    assert is_loopback(str(address)) == (address in ipaddress.ip_network("127.0.0.0/8"))


@given(st.text())
def test_any_host_text_is_judged_without_error(host: str) -> None:
    assert isinstance(is_loopback(host), bool)


@pytest.mark.parametrize("host", ["localhost", "::1", "[::1]", "127.0.0.2", "LOCALHOST"])
def test_loopback_names(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.4", "example.com", ""])
def test_hosts_beyond_this_machine(host: str) -> None:
    assert not is_loopback(host)


@pytest.mark.parametrize("port", ["0", "70000"])
def test_a_port_out_of_range_is_refused(database: Path, port: str) -> None:
    result = subprocess.run(
        [*TRACKTUI, "serve", "--port", port, str(database)],
        capture_output=True, text=True, timeout=STOP_S,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--port must be between 1 and 65535" in result.stderr


def test_origin_and_host_checks() -> None:
    assert same_origin("127.0.0.1:8000", "http://127.0.0.1:8000")
    assert not same_origin("127.0.0.1:8000", "http://evil.example")
    assert not same_origin("127.0.0.1:8000", None)
    assert not same_origin("127.0.0.1:8000", "null")
    assert not same_origin("127.0.0.1:8000", "http://127.0.0.1:8001")
    assert same_origin("box.lan:443", "https://box.lan:443")  # behind a TLS proxy
    assert host_allowed("127.0.0.1:8000", True) and host_allowed("[::1]:8000", True)
    assert host_allowed("localhost", True)
    assert not host_allowed("evil.example:8000", True)
    assert host_allowed("evil.example:8000", False)  # --host 0.0.0.0: names are the user's


def open_app(browser: Browser, served: Served) -> Page:
    page, _ = new_page(browser, 1100, 640)
    page.add_init_script(TERMINAL_HOOK)
    page.goto(served.url)
    wait_for_screen(page, lambda text: "lora-r16-lr0.001" in text)
    page.focus(".xterm-helper-textarea")
    return page


def test_the_browser_writes_nothing_on_the_server(
    browser: Browser, database: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    before = sorted(path.name for path in tmp_path.iterdir())
    tags = tracker.Api(database).runs()
    served = Served(tmp_path, "--db", str(database))
    try:
        served.wait_listening()
        page = open_app(browser, served)
        page.keyboard.press("t")  # tag best: refused before anything else is asked
        wait_for_screen(page, lambda text: "read-only: t tags nothing" in text)
        page.keyboard.press("e")
        wait_for_screen(
            page, lambda text: "enter downloads and copies" in text and "runs.csv" in text
        )  # the field is there, with its default
        page.keyboard.press("Control+u")  # the field's "runs.csv"
        wait_for_screen(page, lambda text: "runs.csv" not in text)
        # At a typist's pace: typed at once, the whole name was lost once in CI (the field
        # stayed empty), on a machine running three test workers.
        page.keyboard.type(f"{victim} [b]", delay=10)
        # Enter once the field shows the typed name (seen once on a loaded machine: the download
        # was runs.csv, the field's default; a lost key now fails here, showing the screen).
        wait_for_screen(page, lambda text: "victim.txt [b]" in text and "runs.csv" not in text)
        with page.expect_download(timeout=STOP_S * 1000) as delivered:
            page.keyboard.press("Enter")
        download = delivered.value
        wait_for_screen(page, lambda text: "sent 4 runs to the browser" in text)
        assert download.suggested_filename == "victim.txt_b"  # the typed name's last part
        text = Path(download.path()).read_text(encoding="utf-8")
        assert text.splitlines()[0].startswith("id,status,name")
        assert HOSTILE in text and len(text.splitlines()) == 5
        page.context.close()
    finally:
        served.stop(signal.SIGINT)
    assert victim.read_text() == "precious\n"
    after = sorted(
        path.name for path in tmp_path.iterdir() if path.name not in {"serve.out", "serve.err"}
    )
    assert after == [name for name in before if name not in {"serve.out", "serve.err"}]
    assert [run.tags for run in tracker.Api(database).runs()] == [run.tags for run in tags]


def test_allow_writes_lets_t_tag(browser: Browser, database: Path, tmp_path: Path) -> None:
    served = Served(tmp_path, "--allow-writes", "--db", str(database))
    try:
        served.wait_listening()
        page = open_app(browser, served)
        page.keyboard.press("t")  # now it gets past the read-only check to the next one
        wait_for_screen(page, lambda text: "mark the best run first" in text)
        page.context.close()
    finally:
        served.stop(signal.SIGINT)


def test_a_killed_server_takes_its_apps_with_it(
    browser: Browser, database: Path, tmp_path: Path
) -> None:
    served = Served(tmp_path, "--db", str(database))
    apps: list[psutil.Process] = []
    try:
        served.wait_listening()
        page = open_app(browser, served)
        apps = served.apps()
        assert len(apps) == 1
        os.kill(served.process.pid, signal.SIGKILL)  # as the OOM killer would: no cleanup
        served.process.wait(STOP_S)
        _, alive = psutil.wait_procs(apps, timeout=5.0)
        assert alive == []
        page.context.close()
    finally:
        served.stop(signal.SIGKILL)
        for app in apps:  # should this test fail, leave no orphan behind it
            try:
                app.kill()
            except psutil.NoSuchProcess:
                pass


def test_sigterm_to_an_app_ends_it(browser: Browser, database: Path, tmp_path: Path) -> None:
    served = Served(tmp_path, "--db", str(database))
    try:
        served.wait_listening()
        page = open_app(browser, served)
        (app,) = served.apps()
        app.terminate()
        _, alive = psutil.wait_procs([app], timeout=5.0)
        assert alive == []
        assert served.process.poll() is None  # the server carries on
        page.context.close()
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0, served.stderr()


def test_an_app_whose_server_is_already_gone_exits(database: Path) -> None:
    # --server-pid names a process that is not its parent: as if the server died before the
    # app could ask the kernel to be told (prctl); it must not start.
    started = subprocess.run(
        [sys.executable, "-m", "tui.serve_app", "--server-pid", "1", "--", str(database)],
        capture_output=True, stdin=subprocess.DEVNULL, timeout=STOP_S,
    )  # fmt: skip
    assert started.returncode == 1 and started.stdout == b""


def test_past_max_sessions_a_page_is_told_the_server_is_full(
    browser: Browser, database: Path, tmp_path: Path
) -> None:
    served = Served(tmp_path, "--max-sessions", "1", "--db", str(database))
    try:
        served.wait_listening()
        first = open_app(browser, served)
        second, _ = new_page(browser)
        answer = second.goto(served.url)
        assert answer is not None and answer.status == 503
        assert "the server is full: 1 sessions are open" in second.inner_text("body")
        outcome = evaluate(
            second,
            """(url) => new Promise((resolve) => {
              const socket = new WebSocket(url);
              socket.onopen = () => resolve("open");
              socket.onerror = () => resolve("refused");
            })""",
            f"ws://127.0.0.1:{served.port}/ws",
        )
        assert outcome == "refused" and len(served.apps()) == 1
        second.context.close()
        apps = served.apps()
        first.context.close()  # its session ends: the next page gets an app again
        assert gone(apps) == []
        third = open_app(browser, served)
        third.context.close()
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0, served.stderr()


def test_max_sessions_must_be_positive(database: Path) -> None:
    result = subprocess.run(
        [*TRACKTUI, "serve", "--max-sessions", "0", str(database)],
        capture_output=True, text=True, timeout=STOP_S,
    )  # fmt: skip
    assert result.returncode == 2 and "--max-sessions must be 1 or more" in result.stderr


@given(st.text())
def test_a_download_name_is_always_a_plain_file_name(typed: str) -> None:
    name = download_name(typed, "md")
    assert name and "/" not in name and name not in {".", ".."}
    assert all(char.isascii() and (char.isalnum() or char in "._-") for char in name)


def test_in_a_terminal_an_existing_file_is_replaced_only_on_a_second_enter(
    tmp_path: Path,
) -> None:
    # A thread of its own: this module's Playwright (sync API) holds the main thread's loop.
    import asyncio
    import threading

    target = tmp_path / "kept.csv"
    target.write_text("precious\n")
    failures: list[BaseException] = []

    def body() -> None:
        try:
            asyncio.run(export_twice(target))
        except BaseException as exc:
            failures.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(STOP_S * 2)
    assert not thread.is_alive() and failures == [], failures
    assert target.read_text().splitlines() == ["name", "a", "b"]


async def export_twice(target: Path) -> None:
    from textual.app import App

    from tui.screens.export import ExportScreen

    app: App[None] = App()
    async with app.run_test() as pilot:
        await app.push_screen(ExportScreen((["name"], [["a"], ["b"]])))
        app.screen.query_one("#export-path").value = str(target)  # type: ignore[attr-defined]
        await pilot.press("enter")
        await pilot.pause()
        assert target.read_text() == "precious\n" and isinstance(app.screen, ExportScreen)
        await pilot.press("enter")  # the second enter: replace it
        await pilot.pause()
        assert not isinstance(app.screen, ExportScreen)
