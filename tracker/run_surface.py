"""The parts of a run that wandb scripts reach for besides ``log``: its name and tags (set
later too), where its files go, its "url", ``define_metric``, ``alert``, ``watch``, and the
calls tracktui accepts and ignores.

:class:`RunSurface` is a mixin of :class:`tracker.recorder.Run`; it only uses the attributes
and the two queueing methods a ``Run`` defines (``_queue_control`` and ``_queue_event``).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .db.target import Target
from .errors import warn_once
from .metric_defs import MetricDef, make_def, merged
from .paths import make_private_dirs
from .sanitize import safe_text, short_name
from .summary_stats import SummaryStats
from .values import check_name

if TYPE_CHECKING:
    from .batch import RunHandle

MAX_ALERT_TITLE = 1_000
MAX_ALERT_TEXT = 10_000


class AlertLevel(str, enum.Enum):
    """wandb's alert levels (``wandb.AlertLevel.WARN``)."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def alert_level(level: object) -> str:
    if level is None:
        return AlertLevel.INFO.value
    if isinstance(level, AlertLevel):
        return level.value
    text = str(level).strip().upper()
    aliases = {"WARNING": "WARN", "ERR": "ERROR", "CRITICAL": "ERROR"}
    text = aliases.get(text, text)
    if text not in AlertLevel.__members__:
        raise ValueError(f"alert level must be INFO, WARN or ERROR, not {safe_text(level)!r}")
    return text


class RunSurface:
    """wandb's ``Run`` attributes and methods beyond logging (mixed into ``Run``)."""

    id: str
    project: str
    created_at: float
    _name: str
    _tags: list[str]
    notes: str | None = None
    group: str | None = None
    job_type: str | None = None
    settings: Any = None  # what init() was given (a tracker.Settings)
    db_path: Path
    db: Target
    _handle: RunHandle
    _files_root: Path | None
    _metric_defs: list[MetricDef]
    _summary_stats: SummaryStats
    _step: int
    _watched: Any

    def _queue_control(self, kind: str, payload: Any) -> None:
        raise NotImplementedError

    def _persist(self, column: str) -> None:
        raise NotImplementedError

    def _queue_event(
        self, kind: str, title: str, *, level: str | None = None, key: str | None = None,
        step: int | None = None, detail: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        raise NotImplementedError

    # --- what the script may change later ---------------------------------------------------

    @property
    def shown_name(self) -> str:
        """The name as this library's messages show it (a long one cut in the middle)."""
        return short_name(self._name)

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        """``run.name = ...`` (wandb scripts rename a run once its id is known): stored."""
        self._name = check_name(value, "run name")
        self._handle.name = self._name
        self._persist("name")

    @property
    def display_name(self) -> str:
        return self._name

    @display_name.setter
    def display_name(self, value: str) -> None:
        self.name = value

    @property
    def tags(self) -> tuple[str, ...]:
        """wandb's ``run.tags``, a tuple: ``run.tags = run.tags + ("new",)`` stores it."""
        return tuple(self._tags)

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        if isinstance(value, str):
            value = [value]
        self._tags = [check_name(tag, "tag") for tag in value]
        self._handle.tags = list(self._tags)
        self._persist("tags")

    @property
    def start_time(self) -> float:
        """When the run started (Unix time; a resumed run keeps its first start)."""
        return self.created_at

    # --- where things are ------------------------------------------------------------------

    @property
    def dir(self) -> str:
        """A folder for the run's own files (checkpoints, samples), created on first use:
        ``<init(dir=...) or the database's folder>/files/<run id>``."""
        root = self._files_root if self._files_root is not None else self.db_path.parent
        folder = root.expanduser().absolute() / "files" / self.id
        try:
            make_private_dirs(folder)
        except OSError as exc:
            warn_once(f"run-dir:{folder}", f"cannot create the run's folder {folder}: {exc}")
        return str(folder)

    @property
    def url(self) -> str:
        """Where the run lives: a ``file://`` URL of the database with the run id as fragment
        (tracktui has no web server; ``tracktui --db <path>`` shows it)."""
        return f"{self._db_uri()}#run={self.id}"

    def get_url(self) -> str:
        return self.url

    def get_project_url(self) -> str:
        return f"{self._db_uri()}#project={self.project}"

    def _db_uri(self) -> str:
        if self.db.path is None:
            return self.db.shown  # a server's URL, password masked
        return self.db.path.expanduser().absolute().as_uri()

    @property
    def path(self) -> str:
        """wandb's ``entity/project/id``; the entity is the database file here."""
        return f"{self.db.shown}/{self.project}/{self.id}"

    @property
    def entity(self) -> str:
        return os.environ.get("USER", "") or "local"

    @property
    def sweep_id(self) -> None:
        return None

    @property
    def offline(self) -> bool:
        return True

    # --- the x-axis and goals --------------------------------------------------------------

    def define_metric(
        self,
        name: str,
        step_metric: str | Any | None = None,
        step_sync: bool | None = None,
        hidden: bool | None = None,
        summary: str | None = None,
        goal: str | None = None,
        overwrite: bool | None = None,
    ) -> MetricDef:
        """wandb's ``define_metric``: plot ``name`` (a key or a glob such as ``"train/*"``)
        against ``step_metric``, and say which way is better (``goal="minimize"``, or
        ``summary="min"``). Stored with the run; the TUI's x-axis and best columns follow it."""
        if step_metric is not None and not isinstance(step_metric, str):
            step_metric = getattr(step_metric, "name", step_metric)  # a Metric object
        definition = make_def(name, step_metric, step_sync, hidden, summary, goal)
        self._metric_defs = merged(self._metric_defs, definition, overwrite)
        self._handle.metric_defs = [d.as_json() for d in self._metric_defs]
        self._summary_stats.definitions_changed()
        self._queue_control("json", "metric_defs")
        return definition

    # --- alerts ------------------------------------------------------------------------------

    def alert(
        self,
        title: str,
        text: str = "",
        level: str | AlertLevel | None = None,
        wait_duration: Any = None,
    ) -> None:
        """wandb's (and Trackio's) ``alert``: stored as an event of the run at its current
        step; ``tracktui ls --json`` lists it. ``wait_duration`` is accepted and ignored."""
        if not isinstance(title, str) or not isinstance(text, str):
            raise TypeError("alert(): title and text must be strings")
        self._queue_event(
            "alert",
            title[:MAX_ALERT_TITLE],
            level=alert_level(level),
            step=max(self._step, 0),
            detail={"text": text[:MAX_ALERT_TEXT]},
        )

    # --- the model ---------------------------------------------------------------------------

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: str | None = "gradients",
        log_freq: int = 1000,
        idx: int | None = None,
        log_graph: bool = False,
    ) -> None:
        """wandb's ``watch``: histograms of a torch model's gradients and/or weights every
        ``log_freq`` batches, under ``gradients/<name>`` and ``parameters/<name>``."""
        from . import watching

        watching.watch(
            self, models, criterion=criterion, log=log, log_freq=log_freq, idx=idx,
            log_graph=log_graph,
        )  # fmt: skip

    def unwatch(self, models: Any = None) -> None:
        from . import watching

        watching.unwatch(self, models)

    # --- accepted and ignored ----------------------------------------------------------------

    def save(self, *args: Any, **kwargs: Any) -> None:
        _ignored("save", "files stay where the script wrote them (run.dir is a folder for them)")

    def log_artifact(self, *args: Any, **kwargs: Any) -> None:
        _ignored("log_artifact", "artifacts are not stored")

    def use_artifact(self, *args: Any, **kwargs: Any) -> None:
        _ignored("use_artifact", "artifacts are not stored")

    def log_model(self, *args: Any, **kwargs: Any) -> None:
        _ignored("log_model", "models are not stored")

    def log_code(self, *args: Any, **kwargs: Any) -> None:
        _ignored("log_code", "code is not stored")

    def mark_preempting(self) -> None:
        """A preempted job: nothing to do; a requeued job continues with ``resume="allow"``."""

    def display(self, *args: Any, **kwargs: Any) -> bool:
        return False


def _ignored(name: str, why: str) -> None:
    warn_once(f"unsupported:{name}", f"run.{name}() is accepted and ignored by tracktui: {why}")
