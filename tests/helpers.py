"""Run Python code in a fresh interpreter of the same environment (real processes in tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

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


def only_run(db: Path):  # type: ignore[no-untyped-def]
    """The one run recorded in ``db`` (read back through the store)."""
    from tracker import store
    from tracker.schema import open_for_reading

    conn = open_for_reading(db)
    try:
        (record,) = store.read_runs(conn)
        return record
    finally:
        conn.close()


def media_rows(db: Path) -> list[tuple[str, int, str, str, bytes]]:
    """``(key, step, kind, meta JSON, data)`` of every media row of the one run in ``db``, in
    logging order (read back through the store)."""
    from tracker import store
    from tracker.schema import open_for_reading

    conn = open_for_reading(db)
    try:
        (run,) = store.read_runs(conn)
        rows = store.read_media_index(conn, run.id)
        data = store.read_media_data(conn, [r[0] for r in rows])
    finally:
        conn.close()
    return [(r[1], r[2], r[4], r[5], data[r[0]]) for r in rows]
