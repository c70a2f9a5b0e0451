"""Several processes logging into one database at once, with a reader following along."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tracker.db.sqlite.store import SqliteStore
from tracker.errors import DatabaseUnavailable

from .helpers import start_together

pytestmark = pytest.mark.slow

WRITER = """
import sys, time, tracker
db, index, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
wait_for_go()  # every writer has imported tracker: they start at once
run = tracker.init(name=f"proc-{index}", db=db, config={"index": index}, quiet=True)
for step in range(points // 4):
    run.log({"loss": float(step), "eval/loss": step + 0.5, "grad_norm": float(index), "lr": 1e-3}, step=step)
    if step % 1000 == 0:
        time.sleep(0.001)
run.finish()
print("done", flush=True)
"""


def test_eight_processes_twenty_thousand_points_each(db_path: Path) -> None:
    children = start_together(WRITER, [[str(db_path), str(i), "20000"] for i in range(8)])
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err
        assert out.strip() == "done"
        assert "locked" not in err and "cannot write" not in err, err
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT count(*) FROM points").fetchone()[0] == 8 * 20_000
    per_series = conn.execute(
        "SELECT s.run_id, s.key, count(*), min(p.step), max(p.step), count(DISTINCT p.step)"
        " FROM point_values p JOIN series s ON s.id = p.series GROUP BY p.series"
    ).fetchall()
    assert len(per_series) == 32
    assert all(row[2:] == (5000, 0, 4999, 5000) for row in per_series)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    reader = SqliteStore.for_reading(db_path)
    runs = reader.read_runs()
    reader.close()
    assert sorted(r.name for r in runs) == [f"proc-{i}" for i in range(8)]
    assert all(r.status == "finished" and r.step == 4999 for r in runs)
    assert all(r.metrics["loss"].count == 5000 and r.metrics["loss"].max == 4999.0 for r in runs)


def test_reader_following_deltas_sees_every_point_exactly_once(db_path: Path) -> None:
    children = start_together(WRITER, [[str(db_path), str(i), "40000"] for i in range(4)])
    seen: dict[int, list[int]] = {}
    version = 0
    reader = None
    deadline = time.time() + 180
    while time.time() < deadline:
        if reader is None:
            try:
                reader = SqliteStore.for_reading(db_path)
            except DatabaseUnavailable:
                time.sleep(0.05)
                continue
        follow = {sid: (seqs[-1] if seqs else 0) for sid, seqs in seen.items()}
        changes = reader.read_changes(version, follow)
        assert not reader.conn.in_transaction  # never leaves a read transaction open
        version = changes.version
        for sid, points in changes.points.items():
            seen[sid].extend(p.seq for p in points)
        for run in changes.runs:
            for summary in run.metrics.values():
                if summary.series_id not in seen:  # a new series: its history so far, once
                    seen[summary.series_id] = [p.seq for p in reader.history(summary.series_id)]
        finished = all(child.poll() is not None for child in children)
        if finished and len(seen) == 16 and all(len(v) == 10_000 for v in seen.values()):
            break
        time.sleep(0.02)
    for child in children:
        child.communicate(timeout=60)
        assert child.returncode == 0
    assert reader is not None
    reader.close()
    assert len(seen) == 16
    for seqs in seen.values():
        assert seqs == list(range(1, 10_001))
