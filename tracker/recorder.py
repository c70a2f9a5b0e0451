"""``Run``: validate, stamp and enqueue what the training loop logs; config, summary, finish.

``log()`` touches no disk and takes no lock: it checks the values, copies them, and appends one
record to the writer's queue. Storage trouble after ``init()`` never raises here.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from . import lifecycle, process_runs
from .batch import RunHandle
from .console import ConsoleCapture, console_wanted
from .db import Store
from .db.target import parse_target
from .ending import drain_before_end
from .errors import TrackerError, warn_once
from .health import HealthMonitor, health_config
from .jsonable import config_to_dict, dumps
from .media import Histogram, Media
from .metric_defs import MetricDef
from .metric_defs import from_json as metric_defs_from_json
from .notify import event_json, webhook_for, webhook_from_env
from .paths import DEFAULT_RELATIVE
from .persisted import PersistedDict, SummaryDict, check_run_id, new_run_id, new_run_name
from .process_runs import active_runs, current_run, set_current
from .run_surface import RunSurface
from .sanitize import safe_text
from .settings import (
    attach_wanted,
    default_project,
    finish_timeout,
    node_label,
    resume_choice,
    run_id_from_env,
    system_metrics_wanted,
)
from .starting import attach_run, record_run
from .status import this_host
from .stored_json import loads_json
from .summary_stats import SummaryStats
from .system.sampler import DEFAULT_INTERVAL_S, SamplerThread
from .values import (
    INT64_MAX,
    INT64_MIN,
    MAX_KEYS_PER_CALL,
    check_key,
    check_name,
    check_step,
    flatten_metrics,
)
from .writer import WAKE_AT_RECORDS

_KNOWN_KEYS_CAP = 100_000


class Run(RunSurface):
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
        id: str | None = None,
        resume: bool | str | None = None,
        dir: str | os.PathLike[str] | None = None,
        disabled: bool = False,
        attach: bool | None = None,
        health: object = None,
    ) -> None:
        if system_interval <= 0:
            raise ValueError("system_interval must be positive (seconds)")
        health_options = health_config(health)  # unknown names raise here, before anything
        resume_mode = resume_choice(resume)
        given_id = id if id is not None else run_id_from_env()
        self.id = check_run_id(given_id) if given_id is not None else new_run_id()
        self.project = check_name(project or default_project(), "project")
        self._name = check_name(name, "run name") if name is not None else new_run_name()
        self._tags = [check_name(tag, "tag") for tag in (tags or [])]
        self.db = parse_target(db)
        # Where the run's own files go (run.dir) for a server database: the working folder.
        self.db_path = self.db.path if self.db.path is not None else DEFAULT_RELATIVE
        self._files_root = Path(dir).expanduser() if dir is not None else None
        self.created_at = time.time()
        self.resumed = False
        self.node: str | None = None  # attached from another node of a distributed job
        self.disabled = disabled
        self._step = -1
        self._open_step = False  # a wandb-style log(commit=False) left this step open
        self._active = False
        self._keys_ok: set[str] = set()
        self._metric_defs: list[MetricDef] = []
        self._watched: Any = None
        self._queue = process_runs.writer.queue
        self._owner_pid = os.getpid()
        self._sampler: SamplerThread | None = None
        self._console: ConsoleCapture | None = None
        config_dict = config_to_dict(config)
        self._handle = RunHandle(
            run_id=self.id, db=self.db, t0=self.created_at, config={}, summary={}
        )
        if health_options is not None:
            monitor = HealthMonitor(health_options, self._handle.stored_key)
            monitor.webhook = (
                webhook_for(health_options.webhook)
                if health_options.webhook
                else webhook_from_env()
            )
            monitor.run_label = (self._name, self.project)
            self._handle.health = monitor
        self.config = PersistedDict(self, "config", config_dict)
        self._latest: dict[str, float] = {}  # each metric's latest value, for run.summary
        self._summary_stats = SummaryStats(lambda: self._metric_defs)
        self.summary = SummaryDict(self, {}, self._latest, self._summary_stats)
        self._handle.config = self.config
        self._handle.summary = self.summary
        if disabled:
            return  # wandb's mode="disabled": the script runs, nothing is recorded
        if attach_wanted(attach, given_id is not None):
            self._attach(given_id, system_metrics, system_interval, console, quiet)
            return
        started = record_run(
            self.db,
            {
                "id": self.id,
                "project": self.project,
                "name": self.name,
                "created_at": self.created_at,
                "host": this_host(),
                "pid": os.getpid(),
                "pid_start": _process_start(),
                "tags": dumps(self._tags),
                "config": dumps(dict(self.config)),
                "summary": "{}",
            },
            resume=resume_mode,
            id_given=given_id is not None,
            name_given=name is not None,
            project_given=project is not None,
        )
        if started.resumed is not None:
            self._continue(started.resumed)
            self._summary_from(started.store)
        self._handle.take_series(started.series)
        self._start_recording(
            started.store,
            system_metrics_wanted(system_metrics),
            system_interval,
            console_wanted(console),
            None if quiet else self._where_line(),
            disk_path=self.db_path,
        )

    def _start_recording(
        self,
        store: Store,
        sample: bool,
        system_interval: float,
        capture: bool,
        line: str | None,
        disk_path: Path | None = None,
    ) -> None:
        """Hand the store to the writer and start what records beside ``log()``: the system
        sampler, the console capture, the exit hooks; then say where the run is recorded."""
        self._active = True
        process_runs.writer.attach(self._handle, store)
        process_runs.started(self)
        if sample:
            self._sampler = SamplerThread(
                self._log_system, interval=system_interval, disk_path=disk_path
            )
            self._sampler.start()
        if capture:
            self._console = ConsoleCapture(self._queue, self._handle)
        lifecycle.install(
            process_runs.finish_all, process_runs.flush_all, process_runs.after_fork_in_child
        )
        if line is not None:
            print(line, file=sys.stderr, flush=True)

    def _attach(
        self,
        run_id: str | None,
        system_metrics: bool | None,
        system_interval: float,
        console: bool | None,
        quiet: bool,
    ) -> None:
        """Join the run another node of this job started: this process's metrics go under
        ``node/<label>/`` and its hardware under ``sys/node/<label>/`` (sampled by one process
        per node), and finishing it leaves the run to the first node."""
        if run_id is None:
            raise ValueError("attach=True needs the run's id: init(id=...) or $TRACKTUI_RUN_ID")
        label = node_label(this_host())
        started = attach_run(self.db, self.id, label, this_host(), os.getpid())
        stored = started.resumed or {}
        self._name = stored.get("name", self._name)
        self.project = stored.get("project", self.project)
        self.created_at = float(stored.get("created_at", self.created_at))
        self._handle.t0 = self.created_at
        self._handle.node = label
        self._handle.take_series(started.series)
        self.node = label
        local_rank = os.environ.get("LOCAL_RANK", "0").strip() or "0"
        line = safe_text(
            f"tracker: node {label} attached to run {self.shown_name} ({self.id}) in "
            f"{self.db.shown}; its keys go under node/{label}/ and sys/node/{label}/"
        )
        self._start_recording(
            started.store,
            system_metrics_wanted(system_metrics) and local_rank == "0",
            system_interval,
            console_wanted(console if console is not None else False),
            None if quiet else line,
        )

    def _continue(self, stored: dict[str, Any]) -> None:
        """Take over a stored run (``resume=``): its name, times, steps, config and summary."""
        self.resumed = True
        self.id = stored["id"]
        self._name = stored["name"]
        self.project = stored["project"]
        self._tags = list(stored["tags"])
        self.created_at = float(stored["created_at"])
        self._step = stored["step"] if stored["step"] is not None else -1
        self._handle.run_id = self.id
        self._handle.t0 = self.created_at
        self._handle.name = self._name
        self._handle.tags = list(self._tags)
        dict.update(self.config, stored["config"])
        dict.update(self.summary, loads_json(stored["summary"], {}))
        self._metric_defs = metric_defs_from_json(loads_json(stored["metric_defs"], []))
        self._handle.metric_defs = [d.as_json() for d in self._metric_defs]
        self._summary_stats.definitions_changed()

    def _summary_from(self, store: Store) -> None:
        """A resumed run's summary reads what it logged before too (wandb's does): each
        metric's last value, and the operations its definitions ask for over all of it."""
        record = store.read_run(self.id)
        if record is None:
            return
        logged = {k: m for k, m in record.metrics.items() if m.count and not k.startswith("sys/")}
        self._latest.update({k: m.last for k, m in logged.items() if m.last is not None})
        self._summary_stats.seed(
            {k: (m.series_id, m.count - m.nonfinite, m.min, m.max) for k, m in logged.items()},
            lambda series_id: [p.value for p in store.history(series_id)],
        )

    # --- logging -----------------------------------------------------------------------------

    def log(
        self,
        data: Mapping[str, Any] | None = None,
        step: int | None = None,
        commit: bool | None = None,
        sync: bool | None = None,
    ) -> None:
        """Record metrics for ``step`` (default: the previous step + 1).

        ``commit=False`` (wandb style) keeps the step open: the next call without a step logs
        at the same one; ``log()`` with no data closes it. A ``step`` below the current one is
        dropped with one warning (wandb's rule: steps only go forward). ``sync`` is accepted
        and ignored. Raises ``TypeError``/``ValueError`` for values or keys it cannot store,
        before anything of the call is queued; never raises for storage trouble.
        """
        if not self._active:
            self._inactive_log()
            return
        if not data and (data is None or isinstance(data, Mapping)):
            self._empty_commit(step, commit)
            return
        open_after = self._open_step  # set only once the call is accepted
        if step is None:
            if self._open_step:
                step = self._step
                open_after = commit is False
            else:
                step = self._step + 1
                if step > INT64_MAX:
                    step = check_step(step)
                open_after = commit is False
        else:
            if type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
                step = check_step(step)
            if step < self._step:
                self._backwards(step)
                return
            if commit is not None:
                open_after = commit is False
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
        self._open_step = open_after
        queue = self._queue
        if data:
            self._latest.update(data)
            if self._summary_stats.wanted:
                self._summary_stats.add(data)
            queue.append((self._handle, step, time.time(), data))
        if media is not None:
            queue.append(("media", self._handle, (step, time.time(), media)))
            process_runs.writer.wake.set()  # media are big: written soon, not left to pile up
        if len(queue) > WAKE_AT_RECORDS:
            process_runs.writer.wake.set()

    def _empty_commit(self, step: int | None, commit: bool | None) -> None:
        """``log()`` / ``log({}, commit=True)``: close an open step; nothing is stored."""
        if step is not None:
            step = check_step(step)
            if step < self._step:
                self._backwards(step)
                return
            if step > self._step:
                self._step = step
                self._open_step = commit is False
                return
        if commit is not False:
            self._open_step = False

    def _backwards(self, step: int) -> None:
        warn_once(
            f"backwards:{self.id}",
            f"run {self.shown_name}: log(step={step}) is below the current step {self._step}: "
            "dropped, as wandb does (your own counter: log it and define_metric() it)",
        )

    def _validated(self, data: Any) -> tuple[dict[str, float], dict[str, Media] | None]:
        if not isinstance(data, Mapping):
            raise TypeError(f"log() takes a dict of metrics, not {type(data).__name__}")
        media: dict[str, Media] = {}
        texts: dict[str, Any] = {}
        flat = flatten_metrics(data, media=media, texts=texts)
        for key, value in data.items():  # an int stays one, as on the fast path (the summary)
            if type(value) is int and value.bit_length() < 1024 and key in flat:
                flat[key] = value
        if texts:
            self._keep_texts(texts)
        if len(self._keys_ok) < _KNOWN_KEYS_CAP:
            self._keys_ok.update(k for k in data if type(k) is str and k in flat)
        for key, item in media.items():
            if isinstance(item, Histogram):
                item.warn_nonfinite(key)
        return flat, media or None

    def _keep_texts(self, texts: dict[str, Any]) -> None:
        """wandb scripts log text (``"epoch": "1/10"``) and None beside numbers: the text is
        kept as the latest value in the run's summary, None is skipped; neither is plotted."""
        kept = {key: text for key, text in texts.items() if text is not None}
        if kept:
            warn_once(
                f"text-values:{self.id}",
                f"log(): text values ({', '.join(sorted(kept)[:3])}) are kept in run "
                f"{self.shown_name}'s summary as their latest value; only numbers are plotted",
            )
            self.summary.update(kept)

    def _log_system(self, values: dict[str, float]) -> None:
        """Hardware samples: logged at the current step without advancing it."""
        if self._active and values:
            self._queue.append((self._handle, max(self._step, 0), time.time(), values))

    def _inactive_log(self) -> None:
        if self.disabled:
            return
        if os.getpid() != self._owner_pid:
            warn_once(
                f"forked:{self.id}",
                f"run {self.shown_name} belongs to process {self._owner_pid}; log() in forked "
                f"process {os.getpid()} is ignored (call tracker.init() in the child to log there)",
            )
        else:
            warn_once(f"finished:{self.id}", f"run {self.shown_name} is finished; log() is ignored")

    def flush(self, timeout: float = 30.0) -> bool:
        """Block until everything logged so far is committed; False if it could not be (yet)."""
        if not self._active:
            return True
        return process_runs.writer.flush(timeout, self._handle)

    @property
    def step(self) -> int:
        """wandb's ``run.step``: the step the next ``log()`` without ``step=`` goes to (0 before
        the first ``log()``; after a resume, one past the last step stored)."""
        return self._step if self._open_step else self._step + 1

    def _persist(self, column: str) -> None:
        if self._active:
            self._queue.append(("json", self._handle, column))
        else:  # wandb says so too: a change to a finished run's config or summary is lost
            self._finished_warning(f"its {column}")

    def _queue_control(self, kind: str, payload: Any) -> None:
        if self._active:
            self._queue.append((kind, self._handle, payload))
        else:
            self._finished_warning(f"its {payload}" if kind == "json" else kind)

    def _finished_warning(self, what: str) -> None:
        warn_once(
            f"finished-{what}:{self.id}",
            f"run {self.shown_name} is finished; {what} is no longer stored",
        )

    def _queue_event(
        self, kind: str, title: str, *, level: str | None = None, key: str | None = None,
        step: int | None = None, detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        if self._active:
            payload = (time.time(), step, kind, key, level, title, detail or {})
            self._queue.append(("event", self._handle, payload))
            process_runs.writer.wake.set()
            if kind == "alert":
                self._tell_webhook(payload)
        else:
            self._finished_warning(f"its {kind}")

    def _tell_webhook(self, payload: tuple[Any, ...]) -> None:
        """A script's alert goes to the webhook too (the health detectors' one, else
        ``$TRACKTUI_WEBHOOK``); queued on the webhook's thread, so the caller never waits."""
        monitor = self._handle.health
        hook = monitor.webhook if monitor is not None else webhook_from_env()
        if hook is not None:
            t, step, kind, key, level, title, detail = payload
            hook.send(
                event_json(
                    run_id=self.id, run_name=self.name, project=self.project, kind=kind,
                    level=level, t=t, step=step, key=key, title=title, detail=detail,
                )
            )  # fmt: skip

    # --- ending ------------------------------------------------------------------------------

    def finish(
        self,
        exit_code: int | None = None,
        quiet: bool | None = None,
        *,
        status: str | None = None,
        error: str | None = None,
    ) -> None:
        """Flush everything and mark the run finished (or failed, with ``error`` as the reason
        shown). Safe to call again; ``quiet`` is wandb's and ignored."""
        if self.disabled and current_run() is self:
            set_current(None)
        if not self._active or os.getpid() != self._owner_pid:
            return
        if status is None:
            status = "finished" if not exit_code else "failed"
        if status not in ("finished", "failed"):
            raise ValueError("status must be 'finished' or 'failed'")
        if status == "finished":
            error = None
        elif error is None and exit_code:
            error = f"exit code {exit_code}"
        elif error is not None:
            error = str(error)[:2000]
        self._end(status, exit_code if exit_code is not None else 0, error)

    @property
    def recording(self) -> bool:
        """True while this run takes ``log()`` calls (started, not finished, this process)."""
        return self._active and os.getpid() == self._owner_pid

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
        process_runs.stop_model_hooks(self)
        self._active = False
        self._queue.append(("finish", self._handle, (status, exit_code, error)))
        drain_before_end(process_runs.writer, self._handle, self.name, self.db.shown, timeout)
        process_runs.ended(self)
        process_runs.writer.release(self._handle.db)

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
        watch = "tracktui" if self.db.path == DEFAULT_RELATIVE else f"tracktui --db {self.db.shown}"
        what = (
            f"resumed at step {self._step:,}" if self.resumed and self._step >= 0
            else "resumed" if self.resumed else "is recorded"
        )  # fmt: skip
        return safe_text(
            f"tracker: run {self.shown_name} ({self.id}) of project {self.project} {what} in "
            f"{self.db.shown}; watch it with: {watch}"
        )

    def __repr__(self) -> str:
        state = "disabled" if self.disabled else "live" if self._active else "ended"
        return f"<Run {self.name!r} id={self.id} project={self.project!r} {state}>"


def _process_start() -> float | None:
    from .status import process_start_time

    started = process_start_time(os.getpid())
    return started if started is not None and started >= 0 else None


__all__ = ["MAX_KEYS_PER_CALL", "Run", "TrackerError", "active_runs", "check_key", "current_run"]
