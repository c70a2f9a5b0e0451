"""``tracktui ls`` and ``tracktui best`` output: a plain text table or JSON."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from tracker.models import RunRecord, run_as_json
from tracker.ranking import Best

from .formatting import format_age, format_duration, format_number
from .metrics import MAIN_METRICS
from .sanitize import safe_text

MAX_METRIC_COLUMNS = 3


def choose_metrics(runs: Sequence[RunRecord], wanted: Sequence[str] = ()) -> list[str]:
    """Metric columns: the ones asked for, then the usual loss keys, then any other non-``sys/``."""
    present: set[str] = set()
    for run in runs:
        present.update(run.metrics)
    chosen = [key for key in wanted if key in present]
    for key in (*MAIN_METRICS, *sorted(k for k in present if not k.startswith("sys/"))):
        if len(chosen) >= MAX_METRIC_COLUMNS:
            break
        if key in present and key not in chosen:
            chosen.append(key)
    return chosen


def table_rows(
    runs: Sequence[RunRecord], metrics: Sequence[str], now: float, truncate: bool = True
) -> tuple[list[str], list[list[str]]]:
    """The ``ls`` table as headers and rows of text (names shortened only for the terminal)."""

    def text(value: object, limit: int) -> str:
        return safe_text(value, limit if truncate else None)

    headers = ["ID", "NAME", "PROJECT", "STATUS", "STEP", "CREATED", "DURATION"]
    headers += [text(key, 18) for key in metrics]
    rows: list[list[str]] = []
    for run in runs:
        cells = [
            run.id,
            text(run.name, 32),
            text(run.project, 20),
            run.status,
            format_number(run.step) if run.step is not None else "-",
            format_age(now - run.created_at),
            format_duration(run.duration_s),
        ]
        for key in metrics:
            summary = run.metrics.get(key)
            cells.append(format_number(summary.last) if summary else "-")
        rows.append(cells)
    return headers, rows


def render_table(
    runs: Sequence[RunRecord], metrics: Sequence[str], now: float | None = None
) -> str:
    now = time.time() if now is None else now
    headers, rows = table_rows(runs, metrics, now)
    numeric = {4} | set(range(7, len(headers)))
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def runs_json(runs: Sequence[RunRecord]) -> str:
    return json.dumps([run_as_json(run) for run in runs], indent=2, ensure_ascii=False)


def best_text(best: Best) -> str:
    run = best.run
    return (
        f"{safe_text(run.name)} ({run.id})  {safe_text(best.metric)} {best.mode}="
        f"{format_number(best.value)}  project={safe_text(run.project)} status={run.status}"
    )


def best_json(best: Best) -> str:
    record = run_as_json(best.run)
    record["best"] = {"metric": best.metric, "mode": best.mode, "value": best.value}
    return json.dumps(record, indent=2, ensure_ascii=False)
