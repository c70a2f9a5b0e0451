"""TUI figures: first paint on big databases, redraw of a 1M-point series, idle cost, live latency.

    python benchmarks/bench_tui.py                 # 10, 100 and 1,000 runs (1,000 runs = 10 M points)
    python benchmarks/bench_tui.py --sizes 10,100  # smaller

Databases are generated once into --cache (default /tmp/tracktui-bench) through the tracker's
own write path. Every figure is a median of --reps fresh measurements.
- first paint: app start to the first screenful of rows and the highlighted run's plot drawn
  (headless), and to every row in the table (the rest arrive in slices after the first paint);
- redraw: a 1,000,000-point series loaded through the reader (bucketed in SQL) and rendered at
  120 columns: load time once, then the render alone;
- idle refresh: one reader poll when nothing changed (µs), and queries that scanned history (0);
- live latency: a separate process logs its wall clock as the value every 50 ms; the time until
  that point is in the plot's data in the app (headless, watchdog on);
- memory: the app's resident set after first paint on the largest database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil

from tracker.batch import RunHandle, write_batch
from tracker.db import parse_target
from tracker.db.sqlite.store import SqliteStore
from tracker.jsonable import dumps
from tui.app import TrackTuiApp
from tui.reader import DatabaseReader
from tui.series import SeriesBuffer, span_of_bucket
from tui.widgets.plot import MetricPlot, PlotLine, PlotOptions, render_plot
from tui.widgets.runs_table import RunsTable

KEYS = ("train/loss", "eval/loss", "train/grad_norm", "train/lr")


def generate(path: Path, runs: int, points_per_run: int) -> None:
    """``runs`` finished runs of 4 metrics each, ``points_per_run`` points in all per run."""
    if path.exists():
        return
    tmp = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    st = SqliteStore.for_writing(tmp)
    target = parse_target(tmp)
    rng = random.Random(0)
    steps = points_per_run // len(KEYS)
    now = time.time() - runs * 60
    for index in range(runs):
        run_id = f"r{index:07d}"
        version = st.begin()
        st.insert_run(
            {"id": run_id, "project": "bench", "name": f"run-{index}", "created_at": now + index * 60,
             "host": "bench-host", "pid": 1, "pid_start": None, "tags": "[]",
             "config": dumps({"lr": 10 ** rng.uniform(-5, -2), "batch_size": rng.choice((16, 32, 64))}),
             "summary": "{}"},
            version,
        )  # fmt: skip
        st.commit()
        handle = RunHandle(run_id, target, now + index * 60, {}, {})
        loss = 3.0
        records: list[tuple[object, ...]] = []
        for step in range(steps):
            loss = loss * 0.999 + rng.gauss(0, 0.01)
            records.append((handle, step, now + index * 60 + step * 0.01, {
                "train/loss": loss, "eval/loss": loss + 0.1, "train/grad_norm": abs(rng.gauss(1, 0.3)), "train/lr": 1e-4,
            }))  # fmt: skip
            if len(records) >= 50_000:
                write_batch(st, records)
                records = []
        records.append(("finish", handle, ("finished", 0, None)))
        write_batch(st, records)
    st.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    st.close()
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{tmp}{suffix}").exists():
            os.replace(f"{tmp}{suffix}", f"{path}{suffix}")


async def first_paint(path: Path, runs: int) -> tuple[float, float, float]:
    """(first screen: a screenful of rows and the highlighted run's plot drawn; every row in
    the table; resident memory)."""
    started = time.perf_counter()
    app = TrackTuiApp(path, watch=False, poll_interval=5.0)
    first = 0.0
    async with app.run_test(size=(120, 36)) as pilot:
        while True:
            tables = app.screen.query(RunsTable)
            plot = app.screen.query("#preview-0")
            rows = tables.first().row_count if tables else 0
            if not first and rows >= min(runs, 30) and plot and plot.first(MetricPlot).lines:
                await pilot.pause(0)
                plot.first(MetricPlot).render()
                first = time.perf_counter() - started
            if first and rows == runs:
                break
            await pilot.pause(0.005)
        complete = time.perf_counter() - started
        rss = psutil.Process().memory_info().rss
    return first, complete, rss


def redraw(path: Path) -> tuple[float, float, int]:
    reader = DatabaseReader(path)
    reader.poll()
    assert reader.store is not None
    sid = reader.store.series_id("r0000000", "train/loss")
    assert sid is not None
    t0 = time.perf_counter()
    count, buckets = reader.store.read_series(sid, 4096)
    load = time.perf_counter() - t0
    buffer = SeriesBuffer()
    buffer.load((span_of_bucket(b) for b in buckets), count, count)
    times = []
    for _ in range(20):
        buffer.version += 1
        t1 = time.perf_counter()
        render_plot("train/loss", "", [PlotLine("run", "cyan", buffer)], PlotOptions(), 118, 16)
        times.append(time.perf_counter() - t1)
    reader.close()
    return load, statistics.median(times), count


def idle_poll(path: Path) -> tuple[float, int]:
    reader = DatabaseReader(path)
    reader.poll()
    reads = reader.reads
    times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        reader.poll()
        times.append(time.perf_counter() - t0)
    extra = reader.reads - reads
    reader.close()
    return statistics.median(times), extra


LOGGER = """
import sys, time, tracker
run = tracker.init(name="latency", db=sys.argv[1], quiet=True, system_metrics=False)
for step in range(int(sys.argv[2])):
    run.log({"train/loss": time.time()}, step=step)
    time.sleep(0.05)
run.finish()
"""


async def live_latency(folder: Path, points: int = 120) -> list[float]:
    db = folder / "live.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    app = TrackTuiApp(db, poll_interval=1.0)
    latencies: list[float] = []
    seen = 0
    async with app.run_test(size=(120, 36)) as pilot:
        child = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(LOGGER), str(db), str(points)],
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
        )
        deadline = time.time() + points * 0.05 + 30
        buffer = None
        while time.time() < deadline and seen < points:
            await pilot.pause(0.002)
            if buffer is None:
                plots = app.screen.query("#preview-0")
                if plots and plots.first(MetricPlot).lines:
                    buffer = plots.first(MetricPlot).lines[0].buffer
                    seen = buffer.count
                continue
            if buffer.count > seen:
                now = time.time()
                for span in buffer.spans[-(buffer.count - seen) :]:
                    if span.max is not None:
                        latencies.append(now - span.max)
                seen = buffer.count
        child.wait(timeout=60)
    return latencies[5:]  # the first points arrive with the initial history load


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="10,100,1000", help="numbers of runs (10,000 points each)"
    )
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--cache", default="/tmp/tracktui-bench")
    args = parser.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print(
        "| runs | points | file | first paint (median) | every row in the table | TUI memory | idle poll | history scans while idle |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for runs in (int(s) for s in args.sizes.split(",")):
        path = cache / f"runs{runs}.db"
        t0 = time.perf_counter()
        generate(path, runs, 10_000)
        made = time.perf_counter() - t0
        paints = [asyncio.run(first_paint(path, runs)) for _ in range(args.reps)]
        poll, scans = idle_poll(path)
        size = path.stat().st_size
        first, complete, rss = (statistics.median(p[i] for p in paints) for i in range(3))
        print(
            f"| {runs:,} | {runs * 10_000:,} | {size / 1e6:,.0f} MB | {first:.2f} s | {complete:.2f} s |"
            f" {rss / 2**20:,.0f} MiB | {poll * 1e6:.1f} µs | {scans} |"
            + (f" (generated in {made:.0f} s)" if made > 1 else "")
        )
    big = cache / "series1M.db"
    generate(big, 1, 4_000_000)
    load, render, count = redraw(big)
    print(f"\nredraw of a {count:,}-point series: load through the reader (SQL buckets) {load * 1000:.0f} ms once,"
          f" then render at 118x16 {render * 1000:.1f} ms (median of 20)")  # fmt: skip
    latencies = asyncio.run(live_latency(cache))
    if latencies:
        q = statistics.quantiles(latencies, n=20)
        print(f"live latency, log() to the plot's data: median {statistics.median(latencies) * 1000:.0f} ms,"
              f" p95 {q[-1] * 1000:.0f} ms over {len(latencies)} points (a point every 50 ms)")  # fmt: skip


if __name__ == "__main__":
    main()
