"""Charts of a table, as ``wandb.plot.line`` / ``scatter`` / ``bar`` / ``histogram`` /
``line_series`` / ``pr_curve`` / ``roc_curve`` / ``plot_table`` make them: the table's data
plus which chart to draw from which columns.

A chart is stored as a table (kind ``table``, so any reader can still show its data) whose
JSON also holds ``"chart": {"type", "spec", "fields", "strings"}``; the meta says ``chart``
and ``title``. The TUI's media pane draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import warn_once
from .base import Encoded, Media, check_size, check_text, json_bytes
from .table import Table

# wandb's Vega spec names -> the chart tracktui draws, and the fields each one reads
SPECS = {
    "wandb/line/v0": "line",
    "wandb/scatter/v0": "scatter",
    "wandb/bar/v0": "bar",
    "wandb/histogram/v0": "histogram",
    "wandb/lineseries/v0": "line_series",
    "wandb/area-under-curve/v0": "curve",
}
CHART_FIELDS: dict[str, tuple[str, ...]] = {
    "line": ("x", "y", "stroke"),
    "scatter": ("x", "y"),
    "bar": ("label", "value"),
    "histogram": ("value",),
    "line_series": ("step", "lineKey", "lineVal"),
    "curve": ("x", "y", "class"),
    "custom": (),
}
MAX_FIELDS = 32
MAX_FIELD_CHARS = 200
MAX_STRING_CHARS = 1000


@dataclass
class ChartSpec:
    """wandb's ``CustomChartSpec``: the Vega spec's name, its field -> column mapping and its
    string settings (``title``, axis titles)."""

    spec_name: str
    fields: dict[str, str | None] = field(default_factory=dict)
    string_fields: dict[str, str] = field(default_factory=dict)


class Chart(Media):
    """What ``tracker.plot.*`` returns: ``run.log({"pr": tracker.plot.pr_curve(y, probs)})``.

    ``chart.table`` is the table, ``chart.spec`` the spec (wandb's ``CustomChart``)."""

    kind = "table"

    def __init__(
        self,
        spec_name: str,
        table: Table,
        fields: dict[str, Any],
        string_fields: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(table, Table):
            raise TypeError(
                f"chart: expected a tracker.Table (wandb.Table), not {type(table).__name__}"
            )
        name = check_text(spec_name, "chart spec name", MAX_FIELD_CHARS)
        self.chart = SPECS.get(name, "custom")
        self.spec = ChartSpec(name, _fields(fields), _strings(string_fields or {}))
        self.table = table
        self._frozen = table.at_log()  # the data as it is now (see at_log)
        for role in CHART_FIELDS[self.chart]:
            column = self.spec.fields.get(role)
            if column is not None and column not in table.columns:
                warn_once(
                    f"chart-column:{name}:{role}:{column}",
                    f"chart {name}: {role}={column!r} is not a column of its table "
                    f"(columns: {', '.join(table.columns)[:200]}); that part is not drawn",
                )

    @property
    def title(self) -> str:
        return self.spec.string_fields.get("title", "")

    def at_log(self) -> Chart:
        copy = object.__new__(Chart)
        copy.__dict__.update(self.__dict__)
        copy._frozen = self.table.at_log()
        return copy

    def approx_bytes(self) -> int:
        return self._frozen.approx_bytes() + 512

    def cell_text(self) -> str:
        return f"<{self.chart} chart>"

    def encode(self) -> Encoded:
        columns, rows = self._frozen.stored()
        if not columns:
            raise ValueError("chart: its table has no columns")
        chart = {
            "type": self.chart,
            "spec": self.spec.spec_name,
            "fields": self.spec.fields,
            "strings": self.spec.string_fields,
        }
        data = json_bytes({"columns": columns, "rows": rows, "chart": chart})
        check_size("chart", len(data))
        meta: dict[str, Any] = {"columns": columns, "rows": len(rows), "chart": self.chart}
        if self.title:
            meta["title"] = self.title
        return Encoded(self.kind, meta, data)

    def __repr__(self) -> str:
        return f"<tracker.plot {self.chart} chart of {self._frozen!r}>"


def _fields(fields: Any) -> dict[str, str | None]:
    if not isinstance(fields, dict):
        raise TypeError(f"chart: fields must be a dict, not {type(fields).__name__}")
    if len(fields) > MAX_FIELDS:
        raise ValueError(f"chart: {len(fields)} fields; at most {MAX_FIELDS}")
    return {
        check_text(k, "chart field name", MAX_FIELD_CHARS): (
            None if v is None else check_text(v, f"chart field {k!r}", MAX_FIELD_CHARS)
        )
        for k, v in fields.items()
    }


def _strings(strings: Any) -> dict[str, str]:
    if not isinstance(strings, dict):
        raise TypeError(f"chart: string_fields must be a dict, not {type(strings).__name__}")
    if len(strings) > MAX_FIELDS:
        raise ValueError(f"chart: {len(strings)} string fields; at most {MAX_FIELDS}")
    return {
        check_text(k, "chart string name", MAX_FIELD_CHARS): check_text(
            "" if v is None else v, f"chart {k!r}", MAX_STRING_CHARS
        )
        for k, v in strings.items()
    }
