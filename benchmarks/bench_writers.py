"""Many processes writing one database at once: do they all start, how fast is it all durable?

    python benchmarks/bench_writers.py [--writers 1,8,32] [--steps 20000] [--reps 3]

Each writer process waits for a common start instant, calls ``tracker.init()`` on a file that
does not exist yet, logs ``--steps`` calls of 4 metrics, and calls ``flush()``. Reported per
writer count (medians over ``--reps`` fresh files): the slowest ``init()``, the time from the
start instant until the last writer's ``flush()`` returned (time to durable), the points per
second that makes, and whether every point and every ``finished`` status is in the file. The
single-writer row is the baseline of the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_WRITER = """
import json, sys, time
import tracker
db, start_at, index, steps = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
time.sleep(max(0.0, start_at - time.time()))
began = time.time()
run = tracker.init(name=f"w{index}", db=db, quiet=True, console=False)
started = time.time()
for step in range(steps):
    run.log({"loss": 1.0 / (step + 1), "acc": 0.5, "lr": 1e-3, "grad_norm": 1.0}, step=step)
ok = run.flush(300)
durable = time.time()
run.finish()
print(json.dumps({"init_s": started - began, "durable_at": durable, "ok": ok}))
"""


def one_round(writers: int, steps: int) -> dict[str, float | bool]:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "runs.db"
        start_at = time.time() + 1.0 + writers * 0.05  # every interpreter is up by then
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKTUI_SYSTEM_METRICS": "0"}
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, str(db), str(start_at), str(i), str(steps)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for i in range(writers)
        ]
        results = []
        clean = True
        for child in children:
            out, err = child.communicate(timeout=900)
            clean &= child.returncode == 0 and "locked" not in err
            results.append(json.loads(out.strip().splitlines()[-1]))
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        points = conn.execute("SELECT count(*) FROM points").fetchone()[0]
        finished = conn.execute("SELECT count(*) FROM runs WHERE status='finished'").fetchone()[0]
        conn.close()
    durable_s = max(r["durable_at"] for r in results) - start_at
    return {
        "init_max_s": max(r["init_s"] for r in results),
        "durable_s": durable_s,
        "points_per_s": writers * steps * 4 / durable_s,
        "all_kept": clean and all(r["ok"] for r in results) and points == writers * steps * 4
        and finished == writers,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--writers", default="1,8,32")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.steps:,} log() calls x 4 metrics per writer, medians of {args.reps} rounds\n")
    print("| writers | points | slowest init() | time to durable | points/s | all kept |")
    print("| --- | --- | --- | --- | --- | --- |")
    for writers in (int(w) for w in args.writers.split(",")):
        rounds = [one_round(writers, args.steps) for _ in range(args.reps)]
        init_s = statistics.median(r["init_max_s"] for r in rounds)
        durable = statistics.median(r["durable_s"] for r in rounds)
        rate = statistics.median(r["points_per_s"] for r in rounds)
        kept = all(r["all_kept"] for r in rounds)
        print(
            f"| {writers} | {writers * args.steps * 4:,} | {init_s:.2f} s | {durable:.2f} s "
            f"| {rate:,.0f} | {'yes' if kept else 'NO'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
