"""The sweep views' words: the header with its view tabs, and the legend under the picture
(the groups and their counts, the highlighted run, the parallel coordinates' colour scale),
as Rich text fitted to the width. Every raw name or value passes :func:`safe_text`; nothing
is parsed as markup. Pure: no widgets."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from tracker.models import RunRecord

from ..formatting import fit_parts, format_number
from ..sanitize import safe_text
from . import sweep as sv
from .sweep_draw import HIGHLIGHT, RANK_COLORS

Legend = list[list[Text]]  # paragraphs of parts, each fitted to the width (never cut mid-part)


def fitted(legend: Legend, width: int) -> list[Text]:
    """The legend's lines: each paragraph on at most two lines of ``width`` cells."""
    lines: list[Text] = []
    for parts in legend:
        lines += fit_parts(parts, max(20, width), max_lines=2) if parts else []
    return lines


def header_lines(
    tabs: Sequence[tuple[str, bool]], runs: int, settings: Sequence[str], width: int
) -> list[Text]:
    """``tabs``: (title, shown) per view; ``settings``: safe text (``group: lr``...)."""
    bar = Text(" sweep ", style="bold reverse")
    for index, (title, shown) in enumerate(tabs, 1):
        bar.append("  ")
        bar.append(f" {index} {title} ", style="bold reverse" if shown else "dim")
    parts = [bar, Text(f"   {runs} runs", style="bold")]
    parts += [Text(f"   {setting}", style="cyan") for setting in settings]
    parts.append(Text("   ? keys", style="dim"))
    return fit_parts(parts, max(20, width), optional={len(parts) - 1}, max_lines=3)


def group_parts(groups: Sequence[tuple[str, int, str]]) -> list[Text]:
    """(safe name, runs, colour) of each group, as the scatter colours them."""
    parts = [Text("colour:", style="dim")]
    parts += [Text(f"  ● {name} (n={count})", style=color) for name, count, color in groups]
    return parts


def highlight_parts(
    ranked: Sequence[RunRecord],
    run_id: str | None,
    metric: str,
    which: str,
    mode: str,
    keys: Sequence[str],
) -> list[Text]:
    """The highlighted run (◆): its rank among ``ranked`` (best first), its value of the
    metric and of each of ``keys``."""
    run = next((r for r in ranked if r.id == run_id), None)
    if run is None:
        return [Text("no run has a value of this metric yet", style="dim")]
    place = ranked.index(run) + 1
    name = Text.assemble(
        ("◆ ", HIGHLIGHT), (safe_text(run.name, 30), "bold"), f" #{place}/{len(ranked)}"
    )
    value = sv.metric_value(run, metric, which, mode)
    parts = [name, Text(f"  {which} {format_number(value)}", style="bold")]
    for key in keys:
        shown = safe_text(sv.value_label(sv.group_value(run, key)), 16)
        parts.append(Text(f"  {safe_text(key, 20)}={shown}"))
    return parts


def rank_scale(metric: str, which: str, mode: str, left_out: int) -> list[Text]:
    """The parallel coordinates' colours, best quarter to worst."""
    parts = [Text(f"colour: {which} {safe_text(metric, 30)} ({mode} is best) ")]
    parts.append(Text("━━ best quarter ", style=RANK_COLORS[0]))
    middle = Text("━━ ━━ ", style=RANK_COLORS[1])
    middle.stylize(RANK_COLORS[2], 3)
    parts += [middle, Text("━━ worst quarter", style=RANK_COLORS[3])]
    if left_out:
        parts.append(Text(f"   {left_out} runs lack a value", style="dim"))
    return parts


def missing_parts(key: str | None, none: sv.Group | None, lacking: int, metric: str) -> list[Text]:
    """The curves' notes on what their counts leave out: who the ``(none)`` group is (runs
    without ``key``: W&B's null group), and how many runs of the drawn groups have no value of
    the metric (no group's n counts them)."""
    parts: list[Text] = []
    if key is not None and none is not None:
        count = len(none.run_ids)
        runs = "run" if count == 1 else "runs"
        what = f"{sv.NO_VALUE}: {count} {runs} without {safe_text(key, 24)}"
        parts.append(Text(f"  {what}", style="dim"))
    if lacking:
        runs = "run" if lacking == 1 else "runs"
        parts.append(
            Text(f"  {lacking} {runs} without {safe_text(metric, 30)} not drawn", style="dim")
        )
    return parts
