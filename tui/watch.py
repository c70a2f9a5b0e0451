"""Knowing when the database changed: a watchdog observer as a hint, a poll as the guarantee.

Commits append to ``<db>-wal`` (the main file changes only at checkpoints), so the observer
watches the database's folder for changes to those two files and sets an event; it never reads
anything itself (its thread must not touch SQLite). The reader wakes on that event or after the
poll interval, whichever comes first, and confirms with ``PRAGMA data_version``: inotify sees
nothing written from other hosts (NFS) and coalesces events, so the poll stays on regardless.

The observer is a hint for the moment a quiet file starts changing. While runs stream, the
reader reads once a frame anyway and every writer's every commit would still wake the
observer's thread (a tenth of the viewer's CPU, measured), so the reader pauses the watch
then and resumes it once the file has been quiet for a while.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

_RELEVANT = ("modified", "created", "deleted", "moved")


class _Handler(FileSystemEventHandler):
    def __init__(self, names: set[str], wake: threading.Event) -> None:
        self.names = names
        self.wake = wake
        self.events = 0

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT:
            return  # opened/closed: our own reads cause those
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(Path(str(p)).name in self.names for p in paths if p):
            self.events += 1
            self.wake.set()


class DatabaseWatcher:
    """Sets ``wake`` when the database (or its WAL) changes. ``start()`` may fail quietly: the
    poll still covers everything, just later."""

    def __init__(self, path: Path, wake: threading.Event) -> None:
        self.path = path
        self.wake = wake
        names = {path.name, f"{path.name}-wal", f"{path.name}-journal"}
        self.handler = _Handler(names, wake)
        self.observer: Any = None
        self.watch: Any = None
        self.folder = "."
        self.error: str | None = None
        self.paused = False

    def start(self) -> bool:
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            self.error = f"{folder} does not exist yet"
            return False
        self.folder = str(folder)
        try:
            observer = Observer()
            self.watch = observer.schedule(self.handler, self.folder, recursive=False)
            observer.daemon = True
            observer.start()
        except (OSError, RuntimeError) as exc:
            self.error = str(exc)
            return False
        self.observer = observer
        return True

    def pause(self) -> None:
        """Stop receiving events (the reader is polling every frame meanwhile)."""
        observer, watch = self.observer, self.watch
        if observer is None or watch is None or self.paused:
            return
        try:
            observer.unschedule(watch)
        except (KeyError, OSError, RuntimeError):
            pass
        self.watch = None
        self.paused = True

    def resume(self) -> None:
        """Receive events again; if the folder cannot be watched now, the poll covers it."""
        if self.observer is None or not self.paused:
            return
        try:
            self.watch = self.observer.schedule(self.handler, self.folder, recursive=False)
        except (OSError, RuntimeError) as exc:
            self.error = str(exc)
            return
        self.paused = False

    @property
    def running(self) -> bool:
        return self.observer is not None and self.observer.is_alive()

    def stop(self) -> None:
        if self.observer is not None:
            self.observer.stop()
            self.observer.join(timeout=2)
            self.observer = None
