"""``tracktui serve``'s page and static files (tui/serve_page.py): gzipped, named by their hash
and cached, a 304 for a copy the browser has, nothing outside textual-serve's static folder; a
fresh page moves under 300 KB and a reload fetches no static file (real server, real Chromium).
"""

from __future__ import annotations

import gzip
import random
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tui.demo_db import build_demo_database
from tui.serve_page import IMMUTABLE, REVALIDATE, accepts_gzip, load_assets, offline_template

from .browser import STOP_S, TERMINAL_HOOK, Served, launch, new_page, wait_for_screen

# One xdist worker runs this module (--dist loadgroup): the served demo: one server.
pytestmark = pytest.mark.xdist_group("served-page")

if TYPE_CHECKING:
    from playwright.sync_api import Browser

STATIC = Path(str(files("textual_serve") / "static"))
PAGE_BOUND = 300_000  # bytes a first load may move (769 KB before compression)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("serve-page") / "runs.db"
    build_demo_database(path, runs=2, steps=20)
    return path


@pytest.fixture(scope="module")
def served(database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("served"), "--db", str(database))
    try:
        server.wait_listening()
        yield server
    finally:
        code = server.stop(signal.SIGINT)
    assert code == 0, server.stderr()


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=STOP_S) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@given(st.text())
def test_any_accept_encoding_is_read_without_error(header: str) -> None:
    assert isinstance(accepts_gzip(header), bool)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, deflate, br, zstd", True),
        ("GZIP", True),
        ("deflate;q=1, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("gzip;q=nan", False),
        ("gzip;q=oops", False),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        (None, False),
    ],
)
def test_accept_encoding(header: str | None, expected: bool) -> None:
    assert accepts_gzip(header) is expected


def test_assets_are_compressed_when_that_pays(tmp_path: Path) -> None:
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("let x = 1;\n" * 1000)
    noise = random.Random(0).randbytes(4096)  # as a PNG is: gzip gains nothing
    (tmp_path / "noise.png").write_bytes(noise)
    assets = load_assets(tmp_path)
    assert sorted(assets) == ["js/a.js", "noise.png"]
    text = assets["js/a.js"]
    assert text.gzipped is not None and gzip.decompress(text.gzipped) == text.body
    assert text.content_type == "text/javascript" and text.charset == "utf-8"
    assert assets["noise.png"].gzipped is None and assets["noise.png"].body == noise
    assert text.etag != text.gzip_etag


def test_the_page_names_each_static_file_with_its_hash() -> None:
    assets = load_assets(STATIC)
    page = offline_template(assets)
    assert f"js/textual.js?v={assets['js/textual.js'].version}" in page
    assert f"css/xterm.css?v={assets['css/xterm.css'].version}" in page
    font = "fonts/RobotoMono-VariableFont_wght.ttf"
    assert f"{font}?v={assets[font].version}" in page
    assert 'href="http' not in page and 'src="http' not in page  # nothing from the internet
    assert "background.png" not in page
    assert "#terminal textarea" in page  # the script that focuses the terminal


def test_static_files_are_gzipped_cached_and_revalidated(served: Served) -> None:
    assets = load_assets(STATIC)
    script = assets["js/textual.js"]
    url = f"{served.url}static/js/textual.js"

    status, headers, body = fetch(f"{url}?v={script.version}", **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == script.body
    assert len(body) < len(script.body) / 3  # 514 KB: 124 KB
    assert headers["Cache-Control"] == IMMUTABLE and headers["Vary"] == "Accept-Encoding"
    etag = headers["ETag"]

    status, headers, body = fetch(url, **{"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert headers["Cache-Control"] == REVALIDATE  # no hash, or an old one: ask again

    status, headers, body = fetch(url, **{"Accept-Encoding": "identity"})
    assert status == 200 and "Content-Encoding" not in headers and body == script.body
    assert headers["ETag"] != etag

    status, headers, body = fetch(f"{served.url}static/images/background.png")
    assert status == 200 and "Content-Encoding" not in headers  # a PNG gains nothing

    for name in ("static/../serve.py", "static/%2e%2e/server.py", "static/js/", "static/nope"):
        assert fetch(f"{served.url}{name}")[0] == 404, name


def test_the_page_is_gzipped_and_never_cached(served: Served) -> None:
    status, headers, body = fetch(served.url, **{"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Cache-Control"] == "no-store"
    assert b'id="terminal"' in gzip.decompress(body)


def test_a_page_moves_under_300_kb_and_a_reload_no_static_file(served: Served) -> None:
    with launch() as browser:
        sizes = first_and_reload(browser, served)
    first, reload = sizes
    assert sum(first.values()) < PAGE_BOUND, first
    static = {url: size for url, size in reload.items() if "/static/" in url}
    assert all(size == 0 for size in static.values()), reload  # from the browser's cache
    assert sum(reload.values()) < 10_000, reload


def first_and_reload(browser: Browser, served: Served) -> list[dict[str, int]]:
    """Bytes each request moved (Chrome's ``encodedDataLength``), first load and reload; the
    script must have come gzipped."""
    page, log = new_page(browser, 1000, 600)
    page.add_init_script(TERMINAL_HOOK)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    encodings: dict[str, str] = {}

    def sent(event: dict[str, Any]) -> None:
        urls[event["requestId"]] = event["request"]["url"]

    def received(event: dict[str, Any]) -> None:
        headers = {key.lower(): value for key, value in event["response"]["headers"].items()}
        encodings[event["response"]["url"]] = headers.get("content-encoding", "")

    def finished(event: dict[str, Any]) -> None:
        sizes[urls.get(event["requestId"], "?")] = int(event["encodedDataLength"])

    cdp.on("Network.requestWillBeSent", sent)
    cdp.on("Network.responseReceived", received)
    cdp.on("Network.loadingFinished", finished)
    measured: list[dict[str, int]] = []
    for again in (False, True):
        sizes.clear()
        page.reload() if again else page.goto(served.url)
        wait_for_screen(page, lambda text: "2 runs" in text)
        measured.append(dict(sizes))
    script = [url for url in encodings if "/static/js/textual.js" in url]
    assert script and encodings[script[0]] == "gzip", encodings
    assert log.errors() == []
    page.context.close()
    return measured
