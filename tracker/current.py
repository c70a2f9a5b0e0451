"""The module-level API (wandb style): ``tracker.init``, ``tracker.log``, ``tracker.config``,
``tracker.define_metric`` ... all act on the process's current run.

``tracker.config`` and ``tracker.summary`` are the same objects for the whole process, so a
module that re-exports them (``from tracker import *``) keeps working across runs; before
``init()`` the config holds what the script sets and ``init()`` carries it into the run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from typing import Any

from .errors import TrackerError, warn_once
from .jsonable import config_items
from .persisted import PersistedDict
from .process_runs import current_run, last_ended, set_current
from .recorder import Run
from .sanitize import short_name
from .settings import disabled_by_env
from .system.sampler import DEFAULT_INTERVAL_S

REINIT_CHOICES = ("default", "return_previous", "finish_previous", "create_new")
MODES = ("online", "offline", "disabled", "shared", "dryrun", "run")  # wandb's; all record here
_TAG_OPTIONS = ("group", "job_type")
# wandb options with nothing to do here; accepted without a word
_QUIET_OPTIONS = frozenset(
    {"entity", "anonymous", "save_code", "force", "magic", "allow_val_change", "monitor_gym",
     "tensorboard", "config_exclude_keys", "config_include_keys", "settings", "mode", "dir",
     "resume_from", "fork_from"}
)  # fmt: skip
_pending_config = PersistedDict(None, "config", {})


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
    id: str | None = None,
    resume: bool | str | None = None,
    reinit: bool | str | None = None,
    dir: str | os.PathLike[str] | None = None,
    mode: str | None = None,
    sync_tensorboard: bool | None = None,
    attach: bool | None = None,
    health: object = None,
    **wandb_options: Any,
) -> Run:
    """Start a run and make it the current one (see ``tracker.log``).

    ``system_metrics`` (default on, or ``$TRACKTUI_SYSTEM_METRICS=0`` for off) samples CPU,
    memory, disk, network and GPUs every ``system_interval`` seconds under ``sys/``.
    ``console`` (default on, or ``$TRACKTUI_CONSOLE=0`` for off) records what the process
    prints to stdout and stderr, still showing it as before.

    wandb's arguments, with wandb's meaning: ``id`` and ``resume`` (``"allow"``, ``"must"``,
    ``"never"``, ``"auto"``/True; also ``$TRACKTUI_RUN_ID``/``$TRACKTUI_RESUME`` and the
    ``WANDB_`` names) continue a stored run; ``reinit`` says what a second ``init()`` does
    while a run is active (``"return_previous"`` in scripts, ``"finish_previous"`` in
    notebooks, ``True`` finishes it, ``"create_new"`` keeps both); ``dir`` is where
    ``run.dir`` goes; ``mode="disabled"`` records nothing; ``sync_tensorboard`` copies what a
    ``SummaryWriter`` writes into the run; ``group`` and ``job_type`` become tags, ``notes``
    goes to the summary, ``config_exclude_keys``/``config_include_keys`` filter the config.
    Other wandb options are accepted; unknown ones are named in one warning.

    ``attach=True`` (or ``$TRACKTUI_ATTACH=1``, or a launcher's run id on a node whose rank
    is above 0) joins the run with that ``id`` that another node of a distributed job
    started: this node's metrics go under ``node/<host>/`` and its hardware under
    ``sys/node/<host>/``, so every node's GPUs show in the run view.

    ``health`` chooses the training-health detectors (stored as ``kind="health"`` events):
    None/True = all on with their defaults, False (or ``$TRACKTUI_HEALTH=0``) = all off, a
    dict changes thresholds or turns detectors off by name
    (``{"loss_spike": {"factor": 5}, "gpu_underused": False}``); see ``tracker.health``.
    """
    settings = wandb_options.get("settings")
    reinit = _setting(settings, "reinit", reinit)
    mode = _setting(settings, "mode", mode)
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    disabled = disabled_by_env(mode)
    previous = current_run()
    if previous is not None and (previous._active or previous.disabled):
        choice = _reinit_choice(reinit)
        if choice == "return_previous":
            return previous
        if choice == "finish_previous":
            previous.finish()
    tags = list(tags or [])
    notes = wandb_options.pop("notes", None)
    grouping = {option: wandb_options.pop(option, None) for option in _TAG_OPTIONS}
    for option, value in grouping.items():
        if value:
            tags.append(f"{option}:{value}")
    config_dict = dict(_pending_config)
    config_dict.update(config_items(config))
    config_dict = _filtered(
        config_dict,
        wandb_options.get("config_exclude_keys"),
        wandb_options.get("config_include_keys"),
    )
    unknown = sorted(set(wandb_options) - _QUIET_OPTIONS)
    if unknown:
        warn_once(
            f"ignored-options:{unknown}",
            "init(): ignoring options tracktui does not know: " + ", ".join(unknown),
        )
    run = Run(
        project=project,
        name=name,
        config=config_dict,
        tags=tags or None,
        db=db,
        quiet=quiet,
        system_metrics=system_metrics,
        system_interval=system_interval,
        console=console,
        id=id,
        resume=resume,
        dir=dir,
        disabled=disabled,
        attach=attach,
        health=health,
    )
    dict.clear(_pending_config)
    run.group, run.job_type = grouping["group"], grouping["job_type"]
    run.settings = settings if settings is not None else Settings(mode=mode, reinit=reinit)
    if notes:
        run.notes = str(notes)
        run.summary["notes"] = run.notes
    if sync_tensorboard and not disabled:
        from . import tensorboard_sync

        tensorboard_sync.patch(current_run)
    if _reinit_choice(reinit) != "create_new" or current_run() is None:
        set_current(run)
    return run


def _setting(settings: Any, name: str, value: Any) -> Any:
    """An option given through wandb's ``settings=`` (a ``tracker.Settings`` or a dict)."""
    if value is not None or settings is None:
        return value
    if isinstance(settings, Mapping):
        return settings.get(name)
    return getattr(settings, name, None)


def _reinit_choice(reinit: bool | str | None) -> str:
    if reinit is True:
        return "finish_previous"
    if reinit is None or reinit is False or reinit == "default":
        return "finish_previous" if _in_notebook() else "return_previous"
    if reinit in REINIT_CHOICES:
        return str(reinit)
    raise ValueError(f"reinit must be True, False or one of {', '.join(REINIT_CHOICES)}")


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def _filtered(
    config: dict[str, Any], exclude: Iterable[str] | None, include: Iterable[str] | None
) -> dict[str, Any]:
    if include:
        wanted = set(include)
        config = {k: v for k, v in config.items() if k in wanted}
    if exclude:
        unwanted = set(exclude)
        config = {k: v for k, v in config.items() if k not in unwanted}
    return config


def log(
    data: Mapping[str, Any] | None = None,
    step: int | None = None,
    commit: bool | None = None,
    sync: bool | None = None,
) -> None:
    """Log to the current run (the last ``init()``); warns once and drops if there is none."""
    run = current_run()
    if run is None:
        ended = last_ended()
        if ended is not None:
            warn_once(
                f"after-finish:{ended}",
                f"tracker.log() called after run {short_name(ended)} finished; ignored "
                "(init() starts another)",
            )
        else:
            warn_once("no-run", "tracker.log() called before tracker.init(); ignored")
        return
    run.log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any."""
    run = current_run()
    if run is not None:
        run.finish(exit_code)


def define_metric(name: str, step_metric: Any = None, **options: Any) -> Any:
    """``run.define_metric`` on the current run."""
    return _required("define_metric").define_metric(name, step_metric, **options)


def alert(title: str, text: str = "", level: Any = None, wait_duration: Any = None) -> None:
    """``run.alert`` on the current run."""
    _required("alert").alert(title, text, level, wait_duration)


def watch(models: Any, *args: Any, **kwargs: Any) -> None:
    """``run.watch`` on the current run (its arguments: ``Run.watch``)."""
    _required("watch").watch(models, *args, **kwargs)


def unwatch(models: Any = None) -> None:
    run = current_run()
    if run is not None:
        run.unwatch(models)


def _no_run_yet() -> str:
    """Why there is no current run, for an error: none started, or the last one finished."""
    ended = last_ended()
    if ended is None:
        return "call tracker.init() first"
    return f"run {short_name(ended)} finished; tracker.init() starts another"


def _required(what: str) -> Run:
    run = current_run()
    if run is None:
        raise TrackerError(f"tracker.{what}() needs a run: {_no_run_yet()}")
    return run


def unsupported(name: str, why: str = "") -> Any:
    """wandb functions tracktui has no use for: callable, warn once, do nothing."""

    def ignored(*args: Any, **kwargs: Any) -> None:
        warn_once(
            f"unsupported:{name}",
            f"tracker.{name}() is accepted and ignored by tracktui" + (f": {why}" if why else ""),
        )

    ignored.__name__ = name
    return ignored


class _RunDict(MutableMapping[str, Any]):
    """``tracker.config`` / ``tracker.summary``: the current run's, whichever run that is."""

    _column = ""

    def _target(self) -> PersistedDict:
        run = current_run()
        if run is None:
            return self._without_run()
        return run.config if self._column == "config" else run.summary

    def _without_run(self) -> PersistedDict:
        raise TrackerError(f"tracker.{self._column} needs a run: {_no_run_yet()}")

    def __getitem__(self, key: str) -> Any:
        return self._target()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._target()[name] = value

    def __repr__(self) -> str:
        try:
            return repr(dict(self._target()))
        except TrackerError:
            return f"<tracker.{self._column}: no run yet>"

    def __eq__(self, other: object) -> bool:
        try:
            return dict(self._target()) == other
        except TrackerError:
            return False

    __hash__ = None  # type: ignore[assignment]

    def update(self, *args: Any, **kwargs: Any) -> None:
        self._target().update(*args, **kwargs)


class CurrentConfig(_RunDict):
    _column = "config"

    def _without_run(self) -> PersistedDict:
        return _pending_config  # carried into the run by the next init()


class CurrentSummary(_RunDict):
    _column = "summary"


config = CurrentConfig()
summary = CurrentSummary()


class Settings:
    """wandb's ``Settings``: accepts any option; ``init`` reads ``mode`` and ``reinit``."""

    def __init__(self, **options: Any) -> None:
        self.__dict__.update(options)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return None

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class Artifact:
    """wandb's ``Artifact``: accepted so scripts run; nothing is stored (one warning)."""

    def __init__(self, name: str = "", type: str = "", *args: Any, **kwargs: Any) -> None:
        self.name = name
        self.type = type
        warn_once("unsupported:Artifact", "tracker.Artifact is accepted and ignored: not stored")

    def add_file(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_dir(self, *args: Any, **kwargs: Any) -> None:
        return None

    def add_reference(self, *args: Any, **kwargs: Any) -> None:
        return None

    def wait(self, *args: Any, **kwargs: Any) -> Artifact:
        return self


class NotStoredMedia:
    """wandb media types tracktui does not store (video, audio, 3D, HTML): accepted, so a
    script runs; ``log()`` skips them; one warning per type."""

    not_stored = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kind = type(self).__name__
        warn_once(f"unsupported:{kind}", f"tracker.{kind} is accepted and not stored by tracktui")


class Video(NotStoredMedia):
    pass


class Audio(NotStoredMedia):
    pass


class Html(NotStoredMedia):
    pass


class Object3D(NotStoredMedia):
    pass


class Molecule(NotStoredMedia):
    pass
