"""When the file's writers commit next, told from what the reads saw of them.

A run's writer (one per training process) commits what was logged once every
:data:`~tracker.settings.FLUSH_INTERVAL_S` plus the time its batch takes, and stamps each live
run it wrote with the moment it started (``updated_at``). A viewer reading once a frame at a
moment of its own shows each commit half a frame late on average; one that knows when the next
commit lands can read just after it (:mod:`tui.feed`). Only writers on this host are timed:
another host's clock may be off by more than an interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from tracker.models import LIVE, RunRecord
from tracker.settings import FLUSH_INTERVAL_S
from tracker.status import this_host

FORGET_AFTER_S = 2.0  # a writer that has not committed for this long is not waited for


@dataclass(slots=True)
class _Writer:
    stamp: float  # its newest commit seen (wall clock, its own stamp)
    every: float  # its interval between commits, as measured
    gap: float = math.inf  # between the last two of its commits seen


class CommitClock:
    def __init__(self, every: float = FLUSH_INTERVAL_S) -> None:
        self.every = every
        self._writers: dict[int, _Writer] = {}  # by process id

    def saw(self, runs: Iterable[RunRecord]) -> None:
        """Runs just read: each live run's ``updated_at`` is its writer's latest commit."""
        here = this_host()
        for run in runs:
            if run.stored_status != LIVE or run.host != here or not run.pid:
                continue
            stamp = float(run.updated_at)
            writer = self._writers.get(run.pid)
            if writer is None:
                self._writers[run.pid] = _Writer(stamp, self.every)
                continue
            gap = stamp - writer.stamp
            if gap <= 0:
                continue  # the same commit, seen through another of its runs
            periods = round(gap / writer.every)
            if periods >= 1:
                measured = gap / periods
                if abs(measured - self.every) < self.every / 2:  # not a heartbeat after a pause
                    writer.every = 0.8 * writer.every + 0.2 * measured
            writer.stamp, writer.gap = stamp, gap

    def next_after(self, now: float, longest_gap: float = math.inf) -> float | None:
        """The first commit expected after ``now`` (wall clock) from any writer that committed
        lately, or None. ``longest_gap``: only writers whose last two commits seen were at most
        this far apart (a reader that reads every frame sees a steady writer's commits a frame
        apart; one logging a step every few seconds commits only then)."""
        soonest: float | None = None
        for pid, writer in list(self._writers.items()):
            if now - writer.stamp > FORGET_AFTER_S:
                del self._writers[pid]
                continue
            if writer.gap > longest_gap:
                continue
            periods = max(1, math.ceil((now - writer.stamp) / writer.every))
            expected = writer.stamp + periods * writer.every
            soonest = expected if soonest is None else min(soonest, expected)
        return soonest

    def clear(self) -> None:
        self._writers.clear()
