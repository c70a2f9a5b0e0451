"""tracker.notify against a real HTTP server on 127.0.0.1: delivery, retries, a server down or
slow (the caller never waits or sees an exception), a full queue, masked URLs, terminal escapes."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tracker import notify
from tracker.notify import Webhook, event_json, mask_url, notify_terminal, webhook_from_env

SECRET = "T000/B000/XXXXsecretXXXX"


class Server:
    """A local webhook receiver: ``fail_first`` answers 500 that many times; ``delay`` seconds
    before each answer."""

    def __init__(self, fail_first: int = 0, delay: float = 0.0) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.hits = 0
        self.fail_first = fail_first
        self.delay = delay
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                server.hits += 1
                if server.delay:
                    server.release.wait(server.delay)
                if server.hits <= server.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                server.bodies.append(json.loads(data))
                assert self.headers["Content-Type"] == "application/json"
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/services/{SECRET}?token=abc"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[Server]:
    found = Server()
    yield found
    found.stop()


def sample(title: str = "loss spike: 9.1 vs median 2.0", **extra: Any) -> dict[str, Any]:
    event = event_json(
        run_id="abc123", run_name="lr-3e-4", project="llm", kind="health", level="WARN",
        t=1_700_000_000.0, step=120, key="train/loss", title=title,
        detail={"detector": "loss_spike", "z": float("nan")},
    )  # fmt: skip
    return {**event, **extra}


def free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/services/{SECRET}"


def test_posts_slack_compatible_json(server: Server) -> None:
    hook = Webhook(server.url)
    assert hook.send(sample())
    assert hook.flush(5)
    assert hook.sent == 1 and len(server.bodies) == 1
    body = server.bodies[0]
    assert body["text"] == "[WARN] lr-3e-4 (abc123) step 120: loss spike: 9.1 vs median 2.0"
    assert body["event"]["detail"] == {"detector": "loss_spike", "z": "NaN"}
    assert body["event"]["time"] == "2023-11-14T22:13:20.000+00:00"
    assert set(body["event"]) == {
        "run_id", "run_name", "project", "kind", "level", "time", "step", "key", "title", "detail",
    }  # fmt: skip
    hook.close()


def test_text_cannot_carry_controls_or_slack_mentions(server: Server) -> None:
    hook = Webhook(server.url)
    hook.send(sample(title="<!channel> \x1b]0;x\x07 a & b", run_name="n\u202ex"))
    assert hook.flush(5)
    text = server.bodies[0]["text"]
    assert "&lt;!channel&gt;" in text and "&amp;" in text
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert server.bodies[0]["event"]["title"].startswith("<!channel>")  # the object is exact
    hook.close()


def test_retries_with_backoff_then_delivers() -> None:
    flaky = Server(fail_first=2)
    try:
        hook = Webhook(flaky.url, retries=3, backoff=0.05)
        hook.send(sample())
        assert hook.flush(10)
        assert flaky.hits == 3 and hook.sent == 1 and hook.failed == 0
    finally:
        flaky.stop()


def test_server_down_never_blocks_or_raises(capsys: pytest.CaptureFixture[str]) -> None:
    url = free_port_url()
    hook = Webhook(url, retries=2, backoff=0.05, timeout=0.5)
    started = time.monotonic()
    for _ in range(20):
        hook.send(sample())
    assert time.monotonic() - started < 2.0
    assert hook.flush(20)
    assert hook.failed == 20 and hook.sent == 0
    err = capsys.readouterr().err
    assert err.count("not delivered") == 1  # warned once
    assert SECRET not in err and "XXXX" not in err and "/services/***" in err


def test_slow_server_times_out_and_a_full_queue_drops_and_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    slow = Server(delay=30)
    try:
        hook = Webhook(slow.url, timeout=0.3, retries=0, queue_size=3)
        started = time.monotonic()
        results = [hook.send(sample()) for _ in range(50)]
        assert time.monotonic() - started < 2.0  # the caller never waits for the server
        assert hook.dropped >= 40 and results.count(False) == hook.dropped
        err = capsys.readouterr().err
        assert err.count("not keeping up") == 1
        assert SECRET not in err and "token=abc" not in err and "?***" in err
        assert hook.flush(10)  # each POST gives up after its short timeout
        assert hook.failed == results.count(True)
    finally:
        slow.stop()


def test_send_never_raises_for_odd_events(server: Server) -> None:
    hook = Webhook(server.url)
    assert hook.send({"title": object(), "detail": {"x": float("inf")}, "step": None})
    assert hook.flush(5) and hook.sent == 1
    assert server.bodies[0]["event"]["detail"] == {"x": "Infinity"}
    hook.close()
    assert hook.send(sample()) is False  # closed: refused quietly


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://hooks.slack.com/services/T0/B0/secret", "https://hooks.slack.com/services/***"),
        ("https://discord.com/api/webhooks/123/tok", "https://discord.com/api/***"),
        ("https://user:pw@example.com/hook?key=s3cret", "https://***@example.com/***?***"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_from_env(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TRACKTUI_WEBHOOK", raising=False)
    assert webhook_from_env() is None
    monkeypatch.setenv("TRACKTUI_WEBHOOK", "https://hooks.example.com/services/T/B/secret9")
    first = webhook_from_env()
    assert first is not None and first is webhook_from_env()  # one per URL, one thread
    assert "secret9" not in repr(first)
    monkeypatch.setenv("TRACKTUI_WEBHOOK", "ftp://x/secret9")
    assert webhook_from_env() is None
    err = capsys.readouterr().err
    assert "no webhook" in err and "secret9" not in err
    notify._shared.clear()
    with pytest.raises(ValueError):
        Webhook("not a url")


def test_terminal_notification_is_sanitized() -> None:
    text = notify_terminal(
        sample(title="x\x1b]0;owned\x07\x9b2J;y\u202e", run_name="evil\x07;name\x1b[31m")
    )
    assert text.startswith("\x07\x1b]9;tracktui: ")
    assert text.count("\x1b") == 2 and text.count("\x07") == 3  # only its own escapes
    assert "\x9b" not in text and "\u202e" not in text and "\n" not in text
    osc777 = text[text.index("\x1b]777;") : -1]
    assert osc777.count(";") == 3  # ]777;notify;title;body: nothing can add a field
    assert "owned" in osc777 and "evil" in osc777
