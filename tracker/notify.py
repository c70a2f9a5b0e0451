"""Opt-in notifications of health events and alerts: a webhook, and terminal escapes.

:class:`Webhook` POSTs each event as JSON (Slack-compatible: a one-line ``"text"`` and the full
object under ``"event"``) from one background daemon thread fed by a bounded queue: ``send``
never blocks and never raises; a full queue drops the event (counted, warned about once); a
delivery is tried a few times with backoff and a short timeout. Standard library only.

The URL of a webhook is a credential (Slack's and Discord's carry their token in the path), so
it is never printed: messages show :func:`mask_url`'s form (``https://hooks.slack.com/services/***``).

:func:`notify_terminal` is the text of a desktop notification through the terminal (BEL, OSC 9
and OSC 777), with everything read from a run sanitized so no escape can be injected.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import threading
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any

from .errors import warn_once
from .jsonable import to_json_safe, to_jsonable
from .models import iso_time
from .sanitize import safe_text

ENV_VARIABLE = "TRACKTUI_WEBHOOK"
SUMMARY_LIMIT = 300


def event_json(
    *,
    run_id: str,
    run_name: str,
    project: str,
    kind: str,
    level: str | None,
    t: float,
    step: int | None,
    key: str | None,
    title: str,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One event as ``tracktui alerts --json`` prints it and :meth:`Webhook.send` takes it:
    ``run_id, run_name, project, kind, level, time`` (ISO 8601 UTC), ``step, key, title,
    detail`` (NaN and ±inf as ``"NaN"``, ``"Infinity"``, ``"-Infinity"``)."""
    return {
        "run_id": run_id,
        "run_name": run_name,
        "project": project,
        "kind": kind,
        "level": level,
        "time": iso_time(t),
        "step": step,
        "key": key,
        "title": title,
        "detail": to_json_safe(to_jsonable(dict(detail or {}))),
    }


def summary_line(event: Mapping[str, Any], limit: int = SUMMARY_LIMIT) -> str:
    """``[WARN] name (id) step 120: title``: one line of safe text (no control characters)."""
    level = event.get("level") or event.get("kind") or "INFO"
    name, run_id = event.get("run_name"), event.get("run_id")
    who = f"{name} ({run_id})" if name and run_id and name != run_id else (name or run_id or "")
    step = event.get("step")
    where = f" step {step}" if step is not None else ""
    title = str(event.get("title") or "")
    detail = event.get("detail")
    if isinstance(detail, Mapping) and detail.get("resolved") and "resolved" not in title.lower():
        title += " (resolved)"
    if event.get("kind") == "alert" and isinstance(detail, Mapping) and detail.get("text"):
        title += f": {detail['text']}"  # the script's message, as alerts shows it
    text = f"[{level}] {who}{where}: {title}" if who else f"[{level}]{where} {title}"
    return safe_text(text, limit)


def mask_url(url: str) -> str:
    """``url`` fit to print: no user or password, only the first segment of a longer path
    (``/services/***``; a path of one segment is masked whole), no query or fragment."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:
        return "<webhook URL>"
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) >= 2:
        path = f"/{segments[0]}/***"
    elif segments:
        path = "/***"
    else:
        path = ""
    userinfo = "***@" if "@" in parts.netloc else ""
    query = "?***" if parts.query else ""
    return safe_text(f"{parts.scheme}://{userinfo}{host}{port}{path}{query}")


class Webhook:
    """POST events to ``url`` from a background thread; see the module's docstring.

    ``sent``, ``failed`` (given up after the retries) and ``dropped`` (queue full) count."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 3.0,
        retries: int = 3,
        backoff: float = 0.5,
        queue_size: int = 100,
    ) -> None:
        url = url.strip()
        try:
            parts = urllib.parse.urlsplit(url)
        except ValueError:
            raise ValueError("webhook URL cannot be parsed") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook URL must be http:// or https://, not {mask_url(url)}")
        self._url = url
        self.shown = mask_url(url)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=max(1, queue_size))
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = threading.Event()
        self.sent = 0
        self.failed = 0
        self.dropped = 0

    def __repr__(self) -> str:
        return f"Webhook({self.shown!r})"

    # --- the caller's side: never blocks, never raises ---------------------------------------

    def send(self, event: Mapping[str, Any]) -> bool:
        """Queue ``event`` (an :func:`event_json` object) for delivery; whether it was queued.

        Returns at once: a full queue (the server slow or down) drops the event, counted in
        ``dropped`` and warned about once. Never raises."""
        try:
            if self._closed.is_set():
                return False
            item = {k: dict(v) if isinstance(v, Mapping) else v for k, v in event.items()}
            self._ensure_thread()
            try:
                self._queue.put_nowait(item)
            except queue.Full:
                self.dropped += 1
                warn_once(
                    f"webhook-full:{self.shown}",
                    f"webhook {self.shown} is not keeping up (slow or down): events are dropped "
                    f"while {self._queue.maxsize} wait to be sent",
                )
                return False
            return True
        except Exception:  # a notification never breaks training
            return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait up to ``timeout`` seconds for every queued event to be delivered or given up;
        whether none is left."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 2.0) -> None:
        """Deliver what is queued (up to ``timeout`` seconds), then stop the thread."""
        self.flush(timeout)
        self._closed.set()
        try:
            self._queue.put_nowait(None)
        except queue.Full:
            pass

    # --- the thread --------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._work, name="tracktui-webhook", daemon=True)
                thread.start()
                self._thread = thread

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(item)
            except Exception:
                pass
            finally:
                self._queue.task_done()

    def body(self, event: Mapping[str, Any]) -> bytes:
        """The JSON POSTed for ``event``: ``{"text": summary, "event": event}``."""
        plain = to_json_safe(to_jsonable(dict(event)))
        # Slack reads <...> as links and mentions (<!channel>) and & as an entity: escaped.
        text = summary_line(event).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return json.dumps({"text": text, "event": plain}, allow_nan=False).encode("utf-8")

    def _deliver(self, event: Mapping[str, Any]) -> None:
        data = self.body(event)
        reason = ""
        for attempt in range(self.retries + 1):
            if attempt and self._closed.wait(self.backoff * 2 ** (attempt - 1)):
                break  # closing: no more waiting
            retry, reason = self._post(data)
            if not reason:
                self.sent += 1
                return
            if not retry:
                break
        self.failed += 1
        warn_once(
            f"webhook-failed:{self.shown}",
            f"webhook {self.shown}: an event was not delivered ({self._masked(reason)}); "
            "later failures are not reported",
        )

    def _post(self, data: bytes) -> tuple[bool, str]:
        """POST once: ``(worth retrying, why it failed)``; ``why`` is empty on success."""
        # Here, not at the top: urllib.request pulls in http.client and email (20 ms), which
        # every tracker.init() would pay, and only a process with a webhook ever posts.
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self._url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "tracktui"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65536)
            return False, ""
        except urllib.error.HTTPError as exc:
            retry = exc.code == 429 or exc.code >= 500
            return retry, f"HTTP {exc.code}"
        except urllib.error.URLError as exc:
            return True, str(exc.reason)
        except (OSError, ValueError) as exc:  # timeouts, resets, a bad response
            return True, f"{type(exc).__name__}: {exc}"

    def _masked(self, text: str) -> str:
        """``text`` with the URL and its secret parts replaced by the masked form."""
        parts = urllib.parse.urlsplit(self._url)
        secrets = [self._url, parts.path, parts.query, parts.password or "", parts.username or ""]
        for secret in sorted(secrets, key=len, reverse=True):
            if len(secret) > 1:
                text = text.replace(secret, "***")
        return text


_shared: dict[str, Webhook] = {}
_shared_lock = threading.Lock()


def webhook_for(url: str | None) -> Webhook | None:
    """The process's one :class:`Webhook` for ``url`` (shared by every run, so one thread per
    URL), or ``None`` for no URL. A URL that is not http(s) is warned about once, not raised."""
    url = (url or "").strip()
    if not url:
        return None
    with _shared_lock:
        found = _shared.get(url)
        if found is None:
            try:
                found = Webhook(url)
            except ValueError as exc:
                warn_once(f"webhook-bad:{mask_url(url)}", f"no webhook notifications: {exc}")
                return None
            _shared[url] = found
        return found


def webhook_from_env() -> Webhook | None:
    """The webhook of ``$TRACKTUI_WEBHOOK``, or ``None`` where it is unset or empty."""
    return webhook_for(os.environ.get(ENV_VARIABLE))


@atexit.register
def _deliver_pending() -> None:  # the last event (a crash's) is the one most worth sending
    with _shared_lock:
        hooks = list(_shared.values())
    for hook in hooks:
        hook.flush(timeout=2.0)


def _osc_field(text: str) -> str:
    # ';' separates OSC 777's fields; a digit first would be a ConEmu OSC 9 sub-command.
    return safe_text(text, SUMMARY_LIMIT).replace(";", ",")


def notify_terminal(event: Mapping[str, Any]) -> str:
    """The text that asks the terminal for a desktop notification of ``event``: BEL, then OSC 9
    (iTerm2, WezTerm, Windows Terminal) and OSC 777 (urxvt, foot, VTE); terminals ignore the
    escapes they do not know. Every character read from the run is sanitized."""
    level = safe_text(event.get("level") or event.get("kind") or "INFO", 12)
    name = safe_text(event.get("run_name") or event.get("run_id") or "run", 60)
    title = _osc_field(f"tracktui {level}: {name}")
    body = _osc_field(summary_line(event))
    return f"\x07\x1b]9;tracktui: {body}\x07\x1b]777;notify;{title};{body}\x07"
