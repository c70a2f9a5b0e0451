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

wandb's Keras callbacks by their names and constructors, for scripts written for wandb:
``WandbMetricsLogger`` (wandb's keys, as above), ``WandbModelCheckpoint`` (Keras's
``ModelCheckpoint``; no upload), ``WandbEvalCallback`` (its tables as the run's) and the
legacy ``WandbCallback``; ``tracker.integration.keras`` has them under wandb's module name.
"""

from __future__ import annotations

import abc
import os
from typing import Any

import keras

from ..errors import warn_once
from ..jsonable import to_jsonable
from ..media import Table
from ..recorder import Run
from ..values import to_float
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


# --- wandb's names ------------------------------------------------------------------------------
#
# ``from wandb.integration.keras import WandbMetricsLogger, WandbModelCheckpoint,
# WandbEvalCallback, WandbCallback`` becomes ``from tracker.integration.keras import ...``:
# the same constructors and keys. wandb's callbacks need ``wandb.init()`` first; these log to
# the active run (``import tracker as wandb; wandb.init(...)``), else to one they start.


class WandbMetricsLogger(TrackerCallback):
    """wandb's ``WandbMetricsLogger``: ``log_freq="epoch"`` logs each epoch's logs under
    ``epoch/`` with ``epoch/epoch`` and ``epoch/learning_rate``; ``"batch"`` or an int ``n``
    also logs every ``n``-th batch of each epoch (``batch % n == 0``) under ``batch/``, with
    ``batch/batch_step`` and ``batch/learning_rate``. ``batch/batch_step`` counts the batches
    trained by this callback (over every ``fit``), where wandb adds ``n`` per log: the two
    agree when an epoch's batches are a multiple of ``n``. ``initial_global_step`` is where a
    learning-rate schedule is read from when training resumes (``initial_epoch``), as in wandb.

    ``evaluate(..., callbacks=[this])`` after ``fit`` logs under ``eval/`` (wandb logs
    nothing); the fit parameters, model and optimizer fill in the run config. ``run``: a run to
    log to; other keyword arguments go to :func:`tracker.init` when no run is active."""

    def __init__(
        self,
        log_freq: str | int = "epoch",
        initial_global_step: int = 0,
        *,
        run: Run | None = None,
        **init_kwargs: Any,
    ) -> None:
        if log_freq == "batch":
            log_freq = 1
        batch_wise = isinstance(log_freq, int) and not isinstance(log_freq, bool)
        if not batch_wise and log_freq != "epoch":
            raise ValueError(f'log_freq must be "epoch", "batch" or an int, not {log_freq!r}')
        if batch_wise and int(log_freq) < 1:
            raise ValueError(f"log_freq must be at least 1, not {log_freq}")
        super().__init__(log_batches=batch_wise, run=run, **init_kwargs)
        self._slot.who = type(self).__name__
        self.logging_batch_wise = batch_wise
        self.log_freq: int | None = int(log_freq) if batch_wise else None
        self.global_step = int(initial_global_step)  # for the learning-rate schedule

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.global_step += 1
        if self.log_freq is not None and batch % self.log_freq == 0:
            values = {f"batch/{k}": v for k, v in numeric_items(logs).items()}
            rate = self._learning_rate()
            if rate is not None:
                values["batch/learning_rate"] = rate
            self._acquire().log({**values, BATCH_STEP: self.step})
        self.step += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = {f"epoch/{k}": v for k, v in numeric_items(logs).items()}
        rate = self._learning_rate()
        if rate is not None:
            values["epoch/learning_rate"] = rate
        self._acquire().log({**values, EPOCH_STEP: epoch})

    def _learning_rate(self) -> float | None:
        schedule = getattr(getattr(self.model, "optimizer", None), "_learning_rate", None)
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            try:
                value = keras.ops.convert_to_numpy(schedule(self.global_step))
                return to_float("learning_rate", value)
            except Exception:
                return None
        return super()._learning_rate()


# wandb's legacy WandbCallback arguments and their defaults; one that asks for more than the
# epoch logs (images, tables, gradients, a saved model...) is named in one warning
_LEGACY_DEFAULTS: dict[str, Any] = {
    "verbose": 0, "save_weights_only": False, "log_weights": False, "log_gradients": False,
    "save_model": True, "training_data": None, "validation_data": None, "labels": None,
    "predictions": 36, "generator": None, "input_type": None, "output_type": None,
    "log_evaluation": False, "validation_steps": None, "class_colors": None,
    "save_graph": True, "validation_indexes": None, "validation_row_processor": None,
    "prediction_row_processor": None, "infer_missing_processors": True,
    "log_evaluation_frequency": 0, "compute_flops": False,
}  # fmt: skip
_ASKING_LESS = {"save_model": False, "save_graph": False}


class WandbCallback(WandbMetricsLogger):
    """wandb's legacy ``WandbCallback`` (``wandb.keras``), accepted with its constructor: it
    logs as ``WandbMetricsLogger(log_freq="epoch")`` (``log_batch_frequency=n`` as
    ``log_freq=n``), and keeps the best ``monitor`` value and its epoch in the summary as
    ``<log_best_prefix><monitor>`` and ``<log_best_prefix>epoch`` (``best_val_loss``,
    ``best_epoch``), ``mode`` saying which way is better. Unlike wandb, the history keys are
    under ``epoch/`` (``epoch/val_loss``), not at the top. Arguments for what tracktui does not
    do (a saved model, sample images, evaluation tables, weight and gradient histograms, FLOPs)
    are accepted and named in one warning."""

    def __init__(
        self,
        monitor: str = "val_loss",
        verbose: int = 0,
        mode: str = "auto",
        save_weights_only: bool = False,
        log_weights: bool = False,
        log_gradients: bool = False,
        save_model: bool = True,
        training_data: Any = None,
        validation_data: Any = None,
        labels: Any = None,
        predictions: int = 36,
        generator: Any = None,
        input_type: str | None = None,
        output_type: str | None = None,
        log_evaluation: bool = False,
        validation_steps: int | None = None,
        class_colors: Any = None,
        log_batch_frequency: int | None = None,
        log_best_prefix: str | None = "best_",
        save_graph: bool = True,
        validation_indexes: Any = None,
        validation_row_processor: Any = None,
        prediction_row_processor: Any = None,
        infer_missing_processors: bool = True,
        log_evaluation_frequency: int = 0,
        compute_flops: bool = False,
        *,
        run: Run | None = None,
        **init_kwargs: Any,
    ) -> None:
        given = {k: v for k, v in locals().items() if k in _LEGACY_DEFAULTS}
        super().__init__(log_freq=log_batch_frequency or "epoch", run=run, **init_kwargs)
        ignored = sorted(
            k
            for k, v in given.items()
            if not _same(v, _LEGACY_DEFAULTS[k]) and not _same(v, _ASKING_LESS.get(k, ...))
        )
        if ignored:
            warn_once(
                "keras-wandb-callback:ignored",
                f"WandbCallback: {', '.join(ignored)} accepted and ignored; it logs the epoch "
                "metrics (as WandbMetricsLogger) and the best monitored value",
            )
        if mode not in ("auto", "min", "max"):
            mode = "auto"
        if mode == "auto":
            mode = "max" if "acc" in monitor or monitor.startswith("fmeasure") else "min"
        self.monitor, self.mode, self.log_best_prefix = monitor, mode, log_best_prefix
        self.best: float | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        current = numeric_items(logs).get(self.monitor)
        if current is None or not self.log_best_prefix:
            return
        run = self._acquire()
        if self.best is None:
            previous = run.summary.get(f"{self.log_best_prefix}{self.monitor}")
            self.best = previous if isinstance(previous, (int, float)) else None
        better = self.best is None or (
            current > self.best if self.mode == "max" else current < self.best
        )
        if better:
            self.best = current
            run.summary[f"{self.log_best_prefix}{self.monitor}"] = current
            run.summary[f"{self.log_best_prefix}epoch"] = epoch


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value is default or value == default)
    except Exception:  # an array compared with a default
        return False


class WandbModelCheckpoint(keras.callbacks.ModelCheckpoint):  # type: ignore[misc]
    """wandb's ``WandbModelCheckpoint``: Keras's ``ModelCheckpoint`` with wandb's constructor,
    saving where ``filepath`` says (``{epoch:02d}`` and the logs' keys filled in). wandb also
    uploads each checkpoint as an artifact: accepted and ignored, with one warning.

    Keras 3 wants ``filepath`` to end in ``.keras`` (``.weights.h5`` with
    ``save_weights_only``); a TensorFlow-era path (``"models/"``, ``"model-{epoch}"``,
    ``"model.h5"`` for weights) gets that ending, said in the same warning."""

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        monitor: str = "val_loss",
        verbose: int = 0,
        save_best_only: bool = False,
        save_weights_only: bool = False,
        mode: str = "auto",
        save_freq: str | int = "epoch",
        initial_value_threshold: float | None = None,
        **kwargs: Any,
    ) -> None:
        given = os.fspath(filepath)
        path = _keras_checkpoint_path(given, save_weights_only)
        super().__init__(
            filepath=path,
            monitor=monitor,
            verbose=verbose,
            save_best_only=save_best_only,
            save_weights_only=save_weights_only,
            mode=mode,
            save_freq=save_freq,
            initial_value_threshold=initial_value_threshold,
        )
        notes = [f"checkpoints are saved to {path}"]
        if path != given:
            notes.append(f"(Keras 3 wants that ending; {given!r} was given)")
        if kwargs:
            notes.append(f"{', '.join(sorted(kwargs))} ignored")
        warn_once(
            "keras-wandb-checkpoint",
            "WandbModelCheckpoint: " + "; ".join(notes) + "; uploading them as wandb "
            "artifacts is accepted and ignored",
        )


def _keras_checkpoint_path(path: str, weights_only: bool) -> str:
    ending = ".weights.h5" if weights_only else ".keras"
    if path.endswith(ending) or (not weights_only and path.endswith(".h5")):
        return path
    if path.endswith(("/", os.sep)) or os.path.isdir(path):
        return os.path.join(path, "model" + ending)
    if path.endswith(".h5"):
        path = path[: -len(".h5")]
    return path + ending


class WandbEvalCallback(keras.callbacks.Callback, abc.ABC):  # type: ignore[misc]
    """wandb's ``WandbEvalCallback``: subclass it and write ``add_ground_truth`` (rows into
    ``self.data_table`` with ``add_data``) and ``add_model_predictions(epoch)`` (rows into
    ``self.pred_table``, reading ``self.data_table_ref.data[i]``); at the start of ``fit`` the
    data table is logged as ``val_data``, after every epoch the predictions as ``eval_data``
    (``tracker.Table``s: media cells are kept as short descriptions). wandb stores them as
    artifacts; here they are the run's tables, at the step they were logged."""

    def __init__(
        self,
        data_table_columns: list[str],
        pred_table_columns: list[str],
        *args: Any,
        run: Run | None = None,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        self.data_table_columns = data_table_columns
        self.pred_table_columns = pred_table_columns
        self._slot = RunSlot(run, init_kwargs, type(self).__name__)

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.init_data_table(column_names=self.data_table_columns)
        self.add_ground_truth(logs)
        self.log_data_table()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.init_pred_table(column_names=self.pred_table_columns)
        self.add_model_predictions(epoch, logs)
        self.log_pred_table()

    @abc.abstractmethod
    def add_ground_truth(self, logs: dict[str, Any] | None = None) -> None:
        """Add the validation data to ``self.data_table`` (called at the start of ``fit``)."""

    @abc.abstractmethod
    def add_model_predictions(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Add the model's predictions to ``self.pred_table`` (after every epoch)."""

    def init_data_table(self, column_names: list[str]) -> None:
        self.data_table = Table(columns=column_names, allow_mixed_types=True)

    def init_pred_table(self, column_names: list[str]) -> None:
        self.pred_table = Table(columns=column_names)

    def log_data_table(
        self, name: str = "val", type: str = "dataset", table_name: str = "val_data"
    ) -> None:
        """Log ``data_table`` as ``table_name``; ``data_table_ref`` is that table."""
        self._slot.acquire().log({table_name: self.data_table})
        self.data_table_ref = self.data_table

    def log_pred_table(
        self,
        type: str = "evaluation",
        table_name: str = "eval_data",
        aliases: list[str] | None = None,
    ) -> None:
        """Log ``pred_table`` as ``table_name`` (each epoch's a new value of that key)."""
        self._slot.acquire().log({table_name: self.pred_table})
