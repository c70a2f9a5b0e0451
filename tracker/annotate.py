"""Changing runs after the fact from outside the training process (the TUI's "tag as best")."""

from __future__ import annotations

from collections.abc import Sequence

from .db import Target, open_store, transaction
from .values import check_name


def tag_exclusively(db: Target, tag: str, winner: str, among: Sequence[str]) -> None:
    """Give ``winner`` the tag ``tag`` and take it from the other runs of ``among``, atomically.

    One write transaction: a training process writing meanwhile just waits its turn.
    """
    tag = check_name(tag, "tag")
    store = open_store(db, write=True)
    try:
        with transaction(store) as version:
            current = store.run_tags(sorted({*among, winner}))
            changes: dict[str, list[str]] = {}
            for run_id, tags in current.items():
                wanted = [t for t in tags if t != tag] + ([tag] if run_id == winner else [])
                if wanted != tags:
                    changes[run_id] = wanted
            store.set_tags(changes, version)
    finally:
        store.close()
