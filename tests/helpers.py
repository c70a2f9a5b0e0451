"""Run Python code in a fresh interpreter of the same environment (real processes in tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.db import Store

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    code: str,
    *args: str,
    timeout: float = 120,
    check: bool = True,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (same venv), returning its output."""
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACKTUI_PROJECT": "tests",
        "TRACKTUI_SYSTEM_METRICS": "0",
        **(env or {}),
    }
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"child failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def start_python(
    code: str, *args: str, env: dict[str, str] | None = None, stdin: int | None = None
) -> subprocess.Popen[str]:
    full_env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACKTUI_PROJECT": "tests",
        "TRACKTUI_SYSTEM_METRICS": "0",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
    )


# Children that must start at one instant call ``wait_for_go()`` (defined by this prelude) when
# they are ready; :func:`release_together` lets them all go once every one of them is ready.
GO_PRELUDE = """
import sys as _go_sys
def wait_for_go():
    print("ready", flush=True)
    _go_sys.stdin.readline()
"""


def start_together(
    code: str, argvs: list[list[str]], env: dict[str, str] | None = None
) -> list[subprocess.Popen[str]]:
    """Start one child per argument list running ``code`` (which calls ``wait_for_go()``),
    wait until every one is ready, then release them all at once."""
    children = [
        start_python(GO_PRELUDE + textwrap.dedent(code), *argv, env=env, stdin=subprocess.PIPE)
        for argv in argvs
    ]
    try:
        for child in children:
            assert child.stdout is not None and child.stderr is not None
            line = child.stdout.readline()
            if line.strip() != "ready":
                child.kill()
                raise AssertionError(f"a child never got ready ({line!r}): {child.stderr.read()}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
    except BaseException:
        for child in children:
            child.kill()
            child.wait()
        raise
    return children


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Return as soon as ``condition()`` is true (checked every 10 ms); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.01)


def only_run(db: Path):  # type: ignore[no-untyped-def]
    """The one run recorded in ``db`` (read back through the store)."""
    from tracker.db.sqlite.store import SqliteStore

    st = SqliteStore.for_reading(db)
    try:
        (record,) = st.read_runs()
        return record
    finally:
        st.close()


def media_rows(db: Path) -> list[tuple[str, int, str, str, bytes]]:
    """``(key, step, kind, meta JSON, data)`` of every media row of the one run in ``db``, in
    logging order (read back through the store)."""
    from tracker.db.sqlite.store import SqliteStore

    st = SqliteStore.for_reading(db)
    try:
        (run,) = st.read_runs()
        rows = st.read_media_index(run.id)
        data = st.read_media_data([r[0] for r in rows])
    finally:
        st.close()
    return [(r[1], r[2], r[4], r[5], data[r[0]]) for r in rows]


def in_transaction(store: Store) -> bool:
    """Whether the store's connection has a transaction open (each driver says it its way)."""
    conn: Any = store.conn  # type: ignore[attr-defined]  # not part of the Store interface
    if store.kind == "sqlite":
        return bool(conn.in_transaction)
    import psycopg

    return bool(conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)


def is_sqlite(db: str | Path) -> bool:
    """Whether ``db`` (an ``any_db`` value) is a SQLite file rather than a server's URL."""
    return "://" not in str(db)
