"""The runs of this process: the one writer thread they share, which of them still record,
which one is current (``tracker.log`` goes there), and what happens to all of them at exit,
at a signal and in a forked child (:mod:`tracker.lifecycle` calls these)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .errors import warn_once
from .writer import Writer, _orphans

if TYPE_CHECKING:
    from .recorder import Run

writer = Writer()
_active: list[Run] = []
_current: Run | None = None
_last_ended: str | None = None  # the name of the run that was current when it finished


def started(run: Run) -> None:
    _active.append(run)


def ended(run: Run) -> None:
    """``run`` no longer records; it is no longer current either."""
    global _current, _last_ended
    if run in _active:
        _active.remove(run)
    if _current is run:
        _current = None
        _last_ended = run.name


def last_ended() -> str | None:
    """The name of the last run that finished while it was the current one, if any."""
    return _last_ended


def current_run() -> Run | None:
    """The run module-level calls (``tracker.log``) go to: the last one ``init()`` started."""
    return _current


def set_current(run: Run | None) -> None:
    global _current, _last_ended
    _current = run
    if run is not None:
        _last_ended = None


def active_runs() -> list[Run]:
    """Runs of this process that are still recording."""
    return list(_active)


def stop_model_hooks(run: Run) -> None:
    """A finished run's ``watch`` hooks and TensorBoard copying stop with it (only modules the
    script used are touched: ``sys.modules``, never an import)."""
    watching = sys.modules.get("tracker.watching")
    if watching is not None:
        watching.unwatch(run)
    syncing = sys.modules.get("tracker.tensorboard_sync")
    if syncing is not None and not [r for r in _active if r is not run]:
        syncing.unpatch()


def finish_all(status: str, exit_code: int | None, error: str | None) -> None:
    for run in list(_active):
        try:
            run._end(status, exit_code, error)
        except Exception as exc:  # never let the exit path raise
            warn_once(f"finish:{run.id}", f"could not finish run {run.shown_name}: {exc!r}")


def flush_all() -> None:
    writer.flush(5.0)


def after_fork_in_child() -> None:
    # The current run stays current in the child (a DataLoader worker reads tracker.config, as
    # with wandb); it no longer records there: its log() is ignored with one warning.
    for run in _active:
        run._active = False
        if run._console is not None:
            run._console.stop()  # the child's prints are its own, not the parent run's
    _active.clear()
    _orphans.extend(writer.abandon_after_fork())
