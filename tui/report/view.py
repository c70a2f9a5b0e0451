"""What each section of the report shows, worked out from a :class:`~.model.Report`: the
runs table with the TUI's columns (:mod:`tui.columns`), the run colours, charts, config
differences, best values and summaries, hardware cards, media and health events.

Values stay raw text here (the template escapes; :mod:`.render` passes every string through
the sanitizer first); numbers are formatted the way the TUI and ``tracktui ls`` format them.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

from tracker.compare import MISSING, config_table, flatten_config
from tracker.models import RunEvent, RunRecord
from tracker.ranking import (
    best_value,
    defined_direction,
    guessed_direction,
    metric_direction,
    name_parts,
)

from ..formatting import format_number, format_with_unit
from .charts import Chart, line_chart, sparkline
from .model import Report, Series

# Tableau 10, darkened a touch so every line reads on a white and on a near-black page.
PALETTE = (
    "#1f77b4", "#e8710a", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#b5b10f", "#17becf",
)  # fmt: skip
TABLE_WIDTH = 160  # the TUI's column choice at a wide terminal
MAX_BEST_COLUMNS = 8
MAX_SUMMARY_COLUMNS = 24
CONFIG_COLUMNS_OF_RUNS = 6  # more runs than this: the config tables have a row per run
HEALTH_KINDS = ("health", "alert")


def run_colors(runs: Sequence[RunRecord]) -> dict[str, str]:
    """A colour per run, the same in the table, every chart and every card: the palette in
    table order, then hues a golden angle apart."""
    colors = {}
    for index, run in enumerate(runs):
        if index < len(PALETTE):
            colors[run.id] = PALETTE[index]
        else:
            colors[run.id] = f"hsl({(index * 137.508) % 360:.0f} 65% 45%)"
    return colors


def format_value(value: Any) -> str:
    """A config or summary value as text: numbers short, four significant digits, the same in
    every section (:func:`full_value` is the whole number, for a tooltip); the rest as JSON."""
    if value is MISSING or value is None:
        return "—" if value is MISSING else "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = format_number(value)
        if "e" in text:  # 5.000e-04 -> 5e-04: the zeros say nothing
            mantissa, exponent = text.split("e", 1)
            if "." in mantissa:
                mantissa = mantissa.rstrip("0").rstrip(".")
            text = f"{mantissa}e{exponent}"
        return text
    if isinstance(value, int):
        return format_number(value)
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)[:500]
    except (TypeError, ValueError, RecursionError):
        return repr(value)[:500]


def full_value(value: Any) -> str:
    """The tooltip of a shown value: a float's every digit (repr), else nothing to add."""
    if isinstance(value, float) and not isinstance(value, bool) and math.isfinite(value):
        text = repr(value)
        return text if text != format_value(value) else ""
    if isinstance(value, str) and len(value) > 40:  # the cell cuts it with an ellipsis
        return value
    return ""


def sort_value(value: Any) -> str:
    """What a table cell sorts by in the browser: a number's repr, text, or empty (last)."""
    if value is None or value is MISSING:
        return ""
    if isinstance(value, tuple):
        return " ".join(sort_value(v) for v in value)
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, (int, float)):
        return repr(float(value)) if math.isfinite(value) else ""
    return str(value)


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    sort: str
    numeric: bool = False
    css: str = ""
    title: str = ""  # the whole value, where the text shortens it


def runs_table(
    report: Report,
) -> tuple[list[tuple[str, str, bool]], list[tuple[RunRecord, list[Cell]]]]:
    """Headers ``(key, title, numeric)`` and rows of the runs table, as the TUI's table
    chooses them at a wide terminal; the start time replaces the age (a report is read later)."""
    from tracker.compare import differing_keys

    from ..column_choice import default_columns
    from ..columns import TableContext, column_for

    runs = list(report.runs)
    ids = [
        "start" if cid == "age" else cid
        for cid in default_columns(runs, differing_keys(runs), TABLE_WIDTH)
        if cid != "marks" and not cid.startswith(("trend:", "smooth:"))
    ]
    if "duration" not in ids:
        ids.insert(ids.index("start") + 1 if "start" in ids else len(ids), "duration")
    if any(run.tags for run in runs) and "tags" not in ids:
        ids.insert(ids.index("name") + 1, "tags")

    def direction(key: str) -> str:
        return metric_direction(key, runs)

    columns = [column_for(cid, direction) for cid in ids]
    ctx = TableContext(now=report.provenance.made_at)
    # whole titles (the TUI cuts them to its cells; a page has the room)
    headers = [(c.id, c.export_title, c.numeric) for c in columns]
    rows = []
    for run in runs:
        cells = []
        for column in columns:
            text = column.text(run, ctx)
            value = column.value(run, ctx)
            title = ""
            if column.id == "name":
                text = run.name
            elif column.id.startswith("cfg:") and isinstance(value, (int, float)):
                text, title = format_value(value), full_value(value)  # as in the Config section
            css = f"status-{run.status}" if column.id == "status" else ""
            cells.append(Cell(text, sort_value(value), column.numeric, css, title))
        rows.append((run, cells))
    return headers, rows


def charts(report: Report, colors: dict[str, str]) -> list[Chart]:
    """One chart per metric, every run's line on it. Runs plotted against different x-axes
    (``epoch`` beside ``step``) would share one scale and one squeeze to a point: then every
    run is drawn against its logged step, and the chart says whose own axis differs."""
    out = []
    for key in report.metrics:
        series = [(run.id, colors[run.id], report.series.get((run.id, key))) for run in report.runs]
        series, note = _common_x(report, series)
        events = [
            (run.id, e.step, (e.level or "warn").lower(), f"{run.name}: {e.title}")
            for run in report.runs
            for e in run.events
            if e.step is not None and e.kind in HEALTH_KINDS and (e.kind == "alert" or e.key == key)
        ]
        out.append(line_chart(key, series, events, note))
    return out


def _common_x(
    report: Report, series: list[tuple[str, str, Series | None]]
) -> tuple[list[tuple[str, str, Series | None]], str]:
    axes = {s.x_name for _, _, s in series if s is not None}
    if len(axes) <= 1:
        return series, ""
    names = {run.id: run.name for run in report.runs}
    own = [
        f"{names[run_id]}’s own x-axis is {s.x_name}"
        for run_id, _, s in series
        if s is not None and s.x_name != "step"
    ]
    shown = own[:3] + ([f"{len(own) - 3} more runs have their own"] if len(own) > 3 else [])
    as_step = [
        (run_id, color, replace(s, x_name="step", x_anchors=()) if s is not None else None)
        for run_id, color, s in series
    ]
    return as_step, "x: step for all runs (their x-axes differ); " + "; ".join(shown)


@dataclass(frozen=True, slots=True)
class ConfigView:
    """Config rows ``(key, [(text, tooltip) per run])``; ``transposed`` past a few runs, when
    the tables show one row per run and one column per key (a column per run of a sweep of
    sixty would be one letter wide)."""

    differing: list[tuple[str, list[tuple[str, str, str]]]]  # (text, tooltip, sort value)
    everything: list[tuple[str, list[tuple[str, str, str]]]]
    transposed: bool = False


def config_view(runs: Sequence[RunRecord]) -> ConfigView:
    def shown(rows: list[tuple[str, list[Any]]]) -> list[tuple[str, list[tuple[str, str, str]]]]:
        return [
            (key, [(format_value(v), full_value(v), sort_value(v)) for v in values])
            for key, values in rows
        ]

    return ConfigView(
        shown(config_table(runs, True)),
        shown(config_table(runs, False)),
        len(runs) > CONFIG_COLUMNS_OF_RUNS,
    )


@dataclass(frozen=True, slots=True)
class BestColumn:
    """One metric's column: ``mode`` ``min``/``max`` (its best, a star on each winner) or
    ``last`` (a schedule or a diagnostic, ``lr`` or ``grad_norm``: no value of it is better)."""

    key: str
    mode: str
    values: list[str]  # per run, table order
    winners: tuple[int, ...]  # indexes of the best runs (several when tied)
    titles: list[str] = field(default_factory=list)  # per run: the whole value, or why no star
    sorts: list[str] = field(default_factory=list)  # per run: what its cell sorts by


def best_columns(report: Report) -> list[BestColumn]:
    """Best values of the charted metrics, then of the runs' other metrics (not hardware,
    not step counters), each by its direction (define_metric's goal, else the name's)."""
    runs = list(report.runs)
    keys = list(report.metrics)
    counters = {c for run in runs for c in run.counters}
    for run in runs:
        keys += [k for k in run.metrics if not k.startswith("sys/") and k not in counters]
    out = []
    # A run whose loss (any metric with a direction) ended NaN or inf diverged: its best
    # accuracy before it blew up is no result, so it is ranked on nothing.
    gone = [_diverged(run) for run in runs]
    for key in list(dict.fromkeys(keys))[:MAX_BEST_COLUMNS]:
        mode = best_mode(key, runs)
        if mode == "last":
            lasts = [run.metrics[key].last if key in run.metrics else None for run in runs]
            shown = [format_value(v) if v is not None else "—" for v in lasts]
            titles = [full_value(v) for v in lasts]
            out.append(BestColumn(key, mode, shown, (), titles, [sort_value(v) for v in lasts]))
            continue
        values = [best_value(run, key, mode) for run in runs]
        ranked = [v for v, why in zip(values, gone, strict=True) if v is not None and why is None]
        top = (min(ranked) if mode == "min" else max(ranked)) if ranked else None
        # Ties: every run at the best value gets the star (the first in the table would be
        # an arbitrary winner: in a sweep where all reach accuracy 1, maybe the worst run).
        winners = tuple(
            i for i, (v, why) in enumerate(zip(values, gone, strict=True))
            if top is not None and why is None and v == top
        )  # fmt: skip
        shown = [format_value(v) if v is not None else "—" for v in values]
        titles = [
            f"not ranked: it diverged ({why} ended NaN or inf)" if why else full_value(v)
            for v, why in zip(values, gone, strict=True)
        ]
        if len(winners) > 1:
            titles = [
                f"tie: {len(winners)} runs at the best value" if i in winners else t
                for i, t in enumerate(titles)
            ]
        sorts = [sort_value(v) for v in values]
        out.append(BestColumn(key, mode, shown, winners, titles, sorts))
    return out


# Words of a diagnostic or a hyperparameter: watched, never "better" one way (the tracker's
# guess calls a name that says nothing lower-is-better, right for a loss, wrong for these).
_NO_BEST_WORDS = frozenset(
    re.findall(
        r"\w+",
        "norm grad grads gradient gradients clip beta beta1 beta2 eps epsilon scale momentum "
        "lr learning rate wd decay weight weights param params temperature warmup",
    )
)

_SAYS_BETTER = frozenset(
    re.findall(r"\w+", "loss error err perplexity ppl acc accuracy f1 auc reward score recall")
)


def best_mode(key: str, runs: Sequence[RunRecord]) -> str:
    """``min``/``max`` when the runs define the metric's goal or its name says it (a loss,
    an accuracy), else ``last``: a learning rate's peak or a gradient norm is no best."""
    defined = defined_direction(runs, key)
    if defined is not None:
        return defined
    guessed = guessed_direction(key)
    if guessed is None:
        return "last"
    words = set(name_parts(key))
    if words & _NO_BEST_WORDS and not words & _SAYS_BETTER:
        return "last"
    return guessed


def _diverged(run: RunRecord) -> str | None:
    """The first metric with a direction whose last value is NaN or inf, if any."""
    for key, summary in run.metrics.items():
        last = summary.last
        if key.startswith("sys/") or last is None or math.isfinite(last):
            continue
        if best_mode(key, (run,)) != "last":
            return key
    return None


def summary_columns(
    runs: Sequence[RunRecord],
) -> tuple[list[str], list[list[tuple[str, str]]]]:
    """Summary keys and, per run, ``(text, sort value)`` per key."""
    flat = [flatten_config(run.summary) for run in runs]
    keys = list(dict.fromkeys(k for summary in flat for k in summary))[:MAX_SUMMARY_COLUMNS]
    return keys, [
        [(format_value(s.get(k, MISSING)), sort_value(s.get(k, MISSING))) for k in keys]
        for s in flat
    ]


@dataclass(frozen=True, slots=True)
class Gauge:
    title: str
    last: str
    peak: str
    spark_d: str
    spark_band: str


def hardware_cards(report: Report) -> list[tuple[RunRecord, list[Gauge], list[tuple[str, str]]]]:
    """Per run: gauges (title, last, peak, sparkline) and static facts (RAM and GPU sizes)."""
    from tracker.system.keys import describe

    from .gather import hardware_keys

    cards = []
    for run in report.runs:
        gauges = []
        for key in hardware_keys(run):
            series = report.hardware.get((run.id, key))
            info = describe(key)
            unit = info.unit if info else ""
            summary = run.metrics[key]
            spark = sparkline(series) if series is not None else None
            gauges.append(Gauge(
                info.title if info else key,
                format_with_unit(summary.last, unit),
                format_with_unit(summary.max, unit),
                spark.d if spark else "",
                spark.band if spark else "",
            ))  # fmt: skip
        facts = [("host", run.host)]
        for key in sorted(k for k in run.metrics if k.startswith("sys/")):
            info = describe(key)
            if info is not None and info.static:
                facts.append((info.title, format_with_unit(run.metrics[key].last, info.unit)))
        cards.append((run, gauges, facts))
    return cards


def event_title(event: RunEvent) -> str:
    return event.headline


def utc_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
