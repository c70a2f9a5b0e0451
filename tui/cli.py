"""The ``tracktui`` command: argument parsing and the subcommands that need no screen."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tracker.db import Target, open_store, parse_target
from tracker.db.target import looks_like_filter, missing_reason, several
from tracker.errors import DatabaseError, FilterError, NoDatabaseYet
from tracker.filters import filter_runs, sort_key_getter, sort_runs
from tracker.models import RunRecord
from tracker.ranking import best_run, metric_direction

from . import listing
from .sanitize import safe_text
from .terminal import NoTerminal, ui_terminal


def emit(text: str, error: bool = False) -> None:
    """Print one result or message of a subcommand: the CLI's single way to the terminal, so
    nothing read from the file is printed raw (a last pass of :func:`safe_text` over text that
    should already be safe; newlines and tabs stay)."""
    print(safe_text(text, single_line=False), file=sys.stderr if error else sys.stdout)


# Subcommands that live in a module of their own: (name -> module), each with
# ``add_parser(subparsers)`` and ``run(args) -> int``; imported when the parser is built, so each
# module keeps its heavy imports (jinja2, textual-serve, pandas, readers) inside ``run``.
_MODULE_COMMANDS = {
    "report": ".report_cli",
    "serve": ".serve",
    "export": ".export_cli",
    "import": ".import_cli",
}


def positive_int(text: str) -> int:
    """An argument that counts something (rows, points): a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracktui",
        usage="tracktui [--db DB] [--refresh SECONDS] [DB ...] [COMMAND ...]",
        description="Experiment tracker for the terminal: list, compare and watch training runs. "
        "DB is a SQLite file, a folder of them, or a postgresql:// URL; several files and "
        "folders (tracktui a.db b.db sweeps/) are shown as one table, read-only.",
    )
    parser.add_argument(
        "--db", help="database: a file, a folder of files, or postgresql://user@host/dbname "
        "(default: $TRACKTUI_DB or ./.tracktui/runs.db)"
    )  # fmt: skip
    parser.add_argument(
        "--refresh",
        type=float,
        default=None,
        metavar="SECONDS",
        help="while runs log, redraw at most this often (default 0.2, or $TRACKTUI_REFRESH; "
        "0.5 halves the viewer's CPU, keys are always immediate)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ls = sub.add_parser("ls", help="list runs")
    ls.add_argument(
        "--db", dest="sub_db", action="append", help="database (again for several files)"
    )
    ls.add_argument("sub_databases", nargs="*", metavar="DB", help="databases, as --db")
    ls.add_argument("--project", help="only runs of this project")
    ls.add_argument(
        "--filter", default="", help="filter expression, e.g. 'status=finished cfg.lr<1e-3'"
    )
    ls.add_argument(
        "--sort", help="sort key: name, status, step, config.lr, metrics.eval/loss, ..."
    )
    ls.add_argument("--desc", action="store_true", help="sort descending")
    ls.add_argument("--json", action="store_true", help="print a JSON array")
    ls.add_argument(
        "--format", choices=("table", "csv", "md", "tex"), default="table",
        help="plain table (default), CSV, Markdown or LaTeX",
    )  # fmt: skip

    best = sub.add_parser("best", help="the best run by a metric")
    best.add_argument("--metric", required=True, help="metric key, e.g. eval/loss")
    best.add_argument("--mode", choices=("min", "max"), help="default: guessed from the name")
    best.add_argument(
        "--db", dest="sub_db", action="append", help="database (again for several files)"
    )
    best.add_argument("sub_databases", nargs="*", metavar="DB", help="databases, as --db")
    best.add_argument("--project", help="only runs of this project")
    best.add_argument("--filter", default="", help="only runs matching this expression")
    best.add_argument("--json", action="store_true", help="print the run as JSON")

    sync = sub.add_parser(
        "sync", help="copy runs into another database (offline node -> server); incremental",
        description="Copy what DESTINATION lacks of SOURCE's runs: new runs, new points, media, "
        "console output and events. Idempotent: run it again later and only the new points go; "
        "an interrupted sync carries on where it stopped.",
    )  # fmt: skip
    sync.add_argument("source", help="the database logged into (a SQLite file, usually)")
    sync.add_argument("destination", help="where the runs go (postgresql://... or a file)")
    sync.add_argument("--project", help="only runs of this project")
    sync.add_argument(
        "--page-points", type=positive_int, default=50_000, metavar="N",
        help="points copied per transaction (default 50,000); fewer hold a busy server's "
        "locks for less time",
    )  # fmt: skip

    system = sub.add_parser("system", help="live hardware monitor of this machine")
    system.add_argument("--interval", type=float, default=1.0, help="seconds between samples")

    from .alerts_cli import add_parser as add_alerts_parser

    add_alerts_parser(sub)
    for name in _MODULE_COMMANDS:
        importlib.import_module(_MODULE_COMMANDS[name], __package__).add_parser(sub)

    demo = sub.add_parser("demo", help="simulated training runs logging live")
    demo.add_argument("--db", dest="sub_db", help="database file (default: ./.tracktui/demo.db)")
    demo.add_argument("--runs", type=int, default=6, help="number of simulated runs")
    demo.add_argument("--duration", type=float, default=120.0, help="seconds each run trains")
    demo.add_argument("--steps-per-second", type=float, default=25.0)
    demo.add_argument(
        "--no-tui", action="store_true", help="print the runs table instead of the TUI"
    )
    return parser


def _db_path(args: argparse.Namespace) -> Target:
    given = [
        *(getattr(args, "databases", None) or ()),
        *(getattr(args, "sub_databases", None) or ()),
        *(getattr(args, "sub_db", None) or ()),
    ]
    if given and len(given) > 1:
        return several(given, filter_option="--filter ")  # a named path missing: an error
    if given and looks_like_filter(given[0]) and not os.path.exists(given[0]):
        # `tracktui ls 'cfg.lr<0.05'`: a filter, not a database yet to be written
        raise DatabaseError(given[0], missing_reason(given[0], "--filter "))
    return parse_target(given[0] if given else args.db)


def load_runs(db: Path | Target, project: str | None = None) -> list[RunRecord]:
    """Every run in the database, or [] when there is no database yet.

    Anything else that stops the read (damage, permissions) is a ``DatabaseError`` naming the
    file and the cause, never an omission: the file's ``runs`` and ``series`` tables pass a
    structure check first, so rows hidden by a damaged page are reported, not left out."""
    try:
        store = open_store(db)
    except NoDatabaseYet:
        return []
    try:
        for path, reason in sorted(getattr(store, "skipped", {}).items()):
            emit(f"tracktui: left out {path}: {reason}", error=True)
        runs = store.read_runs(project=project)  # its errors name the database already
        for run_id, path in sorted(getattr(store, "clashes", ())):
            emit(f"tracktui: left out run {run_id} of {path}: another file has its id", error=True)
        return runs
    finally:
        store.close()


def cmd_ls(args: argparse.Namespace) -> int:
    path = _db_path(args)
    if args.sort:
        sort_key_getter(args.sort)  # a bad key is an error even when there are no runs
    runs = filter_runs(load_runs(path, args.project), args.filter)
    runs = sort_runs(runs, args.sort, args.desc)
    if args.json:
        emit(listing.runs_json(runs))
        return 0
    if not runs:
        where = safe_text(path.shown)
        emit(f"no runs{' match' if args.filter else ''} in {where}", error=True)
        return 0
    wanted = (
        [args.sort.split(".", 1)[1]]
        if args.sort and args.sort.lower().startswith(("metrics.", "m."))
        else []
    )
    metrics = listing.choose_metrics(runs, wanted)
    if args.format != "table":
        from .export import render

        data = args.format == "csv"  # for programs: values, not cells as shown
        headers, rows = listing.table_rows(runs, metrics, time.time(), truncate=False, data=data)
        emit(render(args.format, headers, rows).removesuffix("\n"))
        return 0
    emit(listing.render_table(runs, metrics))
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    path = _db_path(args)
    runs = filter_runs(load_runs(path, args.project), args.filter)
    mode = args.mode or metric_direction(args.metric, runs)  # define_metric's goal wins
    chosen = best_run(runs, args.metric, mode)
    if chosen is None:
        keys = sorted({k for run in runs for k in run.metrics if not k.startswith("sys/")})
        hint = f"; metrics seen: {', '.join(safe_text(k) for k in keys[:12])}" if keys else ""
        emit(f"tracktui: no run has a finite value of '{safe_text(args.metric)}'{hint}", error=True)
        return 1
    emit(listing.best_json(chosen) if args.json else listing.best_text(chosen))
    return 0


COMMANDS = ("ls", "best", "alerts", "sync", "system", "demo", *_MODULE_COMMANDS)
_VALUED_OPTIONS = ("--db", "--refresh")


def split_databases(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """``tracktui a.db b.db sweeps/``: the databases given before any command, and the rest."""
    databases: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        if token in _VALUED_OPTIONS and index + 1 < len(argv):
            rest += argv[index : index + 2]
            index += 2
            continue
        if token.startswith("-"):
            rest.append(token)
        elif token in COMMANDS:
            rest += argv[index:]
            break
        else:
            databases.append(token)
        index += 1
    return databases, rest


def cmd_sync(args: argparse.Namespace) -> int:
    from tracker.sync import sync

    source_target, destination_target = parse_target(args.source), parse_target(args.destination)
    if source_target == destination_target:
        emit("tracktui: source and destination are the same database", error=True)
        return 2
    source = open_store(source_target)
    try:
        destination = open_store(destination_target, write=True)
        try:
            report = sync(
                source, destination, args.project,
                progress=lambda t: emit(safe_text(t)), page_points=args.page_points,
            )  # fmt: skip
        finally:
            destination.close()
    finally:
        source.close()
    emit(f"synced {source_target.shown} -> {destination_target.shown}: {report.line()}")
    return 1 if report.conflicts else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    databases, rest = split_databases(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(rest)
    if databases and args.command not in (
        None,
        "ls",
        "best",
        "alerts",
        "report",
        "export",
        "serve",
    ):
        parser.error(f"{args.command} takes no databases before it: see tracktui {args.command} -h")
    if databases and (
        args.db or getattr(args, "sub_db", None) or getattr(args, "sub_databases", None)
    ):
        parser.error("give the databases either with --db or as arguments, not both")
    args.databases = databases
    try:
        if args.command == "ls":
            return cmd_ls(args)
        if args.command == "best":
            return cmd_best(args)
        if args.command == "alerts":
            from .alerts_cli import cmd_alerts

            return cmd_alerts(args)
        if args.command == "sync":
            return cmd_sync(args)
        if args.command in _MODULE_COMMANDS:
            module = importlib.import_module(_MODULE_COMMANDS[args.command], __package__)
            return int(module.run(args))
        if args.command == "system":
            from .monitor import SystemMonitorApp

            if args.interval <= 0:
                print("tracktui: --interval must be positive", file=sys.stderr)
                return 2
            with ui_terminal():
                SystemMonitorApp(interval=args.interval).run()
            return 0
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(
                _db_path_for_demo(args),
                args.runs,
                args.duration,
                args.steps_per_second,
                not args.no_tui,
            )
        return run_tui(_db_path(args), refresh_interval(args.refresh))
    except FilterError as exc:
        emit(f"tracktui: bad expression: {exc}", error=True)
        return 2
    except NoTerminal as exc:
        emit(f"tracktui: {exc}", error=True)
        return 2
    except DatabaseError as exc:
        emit(f"tracktui: {safe_text(exc)}", error=True)
        return 1
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


def refresh_interval(given: float | None) -> float:
    """``--refresh``, else ``$TRACKTUI_REFRESH``, else the default frame (0.2 s)."""
    from .timings import DEFAULT

    if given is None:
        text = os.environ.get("TRACKTUI_REFRESH", "")
        try:
            given = float(text) if text else DEFAULT.frame_s
        except ValueError:
            message = f"tracktui: $TRACKTUI_REFRESH is not a number of seconds: {text!r}"
            raise SystemExit(message) from None
    if not 0.0 <= given <= 10.0:
        raise SystemExit("tracktui: --refresh must be between 0 and 10 seconds")
    return given


def run_tui(db: Path | Target, refresh: float | None = None) -> int:
    from dataclasses import replace

    from .app import TrackTuiApp
    from .timings import DEFAULT

    timings = DEFAULT if refresh is None else replace(DEFAULT, frame_s=refresh)
    with ui_terminal():
        TrackTuiApp(db, timings=timings, own_process=True).run()
    return 0


def _db_path_for_demo(args: argparse.Namespace) -> Path:
    chosen = getattr(args, "sub_db", None) or args.db
    return Path(chosen) if chosen else Path(".tracktui") / "demo.db"


if __name__ == "__main__":
    sys.exit(main())
