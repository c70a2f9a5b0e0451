"""Keras 3 (any backend): ``model.fit(..., callbacks=[TrackerCallback()])``.

Records the fit parameters, the model's name, size and optimizer config as the run config;
every batch's logs under ``train/`` at the global batch step; every epoch's logs under
``epoch/`` and validation logs (``val_*``) under ``eval/``; finishes the run when fit ends.
"""

from __future__ import annotations

from typing import Any

import keras

from ..current import init
from ..recorder import Run
from ..values import to_jsonable
from .common import numeric_items


class TrackerCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Keyword arguments go to :func:`tracker.init` (``project``, ``name``, ``tags``, ``db``)."""

    def __init__(self, log_batches: bool = True, **init_kwargs: Any) -> None:
        super().__init__()
        self.init_kwargs = init_kwargs
        self.log_batches = log_batches
        self.run: Run | None = None
        self.step = 0

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        config: dict[str, Any] = {"fit": to_jsonable(dict(self.params or {}))}
        model = self.model
        if model is not None:
            config["model"] = {"name": model.name, "parameters": int(model.count_params())}
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None:
                config["optimizer"] = to_jsonable(optimizer.get_config())
        self.run = init(config=config, **self.init_kwargs)
        self.step = 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        if self.log_batches:
            values = {f"train/{k}": v for k, v in numeric_items(logs).items()}
            if values:
                self.run.log(values, step=self.step)
        self.step += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.run is None:
            return
        values: dict[str, float] = {"epoch/epoch": float(epoch)}
        for key, value in numeric_items(logs).items():
            values[f"eval/{key[4:]}" if key.startswith("val_") else f"epoch/{key}"] = value
        self.run.log(values, step=max(self.step - 1, 0))

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.run is not None:
            self.run.finish()
