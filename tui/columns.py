"""The comparison table's columns: what each shows, how it sorts, how it exports.

A column is one of: run facts (status, name, project, tags, start, duration, step, steps/s), a
metric's last, best (min or max by the metric's direction) or smoothed value (mean of its last
20 points) or its trend (a sparkline), or a config key. By default the table shows the main
metrics and the config keys that differ between the runs shown.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from rich.text import Text

from tracker.compare import MISSING, flatten_config
from tracker.models import CRASHED, FAILED, FINISHED, LIVE, RunRecord
from tracker.ranking import best_stat, best_value, metric_direction

from .formatting import format_duration, format_number
from .health import COUNT_GLYPH, LEVEL_STYLES, glyph_of, health_summary
from .messages import RunExtras
from .sanitize import safe_text
from .view.sparkline import sparkline

STATUS_MARKS = {
    LIVE: ("●", "bold green"),
    FINISHED: ("✓", "dim"),
    FAILED: ("✗", "bold red"),
    CRASHED: ("†", "bold magenta"),
}


@dataclass(slots=True)
class TableContext:
    """What cells need beyond the run itself (attributes down from the screen)."""

    now: float
    extras: dict[str, RunExtras] = field(default_factory=dict)
    pinned: list[str] = field(default_factory=list)
    selected: set[str] = field(default_factory=set)
    best: str | None = None  # run id marked best


@dataclass(frozen=True, slots=True)
class Column:
    id: str
    title: str
    value: Callable[[RunRecord, TableContext], Any]  # what sorting compares (None: missing)
    cell: Callable[[RunRecord, TableContext], Text]
    numeric: bool = False
    full_title: str = ""  # untruncated, for exports
    plain: Callable[[RunRecord, TableContext], str] | None = None  # export text, if not the cell's
    # What the cell shows depends on, as a value (None: made on every update): a live run's
    # row is written every frame, and its name, project, config and unchanged metrics need
    # not be formatted again to find that they are the same.
    shows: Callable[[RunRecord, TableContext], object] | None = None
    # The value as data (CSV), where it is not the sort value of a numeric column nor the
    # text of another; data_title names it where it differs from the cell ("age (s)").
    data: Callable[[RunRecord, TableContext], object] | None = None
    data_title: str = ""

    def datum(self, run: RunRecord, ctx: TableContext) -> object:
        if self.data is not None:
            return self.data(run, ctx)
        return self.value(run, ctx) if self.numeric else self.text(run, ctx)

    def text(self, run: RunRecord, ctx: TableContext) -> str:
        if self.plain is not None:
            return self.plain(run, ctx)
        return self.cell(run, ctx).plain

    @property
    def export_title(self) -> str:
        return self.full_title or self.title or self.id

    @property
    def data_export_title(self) -> str:
        return self.data_title or self.export_title


def _number_cell(value: float | int | None, flag: bool = False) -> Text:
    if value is None:
        return Text("-", style="dim", justify="right")
    if isinstance(value, float) and not math.isfinite(value):
        return Text(f"{format_number(value)} ⚠", style="bold yellow", justify="right")
    text = Text(format_number(value), justify="right")
    if flag:
        text.append(" ⚠", style="yellow")
    return text


def _rate_cell(value: float | None) -> Text:
    """Steps per second to three figures: a live rate that wobbles in its fourth figure
    would rewrite (and repaint) the cell on every frame and read as noise."""
    if value is None or not math.isfinite(value):
        return _number_cell(value)
    return Text(format_number(value, 3), justify="right")


def _marks(run: RunRecord, ctx: TableContext) -> Text:
    text = Text()
    text.append("^" if run.id in ctx.pinned else " ", style="bold cyan")
    text.append("■" if run.id in ctx.selected else " ", style="bold yellow")
    text.append("★" if run.id == ctx.best else " ", style="bold yellow")
    return text


def _status(run: RunRecord, ctx: TableContext) -> Text:
    mark, style = STATUS_MARKS.get(run.status, ("?", ""))
    text = Text(mark, style=style)
    if run.events:
        resumes = sum(1 for event in run.events if event.kind == "resumed")
        if resumes:  # resumed after a crash or a finish: ↻, with a count past one
            text.append("↻" if resumes == 1 else f"↻{resumes}", style="yellow")
    return text


HEALTH_GLYPHS = 3  # open episodes shown in the health cell; more read as a trailing ``+``


def _health(run: RunRecord, ctx: TableContext) -> Text:
    """``⚠N`` (health events and alerts) and one glyph per detector with an open episode."""
    summary = health_summary(run.events)
    if not summary.count and not summary.open:
        return Text("")
    worst = summary.worst
    text = Text(f"{COUNT_GLYPH}{summary.count}", style=LEVEL_STYLES.get(worst or "", "dim"))
    if summary.open:
        text.append(" ")
        for detector, level in summary.open[:HEALTH_GLYPHS]:
            text.append(glyph_of(detector), style=LEVEL_STYLES.get(level, "yellow"))
        if len(summary.open) > HEALTH_GLYPHS:
            text.append("+", style="yellow")  # the run view lists every one
    return text


def _health_value(run: RunRecord, ctx: TableContext) -> Any:
    summary = health_summary(run.events)
    if not summary.count:
        return None
    return len(summary.open) * 1_000_000 + summary.count  # open episodes first, then count


def has_health(runs: Sequence[RunRecord]) -> bool:
    """Whether any of these runs has a health event or an alert (the column is shown then)."""
    return any(e.kind in ("health", "alert") for run in runs for e in run.events)


def _start(run: RunRecord, ctx: TableContext) -> Text:
    stamp = datetime.fromtimestamp(run.created_at, tz=timezone.utc).astimezone()
    return Text(stamp.strftime("%m-%d %H:%M"))


def _name(run: RunRecord, ctx: TableContext) -> Text:
    return Text(safe_text(run.name, 40))


def _project(run: RunRecord, ctx: TableContext) -> Text:
    return Text(safe_text(run.project, 20), style="dim")


def _tags(run: RunRecord, ctx: TableContext) -> Text:
    return Text(safe_text(",".join(run.tags), 24), style="cyan")


def _age(run: RunRecord, ctx: TableContext) -> Text:
    return Text(format_duration(ctx.now - run.created_at), justify="right")


def _duration(run: RunRecord, ctx: TableContext) -> Text:
    return Text(format_duration(run.duration_s), justify="right")


FIXED: dict[str, Column] = {
    c.id: c
    for c in (
        Column(
            "marks",
            "",
            lambda r, c: (r.id in c.pinned, r.id in c.selected),
            _marks,
            shows=lambda r, c: (r.id in c.pinned, r.id in c.selected, r.id == c.best),
        ),
        Column(
            "status",
            "st",
            lambda r, c: r.status,
            _status,
            full_title="status",
            plain=lambda r, c: r.status,
            shows=lambda r, c: (r.status, len(r.events)),
        ),
        Column(
            "name",
            "name",
            lambda r, c: r.name,
            _name,
            plain=lambda r, c: safe_text(r.name),
            shows=lambda r, c: r.name,
        ),
        Column(
            "health",
            "health",
            _health_value,
            _health,
            numeric=True,
            shows=lambda r, c: len(r.events),
            data=lambda r, c: _health(r, c).plain,
        ),
        Column(
            "project", "project", lambda r, c: r.project, _project, shows=lambda r, c: r.project
        ),
        Column(
            "tags",
            "tags",
            lambda r, c: ",".join(r.tags) or None,
            _tags,
            shows=lambda r, c: tuple(r.tags),
        ),
        Column(
            "start",
            "start",
            lambda r, c: r.created_at,
            _start,
            numeric=True,
            shows=lambda r, c: r.created_at,
            data=lambda r, c: datetime.fromtimestamp(r.created_at, tz=timezone.utc).isoformat(),
        ),
        Column(
            "age",
            "age",
            lambda r, c: -r.created_at,
            _age,
            numeric=True,
            data=lambda r, c: round(c.now - r.created_at, 3),
            data_title="age (s)",
        ),
        Column(
            "duration",
            "dur",
            lambda r, c: r.duration_s,
            _duration,
            numeric=True,
            full_title="duration",
            data_title="duration (s)",
        ),
        Column(
            "step",
            "step",
            lambda r, c: r.own_step,
            lambda r, c: _number_cell(r.own_step),
            numeric=True,
            shows=lambda r, c: r.own_step,
        ),
        Column(
            "rate",
            "steps/s",
            lambda r, c: r.steps_per_s,
            lambda r, c: _rate_cell(r.steps_per_s),
            True,
        ),
    )
}


def metric_column(key: str, stat: str, direction: Callable[[str], str] | None = None) -> Column:
    """``stat``: ``last``, ``best``, ``smooth`` or ``trend``. ``direction`` gives a best
    column its min/max (the runs' define_metric goal); by default it is guessed from the name."""
    shown = safe_text(key, 24)
    if stat == "last":

        def last(run: RunRecord, ctx: TableContext) -> Any:
            summary = run.metrics.get(key)
            return None if summary is None else summary.last

        def last_cell(run: RunRecord, ctx: TableContext) -> Text:
            summary = run.metrics.get(key)
            value = None if summary is None else summary.last
            return _number_cell(value, bool(summary and summary.nonfinite))

        return Column(
            f"last:{key}", shown, last, last_cell, numeric=True, full_title=key,
            shows=lambda r, c: r.metrics.get(key),
        )  # fmt: skip
    if stat == "best":
        mode = direction(key) if direction is not None else metric_direction(key)
        stat = best_stat(key, mode)

        def best(run: RunRecord, ctx: TableContext) -> Any:
            return best_value(run, key, mode)

        return Column(
            f"best:{key}", f"{shown} {stat}", best, lambda r, c: _number_cell(best(r, c)), True,
            full_title=f"{key} {stat}", shows=lambda r, c: r.metrics.get(key),
        )  # fmt: skip
    if stat == "smooth":

        def smooth(run: RunRecord, ctx: TableContext) -> Any:
            extras = ctx.extras.get(run.id)
            return None if extras is None else extras.recent.get(key)

        return Column(
            f"smooth:{key}", f"{shown} ~", smooth, lambda r, c: _number_cell(smooth(r, c)), True,
            full_title=f"{key} (mean of the last 20)", shows=lambda r, c: c.extras.get(r.id),
        )  # fmt: skip

    def trend_value(run: RunRecord, ctx: TableContext) -> Any:
        extras = ctx.extras.get(run.id)
        if extras is None or extras.trend_key != key or not extras.trend:
            return None
        finite = [v for v in extras.trend if v is not None]
        return finite[-1] - finite[0] if len(finite) > 1 else None

    def trend_cell(run: RunRecord, ctx: TableContext) -> Text:
        extras = ctx.extras.get(run.id)
        if extras is None or extras.trend_key != key:
            return Text("")
        return Text(sparkline(_cells(extras.trend, TREND_CELLS), TREND_CELLS), style="cyan")

    return Column(
        f"trend:{key}", f"{shown} trend", trend_value, trend_cell, full_title=f"{key} trend",
        shows=lambda r, c: c.extras.get(r.id),
        data=trend_value, data_title=f"{key} trend (last - first)",
    )  # fmt: skip


_FLAT: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}


def flat_config(config: dict[str, Any]) -> dict[str, Any]:
    """``flatten_config``, once per config: a record's config is the same object from one
    read to the next (the store shares what it parsed), and each config cell of every run
    flattened the whole config on every frame (a model's config has hundreds of keys)."""
    held = _FLAT.get(id(config))
    if held is not None and held[0] is config:
        return held[1]
    if len(_FLAT) >= 4096:
        _FLAT.clear()
    flat = flatten_config(config)
    _FLAT[id(config)] = (config, flat)
    return flat


def config_column(key: str) -> Column:
    def value(run: RunRecord, ctx: TableContext) -> Any:
        found = flat_config(run.config).get(key, MISSING)
        return None if found is MISSING else found

    def cell(run: RunRecord, ctx: TableContext) -> Text:
        found = value(run, ctx)
        if found is None:
            return Text("-", style="dim", justify="right")
        if isinstance(found, (int, float)) and not isinstance(found, bool):
            return Text(format_number(found), justify="right")
        return Text(safe_text(found if isinstance(found, str) else repr(found), 20))

    def plain(run: RunRecord, ctx: TableContext) -> str:
        found = value(run, ctx)
        return "" if found is None else safe_text(found)

    def shows(run: RunRecord, ctx: TableContext) -> object:
        found = value(run, ctx)
        return (type(found), found)  # 1, 1.0 and True are shown apart

    title = f"cfg.{safe_text(key, 20)}"
    return Column(
        f"cfg:{key}", title, value, cell, full_title=f"config.{key}", plain=plain, shows=shows
    )


def column_for(column_id: str, direction: Callable[[str], str] | None = None) -> Column:
    if column_id in FIXED:
        return FIXED[column_id]
    kind, _, key = column_id.partition(":")
    if kind == "cfg":
        return config_column(key)
    if kind in ("last", "best", "smooth", "trend"):
        return metric_column(key, kind, direction)
    raise KeyError(column_id)


TREND_CELLS = 12


def _cells(means: Sequence[float | None], cells: int) -> list[float]:
    """The whole history's bucket means in ``cells`` values, neighbours averaged (the cell
    showed the last 12 of 24 buckets: the second half of the run only)."""
    count = len(means)
    if count <= cells:
        return [math.nan if v is None else v for v in means]
    out = []
    for cell in range(cells):
        chunk = [
            v for v in means[cell * count // cells : (cell + 1) * count // cells] if v is not None
        ]
        out.append(math.fsum(chunk) / len(chunk) if chunk else math.nan)
    return out
