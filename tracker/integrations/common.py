"""What the framework adapters share: which run they log to, how long it lives, and picking the
numbers out of a framework's log dict.

The lifecycle rule, the same for every framework: an adapter logs to the run it was given
(``run=``), else to the active ``tracker.run``, else to a run it starts itself at the first
event. Training, evaluation, testing and prediction all land in that one run. The framework
never finishes it: the run ends when the process does (``tracker``'s exit hooks: an exception
or a non-zero exit marks it failed) or when the user calls ``finish()``. A run the adapter
started and the user finished is replaced by a new one at the next event; a run the user
created is never finished by an adapter.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .. import lifecycle
from ..current import init
from ..errors import warn_once
from ..jsonable import config_items
from ..recorder import Run, current_run
from ..values import to_float

_failed: dict[int, Run] = {}
_failed_lock = threading.Lock()
_failed_hook = False


def numeric_items(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """The entries of ``logs`` that are numbers (tensors and numpy scalars included); others are
    skipped silently, since frameworks mix strings and lists into their log dicts."""
    out: dict[str, float] = {}
    for key, value in (logs or {}).items():
        if not isinstance(key, str) or isinstance(value, (str, bytes)) or value is None:
            continue
        try:
            out[key] = to_float(key, value)
        except TypeError:
            continue
    return out


def is_live(run: Run) -> bool:
    """Whether ``run`` still records (a ``mode="disabled"`` run counts: it takes every call)."""
    return run.disabled or run.recording


class RunSlot:
    """The run one adapter logs to (see the module's lifecycle rule).

    ``run`` given: always that one. Otherwise, at :meth:`acquire`, the run attached before if
    it still records, else the active ``tracker.run``, else a new run from ``init_kwargs``.
    ``owned`` says whether the adapter started the run itself."""

    def __init__(self, run: Run | None, init_kwargs: Mapping[str, Any], who: str) -> None:
        if run is not None and not isinstance(run, Run):
            raise TypeError(f"{who}: run must be a tracker Run, not {type(run).__name__}")
        self.given = run
        self.init_kwargs = dict(init_kwargs)  # the user's options for init()
        self.defaults: dict[str, Any] = {}  # the adapter's own (a name from the framework)
        self.who = who
        self.run: Run | None = run
        self.owned = False
        self._attached: Run | None = None

    def acquire(
        self,
        config: Callable[[], Mapping[str, Any]] | None = None,
        setup: Callable[[Run], None] | None = None,
    ) -> Run:
        """The run to log to now. ``config`` (called only when a run is attached) becomes a new
        run's config, or fills in the keys a user's run does not have yet; ``setup`` runs once
        per attached run (``define_metric``)."""
        run = self._choose(config)
        if run is not self._attached:
            self._attached = run
            if not self.owned and config is not None:
                run.config.setdefaults(dict(config()))
            if setup is not None:
                setup(run)
        return run

    def _choose(self, config: Callable[[], Mapping[str, Any]] | None) -> Run:
        if self.given is not None:
            return self.given
        if self.run is not None and is_live(self.run):
            return self.run
        current = current_run()
        if current is not None and is_live(current):
            if self.init_kwargs:
                warn_once(
                    f"adopted:{self.who}:{current.id}",
                    f"{self.who}: logging into the active run {current.name} ({current.id}); "
                    f"the options given to {self.who} ({', '.join(sorted(self.init_kwargs))}) "
                    "are not used",
                )
            self.run, self.owned = current, False
            return current
        options = {**self.defaults, **self.init_kwargs}
        # the user's own config= (an init option) wins over what the adapter reads off the
        # framework, as it does in a run the user started
        given = config_items(options.pop("config", None))
        merged = {**(dict(config()) if config is not None else {}), **given}
        run = init(config=merged or None, **options)
        self.run, self.owned = run, True
        return run

    def release(self) -> None:
        """Forget the run, finishing it if the adapter started it: the next event starts or
        attaches another (one run per hyperparameter-search trial)."""
        if self.run is not None and self.owned:
            self.run.finish()
        if self.given is None:
            self.run, self.owned, self._attached = None, False, None

    def flush(self) -> None:
        """Commit what was logged so far (at the end of a stage, so a reader sees all of it)."""
        if self.run is not None and not self.run.disabled and is_live(self.run):
            self.run.flush(timeout=2.0)

    def finish(self) -> None:
        """The user's own "training is over" call (Accelerate's ``end_training``): finish the
        run if the adapter started it; a user's run is only flushed."""
        if self.run is not None and self.owned:
            self.run.finish()
        else:
            self.flush()

    def failed(self) -> None:
        """The framework says a stage failed: a run the adapter started ends ``failed`` when
        the process ends, even if the script catches the exception and exits cleanly."""
        if self.run is not None and self.owned and not self.run.disabled:
            fail_at_exit(self.run)


def fail_at_exit(run: Run) -> None:
    """Mark ``run`` failed when the process ends (if it is still recording then).

    An uncaught exception or a non-zero exit is already recorded by tracker's own exit hook
    with the error text; this covers a failure the script caught. The hook is registered after
    the run started, so it runs before tracker's (``atexit`` runs last-registered first)."""
    global _failed_hook
    with _failed_lock:
        _failed[id(run)] = run
        if _failed_hook:
            return
        _failed_hook = True
    atexit.register(_finish_failed)


def _finish_failed() -> None:
    with _failed_lock:
        runs = list(_failed.values())
        _failed.clear()
    status, _, _ = lifecycle.exit_outcome()
    if status == "failed":
        return  # tracker's own hook marks every open run failed, with the error
    for run in runs:
        if run.recording:
            try:
                run.finish(status="failed", error="a Lightning stage failed (finalize('failed'))")
            except Exception as exc:  # never let the exit path raise
                warn_once(f"finish:{run.id}", f"could not finish run {run.name}: {exc!r}")
