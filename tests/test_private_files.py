"""Files tracktui creates are private (0600, folders 0700) whichever way the path reaches them,
a symlink whose target does not exist yet included; existing files are never touched."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import tracker
from tracker.paths import ensure_private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def database_files(target: Path) -> list[Path]:
    return [target, Path(f"{target}-wal"), Path(f"{target}-shm")]


def test_a_database_created_through_a_dangling_symlink_is_private(tmp_path: Path) -> None:
    target = tmp_path / "real.db"
    link = tmp_path / "link.db"
    link.symlink_to("real.db")  # relative, dangling
    run = tracker.init(db=link, name="linked", quiet=True, console=False)
    run.log({"loss": 1.0})
    assert run.flush()
    assert link.is_symlink() and target.is_file()
    for path in database_files(target):  # live: the WAL and its index exist
        assert mode(path) == 0o600, path
    run.finish()
    for path in database_files(target):
        if path.exists():
            assert mode(path) == 0o600, path
    # an existing file, or a link to one, keeps its mode (and is never opened)
    other = tmp_path / "other"
    other.mkdir()
    existing = other / "mine.db"
    existing.write_bytes(b"")
    existing.chmod(0o644)
    (other / "link.db").symlink_to(existing)
    assert ensure_private_file(existing) is False
    assert ensure_private_file(other / "link.db") is False
    assert mode(existing) == 0o644
    loop = other / "loop.db"
    loop.symlink_to(loop)
    try:
        ensure_private_file(loop)
    except OSError:
        pass  # a loop is refused (init names the path), never a file created elsewhere
    assert sorted(p.name for p in other.iterdir()) == ["link.db", "loop.db", "mine.db"]


def test_missing_folders_of_a_symlink_target_are_created_private(tmp_path: Path) -> None:
    chain = tmp_path / "first.db"
    middle = tmp_path / "middle.db"
    target = tmp_path / "a" / "b" / "runs.db"
    chain.symlink_to(middle)
    middle.symlink_to(target)  # a chain of links, the last one dangling
    run = tracker.init(db=chain, name="deep", quiet=True, console=False)
    run.log({"loss": 1.0})
    assert run.flush()
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700
    for path in database_files(target):
        assert mode(path) == 0o600, path
    run.finish()
    assert mode(target) == 0o600
