"""The sweep views' redraw time at 1,000 runs (medians), written to benchmarks/sweep_result.json.

    python benchmarks/bench_sweep.py               # 1,000 runs: 10 learning rates x 100 seeds
    python benchmarks/bench_sweep.py --runs 200    # smaller

A database of ``--runs`` finished runs (lr, seed, batch size, optimizer; train/loss and eval/loss
over ``--steps`` steps) is written once into --cache through the tracker's own write path. The
app runs headless at 120x36 with the sweep screen open on every run; for each view:

- runs_changed: the screen's whole redraw after a run of the sweep changed (grouping, values,
  axes, the picture and its strips: every cache cleared first);
- picture_only: the picture and its strips drawn again from the values worked out (a resize,
  another highlighted run);
- unchanged: the same call when nothing the view shows changed (a live frame that changes
  nothing the view shows costs this);

each the median of --reps. The curves follow at most ``tui.screens.sweep.MAX_CURVES`` runs'
series (evenly across groups), loaded before timing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.batch import RunHandle, write_batch
from tracker.db import parse_target
from tracker.db.sqlite.store import SqliteStore
from tracker.jsonable import dumps
from tui.app import TrackTuiApp
from tui.screens.sweep import VIEWS, SweepScreen
from tui.timings import FAST
from tui.widgets.runs_table import RunsTable
from tui.widgets.sweep_plots import SweepCanvas

NOW = 1_795_000_000.0
RESULT = Path(__file__).resolve().parent / "sweep_result.json"


def build(path: Path, runs: int, steps: int) -> None:
    st = SqliteStore.for_writing(path)
    target = parse_target(path)
    lrs = [10 ** (-4 + 2.5 * i / 9) for i in range(10)]
    for index in range(runs):
        lr, seed = lrs[index % 10], index // 10
        config = {"lr": lr, "seed": seed, "batch_size": (32, 64, 128)[seed % 3],
                  "optimizer": ("adamw", "sgd")[index % 2]}  # fmt: skip
        created = NOW - runs + index
        run_id = f"b{index:05d}"
        version = st.begin()
        st.insert_run({"id": run_id, "project": "bench", "name": f"lr{lr:.2g}-s{seed}",
                       "created_at": created, "host": "elsewhere", "pid": 1, "pid_start": None,
                       "tags": "[]", "config": dumps(config), "summary": "{}"}, version)  # fmt: skip
        st.commit()
        handle = RunHandle(run_id, target, created, {}, {})
        floor = 0.3 + 0.2 * abs(math.log10(lr) + 2.7) + 0.01 * (seed % 7)
        decay = [math.exp(-s / 40) for s in range(steps)]
        batch = [
            (handle, s, created + s, {"train/loss": floor + 2 * d, "eval/loss": floor + 0.1 + d})
            for s, d in enumerate(decay)
        ]
        write_batch(st, [*batch, ("finish", handle, ("finished", 0, None))], now=NOW)
    st.close()


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


async def measure(path: Path, runs: int, reps: int) -> dict[str, dict[str, float]]:
    app = TrackTuiApp(path, clock=lambda: NOW, timings=FAST, watch=False)
    results: dict[str, dict[str, float]] = {}
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = time.monotonic() + 120
        while not (
            app.screen.query(RunsTable) and app.screen.query_one(RunsTable).row_count == runs
        ):
            assert time.monotonic() < deadline, "the runs never loaded"
            await pilot.pause(0.05)
        await pilot.press("w")
        while not isinstance(app.screen, SweepScreen):
            await pilot.pause(0.01)
        screen = app.screen
        while not (screen.followed and screen.followed <= set(app.model.series)):
            assert time.monotonic() < deadline, "the curves' series never loaded"
            await pilot.pause(0.05)
        canvas = screen.query_one(SweepCanvas)
        for view in VIEWS:
            await pilot.press(str(VIEWS.index(view) + 1))
            await pilot.pause()
            changed, picture, unchanged = [], [], []
            for _ in range(reps):
                screen._memo_runs = []  # as when a run of the sweep changed: all worked out again
                canvas._drawn_key = None
                started = time.perf_counter()
                screen.redraw()
                changed.append(time.perf_counter() - started)
                canvas._drawn_key = None  # the picture alone (a resize, a new highlight)
                started = time.perf_counter()
                screen.redraw()
                picture.append(time.perf_counter() - started)
                started = time.perf_counter()
                screen.redraw()
                unchanged.append(time.perf_counter() - started)
            results[view] = {
                "runs_changed_ms": median_ms(changed),
                "picture_only_ms": median_ms(picture),
                "unchanged_ms": median_ms(unchanged),
            }
            print(f"{view:9} " + "   ".join(f"{k} {v:7.2f}" for k, v in results[view].items()),
                  flush=True)  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/tracktui-bench"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    path = args.cache / f"sweep-{args.runs}x{args.steps}.db"
    if not path.exists():
        started = time.perf_counter()
        build(path, args.runs, args.steps)
        print(f"built {path} in {time.perf_counter() - started:.1f} s", flush=True)
    views = asyncio.run(measure(path, args.runs, args.reps))
    result = {
        "runs": args.runs,
        "steps": args.steps,
        "size": "120x36",
        "reps": args.reps,
        "views": views,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULT}")


if __name__ == "__main__":
    main()
