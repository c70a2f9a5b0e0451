"""Benchmark of the tracker's write path against raw sqlite3 in the same run.

    python benchmarks/bench_tracker.py            # full run (~1 min), prints a Markdown table
    python benchmarks/bench_tracker.py --quick    # smaller N, for a smoke check
    python benchmarks/bench_tracker.py --json out.json

Measures, each as the median of ``--reps`` fresh processes:
- in-loop cost of ``run.log()`` with 4 metrics (µs per call, wall time of the loop / N, with
  the writer thread running beside it as it does in training), against a bare ``list.append``
  of the same tuples;
- sustained durable ingest: points / (time from the first ``log()`` to ``finish()`` returning);
- time to durable: ``init()`` + loop + ``finish()``;
- bytes on disk per point after a checkpoint;
- the same workload through raw ``sqlite3``: ``executemany`` of 1,000-row batches into an
  indexed ``metrics(run_id, key, step, value, ts)`` table, WAL + synchronous=NORMAL (the
  reference of ``shared/research/perf-peers.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEYS = ("loss", "eval_loss", "grad_norm", "lr")
CHUNK = 1000  # log() calls timed together; the median chunk gives the typical call


def payloads(steps: int) -> list[dict[str, float]]:
    rng = random.Random(0)
    return [{key: rng.random() for key in KEYS} for _ in range(steps)]


def db_bytes(path: Path) -> int:
    return sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def bench_tracker(steps: int, workdir: Path) -> dict[str, float]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import tracker

    data = payloads(steps)
    path = workdir / "tracker.db"
    t0 = time.perf_counter()
    run = tracker.init(project="bench", name="bench", db=path, quiet=True)
    t1 = time.perf_counter()
    log = run.log
    chunks = []
    clock = time.perf_counter
    for start in range(0, steps, CHUNK):
        c0 = clock()
        for metrics in data[start : start + CHUNK]:
            log(metrics)
        chunks.append((clock() - c0) / min(CHUNK, steps - start))
    t2 = time.perf_counter()
    run.finish()
    t3 = time.perf_counter()
    checkpoint(path)
    points = steps * len(KEYS)
    return {
        "us_per_log": statistics.median(chunks) * 1e6,
        "us_per_log_mean": (t2 - t1) / steps * 1e6,
        "points_per_s": points / (t3 - t1),
        "time_to_durable_s": t3 - t0,
        "init_s": t1 - t0,
        "finish_s": t3 - t2,
        "bytes_per_point": db_bytes(path) / points,
    }


def bench_append(steps: int) -> dict[str, float]:
    data = payloads(steps)
    sink: list[tuple[Any, ...]] = []
    append = sink.append
    chunks = []
    t0 = time.perf_counter()
    for start in range(0, steps, CHUNK):
        c0 = time.perf_counter()
        for step in range(start, min(start + CHUNK, steps)):
            now = time.time()
            for key, value in data[step].items():
                append((1, key, step, value, now))
        chunks.append((time.perf_counter() - c0) / min(CHUNK, steps - start))
    t1 = time.perf_counter()
    return {
        "us_per_log": statistics.median(chunks) * 1e6,
        "us_per_log_mean": (t1 - t0) / steps * 1e6,
    }


def bench_raw_sqlite(steps: int, workdir: Path, batch: int = 1000) -> dict[str, float]:
    data = payloads(steps)
    path = workdir / "raw.db"
    t0 = time.perf_counter()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute(
        "CREATE TABLE metrics (run_id INTEGER, key TEXT, step INTEGER, value REAL, ts REAL)"
    )
    conn.execute("CREATE INDEX metrics_idx ON metrics (run_id, key, step)")
    t1 = time.perf_counter()
    rows: list[tuple[Any, ...]] = []
    for step, metrics in enumerate(data):
        now = time.time()
        for key, value in metrics.items():
            rows.append((1, key, step, value, now))
        if len(rows) >= batch:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
            rows = []
    t2 = time.perf_counter()
    if rows:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    conn.close()
    t3 = time.perf_counter()
    checkpoint(path)
    points = steps * len(KEYS)
    return {
        "us_per_log": (t2 - t1) / steps * 1e6,
        "points_per_s": points / (t3 - t1),
        "time_to_durable_s": t3 - t0,
        "bytes_per_point": db_bytes(path) / points,
    }


def one(kind: str, steps: int) -> dict[str, float]:
    """Run one measurement in a fresh process (no warm caches, no leftover threads)."""
    with tempfile.TemporaryDirectory() as tmp:
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_tracker as b;"
            "from pathlib import Path;"
            f"kind, steps = {kind!r}, {steps};"
            "r = b.bench_tracker(steps, Path(sys.argv[2])) if kind == 'tracker' else"
            " b.bench_raw_sqlite(steps, Path(sys.argv[2])) if kind == 'raw' else b.bench_append(steps);"
            "print(json.dumps(r))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(Path(__file__).parent), tmp],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def median_of(kind: str, steps: int, reps: int) -> dict[str, float]:
    results = [one(kind, steps) for _ in range(reps)]
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=100_000, help="log() calls (4 metrics each)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 steps, 3 reps")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.reps = 10_000, 3
    results: dict[str, dict[str, float]] = {}
    # Interleave the kinds, so machine noise hits all of them alike.
    for kind in ("append", "raw", "tracker"):
        results[kind] = median_of(kind, args.steps, args.reps)
    tr, raw, app = results["tracker"], results["raw"], results["append"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    lines = [
        f"N = {args.steps:,} log calls x 4 metrics, median of {args.reps} fresh processes; {machine}",
        "",
        "| what | tracker | raw sqlite3 (batch 1,000, indexed) | bare list.append | budget |",
        "| --- | --- | --- | --- | --- |",
        f"| µs per log() call, 4 metrics (median of 1,000-call chunks) | {tr['us_per_log']:.2f} | – | {app['us_per_log']:.2f} | ≤ 3 |",
        f"| µs per log() call, mean over the tight loop (writer competing for the GIL) | {tr['us_per_log_mean']:.2f} | {raw['us_per_log']:.2f} | {app['us_per_log_mean']:.2f} | – |",
        f"| durable ingest, points/s | {tr['points_per_s']:,.0f} | {raw['points_per_s']:,.0f} | – | ≥ 400,000 |",
        f"| time to durable, s | {tr['time_to_durable_s']:.2f} | {raw['time_to_durable_s']:.2f} | – | – |",
        f"| bytes on disk per point | {tr['bytes_per_point']:.1f} | {raw['bytes_per_point']:.1f} | – | ≤ 40 |",
        "",
        f"ratios: log() mean = {tr['us_per_log_mean'] / raw['us_per_log']:.2f}x raw sqlite3 per call, median "
        f"{tr['us_per_log'] / app['us_per_log']:.2f}x list.append; ingest = "
        f"{tr['points_per_s'] / raw['points_per_s']:.2f}x raw sqlite3; init {tr['init_s'] * 1000:.0f} ms, "
        f"finish {tr['finish_s'] * 1000:.0f} ms",
    ]
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"steps": args.steps, "reps": args.reps, "machine": machine, **results}, indent=2
            )
        )


if __name__ == "__main__":
    main()
