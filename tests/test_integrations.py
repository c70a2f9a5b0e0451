"""Each integration driven by its real framework for a few steps (in a child process), and what
lands in the database; the examples end to end; a wandb-style script unchanged."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tui.cli import main

from .helpers import ROOT, run_python
from .preloaded import run_preloaded

pytestmark = pytest.mark.slow


def needs(*modules: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


def runs(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    capsys.readouterr()
    assert main(["ls", "--db", str(db), "--json"]) == 0
    return {r["name"]: r for r in json.loads(capsys.readouterr().out)}


def run_script(path: Path, *args: str, timeout: float = 240) -> None:
    result = run_preloaded(
        f"import runpy, sys; sys.argv = {[str(path), *args]!r}; runpy.run_path({str(path)!r}, run_name='__main__')",
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr


@needs("torch")
def test_pytorch_example_end_to_end(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_script(ROOT / "examples" / "train_mlp.py", "--db", str(db_path), "--steps", "300")
    (run,) = runs(db_path, capsys).values()
    metrics = run["metrics"]
    assert run["status"] == "finished" and run["step"] == 299
    assert metrics["train/loss"]["count"] == 300 and metrics["train/grad_norm"]["count"] == 300  # type: ignore[index]
    assert metrics["eval/loss"]["count"] == 6 and metrics["eval/accuracy"]["last"] > 0.9  # type: ignore[index]
    assert metrics["train/lr"]["max"] == pytest.approx(3e-3, rel=0.05)  # type: ignore[index]
    assert run["config"]["lr"] == 3e-3 and run["summary"]["best_eval_loss"] < 0.5  # type: ignore[index]
    media = run["media"]
    assert media["eval/decision_map"] == {"kind": "image", "count": 6, "step": 299}  # type: ignore[index]
    for key, kind in (
        ("eval/confusion", "confusion"),
        ("eval/samples", "table"),
        ("weights/layer1", "histogram"),
        ("grads/layer1", "histogram"),
    ):
        assert media[key]["kind"] == kind and media[key]["count"] == 6  # type: ignore[index]


@needs("transformers", "accelerate", "torch")
def test_huggingface_trainer(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_script(ROOT / "examples" / "hf_trainer.py", "--db", str(db_path), "--steps", "20")
    run = runs(db_path, capsys)["tiny-bert"]
    metrics = run["metrics"]
    assert run["status"] == "finished" and run["project"] == "examples"
    for key in (
        "train/loss",
        "train/grad_norm",
        "train/learning_rate",
        "eval/loss",
        "eval/accuracy",
        "test/loss",
        "test/accuracy",
    ):
        assert key in metrics, key  # type: ignore[operator]
    # every log carries the trainer's step, the x-axis every key is plotted against
    assert metrics["train/loss"]["count"] == 4 and metrics["train/global_step"]["last"] == 20  # type: ignore[index]
    assert metrics["eval/loss"]["count"] == 1 and metrics["test/loss"]["count"] == 1  # type: ignore[index]
    config = run["config"]
    assert config["learning_rate"] == 1e-3 and config["max_steps"] == 20  # type: ignore[index]
    assert config["model"]["hidden_size"] == 32 and config["model"]["num_parameters"] > 0  # type: ignore[index]
    assert run["summary"]["global_step"] == 20 and "train_runtime" in run["summary"]  # type: ignore[index,operator]


@needs("transformers", "accelerate")
def test_huggingface_callback_logs_from_the_main_process_only(db_path: Path) -> None:
    run_preloaded(
        """
        import sys
        from transformers import TrainerState, TrainingArguments
        from tracker.integrations.transformers import TrackerCallback
        args = TrainingArguments(output_dir="/tmp/unused", report_to=[], use_cpu=True)
        state = TrainerState()
        state.is_world_process_zero = False
        callback = TrackerCallback(db=sys.argv[1])
        callback.on_train_begin(args, state, None)
        callback.on_log(args, state, None, logs={"loss": 1.0})
        callback.on_predict(args, state, None, metrics={"test_loss": 1.0})
        callback.on_train_end(args, state, None)
        assert callback.run is None
        """,
        str(db_path),
    )
    assert not db_path.exists()


LIGHTNING = """
import sys, torch, lightning as L
from torch import nn
from tracker.integrations.lightning import TrackerLogger

class Regressor(L.LightningModule):
    def __init__(self, lr=0.01, hidden=16):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    def training_step(self, batch, index):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss
    def validation_step(self, batch, index):
        x, y = batch
        self.log("eval/loss", nn.functional.mse_loss(self.net(x), y))
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

generator = torch.Generator().manual_seed(0)
x = torch.randn(256, 4, generator=generator)
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=32)
logger = TrackerLogger(project="pl", name="regressor", db=sys.argv[1])
trainer = L.Trainer(max_epochs=3, logger=logger, log_every_n_steps=2, enable_checkpointing=False,
                    enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
trainer.fit(Regressor(), data, data)
print(logger.version)
"""


@needs("lightning", "torch")
def test_lightning_logger(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_preloaded(LIGHTNING, str(db_path), timeout=240)
    run = runs(db_path, capsys)["regressor"]
    assert run["id"] == result.stdout.strip().splitlines()[-1]  # version = run id
    assert run["status"] == "finished" and run["config"] == {"lr": 0.01, "hidden": 16}
    metrics = run["metrics"]
    assert metrics["train/loss"]["count"] == 12 and metrics["eval/loss"]["count"] == 3  # type: ignore[index]
    assert metrics["trainer/global_step"]["last"] == 23  # type: ignore[index]


@needs("lightning")
def test_lightning_logs_from_rank_zero_only(db_path: Path) -> None:
    run_preloaded(
        """
        import sys
        from lightning.pytorch.utilities import rank_zero_only
        rank_zero_only.rank = 1
        from tracker.integrations.lightning import TrackerLogger
        logger = TrackerLogger(db=sys.argv[1])
        logger.log_hyperparams({"lr": 1})
        logger.log_metrics({"loss": 1.0}, step=0)
        logger.finalize("failed")
        logger.finalize("success")
        """,
        str(db_path),
    )
    assert not db_path.exists()


KERAS = """
import os, sys
os.environ.setdefault("KERAS_BACKEND", "torch")
import keras, numpy as np
from tracker.integrations.keras import TrackerCallback
x = np.random.default_rng(0).normal(size=(256, 4)).astype("float32")
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)], name="tiny")
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
model.fit(x, x.sum(1, keepdims=True), epochs=3, batch_size=32, validation_split=0.25, verbose=0,
          callbacks=[TrackerCallback(project="keras", name="tiny-keras", db=sys.argv[1])])
"""


@needs("keras", "torch")
def test_keras_callback(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_preloaded(KERAS, str(db_path), timeout=240, env={"KERAS_BACKEND": "torch"})
    run = runs(db_path, capsys)["tiny-keras"]
    metrics = run["metrics"]
    assert run["status"] == "finished"
    assert metrics["batch/loss"]["count"] == 18 and metrics["epoch/val_loss"]["count"] == 3  # type: ignore[index]
    assert metrics["epoch/mae"]["count"] == 3 and metrics["batch/batch_step"]["last"] == 17  # type: ignore[index]
    assert metrics["epoch/epoch"]["last"] == 2  # type: ignore[index]
    config = run["config"]
    assert config["fit"]["epochs"] == 3 and config["model"]["name"] == "tiny"  # type: ignore[index]
    assert config["optimizer"]["learning_rate"] == pytest.approx(0.01)  # type: ignore[index]


def test_wandb_style_script_runs_unchanged(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_python(
        f"import runpy, sys; sys.argv = ['wandb_style.py', '--db', {str(db_path)!r}]; "
        f"runpy.run_path({str(ROOT / 'examples' / 'wandb_style.py')!r}, run_name='__main__')"
    )
    assert "ignoring" not in result.stderr  # entity= and mode="offline" mean nothing here: accepted
    run = runs(db_path, capsys)["wandb-style"]
    assert run["status"] == "finished" and "group:sweep-1" in run["tags"]  # type: ignore[operator]
    assert run["config"]["optimizer"] == "adamw" and run["config"]["lr"] == 1e-3  # type: ignore[index]
    metrics = run["metrics"]
    assert metrics["train/loss"]["count"] == 300  # type: ignore[index]
    # commit=False keeps the step open: eval/loss and eval/accuracy share each epoch's step
    assert metrics["eval/loss"]["step"] == metrics["eval/accuracy"]["step"] == 302  # type: ignore[index]
    assert run["summary"]["final_loss"] > 0  # type: ignore[index]


def test_headless_core_does_not_import_frameworks() -> None:
    result = run_python(
        "import sys, tracker, tracker.integrations; print(sorted(m for m in ('torch', 'transformers', 'lightning', 'keras', 'accelerate') if m in sys.modules))"
    )
    assert result.stdout.strip() == "[]"
