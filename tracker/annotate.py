"""Changing runs after the fact from outside the training process (the TUI's "tag as best")."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import store
from .schema import open_for_writing
from .values import check_name


def tag_exclusively(db_path: Path, tag: str, winner: str, among: Sequence[str]) -> None:
    """Give ``winner`` the tag ``tag`` and take it from the other runs of ``among``, atomically.

    One ``BEGIN IMMEDIATE`` transaction: a training process writing meanwhile just waits its turn.
    """
    tag = check_name(tag, "tag")
    conn = open_for_writing(db_path)
    try:
        version = store.begin(conn)
        try:
            current = store.run_tags(conn, sorted({*among, winner}))
            changes: dict[str, list[str]] = {}
            for run_id, tags in current.items():
                wanted = [t for t in tags if t != tag] + ([tag] if run_id == winner else [])
                if wanted != tags:
                    changes[run_id] = wanted
            store.set_tags(conn, changes, version)
            store.commit(conn)
        except BaseException:
            store.rollback(conn)
            raise
    finally:
        conn.close()
