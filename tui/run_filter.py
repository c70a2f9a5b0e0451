"""The filter the runs screen applies, evaluated without ever holding up the UI thread.

A run's result is remembered until its record changes (a new record, or the run named in a
``Changed``), so a live update evaluates only the runs it touched. The UI thread evaluates for
at most :data:`BUDGET_S` per update; whatever is left goes to a worker thread as a
:class:`Pending` batch, and its results come back as a :class:`FilterEvaluated` message. Until
then a run shows as it did before its change, and a run never evaluated yet stays hidden. A new
filter (or none) cancels the worker of the old one, whose results are then ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, get_current_worker

from tracker.filters import Predicate
from tracker.models import RunRecord

BUDGET_S = 0.02  # seconds of filtering per update on the UI thread

Result = tuple[RunRecord, int, bool]  # the record evaluated, its serial then, whether it matched


def matches(predicate: Predicate, run: RunRecord) -> bool:
    """``predicate(run)``; a predicate that raises (it should not) matches nothing."""
    try:
        return bool(predicate(run))
    except Exception:
        return False


@dataclass(frozen=True, slots=True)
class Pending:
    """Runs for a worker thread to evaluate under filter ``generation``."""

    generation: int
    predicate: Predicate
    runs: list[tuple[RunRecord, int]]  # (record, serial)


def evaluate(pending: Pending, cancelled: Callable[[], bool]) -> list[Result] | None:
    """Evaluate a batch (on a worker thread); ``None`` once ``cancelled()`` says to stop."""
    results: list[Result] = []
    for run, serial in pending.runs:
        if cancelled():
            return None
        results.append((run, serial, matches(pending.predicate, run)))
    return results


class FilterEvaluated(Message):
    """A worker's results for filter ``generation``; ``token`` names the worker."""

    def __init__(self, generation: int, token: int, results: list[Result]) -> None:
        super().__init__()
        self.generation = generation
        self.token = token
        self.results = results


class RunFilter:
    """The applied expression, its predicate and what is known of each run's match."""

    def __init__(self) -> None:
        self.expression = ""
        self.predicate: Predicate | None = None
        self.generation = 0
        self.waiting = 0  # runs the last select() could not evaluate yet
        self._known: dict[str, Result] = {}
        self._serials: dict[str, int] = {}
        self._worker: Worker[None] | None = None
        self._busy: tuple[int, int] | None = None  # (token, generation) of the running worker
        self._tokens = 0

    @property
    def active(self) -> bool:
        return self.predicate is not None

    def apply(self, expression: str, predicate: Predicate | None) -> None:
        """Filter by ``predicate`` (``None``: show every run) from now on."""
        if not expression.strip():
            predicate = None  # an empty expression is no filter
        self.expression = expression if predicate is not None else ""
        self.predicate = predicate
        self.forget_all()

    def forget(self, run_ids: Iterable[str]) -> None:
        """These runs changed: evaluate them again (their last result shows meanwhile)."""
        for run_id in run_ids:
            self._serials[run_id] = self._serials.get(run_id, 0) + 1

    def changed(self, run_ids: Iterable[str], reset: bool = False) -> None:
        """What a ``Changed`` says: these runs changed, or (``reset``) everything did."""
        if reset:
            self.forget_all()
        else:
            self.forget(run_ids)

    def forget_all(self) -> None:
        self.generation += 1
        self._known.clear()
        self._serials.clear()
        self.waiting = 0
        if self._worker is not None:
            self._worker.cancel()
        self._worker = self._busy = None

    def select(
        self, runs: list[RunRecord], budget_s: float = BUDGET_S
    ) -> tuple[list[RunRecord], Pending | None]:
        """The runs that match, in order, and what is left for a worker (``None``: nothing)."""
        predicate = self.predicate
        if predicate is None:
            return runs, None
        deadline = time.monotonic() + budget_s
        shown: list[RunRecord] = []
        left: list[tuple[RunRecord, int]] = []
        for run in runs:
            serial = self._serials.get(run.id, 0)
            known = self._known.get(run.id)
            if known is None or known[0] is not run or known[1] != serial:
                if not left and time.monotonic() < deadline:
                    known = (run, serial, matches(predicate, run))
                    self._known[run.id] = known
                else:  # over budget: the rest waits for the worker
                    left.append((run, serial))
                    if known is None:
                        continue  # never evaluated: hidden until it is
            if known[2]:
                shown.append(run)
        self.waiting = len(left)
        return shown, (Pending(self.generation, predicate, left) if left else None)

    def shown(self, node: DOMNode, runs: list[RunRecord]) -> list[RunRecord]:
        """:meth:`select`, handing what is left to a worker of ``node``."""
        shown, pending = self.select(runs)
        if pending is not None:
            self.evaluate_later(node, pending)
        return shown

    def learn(self, generation: int, results: list[Result]) -> bool:
        """Take a worker's results; False when they belong to a filter no longer applied."""
        if generation != self.generation:
            return False
        for run, serial, matched in results:
            if self._serials.get(run.id, 0) == serial:  # not changed again since
                self._known[run.id] = (run, serial, matched)
        return True

    def evaluate_later(self, node: DOMNode, pending: Pending) -> None:
        """Hand ``pending`` to a worker thread of ``node``, which gets a
        :class:`FilterEvaluated`; while one works for this filter, the next waits for it."""
        if self._busy is not None and self._busy[1] == pending.generation:
            return  # what it leaves is picked up when it reports
        if self._worker is not None:
            self._worker.cancel()
        self._tokens += 1
        token = self._tokens
        self._busy = (token, pending.generation)

        def work() -> None:
            worker = get_current_worker()
            results = evaluate(pending, lambda: worker.is_cancelled)
            if results is not None:
                node.post_message(FilterEvaluated(pending.generation, token, results))

        self._worker = node.run_worker(
            work, name="filter", group="run-filter", thread=True, exit_on_error=False
        )

    def finished(self, message: FilterEvaluated) -> bool:
        """A worker reported: True when its results changed what the filter shows now."""
        if self._busy is not None and self._busy[0] == message.token:
            self._worker = self._busy = None
        return self.learn(message.generation, message.results)
