"""``tracker.Table``: rows of text and numbers, for samples of what a model generates
(prompt, output, reference) or per-example predictions, stored as JSON.

wandb's surface: ``Table(columns=, data=, rows=, dataframe=, optional=, allow_mixed_types=)``,
``add_data(*row)``, ``add_column(name, data)``, ``get_column(name)``, ``columns``, ``data``,
``iterrows()``, ``get_dataframe()``. As in wandb, a column keeps the type of its first value
(numbers, text, booleans, images, ...): another type raises ``TypeError`` unless
``allow_mixed_types=True``; ``None`` is allowed unless the column is not ``optional``.

Cells may be str, int, float, bool or None (numpy and torch scalars become these; bytes must
be UTF-8); a media object in a cell (``tracker.Image``) is stored as a short text describing
it (``<image 28x28 'cat'>``), not as pixels; anything else as its ``str()``. Non-finite floats
are stored as the strings "NaN", "Infinity", "-Infinity". Past 10,000 rows, only the first
10,000 are stored, as wandb does (one warning).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

from ..errors import warn_once
from .base import Encoded, Media, check_size, check_text, json_bytes, to_numpy

MAX_ROWS = 10_000
MAX_COLUMNS = 100
MAX_CELL_CHARS = 100_000
WANDB_DEFAULT_COLUMNS = ("Input", "Output", "Expected")
LOG_MODES = ("IMMUTABLE", "MUTABLE", "INCREMENTAL")

Cell = str | int | float | bool | None


class Table(Media):
    """``run.log({"generations": tracker.Table(columns=["prompt", "output"], rows=rows)})``

    ``data=`` (wandb's spelling; a list of rows, a 2-D numpy array or a pandas DataFrame) and
    ``dataframe=`` are accepted too; rows can be added later with :meth:`add_data`.
    """

    kind = "table"
    MAX_ROWS: ClassVar[int] = MAX_ROWS

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        rows: Iterable[Sequence[Any]] | None = None,
        *,
        data: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | Sequence[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str = "IMMUTABLE",
    ) -> None:
        if log_mode not in LOG_MODES:
            raise ValueError(f"Table: log_mode must be one of {', '.join(LOG_MODES)}")
        self.log_mode = log_mode
        self.allow_mixed_types = bool(allow_mixed_types)
        if data is not None and _is_dataframe(data):
            dataframe, data = data, None
        if rows is not None and _is_dataframe(rows):
            dataframe, rows = rows, None
        if dataframe is not None:
            columns = [str(c) for c in dataframe.columns]
            rows = dataframe.itertuples(index=False, name=None)
        if rows is not None and data is not None:
            raise ValueError("Table: pass rows= or data=, not both")
        source = rows if rows is not None else data if data is not None else []
        if isinstance(source, (str, bytes)):
            raise TypeError("Table: rows must be a list of rows, not a string")
        if hasattr(source, "ndim") or callable(getattr(source, "detach", None)):
            array = to_numpy(source, "Table data")
            if array.ndim != 2:
                raise ValueError(f"Table: data must be 2-D (rows x columns), not {array.shape}")
            source = array.tolist()
        table_rows = [list(row) if not isinstance(row, (str, bytes)) else [row] for row in source]
        if columns is None:
            width = max((len(r) for r in table_rows), default=len(WANDB_DEFAULT_COLUMNS))
            if width == len(WANDB_DEFAULT_COLUMNS):
                columns = list(WANDB_DEFAULT_COLUMNS)
            else:
                columns = [f"col{i + 1}" for i in range(width)]
        if isinstance(columns, (str, bytes)):
            raise TypeError("Table: columns must be a list of names, not a string")
        self.columns: list[str] = [
            check_text(c, f"Table column {i + 1} name", 200) for i, c in enumerate(columns)
        ]
        if len(self.columns) > MAX_COLUMNS:
            raise ValueError(f"Table: {len(self.columns)} columns; at most {MAX_COLUMNS}")
        if isinstance(optional, bool):
            self._optional = [optional] * len(self.columns)
        else:
            self._optional = [bool(o) for o in optional]
            if len(self._optional) != len(self.columns):
                raise ValueError(
                    f"Table: {len(self._optional)} optional= flags for {len(self.columns)} columns"
                )
        self._types: list[str | None] = [None] * len(self.columns)
        self._rows: list[list[Any]] = []  # a row list is never changed once it is in here
        self._chars = 0
        for row in table_rows:
            self._append(row)

    # --- wandb's API -------------------------------------------------------------------------

    @property
    def data(self) -> list[list[Any]]:
        """The rows, as wandb's ``table.data``."""
        return self._rows

    @property
    def rows(self) -> list[list[Any]]:
        return self._rows

    def add_data(self, *data: Any) -> None:
        """Append one row: ``table.add_data("a prompt", "its output", 0.93)``."""
        self._append(list(data))

    def add_row(self, *row: Any) -> None:
        """wandb's older name for :meth:`add_data`."""
        self._append(list(row))

    def add_column(self, name: Any, data: Any, optional: bool = False) -> None:
        """Append a column: ``table.add_column("score", scores)`` (a list, array or tensor with
        one value per row; the first column of an empty table sets the number of rows)."""
        column = check_text(name, "Table column name", 200)
        if column in self.columns:
            raise ValueError(f"Table: there is already a column {column!r}")
        if len(self.columns) >= MAX_COLUMNS:
            raise ValueError(f"Table: at most {MAX_COLUMNS} columns")
        if hasattr(data, "ndim") or callable(getattr(data, "detach", None)):
            data = to_numpy(data, f"Table column {column!r}").tolist()
        elif isinstance(data, (str, bytes)) or not hasattr(data, "__len__"):
            raise TypeError(
                f"Table.add_column: data must be a list or array, not {type(data).__name__}"
            )
        values = list(data)
        first = not self.columns
        if not first and len(values) != len(self._rows):
            raise ValueError(
                f"Table.add_column: {column!r} has {len(values)} values; the table has "
                f"{len(self._rows)} rows"
            )
        kinds: str | None = None
        cells = []
        for r, value in enumerate(values):
            cell = _cell(value, r, column)
            kinds = self._checked_kind(kinds, value, cell, r, column, bool(optional))
            cells.append(cell)
        if first:
            rows: list[list[Any]] = [[cell] for cell in cells]
        else:
            rows = [[*row, cell] for row, cell in zip(self._rows, cells, strict=True)]
        self.columns.append(column)
        self._optional.append(bool(optional))
        self._types.append(kinds)
        self._rows = rows  # new row lists: a copy taken before is unchanged
        self._chars += sum(len(c) for c in cells if isinstance(c, str))
        if first:
            self._warn_if_long()

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of column ``name`` (a numpy array with ``convert_to="numpy"``)."""
        if name not in self.columns:
            raise KeyError(f"Table: no column {name!r} (columns: {', '.join(self.columns)})")
        if convert_to not in (None, "numpy"):
            raise ValueError('Table.get_column: convert_to must be None or "numpy"')
        index = self.columns.index(name)
        values = [row[index] for row in self._rows]
        if convert_to == "numpy":
            import numpy as np

            return np.array(values)
        return values

    def get_index(self) -> list[int]:
        return list(range(len(self._rows)))

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        yield from enumerate(self._rows)

    def get_dataframe(self) -> Any:
        import importlib

        pandas = importlib.import_module("pandas")
        return pandas.DataFrame.from_records(self._rows, columns=self.columns)

    def cast(self, col_name: str, dtype: Any, optional: bool = False) -> None:
        """Accepted for wandb scripts; tracktui keeps its own column types."""
        if col_name not in self.columns:
            raise KeyError(f"Table: no column {col_name!r}")

    # --- storing -----------------------------------------------------------------------------

    def _append(self, row: list[Any]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(
                f"Table: row {len(self._rows)} has {len(row)} cells but there are "
                f"{len(self.columns)} columns ({', '.join(self.columns)[:200]})"
            )
        r = len(self._rows)
        cells = [_cell(value, r, self.columns[c]) for c, value in enumerate(row)]
        for c, (value, cell) in enumerate(zip(row, cells, strict=True)):
            self._types[c] = self._checked_kind(
                self._types[c], value, cell, r, self.columns[c], self._optional[c]
            )
        self._rows.append(cells)
        self._chars += sum(len(c) for c in cells if isinstance(c, str))
        self._warn_if_long()

    def _checked_kind(
        self, kind: str | None, value: Any, cell: Any, row: int, column: str, optional: bool
    ) -> str | None:
        """The column's kind after ``value``; a value of another kind is a ``TypeError``, as
        in wandb (unless ``allow_mixed_types``)."""
        if value is None:
            if not optional:
                raise TypeError(
                    f"Table: row {row}, column {column!r} is None but the column is not optional"
                )
            return kind
        if self.allow_mixed_types:
            return kind
        found = _kind(value, cell)
        if found is None or kind is None:
            return kind or found
        if found != kind:
            raise TypeError(
                f"Table: column {column!r} holds {kind} values, but row {row} has a "
                f"{type(value).__name__} ({found}); pass allow_mixed_types=True to allow it"
            )
        return kind

    def _warn_if_long(self) -> None:
        if len(self._rows) == MAX_ROWS + 1:
            warn_once(
                "table-rows",
                f"Table: more than {MAX_ROWS:,} rows; only the first {MAX_ROWS:,} are stored, "
                "as wandb does (reported once)",
            )

    def at_log(self) -> Table:
        """A copy of the table as it is now (the rows themselves are shared: a row list is
        never changed once added), so rows added after ``log()`` are not in what is stored."""
        copy = object.__new__(Table)
        copy.__dict__.update(self.__dict__)
        copy.columns = list(self.columns)
        copy._rows = self._rows[:MAX_ROWS]
        return copy

    def approx_bytes(self) -> int:
        shown = min(len(self._rows), MAX_ROWS)
        return self._chars * shown // max(1, len(self._rows)) + 16 * len(self.columns) * shown

    def stored(self) -> tuple[list[str], list[list[Cell]]]:
        """The columns and the rows as they are written: at most ``MAX_ROWS`` rows of JSON
        scalars."""
        return list(self.columns), [
            [_stored(cell) for cell in row] for row in self._rows[:MAX_ROWS]
        ]

    def encode(self) -> Encoded:
        if not self.columns:
            raise ValueError("Table: no columns")
        columns, rows = self.stored()
        data = json_bytes({"columns": columns, "rows": rows})
        check_size("Table", len(data))
        return Encoded(self.kind, {"columns": columns, "rows": len(rows)}, data)

    def cell_text(self) -> str:
        return f"<table {len(self._rows)}x{len(self.columns)}>"

    def __len__(self) -> int:
        return len(self._rows)

    def __repr__(self) -> str:
        return f"<tracker.Table {len(self._rows)} rows x {len(self.columns)} columns>"


def _is_dataframe(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and hasattr(value, "itertuples")


def _kind(value: Any, cell: Any) -> str | None:
    """What a column holds, as wandb tells types apart (numbers, text, booleans, each media
    kind); None for values whose type is not checked (lists, arrays, other objects)."""
    if isinstance(cell, Media):
        return cell.kind
    if isinstance(cell, bool):
        return "boolean"
    if isinstance(cell, (int, float)):
        return "number"
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return "text"
    return None


def _cell(value: Any, row: int, column: str) -> Any:
    """A cell as kept in ``table.data``: a Python scalar, a media object, or text."""
    where = f"Table row {row}, column {column!r}"
    if value is None or isinstance(value, (bool, int, float, Media)):
        return value
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return check_text(value, where, MAX_CELL_CHARS)
    item = getattr(value, "item", None)
    if callable(item) and _one_element(value):  # numpy and torch scalars
        try:
            scalar = item()
        except (TypeError, ValueError, RuntimeError):
            scalar = None
        if isinstance(scalar, (bool, int, float, str)):
            return _cell(scalar, row, column)
    return check_text(str(value), where, MAX_CELL_CHARS)


def _one_element(value: Any) -> bool:
    size = getattr(value, "size", None)
    if isinstance(size, int):
        return size == 1
    numel = getattr(value, "numel", None)
    return callable(numel) and numel() == 1


def _stored(cell: Any) -> Cell:
    """A kept cell as a JSON scalar."""
    if isinstance(cell, Media):
        return cell.cell_text()
    if isinstance(cell, float):
        if math.isfinite(cell):
            return cell
        return "NaN" if math.isnan(cell) else ("Infinity" if cell > 0 else "-Infinity")
    if isinstance(cell, int) and not isinstance(cell, bool) and abs(cell) >= 2**63:
        return str(cell)
    if cell is None or isinstance(cell, (str, bool, int)):
        return cell
    return str(cell)  # a cell changed by hand through table.data
