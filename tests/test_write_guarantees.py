"""What the writer promises: many writers start and lose nothing, one bad record costs no other,
and ``flush()``/``finish()`` wait (bounded) for a database that comes back, then say exactly what
could not be written.

The tests of the API's guarantees run on both backends (``any_db``: a SQLite file and a
PostgreSQL database); what is about a SQLite file (a full disk, SQLite's integrity check) stays
SQLite's, and a stopped PostgreSQL server is the outage its flush() and finish() wait out.
(32 processes starting at one instant: tests/test_concurrency.py.)"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker.db import open_store
from tracker.models import FINISHED, RunRecord
from tui.cli import main as tracktui

from .helpers import ROOT, is_sqlite, only_run, run_python, start_python

pytestmark = pytest.mark.slow


def _count(db: str | Path, key: str | None = None) -> int:
    """Points stored (of series ``key`` only, if given), read back through the Store."""
    store = open_store(db)
    try:
        return sum(
            len(store.history(summary.series_id))
            for run in store.read_runs()
            for name, summary in run.metrics.items()
            if key is None or name == key
        )
    finally:
        store.close()


def _only_run(db: str) -> RunRecord:
    store = open_store(db)
    try:
        (record,) = store.read_runs()
        return record
    finally:
        store.close()


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    result = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    conn.close()
    return result


# --- many writers ------------------------------------------------------------------------------


@contextlib.contextmanager
def _write_lock_held(db: str) -> Iterator[None]:
    """Another process's write transaction, open for as long as the block runs: SQLite's write
    lock on the file, or the row of PostgreSQL's version counter every write transaction takes."""
    if is_sqlite(db):
        holder: Any = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        holder = psycopg.connect(db, autocommit=True)
        holder.execute("BEGIN")
        holder.execute("UPDATE state SET version = version WHERE id = 1")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_init_waits_out_a_held_lock_then_says_how_long_it_waited(any_db: str) -> None:
    tracker.init(db=any_db, quiet=True, console=False).finish()
    with _write_lock_held(any_db):
        result = run_python(
            """
            import sys, time, tracker
            started = time.monotonic()
            try:
                tracker.init(db=sys.argv[1], quiet=True)
            except tracker.TrackerError as exc:
                print(f"refused after {time.monotonic() - started:.1f}: {exc}")
            """,
            any_db,
            env={"TRACKTUI_INIT_TIMEOUT": "0.5"},
        )
    match = re.search(r"refused after ([\d.]+): (.*)", result.stdout)
    assert match, result.stdout + result.stderr
    assert 0.45 <= float(match.group(1)) < 10
    assert any_db in match.group(2) and "locked by other processes for 0.5 s" in match.group(2)
    assert "TRACKTUI_INIT_TIMEOUT" in match.group(2)


# --- one bad record ----------------------------------------------------------------------------


@pytest.mark.parametrize("step", [2**63, -(2**63) - 1, 10**30])
def test_steps_outside_64_bits_are_refused_at_log(any_db: str, step: int) -> None:
    run = tracker.init(db=any_db, quiet=True, console=False)
    run.log({"loss": 1.0}, step=5)
    with pytest.raises(ValueError, match="64-bit"):
        run.log({"loss": 2.0}, step=step)
    with pytest.raises(ValueError, match="64-bit"):
        run.log({"loss": 2.0}, step=step, commit=True)
    assert run.step == 6  # nothing of the refused calls happened
    run.log({"loss": 3.0}, step=2**63 - 1)  # the largest step there is, stored as it is
    with pytest.raises(ValueError, match="64-bit"):
        run.log({"loss": 4.0})  # the automatic next step would not fit
    run.finish()
    assert _only_run(any_db).metrics["loss"].last_step == 2**63 - 1
    assert _count(any_db, "loss") == 2


def test_a_record_the_database_refuses_costs_no_other(
    any_db: str, capfd: pytest.CaptureFixture[str]
) -> None:
    """A record that got past ``log()``'s checks but that the database refuses (here a step
    beyond 64 bits put straight on the queue) is left out, counted and reported once; the
    records around it, later records, and other runs of the process are all written."""
    first = tracker.init(name="first", db=any_db, quiet=True, console=False)
    other = tracker.init(name="other", db=any_db, quiet=True, console=False, reinit="create_new")
    for step in range(50):
        first.log({"loss": float(step)}, step=step)
    for _ in range(3):
        first._queue.append((first._handle, 2**64, time.time(), {"loss": -1.0}))
    for step in range(50, 100):
        first.log({"loss": float(step)}, step=step)
        other.log({"acc": float(step)}, step=step)
    assert first.flush(30) and other.flush(30)
    for step in range(100, 150):
        first.log({"loss": float(step)}, step=step)
    first.finish()
    other.finish()
    assert _count(any_db, "loss") == 150 and _count(any_db, "acc") == 50
    err = capfd.readouterr().err
    assert err.count("that the database refuses") == 1, err
    assert "step 18446744073709551616" in err and "internal writer error" not in err
    assert "3 records the database refused" in err
    runs = {r["name"]: r for r in json.loads(_ls_json(any_db))}
    assert runs["first"]["status"] == FINISHED and runs["first"]["dropped_points"] == 3
    assert runs["other"]["status"] == FINISHED and runs["other"]["dropped_points"] == 0


def _ls_json(db: str | Path) -> str:
    result = _tracktui_process("ls", "--db", str(db), "--json")
    assert result.returncode == 0, result.stderr
    return result.stdout


def _tracktui_process(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, env=env
    )


# --- a database that comes back ----------------------------------------------------------------

# A child that logs while its database cannot be written, then waits for it to come back. On
# SQLite its file may not grow past its size now (RLIMIT_FSIZE: writes fail as on a full disk),
# and room returns from a timer thread after AFTER seconds (never if negative). On PostgreSQL
# the test stops the server (immediate shutdown) when the child says "outage", and starts it
# again AFTER seconds after "unavailable" (never while the child runs if negative). What it
# prints is read by the tests.
_OUTAGE = """
    import os, resource, sys, threading, time, tracker
    db, after, ending = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    sqlite = "://" not in db
    run = tracker.init(name="full", db=db, quiet=True, console=False)
    for step in range(100):
        run.log({"loss": float(step)}, step=step)
    assert run.flush(10)
    if sqlite:
        size = sum(os.path.getsize(db + s) for s in ("", "-wal") if os.path.exists(db + s))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 16 * 1024, hard))
    else:
        print("outage", flush=True)
        sys.stdin.readline()  # the server is down
    for step in range(100, 30_100):
        run.log({"loss": float(step), "acc": 0.5, "lr": 1e-3}, step=step)
    print("unavailable, flushed:", run.flush(0.5), flush=True)
    if after >= 0 and sqlite:
        def room():
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
            print("room", flush=True)
        threading.Timer(after, room).start()
    started = time.monotonic()
    if ending == "flush":
        print("flush:", run.flush(60), f"{time.monotonic() - started:.1f}", flush=True)
    run.finish()
    print(f"finished in {time.monotonic() - started:.1f}", flush=True)
"""


def _through_an_outage(
    db: str,
    request: pytest.FixtureRequest,
    after: float,
    ending: str,
    env: dict[str, str] | None = None,
) -> tuple[str, str]:
    """Run :data:`_OUTAGE` on ``db``; its stdout and stderr. On PostgreSQL the server (this
    worker's, ``pg_cluster``) is stopped and started again here; it runs again afterwards."""
    if is_sqlite(db):
        result = run_python(_OUTAGE, db, str(after), ending, env=env)
        return result.stdout, result.stderr
    cluster = request.getfixturevalue("pg_cluster")
    child = start_python(_OUTAGE, db, str(after), ending, env=env, stdin=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    said: list[str] = []
    try:
        said.append(child.stdout.readline())
        assert said[-1].strip() == "outage", said
        cluster._halt("immediate")
        child.stdin.write("go\n")
        child.stdin.flush()
        said.append(child.stdout.readline())
        if after >= 0:
            time.sleep(after)
            cluster.start()
        out, err = child.communicate(timeout=120)
    finally:
        child.kill()
        child.wait()
        cluster.start()
    assert child.returncode == 0, "".join(said) + out + err
    return "".join(said) + out, err


def test_flush_waits_for_the_database_to_come_back(
    any_db: str, request: pytest.FixtureRequest
) -> None:
    out, err = _through_an_outage(any_db, request, 0.8, "flush")
    assert "unavailable, flushed: False" in out
    flushed = re.search(r"flush: (\w+) ([\d.]+)", out)
    assert flushed and flushed.group(1) == "True", out + err
    assert 0.7 <= float(flushed.group(2)) < 30  # it waited for the database, and not much longer
    assert _count(any_db) == 100 + 30_000 * 3
    assert _only_run(any_db).status == FINISHED
    if is_sqlite(any_db):
        assert _integrity(Path(any_db)) == "ok"


def test_finish_waits_for_the_database_then_marks_the_run_finished(
    any_db: str, request: pytest.FixtureRequest
) -> None:
    out, err = _through_an_outage(any_db, request, 0.8, "finish")
    assert "finished in" in out, err
    assert "room" in out or not is_sqlite(any_db), err
    assert _count(any_db) == 100 + 30_000 * 3
    record = _only_run(any_db)
    assert record.status == FINISHED and record.dropped == 0
    assert "not written" not in err


def test_finish_past_its_deadline_says_exactly_what_was_not_written(
    any_db: str, request: pytest.FixtureRequest
) -> None:
    _out, err = _through_an_outage(
        any_db, request, -1, "finish", env={"TRACKTUI_FINISH_TIMEOUT": "0.5"}
    )
    lost = re.search(
        r"not written to .*: ([\d,]+) points of (\d+) metrics \(steps ([\d,]+)-([\d,]+)\)", err
    )
    assert lost, err
    points = int(lost.group(1).replace(",", ""))
    assert int(lost.group(2)) == 3 and lost.group(4) == "30,099"
    assert _count(any_db) + points == 100 + 30_000 * 3  # kept + reported = everything logged
    if is_sqlite(any_db):
        assert _integrity(Path(any_db)) == "ok"
    run = json.loads(_ls_json(any_db))[0]
    if "marked finished" in err:
        assert run["status"] == FINISHED and run["dropped_points"] == points
    else:
        assert "show as crashed" in err and run["status"] == "crashed"


@pytest.mark.parametrize("series", ["known", "new"])
def test_a_commit_whose_answer_was_lost_is_neither_lost_nor_written_twice(
    pg_url: str, monkeypatch: pytest.MonkeyPatch, series: str
) -> None:
    """The server commits a batch and the connection dies before its answer arrives (a restart
    at that instant): the writer retries what it holds, with what was logged meanwhile. Every
    point must then be stored once, none dropped, none doubled: in a series written before
    (``known``) and in one that batch created (``new``)."""
    import psycopg

    from tracker.db.postgres.store import PostgresStore

    committed = PostgresStore.commit
    lose_next_answer = False

    def commit(store: PostgresStore) -> None:
        nonlocal lose_next_answer
        committed(store)  # the server has committed ...
        if lose_next_answer:
            lose_next_answer = False  # ... and its answer never arrives
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PostgresStore, "commit", commit)
    key = "loss" if series == "known" else "acc"
    run = tracker.init(name="lost-answer", db=pg_url, quiet=True, console=False)
    for step in range(5):
        run.log({"loss": float(step)}, step=step)
    assert run.flush(10)
    lose_next_answer = True
    for step in range(5, 10):
        run.log({key: float(step)}, step=step)
    assert not run.flush(0.2)  # the writer saw the connection die: it retries with backoff
    for step in range(10, 15):
        run.log({key: float(step)}, step=step)
    assert run.flush(10)
    run.finish()
    store = open_store(pg_url)
    try:
        (record,) = store.read_runs()
        stored = {
            name: [p.step for p in store.history(summary.series_id)]
            for name, summary in record.metrics.items()
        }
    finally:
        store.close()
    logged = {"loss": list(range(15))} if series == "known" else {"loss": list(range(5)), "acc": list(range(5, 15))}  # fmt: skip
    assert stored == logged
    assert {name: summary.count for name, summary in record.metrics.items()} == {
        name: len(steps) for name, steps in logged.items()
    }


# --- a small disk that fills up ----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB filesystem (tmpfs), where a full disk is ENOSPC for every file on it."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root): " + made.stderr.decode())
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_small_disk_that_fills_up_and_comes_back(small_disk: Path) -> None:
    """The disk fills while a run logs: the loop never raises, ``ls`` reads the file all along
    (the pages in the WAL count), and once space returns everything is written, the run is
    finished, and the WAL has been cut back rather than left filling the disk."""
    db = small_disk / "runs.db"
    ballast = small_disk / "ballast"
    child = start_python(
        """
        import os, sys, tracker
        db = sys.argv[1]
        run = tracker.init(name="small", db=db, quiet=True, console=False)
        step = 0
        for phase, count in (("before", 40_000), ("full", 40_000), ("after", 10)):
            for _ in range(count):
                run.log({"loss": float(step), "acc": 0.5}, step=step)
                step += 1
            print(phase, run.flush(0.5 if phase == "full" else 60), flush=True)
            if phase != "after":
                sys.stdin.readline()
        wal = os.path.getsize(db + "-wal") if os.path.exists(db + "-wal") else 0
        print("wal", wal, flush=True)
        run.finish()
        print("logged", step, flush=True)
        """,
        str(db),
        stdin=subprocess.PIPE,
    )
    assert child.stdin is not None and child.stdout is not None
    assert child.stdout.readline().strip() == "before True"
    with open(ballast, "wb", buffering=0) as handle:  # fill what is left of the disk
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    child.stdin.write("go\n")
    child.stdin.flush()
    assert child.stdout.readline().strip() == "full False"
    listed = _tracktui_process("ls", "--db", str(db), "--json")
    assert listed.returncode == 0, listed.stderr  # never "truncated" while pages are in the WAL
    assert json.loads(listed.stdout)[0]["status"] == "running"
    ballast.unlink()  # space returns
    child.stdin.write("go\n")
    child.stdin.flush()
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    assert "after True" in out and "logged 80010" in out
    assert err.count("cannot write to") == 1, err
    wal = int(re.search(r"wal (\d+)", out).group(1))  # type: ignore[union-attr]
    assert wal <= 1024 * 1024, f"the WAL ({wal:,} bytes) was not cut back after the episode"
    assert _count(db) == 80_010 * 2
    assert only_run(db).status == FINISHED and _integrity(db) == "ok"
    assert tracktui(["ls", "--db", str(db)]) == 0


def test_a_key_given_twice_in_one_call_is_an_error_not_a_lost_value(any_db: str) -> None:
    run = tracker.init(db=any_db, quiet=True, console=False)
    for payload in ({"e/loss": 1.0, "e": {"loss": 2.0}}, {"e": {"loss": 2.0}, "e/loss": 1.0}):
        with pytest.raises(ValueError, match="given twice"):
            run.log(payload)
    assert run.step == 0  # nothing of either call was queued
    run.finish()
