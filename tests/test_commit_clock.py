"""A streaming frame's read lands just after a writer's commit: the commit clock tells when the
writers on this host commit next (from the stamps their runs carry), and the reader's loop
waits for that commit when it is due within half an interval, against a real file and a real
writer process."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path

import tracker
from tracker.models import LIVE, RunRecord
from tracker.status import this_host
from tui.commit_clock import FORGET_AFTER_S, CommitClock
from tui.feed import ReaderFeed
from tui.messages import ReadBatch, RunsRead
from tui.reader import DatabaseReader
from tui.timings import DEFAULT

from .helpers import start_python


def _run(pid: int, stamp: float, host: str | None = None, status: str = LIVE) -> RunRecord:
    return RunRecord(
        id=f"r{pid}", name="r", project="p", status=status, stored_status=status,
        created_at=stamp - 10, updated_at=stamp, finished_at=None, host=host or this_host(),
        pid=pid, pid_start=None, step=1, tags=[], config={}, summary={}, exit_code=None,
        error=None, dropped=0, version=1,
    )  # fmt: skip


def test_the_next_commit_follows_a_writers_last_stamp_by_whole_intervals() -> None:
    clock = CommitClock(every=0.1)
    clock.saw([_run(7, 999.8)])
    clock.saw([_run(7, 1000.0)])
    assert clock.next_after(1000.01) == 1000.1
    assert abs(clock.next_after(1000.25) - 1000.3) < 1e-9  # type: ignore[operator]
    assert clock.next_after(1000.0 + FORGET_AFTER_S + 0.1) is None  # gone quiet: forgotten


def test_a_writers_interval_is_measured_and_the_soonest_writer_wins() -> None:
    clock = CommitClock(every=0.1)
    clock.saw([_run(7, 1000.0)])
    for k in range(1, 40):  # seen every other commit, as a 0.2 s frame sees a 0.1 s writer
        clock.saw([_run(7, 1000.0 + 2 * k * 0.102)])
    last = 1000.0 + 78 * 0.102
    expected = clock.next_after(last + 0.01)
    assert expected is not None and abs(expected - (last + 0.102)) < 0.002
    clock.saw([_run(8, last - 0.05)])  # a second writer, due sooner
    assert abs(clock.next_after(last + 0.01) - (last + 0.05)) < 0.002  # type: ignore[operator]


def test_a_writer_seen_seldom_is_not_waited_for() -> None:
    """A run logging a step every 2 s commits only then: its stamps, read every frame, are
    2 s apart, and no commit of it is due 0.1 s after the last."""
    clock = CommitClock(every=0.1)
    clock.saw([_run(7, 998.0)])
    clock.saw([_run(7, 1000.0)])
    assert clock.next_after(1000.25, longest_gap=0.35) is None
    assert clock.next_after(1000.25) is not None  # without the bound, whole intervals


def test_only_live_runs_of_this_host_are_timed() -> None:
    clock = CommitClock(every=0.1)
    clock.saw([_run(1, 1000.0, host="elsewhere"), _run(2, 1000.0, status="finished")])
    assert clock.next_after(1000.05) is None
    clock.saw([replace(_run(3, 1000.0), pid=0)])  # no process to time
    assert clock.next_after(1000.05) is None


def _wait_for_a_commit(db: Path, timeout: float = 30.0) -> None:
    """Returns just after another connection committed to ``db``."""
    deadline = time.monotonic() + timeout
    while not db.exists():
        assert time.monotonic() < deadline, "the writer never made its file"
        time.sleep(0.01)
    connection = sqlite3.connect(db)
    try:
        first = connection.execute("PRAGMA data_version").fetchone()[0]
        while connection.execute("PRAGMA data_version").fetchone()[0] == first:
            assert time.monotonic() < deadline, "the writer never committed"
            time.sleep(0.001)
    finally:
        connection.close()


def test_reads_land_just_after_the_writers_commits(tmp_path: Path) -> None:
    """A writer logging 10 steps a second commits every ~0.1 s. The reader (the product's
    timings: a frame every 0.2 s) starts 0.09 s after a commit, the worst moment: reading at
    its own pace it would read each commit about 0.09 s late for the whole test (its 0.2 s
    drifts against the writer's ~0.2014 s by a millisecond a frame); landing on commits, it
    reads right after them from its second frame on."""
    db = tmp_path / "runs.db"
    writer = start_python(
        f"""
import time, tracker
run = tracker.init(project="p", name="w", db={str(db)!r}, quiet=True, system_metrics=False,
                   console=False)
start = time.monotonic()
for step in range(100000):
    run.log({{"x": float(step)}}, step=step)
    time.sleep(max(0.0, start + (step + 1) / 10 - time.monotonic()))
"""
    )
    lags: list[float] = []

    def post(batch: object) -> None:
        now = time.time()  # the commits' stamps are the writer's wall clock, on this host
        assert isinstance(batch, ReadBatch)
        for message in batch.messages:
            if isinstance(message, RunsRead) and message.runs:
                lags.append(now - max(run.updated_at for run in message.runs))

    try:
        _wait_for_a_commit(db)
        _wait_for_a_commit(db)  # the run exists and its writer is in its stride
        time.sleep(0.09)
        reader = DatabaseReader(db, timings=DEFAULT)
        feed = ReaderFeed(reader, DEFAULT, watch_files=False)
        thread = threading.Thread(target=feed.run, args=(post,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while len(lags) < 25 and time.monotonic() < deadline:
            time.sleep(0.05)
        feed.stop()
        thread.join(5)
    finally:
        writer.kill()
        writer.wait()
    assert len(lags) >= 25, lags
    after = sorted(lags[2:])
    assert after[len(after) // 2] < 0.04, [round(lag, 3) for lag in lags]


def test_frames_shorter_than_a_commit_interval_never_wait(tmp_path: Path) -> None:
    """The tests' timings read every 20 ms: faster than commits land, so no read waits for
    one; the product's 0.2 s frame asks the file when a commit is due."""
    db = tmp_path / "runs.db"
    run = tracker.init(project="p", name="w", db=db, quiet=True, system_metrics=False)
    run.log({"x": 1.0}, step=0)
    run.finish()
    reader = DatabaseReader(db, timings=DEFAULT)
    reader.poll()
    asked: list[float] = []

    def token() -> object:
        asked.append(time.monotonic())
        return 1  # never changes: the wait ends when it gives up

    reader.change_token = token  # type: ignore[method-assign]
    feed = ReaderFeed(reader, DEFAULT, watch_files=False)
    reader.commits.saw([_run(99, time.time() - 0.27)])
    reader.commits.saw([_run(99, time.time() - 0.07)])  # due in about 0.03 s
    feed._land_on_commit(0.02)
    assert asked == []
    reader.commits.saw([_run(98, time.time() - 0.27)])
    reader.commits.saw([_run(98, time.time() - 0.07)])
    feed._land_on_commit(0.2)
    assert asked, "a 0.2 s frame waits for the commit due"
    reader.close()
