"""Framework scripts written for wandb, with only their imports changed: Lightning's
``WandbLogger`` and wandb's Keras callbacks (``WandbMetricsLogger``, ``WandbModelCheckpoint``,
``WandbEvalCallback``, the legacy ``WandbCallback``) from ``tracker.integration``, driven by
the real frameworks on tiny models built here (nothing is downloaded), in child processes; what
lands in the database is read back through the store."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tracker.db.sqlite.store import SqliteStore
from tracker.models import RunRecord

from .helpers import run_python
from .preloaded import run_preloaded


def needs(*modules: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


def read_runs(db: Path) -> dict[str, RunRecord]:
    reader = SqliteStore.for_reading(db)
    try:
        return {record.name: record for record in reader.read_runs()}
    finally:
        reader.close()


# --- Lightning ------------------------------------------------------------------------------

LIGHTNING = """
import os, sys
import numpy as np, torch, lightning as L
from torch import nn
from lightning.pytorch.callbacks import ModelCheckpoint
import tracker as wandb                                  # was: import wandb
from tracker.integration.lightning import WandbLogger    # was: from lightning.pytorch.loggers import WandbLogger

class Regressor(L.LightningModule):
    def __init__(self, lr=0.05, hidden=8):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    def forward(self, x):
        return self.net(x)
    def training_step(self, batch, index):
        loss = nn.functional.mse_loss(self(batch[0]), batch[1])
        self.log("train/loss", loss)
        return loss
    def validation_step(self, batch, index):
        self.log("val/loss", nn.functional.mse_loss(self(batch[0]), batch[1]))
    def on_validation_epoch_end(self):
        if self.trainer.sanity_checking:
            return
        images = [np.full((8, 8, 3), 60 * i, dtype=np.uint8) for i in range(2)]
        self.logger.log_image("samples", images, caption=["dark", "light"])
        self.logger.log_table("predictions", columns=["x", "y"], data=[[1, 2.0], [3, 4.0]])
    def test_step(self, batch, index):
        self.log("test/loss", nn.functional.mse_loss(self(batch[0]), batch[1]))
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

x = torch.randn(128, 4, generator=torch.Generator().manual_seed(0))
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=32)

def trainer(logger, epochs=2):
    return L.Trainer(max_epochs=epochs, logger=logger, log_every_n_steps=1, enable_progress_bar=False,
                     enable_model_summary=False, accelerator="cpu",
                     callbacks=[ModelCheckpoint(monitor="val/loss")])

db, save_dir = sys.argv[1], sys.argv[2]
logger = WandbLogger(project="pl-wandb", name="wandb-logger", save_dir=save_dir, log_model=True,
                     offline=False, id="wblog01", prefix="", group="sweep-a", tags=["lightning"],
                     config={"data": "sums"}, db=db)
assert logger.version == "wblog01" and logger.name == "pl-wandb" and logger.save_dir == save_dir
model = Regressor()
logger.watch(model, log="all", log_freq=2)
logger.experiment.config.update({"batch_size": 32})
first = trainer(logger)
first.fit(model, data, data)
first.test(model, data)
logger.log_text("notes", columns=["text"], data=[["fit then test"]])
assert os.path.dirname(first.checkpoint_callback.best_model_path) == os.path.join(save_dir, "pl-wandb", "wblog01", "checkpoints")
WandbLogger(experiment=logger.experiment, prefix="extra").log_metrics({"x": 1.0}, step=9)
wandb.finish()

# a requeued job: the same id continues the run (WandbLogger's resume="allow")
again = WandbLogger(project="pl-wandb", name="wandb-logger", version="wblog01", save_dir=save_dir, db=db)
trainer(again).test(model, data)
assert again.experiment.resumed and again.experiment.id == "wblog01"
"""


@needs("lightning", "torch", "numpy")
def test_a_lightning_script_with_wandb_logger(db_path: Path, tmp_path: Path) -> None:
    result = run_preloaded(LIGHTNING, str(db_path), str(tmp_path / "logs"), timeout=180)
    runs = read_runs(db_path)
    assert list(runs) == ["wandb-logger"]
    run = runs["wandb-logger"]
    assert run.id == "wblog01" and run.project == "pl-wandb" and run.status == "finished"
    assert run.tags == ["lightning", "group:sweep-a"]
    assert run.config == {"data": "sums", "batch_size": 32, "lr": 0.05, "hidden": 8}
    metrics = run.metrics
    assert metrics["train/loss"].count == 8 and metrics["val/loss"].count == 2
    assert metrics["test/loss"].count == 2  # the first test, then the resumed job's
    assert metrics["trainer/global_step"].max == 9 and metrics["extra-x"].count == 1
    assert run.step_metric("train/loss") == run.step_metric("test/loss") == "trainer/global_step"
    media = run.media
    assert media["samples[0]"]["kind"] == "image" and media["samples[0]"]["count"] == 2
    assert media["predictions"] == {**media["predictions"], "kind": "table", "count": 2}
    assert media["notes"]["kind"] == "table"
    assert media["parameters/net.0.weight"]["kind"] == "histogram"  # watch(log="all")
    assert media["gradients/net.0.weight"]["count"] == 4  # 8 steps, every 2nd
    assert any(event.kind == "resumed" for event in run.events)
    assert "log_model=True) is accepted" in result.stderr
    assert (tmp_path / "logs" / "pl-wandb" / "wblog01" / "checkpoints").is_dir()


# --- Keras ----------------------------------------------------------------------------------

KERAS = """
import os, sys
os.environ.setdefault("KERAS_BACKEND", "torch")
import keras, numpy as np
import tracker as wandb    # was: import wandb
from tracker.integration.keras import (    # was: from wandb.integration.keras import (
    WandbCallback, WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint)

db, out = sys.argv[1], sys.argv[2]
x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32")
y = x.sum(1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)], name="tiny")
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])

wandb.init(project="keras-wandb", name="metrics-logger", config={"epochs": 3}, db=db)
logger = WandbMetricsLogger(log_freq=5)
model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, verbose=0, callbacks=[
    logger,
    WandbModelCheckpoint(os.path.join(out, "model-{epoch:02d}.keras"), monitor="val_loss", save_best_only=True),
    WandbModelCheckpoint(os.path.join(out, "last"), save_weights_only=True, monitor="loss"),  # a TF-era path
])
loss, mae = model.evaluate(x, y, verbose=0, callbacks=[logger])
wandb.log({"test/loss": loss, "test/mae": mae})
wandb.finish()

class PredictionTable(WandbEvalCallback):
    def __init__(self, data, data_table_columns, pred_table_columns):
        super().__init__(data_table_columns, pred_table_columns)
        self.x, self.y = data
    def add_ground_truth(self, logs=None):
        for i, (a, b) in enumerate(zip(self.x, self.y)):
            self.data_table.add_data(i, float(a[0]), float(b[0]))
    def add_model_predictions(self, epoch, logs=None):
        preds = self.model.predict(self.x, verbose=0)
        for i in self.data_table_ref.get_index():
            row = self.data_table_ref.data[i]
            self.pred_table.add_data(epoch, row[0], row[1], row[2], float(preds[i][0]))

wandb.init(project="keras-wandb", name="legacy", db=db)
model.fit(x, y, epochs=2, batch_size=32, validation_data=(x[:16], y[:16]), verbose=0, callbacks=[
    WandbCallback(monitor="val_loss", save_model=False, log_weights=True),
    PredictionTable((x[:4], y[:4]), ["idx", "x0", "y"], ["epoch", "idx", "x0", "y", "pred"]),
])
wandb.finish()
"""


@needs("keras", "torch", "numpy")
def test_a_keras_script_with_wandbs_callbacks(db_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "checkpoints"
    result = run_preloaded(
        KERAS, str(db_path), str(out), timeout=180, env={"KERAS_BACKEND": "torch"}
    )
    runs = read_runs(db_path)
    assert sorted(runs) == ["legacy", "metrics-logger"]

    run = runs["metrics-logger"]
    assert run.status == "finished" and run.config["epochs"] == 3
    metrics = run.metrics
    # 96 training samples in batches of 16: 6 batches an epoch, batches 0 and 5 logged (log_freq=5)
    assert metrics["batch/loss"].count == 6 and metrics["batch/mae"].count == 6
    assert metrics["batch/batch_step"].last == 17 and metrics["batch/learning_rate"].count == 6
    assert metrics["epoch/loss"].count == metrics["epoch/val_loss"].count == 3
    assert metrics["epoch/epoch"].last == 2
    assert metrics["epoch/learning_rate"].last == pytest.approx(0.01)
    assert metrics["eval/loss"].count == 1 and metrics["test/loss"].count == 1
    assert run.step_metric("batch/loss") == "batch/batch_step"
    assert run.step_metric("epoch/val_loss") == "epoch/epoch"
    # save_best_only: the first epoch always, later ones when val_loss improved; the TF-era
    # weights path got Keras 3's ending
    assert (out / "model-01.keras").is_file() and (out / "last.weights.h5").is_file()
    assert result.stderr.count("WandbModelCheckpoint:") == 1  # one warning, for both callbacks

    legacy = runs["legacy"]
    assert legacy.metrics["epoch/val_loss"].count == 2 and "batch/loss" not in legacy.metrics
    best = min(legacy.metrics["epoch/val_loss"].min, legacy.metrics["epoch/val_loss"].last)
    assert legacy.summary["best_val_loss"] == pytest.approx(best)
    assert legacy.summary["best_epoch"] in (0, 1)
    assert legacy.media["val_data"]["kind"] == "table" and legacy.media["val_data"]["count"] == 1
    assert legacy.media["eval_data"]["count"] == 2  # one prediction table per epoch
    assert "WandbCallback: log_weights accepted and ignored" in result.stderr


# --- the modules ----------------------------------------------------------------------------


@needs("lightning", "keras", "transformers", "torch")
def test_wandbs_module_names_re_export_the_adapters() -> None:
    run_python(  # a fresh interpreter: importing the module names imports no framework
        """
        import sys
        import tracker.integration
        assert not {"torch", "keras", "lightning", "transformers"} & set(sys.modules)
        """
    )
    run_preloaded(
        """
        from tracker.integration.keras import WandbCallback, WandbEvalCallback, WandbMetricsLogger, WandbModelCheckpoint
        from tracker.integration.lightning import WandbLogger
        from tracker.integration.transformers import WandbCallback as HFCallback
        import tracker.integrations.keras as k, tracker.integrations.lightning as l, tracker.integrations.transformers as t
        assert WandbMetricsLogger is k.WandbMetricsLogger and WandbModelCheckpoint is k.WandbModelCheckpoint
        assert WandbEvalCallback is k.WandbEvalCallback and WandbCallback is k.WandbCallback
        assert WandbLogger is l.WandbLogger and issubclass(WandbLogger, l.TrackerLogger)
        assert HFCallback is t.TrackerCallback is t.WandbCallback
        import inspect
        from lightning.pytorch.loggers import WandbLogger as Lightnings
        ours, theirs = inspect.signature(WandbLogger).parameters, inspect.signature(Lightnings).parameters
        assert list(ours) == list(theirs), (list(ours), list(theirs))
        assert all(ours[n].default == theirs[n].default for n in ours if n != "kwargs")
        """,
        env={"KERAS_BACKEND": "torch"},
        timeout=120,
    )


def test_a_config_given_to_an_adapter_is_the_runs_config(db_path: Path) -> None:
    """``TrackerLogger(config=...)``/``WandbLogger(config=...)``: an init option like any other."""
    from tracker.integrations.common import RunSlot

    slot = RunSlot(None, {"db": db_path, "config": {"lr": 5, "data": "x"}}, "test")
    run = slot.acquire(lambda: {"lr": 1, "epochs": 3})
    assert run.config == {"lr": 5, "data": "x", "epochs": 3}  # the user's value wins
