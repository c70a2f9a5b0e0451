"""Killed, interrupted, failing and forked training processes; a disk that fills up."""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tracker.db.sqlite.store import SqliteStore
from tracker.models import CRASHED, FAILED, FINISHED

from .helpers import only_run, run_python, start_python

pytestmark = pytest.mark.slow


def _steps(db: Path, key: str = "loss") -> list[int]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT p.step FROM point_values p JOIN series s ON s.id = p.series WHERE s.key = ? ORDER BY p.seq",
        (key,),
    ).fetchall()
    conn.close()
    return [r[0] for r in rows]


def test_sigkill_keeps_every_flushed_point_and_shows_crashed(db_path: Path) -> None:
    child = start_python(
        """
        import sys, time, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        step = 0
        while True:
            for _ in range(500):
                run.log({"loss": 1.0 / (step + 1), "grad_norm": 0.5}, step=step)
                step += 1
            if run.flush():
                print(f"flushed {step - 1}", flush=True)
            time.sleep(0.005)
        """,
        str(db_path),
    )
    assert child.stdout is not None
    flushed = -1
    for _ in range(6):
        line = child.stdout.readline()
        assert line.startswith("flushed"), line
        flushed = int(line.split()[1])
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    steps = _steps(db_path)
    assert steps[: flushed + 1] == list(range(flushed + 1))  # every acknowledged point, in order
    assert steps == list(range(len(steps)))  # nothing partial or duplicated after it either
    record = only_run(db_path)
    assert record.stored_status == "running" and record.status == CRASHED


def test_sigterm_flushes_marks_failed_and_still_dies(db_path: Path) -> None:
    child = start_python(
        """
        import sys, time, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        for step in range(3000):
            run.log({"loss": float(step)})
        print("ready", flush=True)
        time.sleep(60)
        """,
        str(db_path),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == -signal.SIGTERM  # the default action still happened
    assert _steps(db_path) == list(range(3000))
    record = only_run(db_path)
    assert record.status == FAILED and record.error == "killed by SIGTERM"


def test_sigterm_chains_to_the_scripts_own_handler(db_path: Path) -> None:
    child = start_python(
        """
        import signal, sys, time, tracker
        def mine(signum, frame):
            print("script handler ran", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, mine)
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"loss": 1.0})
        print("ready", flush=True)
        time.sleep(60)
        """,
        str(db_path),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGTERM)
    out, _err = child.communicate(timeout=30)
    assert "script handler ran" in out
    assert _steps(db_path) == [0]


def test_ctrl_c_flushes_and_marks_failed(db_path: Path) -> None:
    child = start_python(
        """
        import sys, time, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        for step in range(1000):
            run.log({"loss": float(step)})
        print("ready", flush=True)
        time.sleep(60)
        """,
        str(db_path),
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    child.send_signal(signal.SIGINT)
    _out, err = child.communicate(timeout=30)
    assert child.returncode != 0 and "KeyboardInterrupt" in err
    assert _steps(db_path) == list(range(1000))
    record = only_run(db_path)
    assert record.status == FAILED and "KeyboardInterrupt" in (record.error or "")


@pytest.mark.parametrize(
    "ending, status, exit_code",
    [
        ("pass", FINISHED, 0),
        ("sys.exit(0)", FINISHED, 0),
        ("sys.exit(3)", FAILED, 3),
        ("raise ValueError('diverged')", FAILED, 1),
    ],
)
def test_status_at_exit_without_finish(
    db_path: Path, ending: str, status: str, exit_code: int
) -> None:
    result = run_python(
        f"""
        import sys, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        for step in range(100):
            run.log({{"loss": float(step)}})
        {ending}
        """,
        str(db_path),
        check=False,
    )
    assert result.returncode == exit_code, result.stderr
    record = only_run(db_path)
    assert (record.status, record.exit_code) == (status, exit_code)
    assert _steps(db_path) == list(range(100))
    if "ValueError" in ending:
        assert record.error == "ValueError: diverged"


def test_disk_full_never_raises_and_recovers(db_path: Path) -> None:
    result = run_python(
        """
        import os, resource, sys, time, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"loss": 0.0})
        run.flush()
        size = sum(os.path.getsize(sys.argv[1] + s) for s in ("", "-wal") if os.path.exists(sys.argv[1] + s))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 64 * 1024, hard))
        for step in range(1, 60001):
            run.log({"loss": float(step), "b": 1.0, "c": 2.0, "d": 3.0}, step=step)
        ok_while_full = run.flush(timeout=1)  # it cannot: the file may not grow
        print("flushed while full:", ok_while_full, flush=True)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space comes back
        deadline = time.time() + 30
        while not run.flush(timeout=5) and time.time() < deadline:
            time.sleep(0.2)
        run.finish()
        print("loop finished", flush=True)
        """,
        str(db_path),
    )
    assert "flushed while full: False" in result.stdout
    assert "loop finished" in result.stdout
    assert result.stderr.count("cannot write to") == 1, result.stderr  # warned once
    assert "training continues" in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert _steps(db_path) == list(range(60001))
    record = only_run(db_path)
    assert record.status == FINISHED and record.dropped == 0


def test_forked_child_never_writes_for_the_parent(db_path: Path) -> None:
    result = run_python(
        """
        import os, sys, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"loss": 1.0})
        pid = os.fork()
        if pid == 0:
            run.log({"loss": 666.0})  # ignored with a warning
            tracker.log({"loss": 667.0})
            sys.exit(0)  # runs atexit in the child: must not finish the parent's run
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        run.log({"loss": 2.0})
        print("status before finish:", run._active)
        run.finish()
        """,
        str(db_path),
    )
    assert "forked process" in result.stderr
    assert "status before finish: True" in result.stdout
    conn = sqlite3.connect(db_path)
    values = [r[0] for r in conn.execute("SELECT value FROM points ORDER BY id")]
    conn.close()
    assert values == [1.0, 2.0]
    assert only_run(db_path).status == FINISHED


def test_a_run_of_another_host_goes_stale(db_path: Path) -> None:
    run_python(
        """
        import sys, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"loss": 1.0})
        run.flush()
        import os; os._exit(0)
        """,
        str(db_path),
    )
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE runs SET host = 'elsewhere'")
    conn.commit()
    conn.close()
    reader = SqliteStore.for_reading(db_path)
    (record,) = reader.read_runs(now=time.time())
    assert record.status == "running"  # a fresh heartbeat from another host: trust it
    (record,) = reader.read_runs(now=time.time() + 3600)
    assert record.status == CRASHED
    reader.close()
