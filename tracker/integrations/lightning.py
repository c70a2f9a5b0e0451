"""PyTorch Lightning: ``Trainer(logger=TrackerLogger())``.

A Lightning ``Logger``: ``log_hyperparams`` becomes the run config, ``log_metrics`` is logged at
Lightning's step, ``finalize`` finishes the run (``failed`` when Lightning says so). Only rank
zero writes; the run starts at the first call, so constructing the logger costs nothing.
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

from ..current import init
from ..recorder import Run
from .common import numeric_items


class TrackerLogger(Logger):  # type: ignore[misc]
    """Keyword arguments go to :func:`tracker.init` (``project``, ``name``, ``tags``, ``db``)."""

    def __init__(self, **init_kwargs: Any) -> None:
        super().__init__()
        self.init_kwargs = init_kwargs
        self._run: Run | None = None

    @property
    def name(self) -> str:
        return str(self.init_kwargs.get("project") or "lightning")

    @property
    def version(self) -> str:
        return self._run.id if self._run is not None else ""

    @property
    @rank_zero_experiment  # type: ignore[misc,untyped-decorator]
    def experiment(self) -> Run:
        if self._run is None:
            self._run = init(**self.init_kwargs)
        return self._run

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(params, argparse.Namespace):
            params = vars(params)
        if not isinstance(params, Mapping):
            params = dict(params)
        self.experiment.config.update({str(k): v for k, v in params.items()})

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        values = numeric_items(metrics)
        if values:
            self.experiment.log(values, step=step)

    @rank_zero_only  # type: ignore[misc,untyped-decorator]
    def finalize(self, status: str) -> None:
        if self._run is not None:
            self._run.finish(status="failed" if status == "failed" else "finished")

    def save(self) -> None:
        """Nothing to do: the tracker's writer commits every 100 ms."""
