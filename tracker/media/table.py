"""``tracker.Table``: rows of text and numbers, for samples of what a model generates
(prompt, output, reference) or per-example predictions, stored as JSON.

Cells may be str, int, float, bool or None; bytes must be UTF-8; anything else is stored as its
``str()``. Non-finite floats are kept as the strings "NaN", "Infinity", "-Infinity".
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from .base import Encoded, Media, check_size, check_text, json_bytes

MAX_ROWS = 10_000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 100_000

Cell = str | int | float | bool | None


class Table(Media):
    """``run.log({"generations": tracker.Table(columns=["prompt", "output"], rows=rows)})``

    ``data=`` is accepted as another name for ``rows`` (wandb's spelling), and a pandas
    DataFrame as ``dataframe=``.
    """

    kind = "table"

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        rows: Iterable[Sequence[Any]] | None = None,
        *,
        data: Iterable[Sequence[Any]] | None = None,
        dataframe: Any = None,
    ) -> None:
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            rows = dataframe.itertuples(index=False, name=None)
        if rows is not None and data is not None:
            raise ValueError("Table: pass rows= or data=, not both")
        source = rows if rows is not None else data if data is not None else []
        if isinstance(source, (str, bytes)):
            raise TypeError("Table: rows must be a list of rows, not a string")
        table_rows = [list(row) if not isinstance(row, (str, bytes)) else [row] for row in source]
        if columns is None:
            width = max((len(r) for r in table_rows), default=0)
            columns = [f"col{i + 1}" for i in range(width)]
        if isinstance(columns, (str, bytes)):
            raise TypeError("Table: columns must be a list of names, not a string")
        self.columns = [
            check_text(c, f"Table column {i + 1} name", 200) for i, c in enumerate(columns)
        ]
        if not self.columns:
            raise ValueError("Table: no columns")
        if len(self.columns) > MAX_COLUMNS:
            raise ValueError(f"Table: {len(self.columns)} columns; at most {MAX_COLUMNS}")
        if len(table_rows) > MAX_ROWS:
            raise ValueError(f"Table: {len(table_rows):,} rows; at most {MAX_ROWS:,}")
        self.rows: list[list[Cell]] = []
        for r, row in enumerate(table_rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Table: row {r} has {len(row)} cells but there are {len(self.columns)} columns"
                )
            self.rows.append([_cell(value, r, self.columns[c]) for c, value in enumerate(row)])
        self._chars = sum(len(c) for row in self.rows for c in row if isinstance(c, str))

    def approx_bytes(self) -> int:
        return self._chars + 16 * len(self.columns) * len(self.rows)

    def encode(self) -> Encoded:
        data = json_bytes({"columns": self.columns, "rows": self.rows})
        check_size("Table", len(data))
        return Encoded(self.kind, {"columns": self.columns, "rows": len(self.rows)}, data)

    def __repr__(self) -> str:
        return f"<tracker.Table {len(self.rows)} rows x {len(self.columns)} columns>"


def _cell(value: Any, row: int, column: str) -> Cell:
    where = f"Table row {row}, column {column!r}"
    if value is None or isinstance(value, (bool, int)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            return str(value)
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return check_text(value, where, MAX_CELL_CHARS)
    item = getattr(value, "item", None)
    if callable(item):  # numpy and torch scalars
        try:
            scalar = item()
        except (TypeError, ValueError, RuntimeError):
            scalar = None
        if isinstance(scalar, (bool, int, float, str)):
            return _cell(scalar, row, column)
    return check_text(str(value), where, MAX_CELL_CHARS)
