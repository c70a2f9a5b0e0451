"""``Run``: validate, stamp and enqueue what the training loop logs; config, summary, finish.

``log()`` touches no disk and takes no lock: it checks the values, copies them, and appends one
record to the writer's queue. Storage trouble after ``init()`` never raises here.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from . import lifecycle, store
from .batch import RunHandle
from .console import ConsoleCapture, console_wanted
from .errors import DatabaseUnavailable, TrackerError, warn_once
from .media import Histogram, Media
from .paths import DEFAULT_RELATIVE, resolve_db_path
from .persisted import PersistedDict, new_run_id, new_run_name
from .schema import BUSY_TIMEOUT_MS, open_for_writing, set_busy_timeout
from .sqlite_errors import is_busy, retry_while_busy
from .status import this_host
from .system.sampler import DEFAULT_INTERVAL_S, SamplerThread
from .values import (
    INT64_MAX,
    INT64_MIN,
    MAX_KEYS_PER_CALL,
    check_key,
    check_name,
    config_to_dict,
    dumps,
    flatten_metrics,
)
from .writer import WAKE_AT_RECORDS, Writer

_KNOWN_KEYS_CAP = 100_000
FINISH_STALL_S = 30.0  # $TRACKTUI_FINISH_TIMEOUT: finish() gives up this long after the last write
QUIET_DRAIN_S = 10.0  # finish() says it is still writing only after this long
INIT_TIMEOUT_S = 120.0  # $TRACKTUI_INIT_TIMEOUT: how long init() waits out other writers
_writer = Writer()
_active_runs: list[Run] = []
_current: Run | None = None


class Run:
    """One training run. Create it with :func:`tracker.init`."""

    def __init__(
        self,
        *,
        project: str | None = None,
        name: str | None = None,
        config: Any = None,
        tags: Iterable[str] | None = None,
        db: str | os.PathLike[str] | None = None,
        quiet: bool = False,
        system_metrics: bool | None = None,
        system_interval: float = DEFAULT_INTERVAL_S,
        console: bool | None = None,
    ) -> None:
        if system_interval <= 0:
            raise ValueError("system_interval must be positive (seconds)")
        self.id = new_run_id()
        self.project = check_name(project or _default_project(), "project")
        self.name = check_name(name, "run name") if name is not None else new_run_name()
        self.tags = [check_name(tag, "tag") for tag in (tags or [])]
        self.db_path = resolve_db_path(db)
        self.created_at = time.time()
        self._step = -1
        self._open_step = False  # a wandb-style log(commit=False) left this step open
        self._active = False
        self._keys_ok: set[str] = set()
        self._queue = _writer.queue
        config_dict = config_to_dict(config)
        self._handle = RunHandle(
            run_id=self.id, db_path=self.db_path, t0=self.created_at, config={}, summary={}
        )
        self.config = PersistedDict(self, "config", config_dict)
        self.summary = PersistedDict(self, "summary", {})
        self._handle.config = self.config
        self._handle.summary = self.summary
        conn = retry_while_busy(
            self._record_start, init_timeout(), str(self.db_path), "cannot start the run"
        )
        self._owner_pid = os.getpid()
        self._active = True
        _writer.attach(self._handle, conn)
        _active_runs.append(self)
        self._sampler: SamplerThread | None = None
        if _system_metrics_wanted(system_metrics):
            self._sampler = SamplerThread(
                self._log_system, interval=system_interval, disk_path=self.db_path
            )
            self._sampler.start()
        self._console: ConsoleCapture | None = None
        if console_wanted(console):
            self._console = ConsoleCapture(self._queue, self._handle)
        lifecycle.install(_finish_all, _flush_all, _after_fork_in_child)
        if not quiet:
            print(self._where_line(), file=sys.stderr, flush=True)

    def _record_start(self, seconds_left: float) -> sqlite3.Connection:
        """One attempt at opening the database and inserting this run's row (retried while
        other processes hold the lock); the open connection goes to the writer."""
        wait_ms = int(min(seconds_left, BUSY_TIMEOUT_MS / 1000) * 1000)
        conn = open_for_writing(self.db_path, busy_timeout_ms=max(wait_ms, 50))
        try:
            version = store.begin(conn)
            store.insert_run(
                conn,
                {
                    "id": self.id,
                    "project": self.project,
                    "name": self.name,
                    "created_at": self.created_at,
                    "host": this_host(),
                    "pid": os.getpid(),
                    "pid_start": _process_start(),
                    "tags": dumps(self.tags),
                    "config": dumps(dict(self.config)),
                    "summary": "{}",
                },
                version,
            )
            store.commit(conn)
        except sqlite3.Error as exc:
            store.rollback(conn)
            conn.close()
            if is_busy(exc):
                raise
            raise DatabaseUnavailable(str(self.db_path), f"cannot record the run: {exc}") from None
        except BaseException:
            store.rollback(conn)
            conn.close()
            raise
        set_busy_timeout(conn)
        return conn

    # --- logging -----------------------------------------------------------------------------

    def log(
        self, data: Mapping[str, Any], step: int | None = None, commit: bool | None = None
    ) -> None:
        """Record metrics for ``step`` (default: the previous step + 1).

        ``commit=False`` (wandb style) keeps the step open: the next call without a step logs
        at the same one. Raises ``TypeError``/``ValueError`` for values or keys it cannot
        store, before anything of the call is queued; never raises for storage trouble.
        """
        if not self._active:
            self._inactive_log()
            return
        if step is None:
            if self._open_step:
                step = self._step
                self._open_step = commit is False
            else:
                step = self._step + 1
                if step > INT64_MAX:
                    step = _check_step(step)
                if commit is False:
                    self._open_step = True
        else:
            if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
                step = _check_step(step)
            if commit is not None:
                self._open_step = commit is False
        if type(data) is dict:
            keys_ok = self._keys_ok
            for key, value in data.items():
                kind = type(value)
                # ints of 1024 bits or more may have no float: to_float decides (TypeError)
                if (
                    kind is float or (kind is int and value.bit_length() < 1024)
                ) and key in keys_ok:
                    continue
                data, media = self._validated(data)
                break
            else:
                data = data.copy()
                media = None
        else:
            data, media = self._validated(data)
        self._step = step
        queue = self._queue
        queue.append((self._handle, step, time.time(), data))
        if media is not None:
            queue.append(("media", self._handle, (step, time.time(), media)))
            _writer.wake.set()  # media are big: write them soon rather than let them pile up
        if len(queue) > WAKE_AT_RECORDS:
            _writer.wake.set()

    def _validated(self, data: Any) -> tuple[dict[str, float], dict[str, Media] | None]:
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a dict of metrics, not {type(data).__name__}")
        media: dict[str, Media] = {}
        flat = flatten_metrics(data, media=media)
        if len(self._keys_ok) < _KNOWN_KEYS_CAP:
            self._keys_ok.update(k for k in data if type(k) is str and k in flat)
        for key, item in media.items():
            if isinstance(item, Histogram):
                item.warn_nonfinite(key)
        return flat, media or None

    def _log_system(self, values: dict[str, float]) -> None:
        """Hardware samples: logged at the current step without advancing it."""
        if self._active and values:
            self._queue.append((self._handle, max(self._step, 0), time.time(), values))

    def _inactive_log(self) -> None:
        if os.getpid() != self._owner_pid:
            warn_once(
                f"forked:{self.id}",
                f"run {self.name} belongs to process {self._owner_pid}; log() in forked "
                f"process {os.getpid()} is ignored (call tracker.init() in the child to log there)",
            )
        else:
            warn_once(f"finished:{self.id}", f"run {self.name} is finished; log() is ignored")

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until everything logged so far is committed; False if it could not be (yet)."""
        if not self._active:
            return True
        return _writer.flush(timeout, self._handle)

    @property
    def step(self) -> int:
        """The last step logged (-1 before the first ``log()``)."""
        return self._step

    def _persist(self, column: str) -> None:
        if self._active:
            self._queue.append(("json", self._handle, column))

    # --- ending ------------------------------------------------------------------------------

    def finish(self, exit_code: int | None = None, *, status: str | None = None) -> None:
        """Flush everything and mark the run finished (or failed). Safe to call again."""
        if not self._active or os.getpid() != self._owner_pid:
            return
        if status is None:
            status = "finished" if not exit_code else "failed"
        if status not in ("finished", "failed"):
            raise ValueError("status must be 'finished' or 'failed'")
        error = None if status == "finished" else f"exit code {exit_code}" if exit_code else None
        self._end(status, exit_code if exit_code is not None else 0, error)

    def _end(
        self, status: str, exit_code: int | None, error: str | None, timeout: float | None = None
    ) -> None:
        if not self._active:
            return
        timeout = finish_timeout() if timeout is None else timeout
        if self._sampler is not None:
            self._sampler.stop()
        if self._console is not None:
            self._console.stop()
        self._active = False
        self._queue.append(("finish", self._handle, (status, exit_code, error)))
        self._drain_before_end(timeout)
        if self in _active_runs:
            _active_runs.remove(self)
        global _current
        if _current is self:
            _current = None

    def _drain_before_end(self, timeout: float) -> None:
        """Wait for the buffer to be written: as long as writes succeed, and ``timeout`` seconds
        past the last one that did. Then say exactly what could not be written, and give the
        run's end one more try so that ``ls`` shows the run finished with its losses counted."""
        handle = self._handle
        interrupted = False
        try:
            quiet = min(QUIET_DRAIN_S, timeout)
            if _writer.flush(quiet, handle, stall=quiet):
                self._report_losses()
                return
            if _writer.hopeless(handle):
                raise _Hopeless
            warn_once(
                f"draining:{self.id}",
                f"run {self.name}: still writing what is buffered to {self.db_path} "
                f"(up to {timeout:g} s after the last successful write; Ctrl-C stops waiting)",
            )
            if _writer.flush(timeout, handle, stall=timeout):
                self._report_losses()
                return
        except KeyboardInterrupt:
            interrupted = True  # the user stops waiting: say what is left, then let them go
        except _Hopeless:
            interrupted = True  # nothing more can be written from this process
        left_out, cause = _writer.give_up(handle)
        ended = not interrupted and _writer.flush(min(5.0, timeout), handle)
        where = f"{self.db_path}" + (f" ({cause})" if cause else "")
        outcome = (
            "the run is marked finished with those losses counted"
            if ended
            else "its end could not be recorded either, so it will show as crashed"
        )
        warn_once(
            f"unwritten:{self.id}",
            f"run {self.name}: not written to {where}: {left_out.describe()}; {outcome}",
        )

    def _report_losses(self) -> None:
        """Everything was written but what had been left out on the way: say how much."""
        handle = self._handle
        if not handle.dropped and not handle.refused:
            return
        causes = []
        if handle.refused:
            causes.append(f"{handle.refused:,} records the database refused")
        if handle.dropped:
            causes.append(f"{handle.dropped:,} points in all (see the warnings above)")
        warn_once(
            f"losses:{self.id}",
            f"run {self.name}: written to {self.db_path} except {' and '.join(causes)}",
        )

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            self.finish()
        else:
            error = f"{kind.__name__}: {value}"[:2000]
            self._end("failed", 1, error)

    def _where_line(self) -> str:
        watch = "tracktui" if self.db_path == DEFAULT_RELATIVE else f"tracktui --db {self.db_path}"
        return (
            f"tracker: run {self.name} ({self.id}) of project {self.project} is recorded in "
            f"{self.db_path}; watch it with: {watch}"
        )

    def __repr__(self) -> str:
        state = "live" if self._active else "ended"
        return f"<Run {self.name!r} id={self.id} project={self.project!r} {state}>"


def _check_step(step: Any) -> int:
    """``step`` as an int SQLite can store (64-bit signed), or a clear error."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"log(): step must be an int, not {type(step).__name__}")
    try:
        value = int(step.__index__())
    except Exception as exc:
        raise TypeError(f"log(): step {type(step).__name__} cannot be read as an int") from exc
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(
            f"log(): step {value} is out of range; steps are 64-bit signed integers "
            f"({INT64_MIN} to {INT64_MAX})"
        )
    return value


class _Hopeless(Exception):
    """The database can take nothing more from this process (its WAL was deleted under it)."""


def finish_timeout() -> float:
    """How long ``finish()`` waits past the last successful write for the buffer to drain."""
    try:
        return max(0.1, float(os.environ.get("TRACKTUI_FINISH_TIMEOUT", FINISH_STALL_S)))
    except ValueError:
        return FINISH_STALL_S


def init_timeout() -> float:
    """How long ``init()`` waits for a database other processes keep locked (seconds)."""
    try:
        return max(0.1, float(os.environ.get("TRACKTUI_INIT_TIMEOUT", INIT_TIMEOUT_S)))
    except ValueError:
        return INIT_TIMEOUT_S


def _system_metrics_wanted(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    return os.environ.get("TRACKTUI_SYSTEM_METRICS", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def _default_project() -> str:
    return os.environ.get("TRACKTUI_PROJECT") or Path.cwd().name or "default"


def _process_start() -> float | None:
    from .status import process_start_time

    started = process_start_time(os.getpid())
    return started if started is not None and started >= 0 else None


def _finish_all(status: str, exit_code: int | None, error: str | None) -> None:
    for run in list(_active_runs):
        try:
            run._end(status, exit_code, error)
        except Exception as exc:  # never let the exit path raise
            warn_once(f"finish:{run.id}", f"could not finish run {run.name}: {exc!r}")


def _flush_all() -> None:
    _writer.flush(5.0)


def _after_fork_in_child() -> None:
    global _current
    for run in _active_runs:
        run._active = False
        if run._console is not None:
            run._console.stop()  # the child's prints are its own, not the parent run's
    _active_runs.clear()
    from .writer import _orphans

    _orphans.extend(_writer.abandon_after_fork())
    _current = None


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Iterable[str] | None = None,
    db: str | os.PathLike[str] | None = None,
    *,
    quiet: bool = False,
    system_metrics: bool | None = None,
    system_interval: float = DEFAULT_INTERVAL_S,
    console: bool | None = None,
    **wandb_options: Any,
) -> Run:
    """Start a run and make it the current one (see ``tracker.log``).

    ``system_metrics`` (default on, or ``$TRACKTUI_SYSTEM_METRICS=0`` for off) samples CPU,
    memory, disk, network and GPUs every ``system_interval`` seconds under ``sys/``.
    ``console`` (default on, or ``$TRACKTUI_CONSOLE=0`` for off) records what the process
    prints to stdout and stderr, still showing it as before.
    wandb's arguments are accepted so that ``import tracker as wandb`` scripts run unchanged:
    ``group`` and ``job_type`` become tags, ``notes`` goes to the summary, the rest (``entity``,
    ``mode``, ``dir``, ``reinit``, ...) is ignored with one warning.
    """
    global _current
    tags = list(tags or [])
    notes = wandb_options.pop("notes", None)
    for option in ("group", "job_type"):
        value = wandb_options.pop(option, None)
        if value:
            tags.append(f"{option}:{value}")
    if wandb_options:
        warn_once(
            f"ignored-options:{sorted(wandb_options)}",
            "init(): ignoring wandb options tracktui does not use: "
            + ", ".join(sorted(wandb_options)),
        )
    run = Run(
        project=project,
        name=name,
        config=config,
        tags=tags or None,
        db=db,
        quiet=quiet,
        system_metrics=system_metrics,
        system_interval=system_interval,
        console=console,
    )
    if notes:
        run.summary["notes"] = str(notes)
    _current = run
    return run


def current_run() -> Run | None:
    return _current


def log(data: Mapping[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log to the current run (the last ``init()``); warns once and drops if there is none."""
    run = _current
    if run is None:
        warn_once("no-run", "tracker.log() called before tracker.init(); ignored")
        return
    run.log(data, step=step, commit=commit)


def unsupported(name: str) -> Any:
    """wandb functions tracktui has no use for: callable, warn once, do nothing."""

    def ignored(*args: Any, **kwargs: Any) -> None:
        warn_once(f"unsupported:{name}", f"tracker.{name}() is not supported by tracktui; ignored")

    ignored.__name__ = name
    return ignored


def finish(exit_code: int | None = None) -> None:
    """Finish the current run, if any."""
    run = _current
    if run is not None:
        run.finish(exit_code)


__all__ = [
    "MAX_KEYS_PER_CALL",
    "Run",
    "TrackerError",
    "check_key",
    "current_run",
    "finish",
    "init",
    "log",
]
