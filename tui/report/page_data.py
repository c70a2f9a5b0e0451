"""The JSON block the report's script reads: the runs (ids, names, colours), the charted
metrics and, per chart, what the hover readout needs (its x range and each run's bucket
means). Written by :func:`.render.script_json`, which escapes it for a ``<script>`` block.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .charts import Chart
from .model import Report


def _short(value: float) -> float | int:
    """What a readout shows (5 digits), at a third of repr's bytes; a whole step as an int."""
    short = float(f"{value:.5g}")
    return int(short) if short.is_integer() and abs(short) < 2**53 else short


def script_data(
    report: Report, colors: dict[str, str], drawn: Sequence[Chart] = ()
) -> dict[str, Any]:
    """The JSON the page's script reads (run ids, names, colours; the charted metrics) and,
    per chart in page order, its x range and each run's bucket means: the hover readout."""
    return {
        "runs": [{"id": r.id, "name": r.name, "color": colors[r.id]} for r in report.runs],
        "metrics": list(report.metrics),
        "made_at": report.provenance.made_at,
        "charts": [_chart_data(chart) for chart in drawn],
    }


def _chart_data(chart: Chart) -> dict[str, Any]:
    """A chart's readout data; runs logged at the same steps share one list of x (``xs``,
    each line's ``xi``): a sweep of 300 runs would repeat it 300 times."""
    xs: list[list[float | int]] = []
    index: dict[tuple[float | int, ...], int] = {}
    lines = []
    for line in chart.lines:
        x = tuple(_short(v) for v, _ in line.values)
        if x not in index:
            index[x] = len(xs)
            xs.append(list(x))
        lines.append({"run": line.run_id, "xi": index[x], "y": [_short(y) for _, y in line.values]})
    return {
        "key": chart.key,
        "x": [_short(chart.x_range[0]), _short(chart.x_range[1])],
        "px": [chart.left, chart.right],
        "x_name": chart.x_label,
        "xs": xs,
        "lines": lines,
    }
