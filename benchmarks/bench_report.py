"""Cost and size of ``tracktui report``.

    python benchmarks/bench_report.py [--reps 5] [--points 100000]

- Build time (median of ``--reps``, in one process, so imports are paid once) and size of a
  report of the demo database with 10 and with 100 runs (400 steps each, media, hardware and
  health events: what a sweep looks like), and the first build in a fresh interpreter.
- Size of a report of 10 runs x ``--points`` steps of three metrics (train/loss, eval/loss,
  train/grad_norm): the min/max downsampling keeps it bounded whatever the history's length.
"""

from __future__ import annotations

import argparse
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.batch import RunHandle, write_batch
from tracker.db import open_store, parse_target
from tracker.jsonable import dumps
from tui.cli import build_parser
from tui.demo_db import build_demo_database


def build_report(db: Path, output: Path) -> float:
    """Seconds for one ``tracktui report`` (its parser and its ``run``, as the CLI calls it)."""
    args = build_parser().parse_args(["report", "--db", str(db), "-o", str(output)])
    args.databases = []
    from tui import report_cli

    started = time.perf_counter()
    code = report_cli.run(args)
    elapsed = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"report failed with exit code {code}")
    return elapsed


def cold_build(db: Path, output: Path) -> float:
    """Wall time of a fresh interpreter building the report (imports included)."""
    code = (
        "import sys; from tui.cli import build_parser; from tui import report_cli;"
        f"a = build_parser().parse_args(['report', '--db', {str(db)!r}, '-o', {str(output)!r}]);"
        "a.databases = []; sys.exit(report_cli.run(a))"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - started


def write_long(path: Path, runs: int, points: int) -> None:
    store = open_store(path, write=True)
    target = parse_target(path)
    try:
        for index in range(runs):
            run_id, created = f"long{index:02d}", 1_700_000_000.0 + index
            version = store.begin()
            store.insert_run(
                {
                    "id": run_id, "project": "long", "name": f"run-{index}", "created_at": created,
                    "host": "h", "pid": 4_194_000, "pid_start": None, "tags": "[]",
                    "config": dumps({"lr": 10.0 ** -(index % 4 + 2)}), "summary": "{}",
                },
                version,
            )  # fmt: skip
            store.commit()
            handle = RunHandle(run_id, target, created, {}, {})
            records: list[Any] = []
            for step in range(points):
                base = 2.0 * math.exp(-step / (points / 3)) + 0.05 * math.sin(step / 97 + index)
                values = {"train/loss": base, "train/grad_norm": 0.5 + 0.1 * math.cos(step / 31)}
                if step % 10 == 0:
                    values["eval/loss"] = base + 0.1
                records.append((handle, step, created + step * 0.01, values))
            records.append(("finish", handle, ("finished", 0, None)))
            write_batch(store, records, now=created + points * 0.01)
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--points", type=int, default=100_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for runs in (10, 100):
            db = root / f"demo{runs}.db"
            build_demo_database(db, runs=runs, steps=400)
            output = root / f"demo{runs}.html"
            cold = cold_build(db, output)
            times = [build_report(db, output) for _ in range(options.reps)]
            print(
                f"demo, {runs:>3} runs x 400 steps: build {statistics.median(times):.2f} s median "
                f"(fresh process {cold:.2f} s), {output.stat().st_size / 1e6:.2f} MB"
            )
        db = root / "long.db"
        started = time.perf_counter()
        write_long(db, 10, options.points)
        written = time.perf_counter() - started
        output = root / "long.html"
        times = [build_report(db, output) for _ in range(options.reps)]
        print(
            f"10 runs x {options.points:,} steps x 3 metrics ({written:.1f} s to write): build "
            f"{statistics.median(times):.2f} s median, {output.stat().st_size / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()
