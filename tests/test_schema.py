"""Opening files: fresh, concurrent first open, foreign, newer, corrupt and unwritable ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import tracker
from tracker.db.sqlite.schema import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    TABLES,
    describe,
    open_for_reading,
    open_for_writing,
)
from tracker.errors import DatabaseUnavailable, NewerSchemaError, NotATrackerDatabase

from .helpers import start_together


def test_fresh_file_gets_schema_header_and_wal(db_path: Path) -> None:
    conn = open_for_writing(db_path)
    info = describe(conn)
    conn.close()
    assert info == {
        "application_id": APPLICATION_ID,
        "schema_version": SCHEMA_VERSION,
        "journal_mode": "wal",
    }


def test_foreign_sqlite_file_is_refused_untouched(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE experiments (id INTEGER)")
    conn.commit()
    conn.close()
    with pytest.raises(NotATrackerDatabase, match="another program") as info:
        tracker.init(db=db_path, quiet=True)
    assert str(db_path) in str(info.value)
    conn = sqlite3.connect(db_path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["experiments"]
    conn.close()
    with pytest.raises(NotATrackerDatabase):
        open_for_reading(db_path)


def test_other_application_id_is_refused(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    with pytest.raises(NotATrackerDatabase, match="application_id 0x4d2"):
        tracker.init(db=db_path, quiet=True)


def test_newer_schema_is_refused(db_path: Path) -> None:
    tracker.init(db=db_path, quiet=True).finish()
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(NewerSchemaError, match="newer tracktui") as info:
        tracker.init(db=db_path, quiet=True)
    assert str(db_path) in str(info.value)
    with pytest.raises(NewerSchemaError):
        open_for_reading(db_path)


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not a database\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
)
def test_non_database_file_is_refused(db_path: Path, content: bytes) -> None:
    db_path.write_bytes(content)
    with pytest.raises(NotATrackerDatabase, match=r"not a SQLite database|unreadable"):
        tracker.init(db=db_path, quiet=True)
    assert db_path.read_bytes() == content


def test_truncated_database_is_refused(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    for step in range(5000):
        run.log({"a": float(step), "b": float(step)})
    run.finish()
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = db_path.read_bytes()
    db_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotATrackerDatabase, match="truncated"):
        open_for_reading(db_path)
    with pytest.raises(NotATrackerDatabase, match="truncated") as info:
        tracker.init(db=db_path, quiet=True)
    assert str(db_path) in str(info.value)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match="directory"):
        tracker.init(db=tmp_path, quiet=True)


def test_uncreatable_path_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DatabaseUnavailable, match="cannot create") as info:
        tracker.init(db=blocker / "sub" / "runs.db", quiet=True)
    assert "sub" in str(info.value)


def test_reader_never_creates_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    with pytest.raises(DatabaseUnavailable, match="no database"):
        open_for_reading(missing)
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(DatabaseUnavailable, match="empty"):
        open_for_reading(empty)
    assert empty.read_bytes() == b""


@pytest.mark.parametrize("attempt", range(3))
def test_eight_processes_create_a_fresh_file_at_once(db_path: Path, attempt: int) -> None:
    code = """
        import sys
        import tracker
        db, index = sys.argv[1], sys.argv[2]
        wait_for_go()  # all eight have imported tracker: they go at once
        run = tracker.init(name=f"p{index}", db=db, quiet=True)
        run.log({"x": 1.0})
        run.finish()
        print("ok")
    """
    children = start_together(code, [[str(db_path), str(i)] for i in range(8)])
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0 and out.strip() == "ok", err
    conn = open_for_reading(db_path)
    assert describe(conn)["schema_version"] == SCHEMA_VERSION
    assert conn.execute("SELECT count(*) FROM runs WHERE status = 'finished'").fetchone()[0] == 8
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[
        0
    ] == len(TABLES)
    conn.close()
