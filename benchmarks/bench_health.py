"""The health detectors' cost on the writer thread: the writer's per-point cost (one
``write_batch`` of a typical batch into SQLite) with and without detectors, alternating in
the same run, medians; and the detectors alone (``HealthMonitor.observe``).

    python benchmarks/bench_health.py [--rounds 40] [--calls 1000]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import tracker
from tracker.batch import _columns, write_batch
from tracker.db import open_store
from tracker.db.target import parse_target
from tracker.health import HealthMonitor, health_config


def records(handle: object, start: int, calls: int, t0: float) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for i in range(calls):
        step = start + i
        loss = 2.0 + 0.2 * math.sin(step * 0.37) + 0.5 / (1 + step * 1e-3)
        values = {"train/loss": loss, "train/grad_norm": 1.0 + 0.1 * math.cos(step),
                  "lr": 3e-4, "samples_per_second": 5000.0 + (step % 13)}  # fmt: skip
        out.append((handle, step, t0 + step * 0.01, values))
        if i % 50 == 0:  # the hardware sampler's record, ~every 0.5 s at 100 steps/s
            sys = {"sys/gpu/0/util": 90.0, "sys/gpu/0/mem_util": 70.0, "sys/mem/util": 40.0,
                   "sys/disk/util": 50.0, "sys/cpu/util": 30.0}  # fmt: skip
            out.append((handle, step, t0 + step * 0.01, sys))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "bench.db"
        run = tracker.init(project="bench", db=db, quiet=True, system_metrics=False,
                           console=False, health=False)  # fmt: skip
        run.finish()
        handle = run._handle
        handle.finished = False
        store = open_store(parse_target(db), write=True)
        config = health_config(None)
        assert config is not None
        monitor = HealthMonitor(config)
        step = 0
        plain: list[float] = []
        with_health: list[float] = []
        alone: list[float] = []
        points_per_batch = 0
        for round_ in range(args.rounds * 2 + 2):
            batch = records(handle, step, args.calls, handle.t0)
            step += args.calls
            points = sum(len(r[3]) for r in batch)
            points_per_batch = points
            on = round_ % 2 == 1
            handle.health = monitor if on else None
            began = time.perf_counter()
            for apply in write_batch(store, batch):
                apply()
            elapsed = (time.perf_counter() - began) / points
            if round_ >= 2:  # the first two warm the caches and the series up
                (with_health if on else plain).append(elapsed)
            # the detectors alone on a copy of the next batch's columns
            batch = records(handle, step, args.calls, handle.t0)
            step += args.calls
            per_key = _columns(batch, handle.t0)
            began = time.perf_counter()
            monitor.observe(batch, per_key, lambda key: 0, handle.t0)
            monitor._seen.clear()
            if round_ >= 2:
                alone.append((time.perf_counter() - began) / points)
            handle.health = None
            for apply in write_batch(store, batch):
                apply()
        store.close()
    result = {
        "points_per_batch": points_per_batch,
        "writer_ns_per_point_without": statistics.median(plain) * 1e9,
        "writer_ns_per_point_with": statistics.median(with_health) * 1e9,
        "detectors_alone_ns_per_point": statistics.median(alone) * 1e9,
        "events_raised": len(monitor.events),
    }
    result["ratio_with_over_without"] = (
        result["writer_ns_per_point_with"] / result["writer_ns_per_point_without"]
    )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
