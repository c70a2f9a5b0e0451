"""Several SQLite files shown as one read-only store (``tracktui a.db b.db sweeps/``): every
run of every file, global ids that never clash, live changes of several files at once, files
that arrive later, files that are not ours or are damaged, refused writes, the TUI and ``ls``.

Every file is written by real runs (``tracker.init``), in this process or in children.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import tracker
from tracker.db import multi, open_store
from tracker.db.multi import MultiStore, split_id
from tracker.db.target import several
from tracker.errors import DatabaseError, DatabaseUnavailable
from tui.app import TrackTuiApp
from tui.demo_db import NOW
from tui.reader import DatabaseReader
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.plot import MetricPlot
from tui.widgets.runs_table import RunsTable

from .helpers import ROOT, run_python
from .tui_helpers import TIMINGS, wait_until

STEPS = 30


def write_run(db: Path, name: str, steps: int = STEPS, offset: float = 0.0) -> str:
    """One finished run of ``steps`` points of loss (``offset + step``) and acc in ``db``."""
    run = tracker.init(project="sweep", name=name, db=str(db), config={"name": name}, quiet=True)
    for step in range(steps):
        run.log({"loss": offset + step, "acc": step / steps}, step=step)
    run.finish()
    return run.id


@pytest.fixture
def sweep(tmp_path: Path) -> tuple[list[Path], dict[str, float]]:
    """a.db and b.db, and sweeps/ with c.db, d.sqlite and e.sqlite3: one run each; returns
    the locations and each run name's loss offset."""
    folder = tmp_path / "sweeps"
    folder.mkdir()
    files = {
        "a": tmp_path / "a.db",
        "b": tmp_path / "b.db",
        "c": folder / "c.db",
        "d": folder / "d.sqlite",
        "e": folder / "e.sqlite3",
    }
    offsets = {}
    for number, (name, path) in enumerate(files.items()):
        offsets[name] = 100.0 * (number + 1)
        write_run(path, name, offset=offsets[name])
    (folder / "notes.txt").write_text("not a database")
    return [files["a"], files["b"], folder], offsets


def test_two_files_and_a_folder_show_five_runs(sweep: tuple[list[Path], dict[str, float]]) -> None:
    locations, offsets = sweep
    store = open_store(several(locations))
    try:
        assert isinstance(store, MultiStore) and store.kind == "files"
        assert not store.skipped and not store.waiting
        runs = store.read_runs()
        assert [run.name for run in runs] == ["e", "d", "c", "b", "a"]  # newest first
        ids = [m.series_id for run in runs for m in run.metrics.values()]
        assert len(set(ids)) == len(ids) == 10  # every file's series 1 and 2, made global
        assert len({split_id(sid)[1] for sid in ids}) == 5
        for run in runs:
            loss = run.metrics["loss"]
            assert loss.count == STEPS and loss.last == offsets[run.name] + STEPS - 1
            points = store.history(loss.series_id)
            assert [p.value for p in points] == [offsets[run.name] + s for s in range(STEPS)]
            assert [p.seq for p in store.history(loss.series_id, 25)] == [26, 27, 28, 29, 30]
            assert len(store.history(loss.series_id, 0, limit=3)) == 3
            buckets = store.history_buckets(loss.series_id, 3)
            assert [(b.first_step, b.last_step, b.count) for b in buckets] == [
                (0, 9, 10),
                (10, 19, 10),
                (20, 29, 10),
            ]
            assert buckets[0].min == offsets[run.name] and buckets[-1].max == loss.last
            count, series_buckets = store.read_series(loss.series_id, 3)
            assert count == STEPS and series_buckets == buckets
            assert store.recent_mean(loss.series_id, STEPS, 2) == offsets[run.name] + 28.5
            assert store.series_id(run.id, "loss") == loss.series_id
            assert store.series_id(run.id, "nope") is None
            one = store.read_run(run.id)
            assert one is not None and one.metrics == run.metrics
            row = store.run_row(run.id)
            assert row is not None and row["name"] == run.name
            assert store.row_counts(run.id)["media"] == 0
        assert store.read_run("missing1") is None and store.run_row("missing1") is None
        assert store.history(12345 << 16 | 7) == []  # a file index this store does not have
        assert store.read_runs(project="elsewhere") == []
        assert len(store.read_runs(project="sweep")) == 5
        changes = store.read_changes(0)
        assert sorted(run.name for run in changes.runs) == ["a", "b", "c", "d", "e"]
        assert {
            sid for run in changes.runs for sid in (m.series_id for m in run.metrics.values())
        } == set(ids)
    finally:
        store.close()


def test_read_changes_follows_new_points_in_two_files_at_once(tmp_path: Path) -> None:
    first = tracker.init(name="first", db=str(tmp_path / "one.db"), quiet=True, reinit="create_new")
    second = tracker.init(
        name="second", db=str(tmp_path / "two.db"), quiet=True, reinit="create_new"
    )
    for step in range(5):
        first.log({"loss": float(step), "other": 1.0}, step=step)
        second.log({"loss": 10.0 + step, "other": 1.0}, step=step)
    first.flush()
    second.flush()
    store = open_store(several([tmp_path / "one.db", tmp_path / "two.db"]))
    try:
        changes = store.read_changes(0)
        held = {run.id: run for run in changes.runs}
        assert sorted(run.name for run in changes.runs) == ["first", "second"]
        follow = {run.metrics["loss"].series_id: 5 for run in changes.runs}
        version = changes.version
        quiet = store.read_changes(version, follow, previous=held)
        assert quiet.version == version and not quiet.runs and not quiet.points
        for step in range(5, 8):
            first.log({"loss": float(step)}, step=step)
            second.log({"loss": 10.0 + step}, step=step)
        first.flush()
        second.flush()
        changes = store.read_changes(version, follow, previous=held)
        assert changes.version > version
        assert sorted(run.name for run in changes.runs) == ["first", "second"]
        by_name = {run.name: run for run in changes.runs}
        for name, base in (("first", 0.0), ("second", 10.0)):
            run = by_name[name]
            sid = run.metrics["loss"].series_id
            assert [(p.seq, p.value) for p in changes.points[sid]] == [
                (6, base + 5),
                (7, base + 6),
                (8, base + 7),
            ]
            # "other" did not change: its summary came from ``previous``, with its global id
            assert run.metrics["other"] == held[run.id].metrics["other"]
            assert run.metrics["loss"].count == 8 and run.step == 7
        # a counter this store never returned (or 0) starts over
        assert len(store.read_changes(0).runs) == 2
    finally:
        store.close()
        first.finish()
        second.finish()


def test_an_unchanged_file_is_not_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(4):
        write_run(tmp_path / f"job{index}.db", f"job{index}", steps=3)
    store = open_store(several([tmp_path]))
    assert isinstance(store, MultiStore)
    reads: list[str] = []
    for inner in store._stores.values():
        original = inner.read_changes

        def counted(
            *args: object, _original: object = original, _path: Path = inner.path, **kw: object
        ) -> object:
            reads.append(_path.name)
            return _original(*args, **kw)  # type: ignore[operator]

        monkeypatch.setattr(inner, "read_changes", counted)
    try:
        version = store.read_changes(0).version
        assert len(reads) == 4
        reads.clear()
        assert store.read_changes(version).version == version
        assert reads == []
        run = tracker.init(name="job1-more", db=str(tmp_path / "job1.db"), quiet=True)
        run.log({"loss": 1.0})
        run.finish()
        changes = store.read_changes(version)
        assert reads == ["job1.db"] and [r.name for r in changes.runs] == ["job1-more"]
    finally:
        store.close()


def test_a_file_added_to_the_folder_later_appears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multi, "RESCAN_S", 0.0)
    folder = tmp_path / "sweeps"
    folder.mkdir()
    write_run(folder / "job0.db", "job0")
    target = several([folder])
    store = open_store(target)
    assert [run.name for run in store.read_runs()] == ["job0"]
    token = store.change_token()
    assert not store.replaced() and store.change_token() == token
    write_run(folder / "job1.db", "job1")
    store.change_token()
    assert store.replaced()
    store.close()
    store = open_store(target)
    try:
        assert sorted(run.name for run in store.read_runs()) == ["job0", "job1"]
    finally:
        store.close()


def test_an_empty_file_waits_and_is_shown_once_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multi, "RESCAN_S", 0.0)
    write_run(tmp_path / "job0.db", "job0")
    (tmp_path / "job1.db").write_bytes(b"")  # created, not yet written by its job
    store = open_store(several([tmp_path]))
    assert isinstance(store, MultiStore)
    try:
        assert "empty" in store.waiting[tmp_path / "job1.db"]
        version = store.read_changes(0).version
        (tmp_path / "job1.db").unlink()
        write_run(tmp_path / "job1.db", "job1")
        token = store.change_token()
        assert not store.replaced() and len(token) == 2  # opened in place, under its index
        changes = store.read_changes(version)
        assert [run.name for run in changes.runs] == ["job1"] and not store.waiting
    finally:
        store.close()


def test_the_reader_reopens_and_shows_a_new_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multi, "RESCAN_S", 0.0)
    write_run(tmp_path / "job0.db", "job0")
    reader = DatabaseReader(several([tmp_path]))
    try:
        update = reader.poll()
        assert [run.name for run in update.runs] == ["job0"] and reader.status is not None
        assert reader.status.state == "ok"
        write_run(tmp_path / "job1.db", "job1")
        names: set[str] = set()
        for _ in range(3):
            update = reader.poll()
            names.update(run.name for run in update.runs)
        assert names == {"job0", "job1"}  # reopened: everything again
    finally:
        reader.close()


def test_a_foreign_sqlite_file_is_skipped_with_its_reason(tmp_path: Path) -> None:
    write_run(tmp_path / "ours.db", "ours")
    conn = sqlite3.connect(tmp_path / "theirs.db")
    conn.execute("CREATE TABLE things (a)")
    conn.commit()
    conn.close()
    (tmp_path / "random.sqlite").write_bytes(b"not sqlite at all " * 300)
    store = open_store(several([tmp_path]))
    assert isinstance(store, MultiStore)
    try:
        assert [run.name for run in store.read_runs()] == ["ours"]
        assert "another program" in store.skipped[tmp_path / "theirs.db"]
        assert "not a SQLite database" in store.skipped[tmp_path / "random.sqlite"]
    finally:
        store.close()


DAMAGED = """
import sqlite3, sys, tracker
run = tracker.init(name="broken", db=sys.argv[1], quiet=True)
for step in range(50):
    run.log({"loss": float(step)}, step=step)
run.finish()
conn = sqlite3.connect(sys.argv[1])
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(conn.execute("PRAGMA page_size").fetchone()[0])
print(conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()[0])
"""


def test_a_damaged_file_does_not_hide_the_others(tmp_path: Path) -> None:
    write_run(tmp_path / "good.db", "good")
    bad = tmp_path / "bad.db"
    page_size, root = map(int, run_python(DAMAGED, str(bad)).stdout.split())
    data = bytearray(bad.read_bytes())
    data[(root - 1) * page_size : root * page_size] = bytes(range(256)) * (page_size // 256)
    bad.write_bytes(bytes(data))
    store = open_store(several([tmp_path]))
    assert isinstance(store, MultiStore)
    try:
        assert [run.name for run in store.read_runs()] == ["good"]
        assert "damaged" in store.skipped[bad]
    finally:
        store.close()


def test_nothing_to_open_says_no_database(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatabaseUnavailable, match="no database here yet"):
        open_store(several([tmp_path / "empty"]))
    conn = sqlite3.connect(tmp_path / "empty" / "theirs.db")
    conn.execute("CREATE TABLE things (a)")
    conn.close()
    with pytest.raises(DatabaseUnavailable, match=r"no database here yet.*another program"):
        open_store(several([tmp_path / "empty", tmp_path]))
    with pytest.raises(DatabaseError, match=r"missing.db: no such file or folder"):
        several([tmp_path / "empty", tmp_path / "missing.db"])  # a named file: a typo
    reader = DatabaseReader(several([tmp_path / "empty"]))
    reader.poll()
    assert reader.status is not None and reader.status.state == "missing"


def test_the_same_run_in_two_files_is_shown_once(tmp_path: Path) -> None:
    run_id = write_run(tmp_path / "a.db", "original")
    for suffix in ("", "-wal"):
        source = tmp_path / f"a.db{suffix}"
        if source.exists():
            shutil.copy(source, tmp_path / f"b.db{suffix}")
    store = open_store(several([tmp_path / "a.db", tmp_path / "b.db"]))
    assert isinstance(store, MultiStore)
    try:
        runs = store.read_runs()
        assert [run.id for run in runs] == [run_id]
        assert split_id(runs[0].metrics["loss"].series_id)[1] == 0  # the first file's
        assert store.clashes == {(run_id, tmp_path / "b.db")}
        assert len(store.read_changes(0).runs) == 1 and len(store.clashes) == 1
    finally:
        store.close()


def test_writes_are_refused(sweep: tuple[list[Path], dict[str, float]]) -> None:
    locations, _ = sweep
    store = open_store(several(locations))
    try:
        for write in (
            store.begin,
            lambda: store.insert_run({}, 1),
            lambda: store.set_tags({}, 1),
            lambda: store.stored_run("x"),
        ):
            with pytest.raises(DatabaseUnavailable, match="read-only"):
                write()
        assert store.listen(threading.Event()) is None
        assert store.classify(sqlite3.OperationalError("x")) == "OperationalError"
        assert sqlite3.Error in store.errors()
    finally:
        store.close()
    with pytest.raises(DatabaseUnavailable, match="read-only"):
        open_store(several(locations), write=True)


MEDIA = """
import sys, numpy as np, tracker
run = tracker.init(name=sys.argv[2], db=sys.argv[1], quiet=True)
print("hello from", sys.argv[2], flush=True)
for step in range(int(sys.argv[3])):
    run.log({"loss": 1.0, "img": tracker.Image(np.full((4, 4, 3), step * 40, dtype=np.uint8))}, step=step)
run.finish()
"""


def test_media_and_console_ids_are_global(tmp_path: Path) -> None:
    run_python(MEDIA, str(tmp_path / "a.db"), "a", "2")
    run_python(MEDIA, str(tmp_path / "b.db"), "b", "3")
    store = open_store(several([tmp_path]))
    try:
        assert store.has_media
        runs = {run.name: run for run in store.read_runs()}
        assert runs["a"].media["img"]["count"] == 2 and runs["b"].media["img"]["count"] == 3
        handed: dict[str, list[int]] = {"media": [], "console": []}  # ids of each table
        for name, count in (("a", 2), ("b", 3)):
            items = store.read_media_index(runs[name].id)
            assert len(items) == count
            ids = [item[0] for item in items]
            assert store.read_media_index(runs[name].id, ids[0]) == items[1:]
            data = store.read_media_data(ids)
            assert sorted(data) == sorted(ids) and all(blob for blob in data.values())
            handed["media"] += ids
            console = store.read_console(runs[name].id)
            assert any(f"hello from {name}" in chunk[3] for chunk in console)
            assert store.read_console(runs[name].id, console[-1][0]) == []
            assert store.read_console(runs[name].id, 0, last=1) == console[-1:]
            handed["console"] += [chunk[0] for chunk in console]
        for table_ids in handed.values():  # no global id handed out twice
            assert len(set(table_ids)) == len(table_ids)
        media_ids = [item[0] for run in runs.values() for item in store.read_media_index(run.id)]
        assert len(store.read_media_data(media_ids)) == 5
    finally:
        store.close()


def table(app: TrackTuiApp) -> RunsTable:
    return app.screen.query_one(RunsTable)


async def test_the_tui_shows_the_runs_of_every_file_and_a_plot(
    sweep: tuple[list[Path], dict[str, float]],
) -> None:
    locations, _ = sweep
    app = TrackTuiApp(several(locations), clock=lambda: NOW, timings=TIMINGS)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: table(app).row_count == 5, what="five rows")
        preview = app.screen.query_one("#preview-0", MetricPlot)
        await wait_until(pilot, lambda: bool(preview.lines), what="preview data")
        await pilot.press("j", "j", "enter")  # c, in the folder
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="run view")
        detail = app.screen
        assert isinstance(detail, RunDetailScreen)
        await wait_until(
            pilot,
            lambda: bool(detail.plots) and all(p.lines for p in detail.plots.values()),
            what="the run's plots",
        )
        loss = detail.plots["loss"].lines[0].buffer
        await wait_until(pilot, lambda: loss.count == STEPS, what="every point of c's loss")
        await pilot.press("q")


def test_ls_lists_the_runs_of_every_file_in_the_folder(
    sweep: tuple[list[Path], dict[str, float]],
) -> None:
    locations, _ = sweep
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "ls", "--db", str(locations[2])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    names = [line.split()[1] for line in result.stdout.splitlines()[1:]]
    assert names == ["e", "d", "c"]
