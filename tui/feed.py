"""The reader thread's loop: when to read the file, and what to post after each read.

Pacing, measured to be where a live viewer's CPU goes:
- While runs stream, read once a frame (``timings.frame_s``); whatever every writer commits
  meanwhile comes in that one read, and the file watch is paused (one wake-up per commit of
  every writer would add nothing but CPU). A frame whose read and paint cost more than
  ``timings.cpu_share`` of a core over ``frame_s`` (many live runs) spaces the next ones out,
  so the viewer's CPU stays near that share however many runs log.
- A streaming frame's read lands just after a commit: when its time comes and this host's
  writers (:mod:`tui.commit_clock`) are due to commit within half an interval, it waits for
  that commit (the file's counter, asked every :data:`COMMIT_CHECK_S`), so what it shows is
  fresh rather than an interval old, for the same number of frames.
- Once the file has been quiet for ``timings.stream_quiet_s``, wait for a file event (the watch
  resumed) or the poll interval, whichever comes first; then read, at most once a frame.
- A request from the UI (a key opened a run; its series are wanted) is read at once.
Each read's findings go out as typed messages (:mod:`tui.messages`), closed by ``ReadDone``,
in one :class:`~tui.messages.ReadBatch` (one wake-up of the UI thread a read).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from textual.message import Message

from tracker.db import Target

from .messages import ReadBatch, ReadDone
from .reader import DatabaseReader
from .timings import Timings
from .watch import DatabaseWatcher

DEBOUNCE_S = 0.015  # after a request from the UI: let a burst of them settle into one read
EXTRAS_GAP_S = 0.02  # between the slices of trends a big first load computes
MAX_SAMPLE_S = 0.02  # one frame's CPU counted at most this (a first load's is not a frame's)
COMMIT_CHECK_S = 0.004  # a read waiting for a commit asks the file this often
COMMIT_LATE_S = 0.03  # and gives up this long after the commit was due
# A writer stamps a commit when its batch starts: the commit itself lands a little later.
COMMIT_EARLY_S = 0.005


class ReaderFeed:
    """Owns the reader's thread side: its wake-up event, the watcher, the loop."""

    def __init__(self, reader: DatabaseReader, timings: Timings, watch_files: bool) -> None:
        self.reader = reader
        self.timings = timings
        self.watch_files = watch_files
        self.watcher: DatabaseWatcher | None = None
        self._wake = threading.Event()
        reader.wake = self._wake  # a server's NOTIFY wakes the loop like a file event
        self._urgent = False  # the UI asked for something: read without waiting
        self._stop = threading.Event()
        self._cpu_at = time.process_time()  # the process's CPU time at the last read
        self._frame_cost = 0.0  # CPU seconds a streaming frame costs (moving average)

    def request(self) -> None:
        """Read now (the UI wants something), not at the next frame or poll."""
        self._urgent = True
        self._wake.set()

    def start_watcher(self, db: Target) -> None:
        """Watch the file's folder (again, once it exists); the poll covers it meanwhile.
        A server database is watched by the reader's LISTEN connection instead."""
        if not self.watch_files or (self.watcher is not None and self.watcher.running):
            return
        if db.path is None:
            return
        watcher = DatabaseWatcher(db.path, self._wake)
        self.watcher = watcher if watcher.start() else None

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.watcher is not None:
            self.watcher.stop()

    def run(self, post: Callable[[Message], object]) -> None:
        """The loop; returns after :meth:`stop`. ``post`` is thread-safe (the app's)."""
        reader, frame = self.reader, self.timings.frame_s
        quiet_since: float | None = time.monotonic()  # None while the file keeps changing
        try:
            while not self._stop.is_set():
                read_at = time.monotonic()
                self._urgent = False  # a request made from now on is seen by a later read
                update = reader.poll()
                if update:
                    post(ReadBatch([*update.messages(), ReadDone()]))
                quiet_since = self._track_streaming(reader.changed, read_at, quiet_since)
                streaming = (
                    quiet_since is None or read_at - quiet_since < self.timings.stream_quiet_s
                )
                cost = self._measure_frame(streaming)
                if reader.loading():
                    continue  # the next histories asked for, after the UI has drawn these
                if reader.pending_extras():
                    self._pause_until(read_at + EXTRAS_GAP_S)
                elif streaming:
                    gap = self._frame_gap(frame, cost)
                    self._pause_until(read_at + gap)
                    self._land_on_commit(gap)
                elif self._wait_for_event():
                    self._pause_until(read_at + frame)
        finally:
            reader.close()

    def _measure_frame(self, streaming: bool) -> float:
        """The process's CPU time since the last read (a frame: its read, its paint and
        whatever else ran meanwhile), averaged over the last frames while streaming."""
        cpu = time.process_time()
        spent, self._cpu_at = min(cpu - self._cpu_at, MAX_SAMPLE_S), cpu
        if not streaming or self._urgent:
            self._frame_cost = 0.0
        else:
            self._frame_cost = 0.75 * self._frame_cost + 0.25 * spent  # one spike moves it little
        return self._frame_cost

    def _frame_gap(self, frame: float, cost: float) -> float:
        """``frame``, or longer while a frame costs more than ``cpu_share`` of it."""
        share = self.timings.cpu_share
        if share <= 0:
            return frame
        return min(max(frame, cost / share), max(frame, self.timings.max_frame_s))

    def _track_streaming(
        self, changed: bool, read_at: float, quiet_since: float | None
    ) -> float | None:
        watcher = self.watcher
        if changed:
            if quiet_since is not None and watcher is not None:
                watcher.pause()
            return None
        if quiet_since is None:
            return read_at
        if read_at - quiet_since >= self.timings.stream_quiet_s and watcher is not None:
            watcher.resume()
        return quiet_since

    def _wait_for_event(self) -> bool:
        """Wait for a file event or the poll interval; True if a file event came (then the
        read waits out the frame), False to read now."""
        if not self._wake.wait(self.timings.poll_s):
            return False
        self._wake.clear()
        if self._urgent:
            time.sleep(DEBOUNCE_S)
            return False
        return True

    def _land_on_commit(self, gap: float) -> None:
        """Wait for the commit this host's writers are due to make within half an interval
        (none due that soon: the last one is at most half an interval old, read it now).
        Frames shorter than an interval (tests' timings) read more often than commits land."""
        reader = self.reader
        every = reader.commits.every
        if gap < every:
            return
        expected = reader.commits.next_after(time.time(), gap + 1.5 * every)
        if expected is None:
            return
        wait = expected - time.time()
        if not -COMMIT_EARLY_S < wait <= every / 2:
            return
        due = time.monotonic() + wait
        self._pause_until(due - COMMIT_EARLY_S)
        token = reader.change_token()
        if token is None:
            return
        give_up = due + COMMIT_LATE_S
        while not self._stop.is_set() and not self._urgent and time.monotonic() < give_up:
            if reader.change_token() != token:
                return
            if self._wake.wait(COMMIT_CHECK_S) and not self._urgent:
                self._wake.clear()

    def _pause_until(self, deadline: float) -> None:
        """Wait until ``deadline``, or less if the UI asks for something (keys go first)."""
        while not self._stop.is_set() and not self._urgent:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._wake.wait(left)
            if not self._urgent:
                self._wake.clear()  # another file event: it folds into the read to come
        self._wake.clear()
