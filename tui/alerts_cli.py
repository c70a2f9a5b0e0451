"""``tracktui alerts``: the runs' health events and alerts, newest last, for people, scripts
(``--json``) and cron jobs or agents (``--fail-on``: exit code 3).

The databases are chosen as for ``ls`` (``--db`` again for several files); every text read
from them passes :func:`safe_text` (or :func:`safe_json`) on its way out.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tracker.filters import filter_runs
from tracker.models import RunEvent, RunRecord
from tracker.notify import event_json

from .cli import _db_path, emit, load_runs
from .sanitize import safe_json, safe_text

SHOWN_KINDS = ("health", "alert")
ALL_KINDS = (*SHOWN_KINDS, "resumed", "node")
LEVELS = ("info", "warn", "error")
FAIL_EXIT = 3
_RANK = {"INFO": 0, "WARN": 1, "WARNING": 1, "ERROR": 2, "ERR": 2, "CRITICAL": 2}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhdw])", re.IGNORECASE)


def level_rank(level: str | None) -> int:
    """0 for INFO (and events without a level: resumes, nodes), 1 WARN, 2 ERROR."""
    return _RANK.get(str(level or "").strip().upper(), 0)


def parse_since(text: str, now: float | None = None) -> float:
    """``--since``: a duration back from now (``90s``, ``30m``, ``1h``, ``2d``, ``1w``,
    or several: ``1h30m``) or an ISO time (local unless it names its zone); a unix time."""
    now = time.time() if now is None else now
    value = text.strip()
    if value and _DURATION.sub("", value).strip() == "" and _DURATION.match(value):
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _DURATION.findall(value))
        return now - seconds
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a duration (90s, 30m, 1h, 2d) or an ISO time, not {safe_text(text)!r}"
        ) from None
    return stamp.timestamp()  # a naive time is local time


def add_parser(sub: Any) -> None:
    """The ``alerts`` subcommand's parser, on ``build_parser``'s subparsers."""
    alerts = sub.add_parser(
        "alerts", help="health events and alerts of the runs, newest last",
        description="The runs' health events (kind health: NaN, loss spikes, stalls, GPU and "
        "disk trouble) and their scripts' alerts (kind alert), oldest first. Exit code 0; "
        "with --fail-on, 3 when an event at or above that level is listed.",
    )  # fmt: skip
    alerts.add_argument(
        "--db", dest="sub_db", action="append", help="database (again for several files)"
    )
    alerts.add_argument("sub_databases", nargs="*", metavar="DB", help="databases, as --db")
    alerts.add_argument("--project", help="only runs of this project")
    alerts.add_argument("--filter", default="", help="only runs matching this expression")
    alerts.add_argument(
        "--since", type=parse_since, metavar="DURATION",
        help="only events this recent: 90s, 30m, 1h, 2d, or an ISO time (default: all)",
    )  # fmt: skip
    alerts.add_argument(
        "--level", choices=LEVELS, default="info", help="only events at or above this level"
    )
    alerts.add_argument(
        "--all", dest="all_kinds", action="store_true",
        help="also resumes and attached nodes",
    )  # fmt: skip
    alerts.add_argument(
        "--fail-on", choices=("warn", "error"),
        help=f"exit {FAIL_EXIT} when an event at or above this level is listed",
    )  # fmt: skip
    alerts.add_argument("--json", action="store_true", help="print a JSON array")


@dataclass(frozen=True)
class Listed:
    run: RunRecord
    event: RunEvent


def select_events(
    runs: Sequence[RunRecord],
    since: float | None = None,
    min_level: str = "info",
    kinds: Sequence[str] = SHOWN_KINDS,
) -> list[Listed]:
    """The events of ``runs`` of these kinds, at or above ``min_level``, at or after
    ``since``; oldest first (ties by run and the order written)."""
    floor = level_rank(min_level)
    chosen = [
        Listed(run, event)
        for run in runs
        for event in run.events
        if event.kind in kinds
        and (since is None or event.t >= since)
        and level_rank(event.level) >= floor
    ]
    chosen.sort(key=lambda item: (item.event.t, item.run.id, item.event.id))
    return chosen


def as_json(item: Listed) -> dict[str, Any]:
    run, event = item.run, item.event
    return event_json(
        run_id=run.id,
        run_name=run.name,
        project=run.project,
        kind=event.kind,
        level=event.level,
        t=event.t,
        step=event.step,
        key=event.key,
        title=event.title,
        detail=event.detail,
    )


def local_time(epoch: float, now: float) -> str:
    """Compact local time: ``06-14 09:32:05`` this year, ``2023-06-14 09:32`` before."""
    stamp = datetime.fromtimestamp(epoch)
    if stamp.year == datetime.fromtimestamp(now).year:
        return stamp.strftime("%m-%d %H:%M:%S")
    return stamp.strftime("%Y-%m-%d %H:%M")


def render_lines(items: Sequence[Listed], now: float | None = None) -> list[str]:
    """One aligned line of safe text per event, under a header."""
    now = time.time() if now is None else now
    headers = ["TIME", "LEVEL", "KIND", "RUN", "STEP", "TITLE"]
    rows = [
        [
            local_time(item.event.t, now),
            safe_text(item.event.level or "-", 8),
            safe_text(item.event.kind, 10),
            f"{safe_text(item.run.name, 32)} ({safe_text(item.run.id, 24)})",
            "-" if item.event.step is None else safe_text(item.event.step),
            safe_text(item.event.headline, 200),
        ]
        for item in items
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if index == 4 else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return [line(headers), *(line(row) for row in rows)]


def count_line(items: Sequence[Listed]) -> str:
    by_level = {name: 0 for name in ("ERROR", "WARN", "INFO")}
    for item in items:
        by_level[("INFO", "WARN", "ERROR")[level_rank(item.event.level)]] += 1
    parts = [f"{n} {name.lower()}" for name, n in by_level.items() if n]
    noun = "event" if len(items) == 1 else "events"
    return f"{len(items)} {noun}" + (f" ({', '.join(parts)})" if parts else "")


def cmd_alerts(args: argparse.Namespace) -> int:
    path = _db_path(args)
    runs = filter_runs(load_runs(path, args.project), args.filter)
    kinds = ALL_KINDS if args.all_kinds else SHOWN_KINDS
    items = select_events(runs, args.since, args.level, kinds)
    if args.json:
        emit(safe_json([as_json(item) for item in items]))
    elif not items:
        where = safe_text(path.shown)
        emit(f"no events in {where}", error=True)
    else:
        emit("\n".join([*render_lines(items), count_line(items)]))
    if args.fail_on and any(level_rank(i.event.level) >= level_rank(args.fail_on) for i in items):
        return FAIL_EXIT
    return 0
