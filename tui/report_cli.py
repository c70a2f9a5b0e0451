"""``tracktui report``: one self-contained HTML file of the chosen runs, to share.

The runs are chosen as for ``ls`` (databases with ``--db`` or before the command, ``--project``,
the filter language) and narrowed with ``--runs``; the page is built by :mod:`tui.report`
(Jinja2, inline SVG, no network) and written atomically. Exit codes: 0 written, 1 nothing to
report (no database, no runs matched) or the file cannot be written, 2 a bad filter or an
unknown run id.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker.models import RunRecord

from .cli import _db_path, emit
from .sanitize import safe_text

if TYPE_CHECKING:
    from tracker.db.base import Store

    from .report.model import Report


def add_parser(sub: Any) -> None:
    """The ``report`` subcommand's parser, on ``build_parser``'s subparsers."""
    report = sub.add_parser(
        "report", help="one self-contained HTML file of chosen runs, to share",
        description="Write one HTML file that opens offline (inline styles, script, SVG charts "
        "and images): the runs table, their main metrics overlaid, the config keys that "
        "differ, best values and summaries, hardware, the latest media, health events, and "
        "when and from what it was made. Databases go with --db or before the command "
        "(tracktui a.db b.db report ...).",
    )  # fmt: skip
    report.add_argument(
        "filter", nargs="*", metavar="FILTER",
        help="filter expression, as in ls --filter (words are joined): status=finished "
        "'cfg.lr<1e-3'; give it before --runs and --metrics, which take the words after them",
    )  # fmt: skip
    report.add_argument("--runs", nargs="+", metavar="ID", help="only these runs (ids or prefixes)")
    report.add_argument(
        "--metrics", nargs="+", metavar="KEY",
        help="metrics to chart, names or patterns ('train/*', as in export; default: training "
        "loss, evaluation loss, gradient norm)",
    )  # fmt: skip
    report.add_argument(
        "--db", dest="sub_db", action="append", metavar="DB",
        help="database (again for several files)",
    )  # fmt: skip
    report.add_argument("--project", help="only runs of this project")
    report.add_argument(
        "-o", "--output", default="report.html", type=Path, help="file to write (report.html)"
    )
    report.add_argument("--title", help="the page's title (default: from the runs' project)")
    report.add_argument(
        "--no-media", action="store_true",
        help="leave every image, table and histogram out (the smallest file)",
    )  # fmt: skip
    report.add_argument(
        "--max-media-mb", type=_megabytes, default=5.0, metavar="N",
        help="images in all take at most N MB of the file (default 5): the largest are "
        "re-encoded smaller, then the oldest left out, each named in the footer",
    )  # fmt: skip


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of MB: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"MB must be 0 or more: {text!r}")
    return value


class _Refused(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def pick_runs(runs: Sequence[RunRecord], wanted: Sequence[str]) -> list[RunRecord]:
    """``runs`` narrowed to ``wanted`` (each an id or a prefix of exactly one id), keeping
    their order; an id that names no run, or several, is refused (exit 2)."""
    chosen: set[str] = set()
    for given in wanted:
        exact = [run.id for run in runs if run.id == given]
        found = exact or [run.id for run in runs if run.id.startswith(given)]
        if not found:
            raise _Refused(f"tracktui: no run with id {safe_text(given)!r} matched", 2)
        if len(found) > 1:
            names = ", ".join(safe_text(f) for f in found[:5])
            raise _Refused(f"tracktui: run id {safe_text(given)!r} is ambiguous: {names}", 2)
        chosen.add(found[0])
    return [run for run in runs if run.id in chosen]


def expand_metrics(wanted: Sequence[str], present: set[str]) -> list[str]:
    """``--metrics`` as charts: a name as given, a pattern (``*``, ``?``, ``[``, fnmatch as
    in ``tracktui export``) as the chosen runs' matching keys in natural order, hardware
    (``sys/``) only when the pattern names it; a pattern matching nothing is refused (exit 2)."""
    import fnmatch

    from tracker.natural import natural_key

    chosen: dict[str, None] = {}
    for item in wanted:
        if not any(c in item for c in "*?["):
            chosen[item] = None
            continue
        matched = [
            key
            for key in sorted(present, key=natural_key)
            if fnmatch.fnmatchcase(key, item)
            and (item.startswith("sys/") or not key.startswith("sys/"))
        ]
        if not matched:
            raise _Refused(
                f"tracktui: --metrics pattern {safe_text(item)!r} matches no metric of the "
                "chosen runs (see them with tracktui ls or export)",
                2,
            )
        chosen.update(dict.fromkeys(matched))
    return list(chosen)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def default_title(runs: Sequence[RunRecord]) -> str:
    projects = list(dict.fromkeys(run.project for run in runs))
    noun = "run" if len(runs) == 1 else "runs"
    if len(projects) == 1:
        return f"{projects[0]}: {len(runs)} {noun}"
    return f"tracktui report: {len(runs)} {noun} of {len(projects)} projects"


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except _Refused as refused:
        emit(str(refused), error=True)
        return refused.code


def _run(args: argparse.Namespace) -> int:
    from tracker.db import open_store
    from tracker.errors import NoDatabaseYet
    from tracker.filters import compile_filter, filter_runs

    started = time.perf_counter()
    expression = " ".join(args.filter or ())
    compile_filter(expression)  # a bad filter is exit 2 (tui.cli), before any file is opened
    target = _db_path(args)
    where = safe_text(target.shown)
    try:
        store = open_store(target)
    except NoDatabaseYet as missing:
        empty = "no runs yet" if getattr(missing, "empty", False) else "no database"
        raise _Refused(f"tracktui: {empty} at {where}; no report written", 1) from None
    try:
        runs = filter_runs(store.read_runs(project=args.project), expression)
        if args.runs:
            runs = pick_runs(runs, args.runs)
        if not runs:
            matched = " matched" if expression or args.project or args.runs else ""
            raise _Refused(f"tracktui: no runs{matched} in {where}; no report written", 1)
        report = _build(store, runs, args, expression, target.shown)
    finally:
        store.close()
    from .report.render import render, write_atomically

    html = render(report)
    output: Path = args.output
    try:
        size = write_atomically(output, html)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise _Refused(f"tracktui: cannot write {safe_text(output)}: {reason}", 1) from None
    seconds = time.perf_counter() - started
    counts = ", ".join(
        _count(n, noun)
        for n, noun in (
            (len(runs), "run"),
            (len(report.metrics), "chart"),
            (len(report.media), "media item"),
            (len(report.events), "health event"),
        )
    )
    from .report.media_budget import embedded_size

    media = sum(embedded_size(e.picture) for e in report.media if e.picture is not None)
    emit(f"wrote {safe_text(output)} ({size / 1e6:.2f} MB: {counts}) in {seconds:.2f} s")
    emit(f"  size: images {media / 1e6:.2f} MB, the rest {(size - media) / 1e6:.2f} MB")
    for note in report.notes:
        emit(f"  {note}", error=True)
    return 0


def _build(
    store: Store, runs: list[RunRecord], args: argparse.Namespace, expression: str, shown: str
) -> Report:
    import tracker
    from tracker.db.target import mask_url

    from .report.gather import default_metrics, gather
    from .report.model import Provenance

    present = {key for run in runs for key in run.metrics}
    metrics = expand_metrics(args.metrics, present) if args.metrics else default_metrics(runs)
    for key in metrics:
        if key not in present:
            emit(f"tracktui: no chosen run logged {safe_text(key)!r}; its chart says so", True)
    provenance = Provenance(
        made_at=time.time(),
        version=tracker.__version__,
        source=mask_url(shown),
        filter=expression,
        run_ids=tuple(args.runs or ()),
        metrics=tuple(args.metrics or ()),
    )
    budget = None if args.no_media else int(args.max_media_mb * 1e6)
    title = args.title or default_title(runs)
    return gather(store, runs, metrics, provenance, title, media_bytes=budget)
