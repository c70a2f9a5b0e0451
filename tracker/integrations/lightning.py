"""PyTorch Lightning: ``Trainer(logger=TrackerLogger())``.

A Lightning ``Logger``: ``log_hyperparams`` becomes the run config; ``log_metrics`` logs the
metrics with ``trainer/global_step``, the step metric every key is plotted against (wandb's
``WandbLogger`` does the same), so ``fit`` then ``validate``/``test``/``predict``, and a second
``fit`` with the same logger, all land in one run without a step going backwards. Lightning
never finishes the run: it ends with the process or at ``tracker.finish()``; a
``finalize("failed")`` (an exception in a stage) marks it failed, even if the script catches
the exception. Only rank zero writes; the run starts at the first call, so constructing the
logger costs nothing.

``WandbLogger`` is the same logger behind Lightning's ``WandbLogger`` constructor and methods
(``log_image``, ``log_table``, ``watch``...), for scripts written for wandb.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

try:
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the older package name
    from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment  # type: ignore[no-redef]
    from pytorch_lightning.utilities import rank_zero_only  # type: ignore[no-redef]

from ..errors import warn_once
from ..jsonable import to_jsonable
from ..media import Image, Media, Table
from ..recorder import Run
from .common import RunSlot, numeric_items

STEP_METRIC = "trainer/global_step"


def _define_step(run: Run) -> None:
    run.define_metric(STEP_METRIC)
    run.define_metric("*", step_metric=STEP_METRIC, step_sync=True)


class TrackerLogger(Logger):  # type: ignore[misc]
    """``run``: a run to log to (never finished by the logger). Other keyword arguments go to
    :func:`tracker.init` (``project``, ``name``, ``tags``, ``db``) when the logger starts its
    own run."""

    def __init__(self, run: Run | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        self.init_kwargs = init_kwargs
        self._slot = RunSlot(run, init_kwargs, "TrackerLogger")

    @property
    def name(self) -> str:
        return str(self.init_kwargs.get("project") or "lightning")

    @property
    def version(self) -> str:
        return self._slot.run.id if self._slot.run is not None else ""

    @property
    @rank_zero_experiment  # type: ignore[misc,untyped-decorator]
    def experiment(self) -> Run:
        """The run (rank zero; other ranks get Lightning's dummy experiment)."""
        return self._slot.acquire(setup=_define_step)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(params, argparse.Namespace):
            params = vars(params)
        if not isinstance(params, Mapping):
            params = dict(params)
        self.experiment.config.update({str(k): to_jsonable(v) for k, v in params.items()})

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        values = numeric_items(metrics)
        if not values:
            return
        if step is not None:
            values[STEP_METRIC] = float(step)
        self.experiment.log(values)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def finalize(self, status: str) -> None:
        """End of a stage (``fit``, ``validate``, ``test``, ``predict``): what was logged is
        committed; the run goes on. ``"failed"`` marks a run the logger started as failed at
        exit (an uncaught exception does that anyway, with its message)."""
        if status == "failed":
            self._slot.failed()
        self._slot.flush()

    def save(self) -> None:
        """Nothing to do: the tracker's writer commits every 100 ms."""


# --- wandb's name -------------------------------------------------------------------------------

_PREFIX_JOIN = "-"  # WandbLogger.LOGGER_JOIN_CHAR


class WandbLogger(TrackerLogger):
    """Lightning's ``WandbLogger``, recording with tracktui: a script written for wandb changes
    only its import (``from tracker.integrations.lightning import WandbLogger``, or
    ``tracker.integration.lightning``, wandb's module name).

    The constructor is Lightning's, each argument with tracktui's meaning: ``name`` names the
    run and ``project`` its project (else ``$WANDB_PROJECT``, else tracktui's default project,
    ``$TRACKTUI_PROJECT`` or the folder's name, where WandbLogger has ``lightning_logs``);
    ``version`` or ``id`` is the run id, continued with ``resume="allow"`` as WandbLogger does
    (a requeued job goes on in its run); ``save_dir`` (else ``dir``) is where ``run.dir`` goes
    and where Lightning puts checkpoints (``<save_dir>/<project>/<run id>/checkpoints``);
    ``prefix`` goes before every key (``prefix-key``); ``experiment``: a run to log to. Other
    keyword arguments go to :func:`tracker.init` (``group``, ``tags``, ``notes``, ``config``,
    ``job_type``, ``entity``; ``db`` too). ``offline``, ``anonymous``, ``checkpoint_name`` and
    ``add_file_policy`` are accepted (a local database has nothing to do with them);
    ``log_model`` too, with one warning: checkpoints stay where Lightning saves them.

    Lifecycle, rank zero only, and ``trainer/global_step`` as every key's step metric: as
    :class:`TrackerLogger`. Its methods: ``experiment`` (the run: ``.log``, ``.config``,
    ``.summary``), ``log_hyperparams``, ``log_metrics``, ``watch``, ``log_image``,
    ``log_table``, ``log_text``; ``log_audio``/``log_video`` are accepted and ignored with
    one warning (tracktui stores neither)."""

    LOGGER_JOIN_CHAR = _PREFIX_JOIN

    def __init__(
        self,
        name: str | None = None,
        save_dir: str | os.PathLike[str] | None = ".",
        version: str | None = None,
        offline: bool = False,
        dir: str | os.PathLike[str] | None = None,
        id: str | None = None,
        anonymous: bool | None = None,
        project: str | None = None,
        log_model: bool | str = False,
        experiment: Run | None = None,
        prefix: str = "",
        checkpoint_name: str | None = None,
        add_file_policy: str = "mutable",
        **kwargs: Any,
    ) -> None:
        # as WandbLogger: save_dir wins over dir; the id is version or id
        where = os.fspath(save_dir) if save_dir is not None else None
        if where is None and dir is not None:
            where = os.fspath(dir)
        project = project or os.environ.get("WANDB_PROJECT") or None
        given = {"name": name, "project": project, "id": version or id}
        options = {k: v for k, v in given.items() if v is not None}
        options.update(kwargs)
        super().__init__(run=experiment, **options)
        self._slot.who = "WandbLogger"
        self._slot.defaults = {"resume": "allow"}
        if where:
            self._slot.defaults["dir"] = where
        self._save_dir = where
        self._project = project
        self._id = version or id
        self._prefix = prefix
        self._offline = offline
        self._log_model = log_model
        self._checkpoint_name = checkpoint_name
        self.add_file_policy = add_file_policy
        self._tensorboard = bool(kwargs.get("sync_tensorboard"))
        if log_model:
            warn_once(
                "wandb-logger:log_model",
                f"WandbLogger(log_model={log_model!r}) is accepted: checkpoints stay where "
                "Lightning's ModelCheckpoint saves them; tracktui does not upload them",
            )

    @property
    def name(self) -> str:
        """The project (WandbLogger's meaning; the run's name is ``experiment.name``)."""
        if self._project:
            return self._project
        run = self._slot.run
        return run.project if run is not None else "lightning_logs"

    @property
    def version(self) -> str | None:  # type: ignore[override]
        """The run id (the id given, None without one, before the run starts)."""
        run = self._slot.run
        return run.id if run is not None else self._id

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    @rank_zero_experiment  # type: ignore[misc,untyped-decorator]
    def experiment(self) -> Run:
        """The run (rank zero; other ranks get Lightning's dummy experiment)."""
        if self._tensorboard:  # WandbLogger's x-axis when TensorBoard is synced
            return self._slot.acquire(setup=_define_tensorboard_step)
        return self._slot.acquire(setup=_define_step)

    def watch(
        self,
        model: Any,
        log: str | None = "gradients",
        log_freq: int = 100,
        log_graph: bool = True,
    ) -> None:
        """``run.watch``: histograms of the gradients and/or parameters every ``log_freq``
        batches."""
        self.experiment.watch(model, log=log, log_freq=log_freq, log_graph=log_graph)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Numbers (tensors too), media (``tracker.Image``, ``Table``, lists of them), text
        and nested dicts, each key behind ``prefix``; with ``trainer/global_step`` when
        Lightning gives a step."""
        values = _loggable(metrics)
        if self._prefix:
            values = {f"{self._prefix}{_PREFIX_JOIN}{k}": v for k, v in values.items()}
        if not values:
            return
        if step is not None and not self._tensorboard:
            values[STEP_METRIC] = int(step)
        self.experiment.log(values)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_table(
        self,
        key: str,
        columns: list[str] | None = None,
        data: list[list[Any]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """A ``tracker.Table`` under ``key``, from ``columns`` and ``data`` or a ``dataframe``."""
        self.log_metrics({key: Table(columns=columns, data=data, dataframe=dataframe)}, step)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_text(
        self,
        key: str,
        columns: list[str] | None = None,
        data: list[list[str]] | None = None,
        dataframe: Any = None,
        step: int | None = None,
    ) -> None:
        """Text as a table (WandbLogger's ``log_text``)."""
        self.log_table(key, columns, data, dataframe, step)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_image(
        self, key: str, images: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        """Images (arrays, tensors, PIL images, paths) under ``key`` (``key[0]``, ``key[1]``...);
        each keyword is a list with one value per image (``caption=[...]``)."""
        self.log_metrics(
            {key: [Image(image, **kw) for image, kw in _per_item(images, kwargs)]}, step
        )

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_audio(
        self, key: str, audios: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        _per_item(audios, kwargs)
        warn_once(
            "wandb-logger:log_audio",
            "WandbLogger.log_audio() is accepted and ignored: tracktui does not store audio",
        )

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_video(
        self, key: str, videos: list[Any], step: int | None = None, **kwargs: Any
    ) -> None:
        _per_item(videos, kwargs)
        warn_once(
            "wandb-logger:log_video",
            "WandbLogger.log_video() is accepted and ignored: tracktui does not store video",
        )

    def use_artifact(self, artifact: str, artifact_type: str | None = None) -> None:
        """Accepted and ignored with one warning (``run.use_artifact``)."""
        self.experiment.use_artifact(artifact, type=artifact_type)

    @staticmethod
    def download_artifact(
        artifact: str,
        save_dir: str | os.PathLike[str] | None = None,
        artifact_type: str | None = None,
        use_artifact: bool | None = True,
    ) -> str:
        """There are no artifacts to download: a script needs the file it asks for."""
        raise NotImplementedError(
            f"WandbLogger.download_artifact({artifact!r}): tracktui stores no artifacts; load "
            "the checkpoint from the path Lightning saved it to"
        )


def _define_tensorboard_step(run: Run) -> None:
    run.define_metric("*", step_metric="global_step")


def _per_item(items: Any, kwargs: Mapping[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """WandbLogger's check: ``items`` a list, each keyword a list of the same length."""
    if not isinstance(items, list):
        raise TypeError(f'Expected a list as "images", found {type(items)}')
    for k, v in kwargs.items():
        if len(v) != len(items):
            raise ValueError(f"Expected {len(items)} items but only found {len(v)} for {k}")
    return [(item, {k: kwargs[k][i] for k in kwargs}) for i, item in enumerate(items)]


def _loggable(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """What ``run.log`` stores of a Lightning metrics dict: numbers (tensors and numpy scalars
    as floats), media and lists of media, text, nested dicts; anything else is skipped."""
    numbers = numeric_items(metrics)
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            continue
        if key in numbers:
            out[key] = numbers[key]
        elif isinstance(value, (Media, str, Mapping)) or (
            isinstance(value, (list, tuple)) and value and all(isinstance(v, Media) for v in value)
        ):
            out[key] = value
    return out
