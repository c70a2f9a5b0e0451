"""The runs screen's header: the database, the counts, the filter, the sort, the best run and
the plot options, each whole. What does not fit on a line goes on the next (three at most)
rather than being cut; ``? keys`` is left out where it does not fit.

:class:`HeaderFacts` is everything the header shows: a live frame that changes none of it
builds no header (it was built and measured every frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rich.cells import cell_len
from rich.text import Text

from tracker.ranking import Best, best_stat

from ..axis import AUTO, XAxis
from ..formatting import cut_cells_left, cut_cells_middle, fit_parts, format_number
from ..sanitize import safe_text

MAX_LINES = 3
BEST_NAME_CELLS = 60


class PlotFlags(Protocol):
    """What the header says of the plots' options (the widgets' PlotOptions)."""

    @property
    def x(self) -> XAxis: ...
    @property
    def log_y(self) -> bool: ...
    @property
    def smoothing(self) -> float | None: ...


@dataclass(frozen=True)
class BestNote:
    """The best run as the header names it (not its record, which changes every frame)."""

    metric: str
    mode: str
    value: float
    name: str

    @classmethod
    def of(cls, best: Best | None) -> BestNote | None:
        if best is None:
            return None
        return cls(best.metric, best.mode, best.value, best.run.name)


@dataclass(frozen=True)
class HeaderFacts:
    width: int  # the header's cells (its padding left out)
    database: str  # the database as the user named it
    state: str  # the reader's: "ok", "empty", "missing", "error"
    runs: int
    live: int
    filter_expression: str
    filtering: int  # runs still being checked against the filter
    shown: int  # runs the filter lets through
    sort_title: str | None  # the sorted column's title
    descending: bool
    options: PlotFlags
    x_label: str  # what the preview's x is ("step", or the step metric a run defines)
    best: BestNote | None


def _x_flag(options: PlotFlags, x_label: str) -> str:
    """In auto mode each run is plotted against the step metric it defines: the preview's is
    named with ``auto``, since another run may use another."""
    axis = options.x
    if axis.kind != AUTO:
        return safe_text(axis.name, 30)
    if x_label == "step":
        return "step"
    return f"auto ({safe_text(x_label, 24)})"


def _best_note(best: BestNote, width: int) -> Text:
    note = f"   ★ {safe_text(best.metric, 40)} {best_stat(best.metric, best.mode)} "
    note += f"{format_number(best.value)}: "
    # BEST_NAME_CELLS of the name, fewer where the line has less room beside the note: cut
    # in the middle, so that a sweep's runs still tell apart
    room = max(16, min(BEST_NAME_CELLS, width - cell_len(note)))
    return Text(note + cut_cells_middle(safe_text(best.name), room), style="yellow")


def header_lines(facts: HeaderFacts) -> list[Text]:
    width = facts.width
    parts = [
        Text(" tracktui ", style="bold reverse"),
        Text(f"  {cut_cells_left(safe_text(facts.database), max(16, width // 2))}"),
    ]
    if facts.state == "ok":
        runs = f"{facts.runs} run{'' if facts.runs == 1 else 's'}"
        parts.append(Text(f"   {runs}, {facts.live} live"))
        if facts.filter_expression:
            count = f"{facts.shown}/{facts.runs}"
            if facts.filtering:
                count += f" (filtering {facts.filtering}…)"
            shown = safe_text(facts.filter_expression, 40)
            parts.append(Text(f"   filter: {shown} {count}", style="bold cyan"))
        if facts.sort_title:
            direction = "desc" if facts.descending else "asc"
            parts.append(Text(f"   sort: {facts.sort_title} {direction}", style="cyan"))
        if facts.best is not None:
            parts.append(_best_note(facts.best, width))
    options = facts.options
    flags = [
        _x_flag(options, facts.x_label),
        "log-y" if options.log_y else "",
        f"EMA {options.smoothing:g}" if options.smoothing is not None else "",
    ]
    parts.append(Text(f"   x: {' · '.join(f for f in flags if f)}", style="dim"))
    parts.append(Text("   ? keys", style="dim"))
    return fit_parts(parts, width, optional={len(parts) - 1}, max_lines=MAX_LINES)
