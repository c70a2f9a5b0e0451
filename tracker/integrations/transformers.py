"""Hugging Face Trainer: ``Trainer(..., callbacks=[TrackerCallback()])``.

Records the ``TrainingArguments`` (at the top level: ``cfg.learning_rate``) and the model's config
(under ``model``) as the run config. Every ``on_log`` (``loss``, ``grad_norm``,
``learning_rate``, ``epoch``, throughput) goes under ``train/``, every evaluation under
``eval/`` and ``predict()``'s metrics under ``test/``, each with ``train/global_step``, the step
metric every key is plotted against (wandb's ``WandbCallback`` does the same); ``train_runtime``,
throughput and ``train_loss`` go to the summary. Only the main process logs.

``train()`` then ``evaluate()`` and ``predict()`` land in one run, which the Trainer never
finishes: it ends with the process (an exception marks it failed) or at ``tracker.finish()``.
The run is the one passed as ``run=``, else the active ``tracker.run``, else one the callback
starts; in a hyperparameter search each trial gets its own.
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from ..recorder import Run
from .common import RunSlot, numeric_items

STEP_METRIC = "train/global_step"

# Keys Trainer logs once at the end of training: they describe the run, so they go to summary.
_SUMMARY_KEYS = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "total_flos",
    "train_loss",
)


def _key(key: str, default: str = "train") -> str:
    if key.startswith("eval_"):
        return f"eval/{key[5:]}"
    if key.startswith("test_"):
        return f"test/{key[5:]}"
    return key if "/" in key else f"{default}/{key}"


def _define_step(run: Run) -> None:
    run.define_metric(STEP_METRIC)
    run.define_metric("*", step_metric=STEP_METRIC, step_sync=True)


class TrackerCallback(TrainerCallback):  # type: ignore[misc]
    """``run``: a run to log to (never finished by the callback). Other keyword arguments go to
    :func:`tracker.init` (``project``, ``name``, ``tags``, ``db``) when the callback starts
    its own run; ``TrainingArguments.run_name`` names it otherwise."""

    def __init__(self, run: Run | None = None, **init_kwargs: Any) -> None:
        self._slot = RunSlot(run, init_kwargs, "TrackerCallback")

    @property
    def run(self) -> Run | None:
        """The run logged to (None until the first event on the main process)."""
        return self._slot.run

    def _acquire(self, args: Any, state: Any, model: Any) -> Run | None:
        if not state.is_world_process_zero:
            return None
        run_name = getattr(args, "run_name", None)
        named = bool(run_name) and run_name != getattr(args, "output_dir", None)
        self._slot.defaults = {"name": run_name} if named else {}
        return self._slot.acquire(lambda: _config(args, model), _define_step)

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        if getattr(state, "is_hyper_param_search", False):
            self._slot.release()  # one run per trial
        self._acquire(args, state, model)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        run = self._acquire(args, state, kwargs.get("model"))
        if run is None:
            return
        values = numeric_items(logs)
        summary = {k: values.pop(k) for k in list(values) if k in _SUMMARY_KEYS}
        if summary:
            run.summary.update(summary)
        if values:
            run.log({**{_key(k): v for k, v in values.items()}, STEP_METRIC: state.global_step})

    def on_predict(
        self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        run = self._acquire(args, state, kwargs.get("model"))
        if run is None:
            return
        values = {_key(k, "test"): v for k, v in numeric_items(metrics).items()}
        if values:
            run.log({**values, STEP_METRIC: state.global_step})
        self._slot.flush()

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        run = self._acquire(args, state, kwargs.get("model"))
        if run is None:
            return
        run.summary["global_step"] = state.global_step
        self._slot.flush()


def _config(args: Any, model: Any) -> dict[str, Any]:
    config: dict[str, Any] = dict(args.to_dict())  # learning_rate etc. at the top, like wandb
    model_config = getattr(model, "config", None)
    if model_config is not None and hasattr(model_config, "to_dict"):
        config["model"] = model_config.to_dict()
        config["model"]["num_parameters"] = sum(p.numel() for p in model.parameters())
    return config


# ``transformers.integrations.WandbCallback``'s name, for scripts that add it themselves
# (``Trainer(..., callbacks=[WandbCallback()])`` with ``report_to="none"``)
WandbCallback = TrackerCallback
