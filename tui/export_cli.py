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
import os
from typing import TYPE_CHECKING, Any

from tracker.sanitize import safe_text

from .cli import _db_path, emit, positive_int
from .export_formats import sink, write_summary

if TYPE_CHECKING:
    from tracker.api import Api, Runs

FORMATS = ("csv", "parquet", "jsonl")
X_BUILTIN = ("step", "time", "timestamp")


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
        "--samples", type=positive_int, metavar="N",
        help="at most N rows per run, each metric's extremes kept (default: every point)",
    )  # fmt: skip
    export.add_argument(
        "--layout", choices=("wide", "long"), default="wide",
        help="history: wide (a column per metric, default) or long (a row per point)",
    )  # fmt: skip
    export.add_argument(
        "-o", "--output", metavar="FILE", help="file to write (default or '-': stdout)"
    )


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
    with sink(args.format, output, header, keys, args.layout) as write:
        for item in chosen:
            columns, _ = item.columns(keys, args.x, args.samples, system=True, exact=True)
            total += write(item.id, item.name, columns, to_stdout)
    return total, len(chosen)
