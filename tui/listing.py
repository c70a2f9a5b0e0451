"""``tracktui ls`` and ``tracktui best`` output: a plain text table or JSON.

Every cell, header and message passes :func:`safe_text`, and JSON is written by
:func:`safe_json`: nothing read from the file reaches the terminal raw.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone

from rich.cells import cell_len

from tracker.models import RunRecord, run_as_json
from tracker.ranking import Best, best_stat

from .export import data_cell
from .formatting import cut_cells, format_age, format_duration, format_number
from .metrics import MAIN_METRICS
from .sanitize import safe_json, safe_text

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
    runs: Sequence[RunRecord],
    metrics: Sequence[str],
    now: float,
    truncate: bool = True,
    data: bool = False,
) -> tuple[list[str], list[list[str]]]:
    """The ``ls`` table as headers and rows of safe text (shortened only for the terminal);
    ``data``: values as data (CSV: :func:`tui.export.data_cell`), never shortened."""
    if data:
        return _data_rows(runs, metrics)
    limits: list[int | None] = [None, 32, 20, 12, None, None, None] + [18] * len(metrics)

    def safe_row(cells: Sequence[object]) -> list[str]:
        # Cut by terminal cells, not characters: a CJK name takes two cells a character.
        return [
            cut_cells(safe_text(cell), limit) if truncate and limit else safe_text(cell)
            for cell, limit in zip(cells, limits, strict=True)
        ]

    headers = ["ID", "NAME", "PROJECT", "STATUS", "STEP", "CREATED", "DURATION", *metrics]
    rows: list[list[str]] = []
    for run in runs:
        cells: list[object] = [
            run.id,
            run.name,
            run.project,
            run.status,
            format_number(run.own_step) if run.own_step is not None else "-",
            format_age(now - run.created_at),
            format_duration(run.duration_s),
        ]
        for key in metrics:
            summary = run.metrics.get(key)
            cells.append(format_number(summary.last) if summary else "-")
        rows.append(safe_row(cells))
    return safe_row(headers), rows


def _data_rows(
    runs: Sequence[RunRecord], metrics: Sequence[str]
) -> tuple[list[str], list[list[str]]]:
    headers = ["ID", "NAME", "PROJECT", "STATUS", "STEP", "CREATED", "DURATION (s)", *metrics]
    rows = []
    for run in runs:
        created = datetime.fromtimestamp(run.created_at, tz=timezone.utc).isoformat()
        cells: list[object] = [
            run.id, run.name, run.project, run.status, run.own_step, created, run.duration_s,
        ]  # fmt: skip
        for key in metrics:
            summary = run.metrics.get(key)
            cells.append(summary.last if summary else None)
        rows.append([safe_text(data_cell(cell)) for cell in cells])
    return [safe_text(h) for h in headers], rows


def render_table(
    runs: Sequence[RunRecord], metrics: Sequence[str], now: float | None = None
) -> str:
    now = time.time() if now is None else now
    headers, rows = table_rows(runs, metrics, now)
    numeric = {4} | set(range(7, len(headers)))
    # Padded by terminal cells (CJK and emoji take two), so the columns line up on screen.
    widths = [max([cell_len(h), *(cell_len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = []
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (width - cell_len(cell))
            parts.append(pad + cell if i in numeric else cell + pad)
        return "  ".join(parts).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def runs_json(runs: Sequence[RunRecord]) -> str:
    return safe_json([run_as_json(run) for run in runs])


def best_text(best: Best) -> str:
    run, stat = best.run, best_stat(best.metric, best.mode)
    return (
        f"{safe_text(run.name)} ({safe_text(run.id)})  {safe_text(best.metric)} {stat}="
        f"{format_number(best.value)}  project={safe_text(run.project)}"
        f" status={safe_text(run.status)}"
    )


def best_json(best: Best) -> str:
    record = run_as_json(best.run)
    record["best"] = {"metric": best.metric, "mode": best.mode, "value": best.value}
    return safe_json(record)
