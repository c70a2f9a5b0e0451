"""Stored media back as plain data, for readers (the TUI, scripts). Defensive: a row that does
not have the expected shape raises ``ValueError`` with what is wrong, never anything else."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from .base import MAX_MEDIA_BYTES
from .chart import CHART_FIELDS, MAX_FIELD_CHARS, MAX_FIELDS, MAX_STRING_CHARS
from .confusion import MAX_CLASSES
from .histogram import MAX_BINS
from .table import MAX_COLUMNS, MAX_ROWS


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One logged media object without its data (that is read when it is shown)."""

    id: int
    run_id: str
    key: str
    step: int
    t: float
    kind: str
    meta: dict[str, Any]

    @property
    def caption(self) -> str:
        caption = self.meta.get("caption")
        return caption if isinstance(caption, str) else ""


@dataclass(frozen=True, slots=True)
class TableData:
    columns: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True, slots=True)
class ChartData:
    """A chart of a table (``tracker.plot.*``): which chart, which column feeds which of its
    fields (``x``, ``y``, ``stroke``, ...; None or absent when not given), its strings
    (``title``, axis titles), and the table."""

    type: str
    spec: str
    fields: dict[str, str | None]
    strings: dict[str, str]
    table: TableData

    @property
    def title(self) -> str:
        return self.strings.get("title", "")


@dataclass(frozen=True, slots=True)
class HistogramData:
    counts: list[float]
    edges: list[float]


@dataclass(frozen=True, slots=True)
class ConfusionData:
    labels: list[str]
    matrix: list[list[int]]


MAX_META_CHARS = 64 * 1024  # the writer's meta is a few names and numbers
_SCALARS = (str, int, float, bool, type(None))


def parse_meta(text: object) -> dict[str, Any]:
    """A media row's ``meta`` as a flat dict of scalars (lists of scalars kept): anything
    else, text that is not a JSON object, or text too large or deep is left out, never
    raised."""
    if not isinstance(text, str) or len(text) > MAX_META_CHARS:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    if not isinstance(value, dict):
        return {}
    return {
        str(k): v
        for k, v in value.items()
        if _plain(v) or (isinstance(v, list) and all(_plain(item) for item in v))
    }


def _plain(value: object) -> bool:
    """A scalar that every reader can format: finite-width numbers, short enough text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**63
    return isinstance(value, _SCALARS)


def _json(data: bytes, what: str) -> dict[str, Any]:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ValueError(f"stored {what} is {type(data).__name__}, not bytes")
    if len(data) > MAX_MEDIA_BYTES:
        raise ValueError(
            f"stored {what} is {len(data) / 1e6:.1f} MB; tracktui writes at most "
            f"{MAX_MEDIA_BYTES / 1e6:.0f} MB"
        )
    try:
        value = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"stored {what} is not valid JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"stored {what} is JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError(f"stored {what} is not a JSON object")
    return value


def _numbers(value: Any, what: str, limit: int) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"stored {what} is not a list of numbers")
    if len(value) > limit:
        raise ValueError(f"stored {what} has {len(value):,} entries; at most {limit:,}")
    try:
        numbers = [float(v) for v in value]
    except OverflowError:
        raise ValueError(f"stored {what} holds a number too large for a float") from None
    if not all(math.isfinite(v) and abs(v) <= MAX_MAGNITUDE for v in numbers):
        raise ValueError(f"stored {what} holds NaN, infinite or out-of-range numbers")
    return numbers


MAX_MAGNITUDE = 1e300  # any difference of two such numbers is still finite


def decode_table(data: bytes) -> TableData:
    return _table(_json(data, "table"))


def decode_table_or_chart(data: bytes) -> TableData | ChartData:
    """A stored table, or a chart when its JSON says which chart to draw of it."""
    value = _json(data, "table")
    table = _table(value)
    chart = value.get("chart")
    return table if chart is None else _chart(chart, table)


def _chart(chart: Any, table: TableData) -> ChartData:
    if not isinstance(chart, dict):
        raise ValueError("stored chart is not a JSON object")
    kind, spec = chart.get("type"), chart.get("spec", "")
    if kind not in CHART_FIELDS or not isinstance(spec, str) or len(spec) > MAX_FIELD_CHARS:
        raise ValueError(f"stored chart of type {repr(kind)[:40]} cannot be drawn here")
    fields, strings = chart.get("fields", {}), chart.get("strings", {})
    if not isinstance(fields, dict) or not isinstance(strings, dict):
        raise ValueError("stored chart's fields or strings are not JSON objects")
    if len(fields) > MAX_FIELDS or len(strings) > MAX_FIELDS:
        raise ValueError(f"stored chart has more than {MAX_FIELDS} fields or strings")
    if not all(
        isinstance(k, str)
        and len(k) <= MAX_FIELD_CHARS
        and (v is None or (isinstance(v, str) and len(v) <= MAX_FIELD_CHARS))
        for k, v in fields.items()
    ):
        raise ValueError("stored chart's fields are not column names")
    if not all(
        isinstance(k, str)
        and len(k) <= MAX_FIELD_CHARS
        and isinstance(v, str)
        and len(v) <= MAX_STRING_CHARS
        for k, v in strings.items()
    ):
        raise ValueError("stored chart's strings are not short texts")
    return ChartData(kind, spec, dict(fields), dict(strings), table)


def _table(value: dict[str, Any]) -> TableData:
    columns, rows = value.get("columns"), value.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise ValueError("stored table lacks columns or rows")
    if not columns or len(columns) > MAX_COLUMNS or len(rows) > MAX_ROWS:
        raise ValueError(
            f"stored table has {len(columns):,} columns and {len(rows):,} rows; from 1 to "
            f"{MAX_COLUMNS} columns and at most {MAX_ROWS:,} rows"
        )
    if not all(isinstance(row, list) and len(row) == len(columns) for row in rows):
        raise ValueError("stored table has rows that do not match its columns")
    if not all(_plain(c) for c in columns) or not all(_plain(c) for row in rows for c in row):
        raise ValueError("stored table has a cell that is not text, a number or empty")
    return TableData([str(c) for c in columns], rows)


def decode_histogram(data: bytes) -> HistogramData:
    value = _json(data, "histogram")
    counts = _numbers(value.get("counts"), "histogram counts", MAX_BINS)
    edges = _numbers(value.get("edges"), "histogram edges", MAX_BINS + 1)
    if counts and len(edges) != len(counts) + 1:
        raise ValueError("stored histogram has edges that do not match its counts")
    if any(c < 0 for c in counts) or not math.isfinite(sum(counts)):
        raise ValueError("stored histogram has negative or overflowing counts")
    if any(right <= left for left, right in itertools.pairwise(edges)):
        raise ValueError("stored histogram has edges that do not increase")
    return HistogramData(counts, edges)


def decode_confusion(data: bytes) -> ConfusionData:
    value = _json(data, "confusion matrix")
    labels, matrix = value.get("labels"), value.get("matrix")
    if not isinstance(labels, list) or not isinstance(matrix, list):
        raise ValueError("stored confusion matrix lacks labels or counts")
    if not labels or len(labels) > MAX_CLASSES or not all(_plain(label) for label in labels):
        raise ValueError(
            f"stored confusion matrix needs from 1 to {MAX_CLASSES} labels of text or numbers"
        )
    if len(matrix) != len(labels):
        raise ValueError("stored confusion matrix is not square with one row per label")
    rows = [_numbers(row, "confusion matrix row", len(labels)) for row in matrix]
    if any(len(row) != len(labels) for row in rows):
        raise ValueError("stored confusion matrix is not square with one row per label")
    if any(v < 0 or v != int(v) or v >= 2**63 for row in rows for v in row):
        raise ValueError("stored confusion matrix holds counts that are not whole numbers >= 0")
    return ConfusionData([str(label) for label in labels], [[int(v) for v in row] for row in rows])
