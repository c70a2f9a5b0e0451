"""How ``tracktui export`` writes rows: CSV, JSON Lines and Parquet sinks for the histories'
wide and long layouts, and the summary table. What to export and the checks before writing
are :mod:`tui.export_cli`'s.
"""

from __future__ import annotations

import csv
import importlib
import io
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from tracker.sanitize import safe_json, safe_text

if TYPE_CHECKING:
    from tracker.api.frames import Columns

NO_PYARROW = "tracktui export --format parquet needs pyarrow: pip install 'tracktui[analysis]'"


Writer = Callable[[str, str, "Columns", bool], int]


@contextmanager
def sink(
    format: str, output: str | None, header: list[str], keys: list[str], layout: str
) -> Iterator[Writer]:
    if format == "parquet":
        with _parquet_sink(output or "", header, keys, layout) as write:
            yield write
        return
    stream, close = _open_text(output)
    try:
        if format == "csv":
            writer = csv.writer(stream, lineterminator="\n")
            shown = [safe_text(h) for h in header] if close is None else header
            writer.writerow(shown)
            yield _csv_rows(stream, header, keys, layout)
        else:
            yield _jsonl_rows(stream, header, keys, layout)
    finally:
        stream.flush()
        if close is not None:
            close()


def _open_text(output: str | None) -> tuple[IO[str], Callable[[], None] | None]:
    if output in (None, "-"):
        return sys.stdout, None
    stream = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 - closed by _sink
    return stream, stream.close


def _cells(columns: Columns, name: str, present: bool = True) -> list[Any]:
    """A column as Python values; a metric's steps without a point as None."""
    values: list[Any] = columns.data[name].tolist()
    mask = columns.present.get(name) if present else None
    if mask is not None and not bool(mask.all()):
        values = [v if m else None for v, m in zip(values, mask.tolist(), strict=True)]
    return values


def _csv_rows(stream: IO[str], header: list[str], keys: list[str], layout: str) -> Writer:
    """Rows as text built column by column: numbers by ``repr`` (as the csv module writes
    them: shortest round-trip, ``nan``, ``inf``), a step without a point as an empty cell,
    the run's quoted id and name once per run (5-10x faster than ``csv.writer`` per row)."""

    def write(run_id: str, run_name: str, columns: Columns, to_stdout: bool) -> int:
        text = safe_text if to_stdout else str
        heads = [_texts(columns, h) for h in header[2:] if h in columns.data and h not in keys]
        if layout == "long":
            count = 0
            for key in keys:
                rows = columns.present[key]
                prefix = _csv_line([text(run_id), text(run_name)])
                suffix = _csv_line([text(key)])
                cells = [
                    *([c[i] for i in rows.nonzero()[0].tolist()] for c in heads),
                    [repr(v) for v in columns.data[key][rows].tolist()],
                ]
                lines = zip(*cells[:-1], [suffix] * len(cells[-1]), cells[-1], strict=True)
                stream.write("".join(f"{prefix},{','.join(line)}\n" for line in lines))
                count += len(cells[-1])
            return count
        prefix = _csv_line([text(run_id), text(run_name)])
        cells = [*heads, *(_texts(columns, k) for k in keys)]
        stream.write("".join(f"{prefix},{','.join(line)}\n" for line in zip(*cells, strict=True)))
        return len(columns)

    return write


def _csv_line(cells: Sequence[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def _texts(columns: Columns, name: str) -> list[str]:
    """A numeric column's cells: ``repr`` of each value, empty where no point was logged."""
    values = columns.data[name]
    cells = list(map(repr, values.tolist()))
    mask = columns.present.get(name)
    if mask is not None and not bool(mask.all()):
        for row in (~mask).nonzero()[0].tolist():
            cells[row] = ""
    return cells


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _jsonl_rows(stream: IO[str], header: list[str], keys: list[str], layout: str) -> Writer:
    def write(run_id: str, run_name: str, columns: Columns, to_stdout: bool) -> int:
        heads = [h for h in header[2:] if h in columns.data and h not in keys]
        head_cells = {h: _cells(columns, h) for h in heads}
        out = io.StringIO()
        count = 0
        for row in range(len(columns)):
            base: dict[str, Any] = {"run_id": run_id, "run_name": run_name}
            base.update((h, head_cells[h][row]) for h in heads)
            if layout == "long":
                for key in keys:
                    if columns.present[key][row]:
                        value = _json_number(float(columns.data[key][row]))
                        out.write(safe_json({**base, "key": key, "value": value}, None) + "\n")
                        count += 1
                continue
            for key in keys:
                if columns.present[key][row]:
                    base[key] = _json_number(float(columns.data[key][row]))
            out.write(safe_json(base, None) + "\n")
            count += 1
        stream.write(out.getvalue())
        return count

    return write


@contextmanager
def _parquet_sink(output: str, header: list[str], keys: list[str], layout: str) -> Iterator[Writer]:
    import numpy as np

    pa, pq = _pyarrow()
    label = pa.dictionary(pa.int32(), pa.string())  # categories, as tracker.Api's frames
    types = {"run_id": label, "run_name": label, "step": pa.int64(), "key": label}
    schema = pa.schema([(h, types.get(h, pa.float64())) for h in header])
    with pq.ParquetWriter(output, schema) as parquet:

        def write(run_id: str, run_name: str, columns: Columns, to_stdout: bool) -> int:
            n = len(columns)
            arrays: dict[str, Any] = {}
            if layout == "long":
                masks = [columns.present[k] for k in keys]
                counts = [int(m.sum()) for m in masks]
                total = sum(counts)
                arrays["run_id"] = _repeated(pa, run_id, total)
                arrays["run_name"] = _repeated(pa, run_name, total)
                for h in header[2:]:
                    if h in ("key", "value"):
                        continue
                    arrays[h] = pa.array(_concat([columns.data[h][m] for m in masks]))
                codes = np.repeat(np.arange(len(keys), dtype=np.int32), counts)
                arrays["key"] = pa.DictionaryArray.from_arrays(codes, pa.array(keys, pa.string()))
                arrays["value"] = pa.array(
                    _concat([columns.data[k][m] for k, m in zip(keys, masks, strict=True)])
                )
                parquet.write_table(pa.table(arrays, schema=schema))
                return total
            arrays["run_id"] = _repeated(pa, run_id, n)
            arrays["run_name"] = _repeated(pa, run_name, n)
            for h in header[2:]:
                values = columns.data[h]
                mask = columns.present.get(h)
                # null where a metric has no point at that step; a logged NaN stays NaN
                arrays[h] = pa.array(values, mask=None if mask is None else ~mask)
            parquet.write_table(pa.table(arrays, schema=schema))
            return n

        yield write


def _repeated(pa: Any, text: str, n: int) -> Any:
    """``text`` ``n`` times as a dictionary array: one string, n int32 codes."""
    import numpy as np

    return pa.DictionaryArray.from_arrays(np.zeros(n, np.int32), pa.array([text], pa.string()))


def _pyarrow() -> tuple[Any, Any]:
    """pyarrow and pyarrow.parquet (import_module: pyarrow ships no type information)."""
    try:
        return importlib.import_module("pyarrow"), importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise SystemExit(f"tracktui: {NO_PYARROW}") from None


def _concat(parts: Sequence[Any]) -> Any:
    import numpy as np

    return np.concatenate(parts) if parts else np.empty(0)


# --- summary ----------------------------------------------------------------------------------
def write_summary(
    columns: dict[str, list[Any]], format: str, output: str | None, to_stdout: bool
) -> int:
    """The summary table, one row per run; the rows written."""
    import numpy as np

    from tracker.api.table import uniform
    from tracker.jsonable import to_json_safe
    from tracker.models import iso_time

    names = list(columns)
    n = len(columns[names[0]]) if names else 0
    for name in ("created_at", "finished_at"):
        if format != "parquet":
            columns[name] = [iso_time(v) for v in columns[name]]
    if format == "parquet":
        pa, pq = _pyarrow()
        data = {name: uniform(values) for name, values in columns.items()}
        table = pa.table(data)
        for name in ("created_at", "finished_at"):
            seconds = np.array([np.nan if v is None else v for v in data[name]], np.float64)
            micros = np.nan_to_num(np.round(seconds * 1e6)).astype(np.int64)
            stamps = pa.array(micros, pa.timestamp("us", "UTC"), mask=np.isnan(seconds))
            table = table.set_column(table.schema.get_field_index(name), name, stamps)
        pq.write_table(table, output or "")
        return n
    stream, close = _open_text(output)
    try:
        if format == "jsonl":
            for row in range(n):
                record = {name: to_json_safe(columns[name][row]) for name in names}
                stream.write(safe_json(record, None) + "\n")
        else:
            writer = csv.writer(stream, lineterminator="\n")
            writer.writerow([safe_text(h) for h in names] if to_stdout else names)
            for row in range(n):
                writer.writerow(_csv_cell(columns[name][row], to_stdout) for name in names)
    finally:
        stream.flush()
        if close is not None:
            close()
    return n


def _csv_cell(value: Any, to_stdout: bool) -> Any:
    if isinstance(value, (list, dict)):
        from tracker.jsonable import to_json_safe

        return safe_json(to_json_safe(value), None)
    if isinstance(value, str) and to_stdout:
        return safe_text(value)
    return value
