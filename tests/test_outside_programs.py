"""Other programs on the file while a run writes: nothing acknowledged may be lost.

SQLite's POSIX locks belong to the process: closing *any* descriptor of the database file drops
them all, and the next connection to close anywhere then believes it is the last one and deletes
the WAL that the training process still appends to. Each test here lets a real training process
log and flush while something else opens and closes the file, then checks that every point is
in the file and the run says ``finished``.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tracker.annotate import tag_exclusively
from tracker.db import parse_target
from tracker.db.sqlite.store import SqliteStore

from .helpers import run_python, start_python

pytestmark = pytest.mark.slow

STEPS = 100

# Logs STEPS points, flushing every 10 (each flush must be acknowledged); after each flush it
# prints "flushed" and waits for the test to have done its outside action once ("go").
_WRITER = """
    import sys, tracker
    run = tracker.init(project="p", name="A", db=sys.argv[1], quiet=True, console=False)
    for step in range(int(sys.argv[2])):
        run.log({"loss": float(step), "acc": step / 100}, step=step)
        if step % 10 == 9:
            assert run.flush(30), "flush not acknowledged"
            print("flushed", step, flush=True)
            assert sys.stdin.readline().strip() == "go"
    run.finish()
    print("done", flush=True)
"""


def _kept(db: Path) -> tuple[str, int]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    status, count = conn.execute(
        "SELECT r.status, coalesce(sum(s.count), 0) FROM runs r LEFT JOIN series s"
        " ON s.run_id = r.id WHERE r.name = 'A' GROUP BY r.id"
    ).fetchone()
    points = conn.execute("SELECT count(*) FROM points").fetchone()[0]
    conn.close()
    assert points == count, "series summaries disagree with the points table"
    return str(status), int(count)


def _existing_database(db: Path) -> None:
    """The file exists before the run starts (the case that lost points: an ``init()`` on an
    existing file). Made by another process: this one must hold no connection to it, or its
    lock alone would keep the WAL alive and hide the bug."""
    run_python(
        "import sys, tracker; tracker.init(project='p', name='first', db=sys.argv[1],"
        " quiet=True, console=False).finish()",
        str(db),
    )


def _drive(db: Path, outside: Callable[[], None], every: int = 1) -> None:
    """The writer logs and flushes; after every ``every``-th flush (the first and the last
    always) ``outside()`` opens and closes the file once, then the writer goes on."""
    _existing_database(db)
    child = start_python(_WRITER, str(db), str(STEPS), stdin=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    flushes = STEPS // 10
    for index in range(flushes):
        line = child.stdout.readline()
        assert line.startswith("flushed"), line + child.stderr.read()
        if index % every == 0 or index == flushes - 1:
            outside()
        child.stdin.write("go\n")
        child.stdin.flush()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0 and "done" in out, err
    assert _kept(db) == ("finished", 2 * STEPS)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="the sqlite3 command is not installed")
def test_the_sqlite3_command_line_reading_the_file(db_path: Path) -> None:
    def outside() -> None:
        subprocess.run(["sqlite3", str(db_path), "select count(*) from points"], check=True,
                       capture_output=True)  # fmt: skip

    _drive(db_path, outside)


def test_a_python_connection_opened_and_closed(db_path: Path) -> None:
    def outside() -> None:
        conn = sqlite3.connect(db_path)  # read-write, the default a user types
        conn.execute("select count(*) from points").fetchone()
        conn.close()

    _drive(db_path, outside)


def test_the_sqlite_utils_command_line(db_path: Path) -> None:
    def outside() -> None:
        subprocess.run([sys.executable, "-m", "sqlite_utils", "tables", str(db_path), "--counts"],
                       check=True, capture_output=True)  # fmt: skip

    # Each start of sqlite-utils costs half a second of CPU; one close of the file after the
    # writer's locks were lost is enough to delete its WAL, so four of the ten flushes see one.
    _drive(db_path, outside, every=3)


def test_the_tuis_tag_best(db_path: Path) -> None:
    """The TUI's ``t`` key: read the runs, then write the ``best`` tag through a connection of
    its own, opened and closed."""

    def outside() -> None:
        reader = SqliteStore.for_reading(db_path)
        ids = [r[0] for r in reader.conn.execute("SELECT id FROM runs ORDER BY created_at")]
        reader.close()
        tag_exclusively(parse_target(db_path), "best", ids[-1], ids)

    _drive(db_path, outside)


_FAILED_INIT_WRITER = """
    import os, sys, tracker
    run = tracker.init(project="p", name="A", db=sys.argv[1], quiet=True, console=False)
    os.environ["TRACKTUI_INIT_TIMEOUT"] = "0.1"
    for step in range(100):
        run.log({"loss": float(step), "acc": step / 100}, step=step)
        if step % 10 == 9:
            assert run.flush(30), "flush not acknowledged"
            print("flushed", step, flush=True)
            assert sys.stdin.readline().strip() == "locked"
            try:
                tracker.init(
                    project="p", name="second", db=sys.argv[1], quiet=True, reinit="create_new"
                )
            except tracker.TrackerError as exc:
                print("init failed:", exc, file=sys.stderr, flush=True)
            else:
                raise SystemExit("init() should have failed while the lock was held")
            print("tried", flush=True)
            assert sys.stdin.readline().strip() == "released"
    run.finish()
    print("done", flush=True)
"""


def test_a_failed_init_in_the_same_process(db_path: Path) -> None:
    """While the run writes, the same process calls ``init()`` on the file again and it fails
    (another process holds the write lock past the init timeout). Closing that attempt's
    connection must not cost the live run its locks."""
    _existing_database(db_path)
    child = start_python(_FAILED_INIT_WRITER, str(db_path), stdin=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    for _ in range(10):
        line = child.stdout.readline()
        assert line.startswith("flushed"), line
        holder = sqlite3.connect(db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        child.stdin.write("locked\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "tried"
        holder.execute("ROLLBACK")
        holder.close()
        child.stdin.write("released\n")
        child.stdin.flush()
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0 and "done" in out, err
    assert err.count("init failed:") == 10 and "stayed locked by other processes" in err, err
    assert _kept(db_path) == ("finished", 200)


def test_a_writing_process_keeps_its_posix_lock(db_path: Path) -> None:
    """The evidence behind the tests above, read from /proc/locks: after ``init()`` on an
    existing file, and after every other thing the process does to it, it still holds a lock."""
    if not Path("/proc/locks").exists():
        pytest.skip("no /proc/locks on this system")
    _existing_database(db_path)
    result = run_python(
        """
        import os, sys, tracker
        from pathlib import Path
        from tracker.annotate import tag_exclusively
        from tracker.db import parse_target
        from tracker.db.sqlite.store import SqliteStore
        from tui.cli import main

        db = Path(sys.argv[1])
        inode, me = os.stat(db).st_ino, str(os.getpid())

        def locked():
            with open("/proc/locks") as locks:
                rows = [line.split() for line in locks]
            return any(
                len(f) >= 6 and f[1] == "POSIX" and f[4] == me
                and int(f[5].rsplit(":", 1)[1]) == inode
                for f in rows
            )

        run = tracker.init(db=db, quiet=True, console=False)
        run.log({"loss": 1.0}); run.flush()
        print("after init:", locked())
        reader = SqliteStore.for_reading(db)
        reader.read_runs(); reader.close()
        print("after a reader:", locked())
        tag_exclusively(parse_target(db), "best", run.id, [run.id])
        print("after tagging:", locked())
        main(["ls", "--db", str(db)])
        print("after ls:", locked())
        run.finish()
        """,
        str(db_path),
    )
    for moment in ("after init", "after a reader", "after tagging", "after ls"):
        assert f"{moment}: True" in result.stdout, result.stdout


def test_no_code_path_opens_the_database_file_outside_sqlite(db_path: Path) -> None:
    """An audit hook sees every ``open()`` Python makes (SQLite's own opens are C calls it does
    not see): through a whole session of the tracker and the command line, none may be of the
    database, its -wal or its -shm."""
    _existing_database(db_path)
    child = start_python(
        """
        import os, sys
        db = os.path.realpath(sys.argv[1])
        forbidden = {db, db + "-wal", db + "-shm", db + "-journal"}
        seen = []

        def hook(event, args):
            if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
                try:
                    path = os.path.realpath(os.fsdecode(args[0]))
                except (TypeError, ValueError):
                    return
                if path in forbidden:
                    seen.append(path)

        sys.addaudithook(hook)
        import tracker
        from pathlib import Path
        from tracker.annotate import tag_exclusively
        from tracker.db import parse_target
        from tui.cli import main

        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"loss": 1.0, "img": tracker.Image(__import__("numpy").zeros((4, 4)))})
        run.flush()
        os.environ["TRACKTUI_INIT_TIMEOUT"] = "0.2"
        main(["ls", "--db", sys.argv[1]])
        main(["ls", "--db", sys.argv[1], "--json"])
        main(["best", "--db", sys.argv[1], "--metric", "loss"])
        tag_exclusively(parse_target(Path(sys.argv[1])), "best", run.id, [run.id])
        run.finish()
        print("opened:", sorted(set(seen)), flush=True)
        """,
        str(db_path),
    )
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "opened: []" in out, out


def test_a_wal_deleted_under_the_process_is_never_acknowledged(db_path: Path) -> None:
    """The user's own code opens and closes the database file (a backup with shutil.copy, a
    hash of the output folder): that drops this process's SQLite locks, and the next outside
    program to close the file deletes the WAL. tracktui cannot prevent that from outside
    SQLite, but it notices: nothing written from then on is acknowledged, and it says why."""
    result = run_python(
        """
        import shutil, sqlite3, subprocess, sys, time, tracker
        db = sys.argv[1]
        run = tracker.init(name="copied", db=db, quiet=True, console=False)
        for step in range(1000):
            run.log({"a": float(step)}, step=step)
        print("flush 1:", run.flush(10), flush=True)
        shutil.copy(db, db + ".bak")  # plain file I/O on the live database
        subprocess.run([sys.executable, "-c",
                        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                        " c.execute('select count(*) from points').fetchone(); c.close()", db],
                       check=True)
        for step in range(1000, 2000):
            run.log({"a": float(step)}, step=step)
        started = time.monotonic()
        print("flush 2:", run.flush(10), flush=True)
        run.finish()
        print(f"ended in {time.monotonic() - started:.1f}", flush=True)
        """,
        str(db_path),
    )
    assert "flush 1: True" in result.stdout and "flush 2: False" in result.stdout
    assert float(result.stdout.rsplit("ended in ", 1)[1]) < 8  # said at once, no long wait
    assert result.stderr.count("WAL file was deleted") == 1, result.stderr
    assert re.search(r"not written to .*: 1,000 points of 1 metrics", result.stderr), result.stderr
