"""A finished run's SQLite file is whole by itself: copied without its ``-wal`` and ``-shm``
files (to a laptop, into a bug report, by a sync tool that skips them) it still holds every
point. Found by an outside tester: the writer kept its connection open until the process
exited, so everything stayed in the WAL and ``cp runs.db`` copied an empty schema.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import tracker
from tracker.db import open_store

from .helpers import run_python

_SCRIPT = """
    import sys, tracker
    run = tracker.init(project="p", name="alone", db=sys.argv[1], console=False,
                       system_metrics=False)
    for step in range(2000):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.finish()
"""


def _points_in_copy_of_main_file(db: Path, tmp_path: Path) -> int:
    copy = tmp_path / "copied" / "runs.db"
    copy.parent.mkdir(exist_ok=True)
    shutil.copy(db, copy)  # the main file only, as `cp runs.db` does
    store = open_store(copy)
    try:
        (run,) = store.read_runs()
        return run.metrics["loss"].count
    finally:
        store.close()


def test_a_finished_run_leaves_one_whole_file(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run_python(_SCRIPT, str(db))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.db"]
    assert _points_in_copy_of_main_file(db, tmp_path) == 2000


def test_the_file_is_whole_while_a_viewer_still_has_it_open(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run = tracker.init(project="p", db=str(db), console=False, system_metrics=False)
    viewer = sqlite3.connect(db)  # keeps the WAL alive after the writer closes
    try:
        viewer.execute("SELECT count(*) FROM runs").fetchall()
        for step in range(500):
            run.log({"loss": float(step)}, step=step)
        run.finish()
        assert _points_in_copy_of_main_file(db, tmp_path) == 500
    finally:
        viewer.close()


def test_one_run_finishing_leaves_another_run_of_the_process_logging(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    first = tracker.init(project="p", name="a", db=str(db), console=False, system_metrics=False)
    second = tracker.init(
        project="p", name="b", db=str(db), console=False, system_metrics=False, reinit="create_new"
    )
    first.log({"loss": 1.0}, step=0)
    first.finish()
    for step in range(100):
        second.log({"loss": float(step)}, step=step)
    assert second.flush(30)
    second.finish()
    third = tracker.init(project="p", name="c", db=str(db), console=False, system_metrics=False)
    third.log({"loss": 2.0}, step=0)  # the released database opens again
    third.finish()
    assert not (tmp_path / "runs.db-wal").exists()
    store = open_store(db)
    try:
        counts = {r.name: r.metrics["loss"].count for r in store.read_runs()}
    finally:
        store.close()
    assert counts == {"a": 1, "b": 100, "c": 1}
