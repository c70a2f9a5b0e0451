"""Hugging Face Trainer: ``Trainer(..., callbacks=[TrackerCallback()])``.

Records the ``TrainingArguments`` (at the top level: ``cfg.learning_rate``) and the model's config
(under ``model``) as the run config, every ``on_log``
(``loss``, ``grad_norm``, ``learning_rate``, ``epoch``, throughput) under ``train/`` and every
evaluation under ``eval/``, at the trainer's global step; logs from the main process only; the
run finishes when training ends (an exception marks it failed through the tracker's own hooks).
"""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from ..current import init
from ..recorder import Run
from .common import numeric_items

# Keys Trainer logs once at the end of training: they describe the run, so they go to summary.
_SUMMARY_KEYS = (
    "train_runtime",
    "train_samples_per_second",
    "train_steps_per_second",
    "total_flos",
    "train_loss",
)


def _train_key(key: str) -> str:
    if key.startswith("eval_"):
        return f"eval/{key[5:]}"
    if key.startswith("test_"):
        return f"test/{key[5:]}"
    return key if "/" in key else f"train/{key}"


class TrackerCallback(TrainerCallback):  # type: ignore[misc]
    """Keyword arguments go to :func:`tracker.init` (``project``, ``name``, ``tags``, ``db``)."""

    def __init__(self, **init_kwargs: Any) -> None:
        self.init_kwargs = init_kwargs
        self.run: Run | None = None

    def _start(self, args: Any, state: Any, model: Any = None) -> None:
        if self.run is not None or not state.is_world_process_zero:
            return
        config: dict[str, Any] = dict(args.to_dict())  # learning_rate etc. at the top, like wandb
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_dict"):
            config["model"] = model_config.to_dict()
            config["model"]["num_parameters"] = sum(p.numel() for p in model.parameters())
        kwargs = dict(self.init_kwargs)
        run_name = getattr(args, "run_name", None)
        if run_name and run_name != getattr(args, "output_dir", None):
            kwargs.setdefault("name", run_name)
        self.run = init(config=config, **kwargs)

    def on_train_begin(
        self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any
    ) -> None:
        self._start(args, state, model)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        self._start(args, state, kwargs.get("model"))
        assert self.run is not None
        values = numeric_items(logs)
        summary = {k: values.pop(k) for k in list(values) if k in _SUMMARY_KEYS}
        if summary:
            self.run.summary.update(summary)
        # Evaluation results arrive through on_evaluate as well: logged once, from there.
        metrics = {_train_key(k): v for k, v in values.items() if not k.startswith("eval_")}
        if metrics:
            self.run.log(metrics, step=state.global_step)

    def on_evaluate(
        self,
        args: Any,
        state: Any,
        control: Any,
        metrics: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero:
            return
        self._start(args, state, kwargs.get("model"))
        assert self.run is not None
        values = {
            _train_key(k if k.startswith("eval_") else f"eval_{k}"): v
            for k, v in numeric_items(metrics).items()
        }
        if values:
            self.run.log(values, step=state.global_step)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.run is not None and state.is_world_process_zero:
            self.run.summary["global_step"] = state.global_step
            self.run.finish()
