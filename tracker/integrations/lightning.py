"""PyTorch Lightning: ``Trainer(logger=TrackerLogger())``.

A Lightning ``Logger``: ``log_hyperparams`` becomes the run config; ``log_metrics`` logs the
metrics with ``trainer/global_step``, the step metric every key is plotted against (wandb's
``WandbLogger`` does the same), so ``fit`` then ``validate``/``test``/``predict``, and a second
``fit`` with the same logger, all land in one run without a step going backwards. Lightning
never finishes the run: it ends with the process or at ``tracker.finish()``; a
``finalize("failed")`` (an exception in a stage) marks it failed, even if the script catches
the exception. Only rank zero writes; the run starts at the first call, so constructing the
logger costs nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

try:
    from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
    from lightning.pytorch.utilities import rank_zero_only
except ImportError:  # the older package name
    from pytorch_lightning.loggers.logger import Logger, rank_zero_experiment  # type: ignore[no-redef]
    from pytorch_lightning.utilities import rank_zero_only  # type: ignore[no-redef]

from ..recorder import Run
from ..values import to_jsonable
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
