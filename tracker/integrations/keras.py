"""Keras 3 (any backend): ``model.fit(..., callbacks=[TrackerCallback()])``.

Records the fit parameters, the model's name, size and optimizer config as the run config.
As wandb's ``WandbMetricsLogger`` does: every batch's logs under ``batch/`` with
``batch/batch_step`` (the global batch count) as their step metric, every epoch's logs under
``epoch/`` (validation as ``epoch/val_*``, the learning rate as ``epoch/learning_rate``) with
``epoch/epoch`` as theirs. ``model.evaluate(..., callbacks=[the same callback])`` after ``fit``
logs its results under ``eval/``, plotted at the last epoch.

``fit`` then ``evaluate`` and ``predict`` land in one run, which Keras never finishes: it ends
with the process (an exception marks it failed) or at ``tracker.finish()``. The run is the one
passed as ``run=``, else the active ``tracker.run``, else one the callback starts.
"""

from __future__ import annotations

from typing import Any

import keras

from ..recorder import Run
from ..values import to_float, to_jsonable
from .common import RunSlot, numeric_items

BATCH_STEP = "batch/batch_step"
EPOCH_STEP = "epoch/epoch"


def _define_steps(run: Run) -> None:
    run.define_metric(BATCH_STEP)
    run.define_metric("batch/*", step_metric=BATCH_STEP, step_sync=True)
    run.define_metric(EPOCH_STEP)
    run.define_metric("epoch/*", step_metric=EPOCH_STEP, step_sync=True)
    run.define_metric("eval/*", step_metric=EPOCH_STEP, step_sync=True)


class TrackerCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """``log_batches=False`` logs epochs only. ``run``: a run to log to (never finished by the
    callback). Other keyword arguments go to :func:`tracker.init` (``project``, ``name``,
    ``tags``, ``db``) when the callback starts its own run."""

    def __init__(
        self, log_batches: bool = True, run: Run | None = None, **init_kwargs: Any
    ) -> None:
        super().__init__()
        self.init_kwargs = init_kwargs
        self.log_batches = log_batches
        self._slot = RunSlot(run, init_kwargs, "TrackerCallback")
        self.step = 0  # batches trained, over every fit of this callback
        self._fitting = False

    @property
    def run(self) -> Run | None:
        """The run logged to (None before the first ``fit``/``evaluate``)."""
        return self._slot.run

    def _acquire(self) -> Run:
        return self._slot.acquire(self._config, _define_steps)

    def _config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"fit": to_jsonable(dict(self.params or {}))}
        model = self.model
        if model is not None:
            config["model"] = {"name": model.name, "parameters": int(model.count_params())}
            optimizer = getattr(model, "optimizer", None)
            if optimizer is not None:
                config["optimizer"] = to_jsonable(optimizer.get_config())
        return config

    # --- fit ---------------------------------------------------------------------------------

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._fitting = True
        self._acquire()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.log_batches:
            values = {f"batch/{k}": v for k, v in numeric_items(logs).items()}
            if values:
                self._acquire().log({**values, BATCH_STEP: self.step})
        self.step += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = {f"epoch/{k}": v for k, v in numeric_items(logs).items()}
        if "epoch/learning_rate" not in values:
            rate = self._learning_rate()
            if rate is not None:
                values["epoch/learning_rate"] = rate
        self._acquire().log({**values, EPOCH_STEP: epoch})

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        self._fitting = False
        self._slot.flush()

    def _learning_rate(self) -> float | None:
        rate = getattr(getattr(self.model, "optimizer", None), "learning_rate", None)
        if rate is None:
            return None
        try:
            return to_float("learning_rate", keras.ops.convert_to_numpy(rate))
        except Exception:  # a schedule object, a backend without the conversion
            return None

    # --- evaluate and predict ----------------------------------------------------------------

    def on_test_begin(self, logs: dict[str, Any] | None = None) -> None:
        if not self._fitting:
            self._acquire()

    def on_test_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._fitting:
            return  # fit's validation: its results arrive in the epoch's logs (val_*)
        values = {f"eval/{k}": v for k, v in numeric_items(logs).items()}
        if values:
            self._acquire().log(values)
        self._slot.flush()

    def on_predict_end(self, logs: dict[str, Any] | None = None) -> None:
        self._slot.flush()
