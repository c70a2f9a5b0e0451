"""Several processes logging into one database at once, with a reader following along; on both
backends (``any_db``: a SQLite file and a PostgreSQL database)."""

from __future__ import annotations

import sqlite3
import time

import pytest

from tracker.db import Store, open_store
from tracker.errors import DatabaseUnavailable
from tracker.models import FINISHED

from .helpers import in_transaction, is_sqlite, start_together

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


def _points_of_every_series(store: Store) -> dict[tuple[str, str], list[tuple[int, int, float]]]:
    """``(run name, key) -> [(seq, step, value), ...]`` for every series, read through the
    Store interface."""
    out = {}
    for run in store.read_runs():
        for key, summary in run.metrics.items():
            points = store.history(summary.series_id)
            out[(run.name, key)] = [(p.seq, p.step, p.value) for p in points]
    return out


def _logged(key: str, index: int, step: int) -> float:
    """What WRITER logs for ``key`` at ``step`` in process ``index``."""
    return {"loss": float(step), "eval/loss": step + 0.5, "grad_norm": float(index), "lr": 1e-3}[
        key
    ]


def test_eight_processes_twenty_thousand_points_each(any_db: str) -> None:
    children = start_together(WRITER, [[any_db, str(i), "20000"] for i in range(8)])
    for child in children:
        out, err = child.communicate(timeout=240)
        assert child.returncode == 0, err
        assert out.strip() == "done"
        assert "locked" not in err and "cannot write" not in err, err
    if is_sqlite(any_db):  # what only a file says: its rows, and SQLite's own check
        conn = sqlite3.connect(any_db)
        assert conn.execute("SELECT count(*) FROM points").fetchone()[0] == 8 * 20_000
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    reader = open_store(any_db)
    runs = reader.read_runs()
    series = _points_of_every_series(reader)
    reader.close()
    assert sorted(r.name for r in runs) == [f"proc-{i}" for i in range(8)]
    assert all(r.status == FINISHED and r.step == 4999 for r in runs)
    assert all(r.metrics["loss"].count == 5000 and r.metrics["loss"].max == 4999.0 for r in runs)
    assert len(series) == 32 and sum(len(points) for points in series.values()) == 8 * 20_000
    for (name, key), points in series.items():
        assert [(seq, step) for seq, step, _ in points] == [(s + 1, s) for s in range(5000)]
        index = int(name.split("-")[1])
        assert all(value == _logged(key, index, step) for _, step, value in points), (name, key)


def test_reader_following_deltas_sees_every_point_exactly_once(any_db: str) -> None:
    children = start_together(WRITER, [[any_db, str(i), "40000"] for i in range(4)])
    seen: dict[int, list[int]] = {}
    version = 0
    reader = None
    deadline = time.time() + 180
    while time.time() < deadline:
        if reader is None:
            try:
                reader = open_store(any_db)
            except DatabaseUnavailable:  # nothing written yet
                time.sleep(0.05)
                continue
        follow = {sid: (seqs[-1] if seqs else 0) for sid, seqs in seen.items()}
        changes = reader.read_changes(version, follow)
        assert not in_transaction(reader)  # never leaves a read transaction open
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


def test_32_processes_start_at_the_same_instant_and_lose_nothing(any_db: str) -> None:
    """32 processes call ``init()`` on a database nothing has written to yet (a file that does
    not exist, an empty PostgreSQL database), at the same instant, then log and flush: every one
    starts, none says "locked", every point is there."""
    writers, steps = 32, 2_000
    code = """
        import sys, tracker
        db, index, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
        wait_for_go()  # every one has started and imported tracker: all go at once
        run = tracker.init(name=f"w{index}", db=db, quiet=True, console=False)
        for step in range(steps):
            run.log({"loss": 1.0 / (step + 1), "acc": 0.5, "lr": 1e-3, "grad_norm": 1.0}, step=step)
        print("acknowledged", run.flush(120), flush=True)
        run.finish()
    """
    children = start_together(code, [[any_db, str(i), str(steps)] for i in range(writers)])
    outputs = [child.communicate(timeout=300) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0 and "acknowledged True" in out, err
        assert "locked" not in err and "Traceback" not in err, err
    reader = open_store(any_db)
    runs = reader.read_runs()
    series = _points_of_every_series(reader)
    reader.close()
    assert sorted(r.name for r in runs) == sorted(f"w{i}" for i in range(writers))
    assert {r.stored_status for r in runs} == {FINISHED}
    assert len(series) == writers * 4
    for points in series.values():
        assert [(seq, step) for seq, step, _ in points] == [(s + 1, s) for s in range(steps)]
    if is_sqlite(any_db):
        conn = sqlite3.connect(f"file:{any_db}?mode=ro", uri=True)
        assert conn.execute("SELECT count(*) FROM points").fetchone()[0] == writers * steps * 4
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
