"""The lines of one metric's plot for the runs a screen shows, on the x-axis chosen
(:mod:`tui.axis`): each run's series, the series its x comes from, its resume markers, and the
runs left out because they lack the x metric. Screens call it; it reads only the model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tracker.models import RunRecord

from .axis import XAxis, x_label, x_metric
from .health import event_markers
from .sanitize import safe_text
from .series import SeriesBuffer
from .widgets.plot import MetricPlot, PlotLine, PlotOptions


@dataclass(slots=True)
class PlotData:
    lines: list[PlotLine] = field(default_factory=list)
    label: str = "step"
    note: str = ""  # safe text: the runs left out
    follow: list[int] = field(default_factory=list)  # series ids the plot needs
    loading: bool = False  # a series it needs is on its way from the reader


def resume_markers(run: RunRecord) -> tuple[tuple[int, float], ...]:
    """(step, seconds since the run started) of each time the run was resumed."""
    if not run.events:
        return ()
    return tuple(
        (e.step, e.t - run.created_at)
        for e in run.events
        if e.kind == "resumed" and e.step is not None
    )


def plot_data(
    key: str,
    runs: Sequence[tuple[RunRecord, str]],
    series: Mapping[int, SeriesBuffer],
    axis: XAxis,
) -> PlotData:
    """``runs``: (run, plotext colour) in legend order. Runs without ``key`` are not in it."""
    having = [(run, color) for run, color in runs if key in run.metrics]
    metric = x_metric([run for run, _ in having], key, axis)
    out = PlotData(label=x_label(axis, metric))
    missing: list[str] = []
    for run, color in having:
        summary = run.metrics[key]
        out.follow.append(summary.series_id)
        x_buffer = None
        if metric is not None:
            x_summary = run.metrics.get(metric)
            if x_summary is None:
                missing.append(run.name)
                continue
            out.follow.append(x_summary.series_id)
            x_buffer = series.get(x_summary.series_id)
            if x_buffer is None:
                out.loading = True  # on its way from the reader
                continue
        buffer = series.get(summary.series_id)
        out.loading |= buffer is None
        if buffer is not None:
            out.lines.append(
                PlotLine(
                    run.name, color, buffer, x_buffer, resume_markers(run), event_markers(run, key)
                )
            )
    if missing:
        shown = ", ".join(safe_text(name, 24) for name in missing[:3])
        more = f" +{len(missing) - 3}" if len(missing) > 3 else ""
        out.note = f"no {safe_text(metric, 24)}: {shown}{more}"
    return out


def show_plot(plot: MetricPlot, data: PlotData, options: PlotOptions) -> None:
    plot.show(data.lines, options, data.label, data.note, data.loading)
