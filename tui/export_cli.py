"""``tracktui export [FILTER]``: the runs' histories or their summary table as CSV, Parquet or
JSON Lines, for pandas, polars, DuckDB, spreadsheets and other tools.

Layouts (what ``tracker.Api`` returns, so a file and a notebook agree):

- ``--what history`` (default), ``--layout wide``: one row per run and step, ``run_id,
  run_name, step, time`` then one column per metric (empty where a metric has no point at
  that step; a logged NaN is ``nan``). ``--layout long``: tidy, one row per point: ``run_id,
  run_name, key, step, time, value``.
- ``--what summary``: one row per run: its fields, ``config.*``, ``summary.*``, ``metrics.*``
  (last values), as ``tracker.Api.summary_table``.

Runs are read and written one at a time, so memory stays that of the largest run. Parquet
goes through pyarrow (``pip install 'tracktui[analysis]'``) and needs ``-o FILE``; CSV and
JSONL go to stdout without ``-o`` (or with ``-o -``), where every text read from the database
passes :func:`safe_text` (JSON: :func:`safe_json`, which round-trips exactly). In a file, CSV
text is written as stored.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import importlib
import io
import math
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

from tracker.sanitize import safe_json, safe_text

from .cli import _db_path, emit

if TYPE_CHECKING:
    from tracker.api import Api, Runs
    from tracker.api.frames import Columns

FORMATS = ("csv", "parquet", "jsonl")
X_BUILTIN = ("step", "time", "timestamp")
NO_PYARROW = "tracktui export --format parquet needs pyarrow: pip install 'tracktui[analysis]'"


def add_parser(sub: Any) -> None:
    """The ``export`` subcommand's parser, on ``build_parser``'s subparsers."""
    export = sub.add_parser(
        "export", help="histories or the summary table as CSV, Parquet or JSON Lines",
        description="Write the runs' metric histories (--what history, one row per run and "
        "step, one column per metric; --layout long: one row per point) or their summary "
        "table (--what summary, one row per run: config.*, summary.*, metrics.*) to a file "
        "or stdout. FILTER selects runs as in tracktui ls --filter.",
    )  # fmt: skip
    export.add_argument(
        "filter_words", nargs="*", metavar="FILTER",
        help="runs to export, e.g. 'status=finished cfg.lr<1e-3' (default: all)",
    )  # fmt: skip
    export.add_argument(
        "--db", dest="sub_db", action="append", help="database (again for several files)"
    )
    export.add_argument("--project", help="only runs of this project")
    export.add_argument("--filter", default="", help="as FILTER (given both, both must hold)")
    export.add_argument("--sort", help="order of the runs: a field as in ls --sort")
    export.add_argument("--desc", action="store_true", help="sort descending")
    export.add_argument("--format", choices=FORMATS, default="csv", help="default: csv")
    export.add_argument(
        "--what", choices=("history", "summary"), default="history",
        help="history: the metrics' points (default); summary: one row per run",
    )  # fmt: skip
    export.add_argument(
        "--metrics", nargs="+", metavar="KEY",
        help="metric keys or patterns (train/*); default: all but sys/* (name them to get them)",
    )  # fmt: skip
    export.add_argument(
        "--x", default="step",
        help="history rows on: step (default), time, timestamp, or a metric (epoch)",
    )  # fmt: skip
    export.add_argument(
        "--samples", type=_positive, metavar="N",
        help="at most N rows per run, each metric's extremes kept (default: every point)",
    )  # fmt: skip
    export.add_argument(
        "--layout", choices=("wide", "long"), default="wide",
        help="history: wide (a column per metric, default) or long (a row per point)",
    )  # fmt: skip
    export.add_argument(
        "-o", "--output", metavar="FILE", help="file to write (default or '-': stdout)"
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of rows, not {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    import warnings

    from tracker.api import Api, LeftOutWarning

    with warnings.catch_warnings():
        # said once at the end in ls's words (api.left_out), not as Python warnings
        warnings.simplefilter("ignore", LeftOutWarning)
        return _export(Api, args)


def _export(api_type: type[Api], args: argparse.Namespace) -> int:
    from tracker.api.run import x_name

    expression = " ".join(args.filter_words)
    if args.filter:
        expression = f"({expression}) AND ({args.filter})" if expression else args.filter
    to_stdout = args.output in (None, "-")
    if args.format == "parquet" and to_stdout:
        emit("tracktui: --format parquet writes a file: give -o FILE.parquet", error=True)
        return 2
    args.x = x_name(args.x)
    api = api_type(_db_path(args))
    try:
        written_to = None if to_stdout else _temporary(args.output)
    except OSError as exc:
        api.close()
        emit(f"tracktui: cannot write {safe_text(args.output)}: {exc.strerror}", error=True)
        return 2
    try:
        runs = api.runs(args.project, expression, args.sort, args.desc)
        problem = check_keys(runs, args)
        if problem:
            emit(f"tracktui: {safe_text(problem)}", error=True)
            return 2
        if args.what == "summary":
            columns = runs.summary_table(args.metrics, format="numpy")
            written, exported = (
                write_summary(columns, args.format, written_to, to_stdout),
                len(runs),
            )
        else:
            written, exported = write_history(runs, args, to_stdout, written_to)
        if written_to is not None:
            try:
                os.replace(written_to, args.output)
            except OSError as exc:
                emit(f"tracktui: cannot write {safe_text(args.output)}: {exc.strerror}", error=True)
                return 2
            written_to = None
    except KeyError as exc:
        emit(f"tracktui: {safe_text(exc.args[0] if exc.args else exc)}", error=True)
        return 2
    finally:
        if written_to is not None:  # failed: the file asked for is left as it was
            with contextlib.suppress(OSError):
                os.unlink(written_to)
        for left_out in api.left_out:
            emit(f"tracktui: left out {safe_text(str(left_out))}", error=True)
        api.close()
    if not to_stdout:
        noun = "run" if exported == 1 else "runs"
        emit(f"wrote {written:,} rows of {exported} {noun} to {safe_text(args.output)}", error=True)
    elif not runs:
        emit(f"tracktui: no runs{' match' if expression else ''} in {api.db}", error=True)
    return 0


def _temporary(output: str) -> str:
    """A new file beside ``output`` to write into and rename over it once complete, so a
    failed export never leaves a half-written file (or a damaged earlier one)."""
    folder, name = os.path.split(os.path.abspath(output))
    path = os.path.join(folder, f".{name}.{os.getpid()}.part")
    with open(path, "x"):  # the umask's mode, as the file itself would get
        pass
    return path


def check_keys(runs: Runs, args: argparse.Namespace) -> str | None:
    """Why ``--metrics`` or ``--x`` cannot be exported (a name or pattern that matches no
    metric of any run), before anything is written; None when they can."""
    from tracker.api.run import close_hint, unmatched_keys

    if not runs:
        return None
    available = list(dict.fromkeys(k for r in runs for k in r.metrics))
    noun = "run" if len(runs) == 1 else "runs"
    some = ", ".join(sorted(available)[:8]) + (", ..." if len(available) > 8 else "")
    known = f"; the {len(runs)} {noun} have {len(available)} metrics: {some or 'none'}"
    if args.metrics:
        missing = unmatched_keys(available, args.metrics)
        if missing:
            hints = "".join(close_hint(m, available) for m in missing)
            return f"--metrics {' '.join(missing)} matches no metric{hints}{known}"
    if args.what == "history" and args.x not in X_BUILTIN and args.x not in available:
        return (
            f"--x {args.x}: no run has that metric (x is step, time, timestamp or a "
            f"logged metric){close_hint(args.x, available)}{known}"
        )
    return None


# --- history ----------------------------------------------------------------------------------
def write_history(
    runs: Runs, args: argparse.Namespace, to_stdout: bool, output: str | None
) -> tuple[int, int]:
    """Every run's history, one run at a time, into ``output`` (None: stdout); the rows and
    runs written. Runs without the ``--x`` metric are left out and named on stderr."""
    available = list(dict.fromkeys(k for r in runs for k in r.metrics))
    from tracker.api.run import select_keys

    keys = [k for k in select_keys(available, args.metrics) if k != args.x]
    heads = ["run_id", "run_name", *(["timestamp"] if args.x == "timestamp" else [])]
    if args.x not in X_BUILTIN:
        heads.append(args.x)
    heads += ["step", "time"]
    header = [*heads, "key", "value"] if args.layout == "long" else [*heads, *keys]
    chosen = [r for r in runs if args.x in X_BUILTIN or args.x in r.metrics]
    lacking = [r.id for r in runs if args.x not in X_BUILTIN and args.x not in r.metrics]
    if lacking:
        shown = ", ".join(lacking[:5]) + (
            f" and {len(lacking) - 5} more" if len(lacking) > 5 else ""
        )
        noun = "run" if len(lacking) == 1 else "runs"
        emit(
            f"tracktui: left out {len(lacking)} {noun} without {safe_text(args.x)}: "
            f"{safe_text(shown)}",
            error=True,
        )
    total = 0
    with _sink(args.format, output, header, keys, args.layout) as write:
        for item in chosen:
            columns, _ = item.columns(keys, args.x, args.samples, system=True, exact=True)
            total += write(item.id, item.name, columns, to_stdout)
    return total, len(chosen)


Writer = Callable[[str, str, "Columns", bool], int]


@contextmanager
def _sink(
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
