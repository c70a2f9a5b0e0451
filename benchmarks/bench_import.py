"""Import speed of a TensorBoard log of 1 M scalars (``tracktui import tensorboard``).

torch's ``SummaryWriter`` writes ``--points`` scalars across ``--tags`` tags into one run; the
log is imported into a fresh SQLite file through :mod:`tracker.importers`, timing the reading
(TensorBoard's own event-file loader) and the writing (the Store interface) apart, then
imported again (nothing new: the cost of checking). Results go to
``benchmarks/import_result.json``.

    python benchmarks/bench_import.py [--points 1000000] [--tags 10]
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from tracker.db import open_store
from tracker.importers import ImportSourceError, read_source
from tracker.importers.target import write_run

RESULT = Path(__file__).with_name("import_result.json")


def write_log(logdir: Path, points: int, tags: int) -> float:
    from torch.utils.tensorboard import SummaryWriter

    start = time.perf_counter()
    writer = SummaryWriter(str(logdir / "run"), max_queue=10_000, flush_secs=3600)
    for step in range(points // tags):
        for tag in range(tags):
            writer.add_scalar(f"train/metric_{tag}", step * 0.001 + tag, step)
    writer.close()
    return time.perf_counter() - start


def loader_only(logdir: Path) -> float:
    """TensorBoard's own ``EventFileLoader`` over the same files, doing nothing with the
    events: the floor any importer built on it sits on."""
    loader: Any = importlib.import_module("tensorboard.backend.event_processing.event_file_loader")
    start = time.perf_counter()
    for path in sorted(logdir.rglob("*tfevents*")):
        for _ in loader.EventFileLoader(str(path)).Load():
            pass
    return time.perf_counter() - start


def import_once(logdir: Path, db: Path) -> dict[str, Any]:
    store = open_store(db, write=True)
    read_s = write_s = 0.0
    points = 0
    try:
        start = time.perf_counter()
        runs = read_source("tensorboard", str(logdir))
        while True:
            tick = time.perf_counter()
            item = next(runs, None)
            read_s += time.perf_counter() - tick
            if item is None:
                break
            if isinstance(item, ImportSourceError):
                raise item
            tick = time.perf_counter()
            points += write_run(store, item).points
            write_s += time.perf_counter() - tick
        total = time.perf_counter() - start
    finally:
        store.close()
    return {
        "points_written": points,
        "total_s": round(total, 2),
        "read_s": round(read_s, 2),
        "write_s": round(write_s, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        logdir, db = Path(tmp) / "logs", Path(tmp) / "runs.db"
        write_s = write_log(logdir, args.points, args.tags)
        log_bytes = sum(f.stat().st_size for f in logdir.rglob("*tfevents*"))
        floor = loader_only(logdir)
        first = import_once(logdir, db)
        again = import_once(logdir, db)
        db_bytes = db.stat().st_size
    scalars = args.points // args.tags * args.tags
    result = {
        "scalars": scalars,
        "tags": args.tags,
        "summarywriter_write_s": round(write_s, 2),
        "event_file_mb": round(log_bytes / 1e6, 1),
        "tensorboard_event_file_loader_s": round(floor, 2),
        "first_import": first,
        "points_per_s": round(scalars / first["total_s"]),
        "read_points_per_s": round(scalars / max(first["read_s"], 1e-9)),
        "write_points_per_s": round(scalars / max(first["write_s"], 1e-9)),
        "second_import": again,
        "database_mb": round(db_bytes / 1e6, 1),
        "machine": f"{platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}",
    }
    RESULT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
