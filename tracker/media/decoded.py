"""Stored media back as plain data, for readers (the TUI, scripts). Defensive: a row that does
not have the expected shape raises ``ValueError`` with what is wrong, never anything else."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


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
class HistogramData:
    counts: list[float]
    edges: list[float]


@dataclass(frozen=True, slots=True)
class ConfusionData:
    labels: list[str]
    matrix: list[list[int]]


def parse_meta(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json(data: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(bytes(data).decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"stored {what} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ValueError(f"stored {what} is not a JSON object")
    return value


def _numbers(value: Any, what: str) -> list[float]:
    if not isinstance(value, list) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    ):
        raise ValueError(f"stored {what} is not a list of numbers")
    return [float(v) for v in value]


def decode_table(data: bytes) -> TableData:
    value = _json(data, "table")
    columns, rows = value.get("columns"), value.get("rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise ValueError("stored table lacks columns or rows")
    if not all(isinstance(row, list) and len(row) == len(columns) for row in rows):
        raise ValueError("stored table has rows that do not match its columns")
    return TableData([str(c) for c in columns], rows)


def decode_histogram(data: bytes) -> HistogramData:
    value = _json(data, "histogram")
    counts = _numbers(value.get("counts"), "histogram counts")
    edges = _numbers(value.get("edges"), "histogram edges")
    if counts and len(edges) != len(counts) + 1:
        raise ValueError("stored histogram has edges that do not match its counts")
    return HistogramData(counts, edges)


def decode_confusion(data: bytes) -> ConfusionData:
    value = _json(data, "confusion matrix")
    labels, matrix = value.get("labels"), value.get("matrix")
    if not isinstance(labels, list) or not isinstance(matrix, list):
        raise ValueError("stored confusion matrix lacks labels or counts")
    rows = [_numbers(row, "confusion matrix row") for row in matrix]
    if len(rows) != len(labels) or any(len(row) != len(labels) for row in rows):
        raise ValueError("stored confusion matrix is not square with one row per label")
    return ConfusionData([str(label) for label in labels], [[int(v) for v in row] for row in rows])
