"""``tracker.Api`` reading a sweep into a DataFrame, beside pandas reading the same numbers.

    python benchmarks/bench_api.py [--runs 100] [--points 100000] [--reps 3] [--db PATH]

One SQLite file holds ``--runs`` runs of ``--points`` steps each (``train/loss`` every step;
made once with ``tracker.log`` and kept at ``--db`` for later runs of this script). Each
measurement runs in a fresh interpreter, so its peak RSS (``ru_maxrss``) is its own; "extra"
is that peak minus the interpreter's RSS after its imports, before reading:

- ``Api.runs().history(keys=["train/loss"])``: one pandas DataFrame of every run's points
  (``run_id``, ``run_name`` as categories, ``step``, ``time``, the metric);
- the same as polars, and as ``format="numpy"``;
- ``pandas.read_csv`` of the same numbers (the CSV ``tracktui export`` writes, same columns),
  and ``pandas.read_parquet`` of the Parquet file it writes;
- ``tracktui export`` itself to CSV and to Parquet.

Medians of ``--reps`` repetitions; results go to ``benchmarks/api_result.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT = ROOT / "benchmarks" / "api_result.json"

MEASURE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
{imports}
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6
before = rss_mb()
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
print(json.dumps({{"seconds": elapsed, "peak_mb": peak, "extra_mb": peak - before,
                   "rows": rows, "frame_mb": frame_mb}}))
"""

CASES: dict[str, tuple[str, str]] = {
    "api_pandas": (
        "import tracker, pandas",
        "df = tracker.Api({db!r}).runs().history(keys=['train/loss'])\n"
        "rows = len(df); frame_mb = df.memory_usage(deep=True).sum() / 1e6",
    ),
    "api_polars": (
        "import tracker, polars",
        "df = tracker.Api({db!r}).runs().history(keys=['train/loss'], format='polars')\n"
        "rows = df.height; frame_mb = df.estimated_size() / 1e6",
    ),
    "api_numpy": (
        "import tracker, numpy",
        "d = tracker.Api({db!r}).runs().history(keys=['train/loss'], format='numpy')\n"
        "rows = len(d['step']); frame_mb = sum(a.nbytes for a in d.values()) / 1e6",
    ),
    "pandas_read_csv": (
        "import pandas",
        "df = pandas.read_csv({csv!r})\n"
        "rows = len(df); frame_mb = df.memory_usage(deep=True).sum() / 1e6",
    ),
    "pandas_read_parquet": (
        "import pandas, pyarrow",
        "df = pandas.read_parquet({parquet!r})\n"
        "rows = len(df); frame_mb = df.memory_usage(deep=True).sum() / 1e6",
    ),
    "export_csv": (
        "from tui.cli import build_parser\nfrom tui import export_cli",
        "args = build_parser().parse_args(['export', '--db', {db!r}, '-o', {csv!r}])\n"
        "export_cli.run(args); rows = None; frame_mb = None",
    ),
    "export_parquet": (
        "import pyarrow\nfrom tui.cli import build_parser\nfrom tui import export_cli",
        "args = build_parser().parse_args(['export', '--db', {db!r}, '--format', 'parquet',"
        " '-o', {parquet!r}])\nexport_cli.run(args); rows = None; frame_mb = None",
    ),
}


def make_db(db: Path, runs: int, points: int) -> None:
    """``runs`` finished runs of ``points`` steps, unless the file already holds them."""
    code = f"""
    import os, sys
    sys.path.insert(0, {str(ROOT)!r})
    os.environ["TRACKTUI_SYSTEM_METRICS"] = "0"
    import tracker
    if os.path.exists({str(db)!r}):
        have = tracker.Api({str(db)!r}).runs(filter="status=finished")
        if len(have) == {runs} and all(r.step == {points} - 1 for r in have):
            sys.exit(0)
        os.remove({str(db)!r})
    for index in range({runs}):
        run = tracker.init(project="bench-api", name=f"run-{{index}}", db={str(db)!r},
                           config={{"lr": 10.0 ** -(index % 4 + 2), "seed": index}},
                           quiet=True, console=False)
        log = run.log
        for step in range({points}):
            log({{"train/loss": 1.0 / (step + 1) + index * 1e-3}}, step=step)
        run.finish()
    """
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True)


def measure(case: str, paths: dict[str, str]) -> dict[str, Any]:
    imports, body = CASES[case]
    code = MEASURE.format(root=str(ROOT), imports=imports, body=body.format(**paths))
    env = {**os.environ, "TRACKTUI_SYSTEM_METRICS": "0"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "bench_api.db")
    parser.add_argument("--no-save", action="store_true", help="do not write api_result.json")
    args = parser.parse_args()

    started = time.perf_counter()
    make_db(args.db, args.runs, args.points)
    print(f"database: {args.db}, "
          f"made or checked in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="bench_api_"))
    paths = {
        "db": str(args.db),
        "csv": str(folder / "history.csv"),
        "parquet": str(folder / "history.parquet"),
    }
    order = ["export_csv", "export_parquet", "api_pandas", "pandas_read_csv", "api_polars",
             "api_numpy", "pandas_read_parquet"]  # fmt: skip
    results: dict[str, dict[str, Any]] = {}
    for case in order:
        reps = [
            measure(case, paths)
            for _ in range(args.reps if case.startswith(("api", "pandas")) else 1)
        ]
        results[case] = {
            "seconds": statistics.median(r["seconds"] for r in reps),
            "seconds_each": [round(r["seconds"], 3) for r in reps],
            "peak_rss_mb": statistics.median(r["peak_mb"] for r in reps),
            "extra_rss_mb": statistics.median(r["extra_mb"] for r in reps),
            "rows": reps[0]["rows"],
            "frame_mb": reps[0]["frame_mb"],
        }
        shown = results[case]
        print(f"{case:>20}: {shown['seconds']:7.2f} s  peak RSS {shown['peak_rss_mb']:7.0f} MB "
              f"(+{shown['extra_rss_mb']:.0f})  rows {shown['rows']}", flush=True)  # fmt: skip
    files = {name: Path(p).stat().st_size / 1e6 for name, p in paths.items()}
    wal = Path(f"{args.db}-wal")
    files["db"] += wal.stat().st_size / 1e6 if wal.exists() else 0.0
    api, csv_read = results["api_pandas"], results["pandas_read_csv"]
    summary = {
        "workload": f"{args.runs} runs x {args.points:,} points of train/loss "
        f"({args.runs * args.points:,} points)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()} (shared with other work while measured)",
        "file_mb": {k: round(v, 1) for k, v in files.items()},
        "results": results,
        "api_vs_read_csv_time": round(api["seconds"] / csv_read["seconds"], 2),
        "api_vs_read_csv_extra_rss": round(api["extra_rss_mb"] / csv_read["extra_rss_mb"], 2),
        "points_per_second_api_pandas": round(args.runs * args.points / api["seconds"]),
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "results"}, indent=2))
    if not args.no_save:
        RESULT.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
