"""Each framework's whole lifecycle lands in one run: training, then evaluation, testing and
prediction, with the framework's step as the step metric; the run is running while the process
lives and finished when it ends (or when the user finishes it), failed when a stage failed.

The frameworks run for real in child processes, on tiny models and data built here (nothing is
downloaded). Each child stops at ``READY <run id>`` until told to go on, so the run can be read
while its process is alive; what the child asserts about itself fails the test through its
exit status.
"""

from __future__ import annotations

import importlib.util
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import tracker
from tracker.db.sqlite.store import SqliteStore
from tracker.integrations.common import RunSlot
from tracker.models import RunRecord
from tracker.recorder import active_runs

from .helpers import ROOT
from .preloaded import run_preloaded, start_preloaded


def needs(*modules: str) -> pytest.MarkDecorator:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


def read_runs(db: Path) -> list[RunRecord]:
    st = SqliteStore.for_reading(db)
    try:
        return st.read_runs()
    finally:
        st.close()


def read_run(db: Path, run_id: str) -> RunRecord:
    st = SqliteStore.for_reading(db)
    try:
        record = st.read_run(run_id)
    finally:
        st.close()
    assert record is not None, run_id
    return record


# A child calls pause(run) where the parent reads the run: it commits what was logged, says
# READY with the run's id, and waits for a line on stdin.
PAUSE = """
import sys as _sys
def pause(run):
    run.flush()
    print("READY", run.id, flush=True)
    _sys.stdin.readline()
"""


def at_pauses(
    code: str, db: Path, *, expect_rc: int = 0, env: dict[str, str] | None = None
) -> tuple[list[RunRecord], RunRecord, str]:
    """Run ``code`` (with ``pause`` defined) in a child: the run as read at each pause, the run
    after the child exited, and the child's stderr."""
    child = start_preloaded(PAUSE + code, str(db), env=env, stdin=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None and child.stderr is not None
    lines: queue.Queue[str] = queue.Queue()
    errors: list[str] = []
    threads = [
        threading.Thread(target=lambda: [lines.put(line) for line in child.stdout], daemon=True),
        threading.Thread(target=lambda: errors.extend(child.stderr), daemon=True),
    ]
    for thread in threads:
        thread.start()
    seen: list[RunRecord] = []
    run_id = None
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if child.poll() is not None and lines.empty() and not threads[0].is_alive():
                    break
                continue
            if line.startswith("READY "):
                run_id = line.split()[1]
                seen.append(read_run(db, run_id))
                child.stdin.write("\n")
                child.stdin.flush()
        rc = child.wait(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    for thread in threads:
        thread.join(timeout=10)
    stderr = "".join(errors)
    assert rc == expect_rc, f"child exited {rc}:\n{stderr[-4000:]}"
    assert run_id is not None, f"the child never paused:\n{stderr[-4000:]}"
    return seen, read_run(db, run_id), stderr


def defs(record: RunRecord) -> dict[str, str | None]:
    return {d.name: d.step_metric for d in record.metric_defs}


# --- Hugging Face Trainer ---------------------------------------------------------------------

TRAINER = """
import sys, tempfile, torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
from tracker.integrations.transformers import TrackerCallback

class Task(torch.utils.data.Dataset):
    def __init__(self, size, seed):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(5, 64, (size, 8), generator=generator)
        self.labels = (self.ids[:, 0] % 2 == 0).long()
    def __len__(self):
        return len(self.ids)
    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}

def accuracy(prediction):
    return {"accuracy": float((prediction.predictions.argmax(-1) == prediction.label_ids).mean())}

def trainer(callback, steps=10):
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, num_labels=2, max_position_embeddings=16)
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), run_name="hf-life", max_steps=steps,
                             per_device_train_batch_size=16, logging_steps=5, save_strategy="no",
                             report_to=[], use_cpu=True, disable_tqdm=True, learning_rate=1e-3)
    return Trainer(model=BertForSequenceClassification(config), args=args,
                   train_dataset=Task(256, 0), eval_dataset=Task(64, 1),
                   compute_metrics=accuracy, callbacks=[callback])
"""


@needs("transformers", "accelerate", "torch")
def test_trainer_train_then_evaluate_and_predict_land_in_one_run(db_path: Path) -> None:
    (live,), ended, _ = at_pauses(
        TRAINER
        + """
callback = TrackerCallback(project="life", db=sys.argv[1])
t = trainer(callback)
t.train()
t.evaluate()
t.predict(Task(64, 2))
assert callback.run.step >= 0 and callback.run in __import__("tracker").recorder.active_runs()
pause(callback.run)
""",
        db_path,
    )
    assert [r.id for r in read_runs(db_path)] == [live.id]
    assert live.status == "running" and ended.status == "finished" and ended.name == "hf-life"
    metrics = live.metrics
    assert metrics["train/loss"].count == 2 and metrics["eval/loss"].count == 1
    assert {"eval/accuracy", "test/loss", "test/accuracy"} <= set(metrics)
    assert metrics["train/global_step"].last == 10  # evaluation after training: at its last step
    assert defs(live) == {"train/global_step": None, "*": "train/global_step"}
    assert live.step_metric("eval/loss") == live.step_metric("test/loss") == "train/global_step"
    assert live.config["learning_rate"] == 1e-3 and live.summary["global_step"] == 10


@needs("transformers", "accelerate", "torch")
def test_trainer_logs_into_the_users_run_and_never_finishes_it(db_path: Path) -> None:
    (live,), ended, _ = at_pauses(
        TRAINER
        + """
import tracker
run = tracker.init(project="mine", name="user-run", config={"learning_rate": 5.0}, db=sys.argv[1])
callback = TrackerCallback()
t = trainer(callback, steps=5)
t.train()
t.evaluate()
assert callback.run is run and run in tracker.recorder.active_runs()  # not finished by Trainer
tracker.log({"after/trainer": 1.0})
tracker.finish()
pause(run)
""",
        db_path,
    )
    assert live.status == "finished" and live.name == "user-run" and live.project == "mine"
    assert len(read_runs(db_path)) == 1 and ended.status == "finished"
    assert live.config["learning_rate"] == 5.0  # the user's value stays; the rest is added
    assert live.config["max_steps"] == 5
    assert {"train/loss", "eval/loss", "after/trainer"} <= set(live.metrics)


# --- Lightning ------------------------------------------------------------------------------

LIGHTNING = """
import sys, torch, lightning as L
from torch import nn
from tracker.integrations.lightning import TrackerLogger

class Regressor(L.LightningModule):
    def __init__(self, lr=0.05, hidden=8, fail_at=None):
        super().__init__()
        self.save_hyperparameters()
        self.net = nn.Sequential(nn.Linear(4, hidden), nn.ReLU(), nn.Linear(hidden, 1))
    def training_step(self, batch, index):
        if self.hparams.fail_at is not None and self.global_step == self.hparams.fail_at:
            raise RuntimeError("boom at step %d" % self.global_step)
        loss = nn.functional.mse_loss(self.net(batch[0]), batch[1])
        self.log("train/loss", loss)
        return loss
    def validation_step(self, batch, index):
        self.log("val/loss", nn.functional.mse_loss(self.net(batch[0]), batch[1]))
    def test_step(self, batch, index):
        self.log("test/loss", nn.functional.mse_loss(self.net(batch[0]), batch[1]))
    def predict_step(self, batch, index):
        return self.net(batch[0])
    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

x = torch.randn(128, 4, generator=torch.Generator().manual_seed(0))
data = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=32)

def trainer(logger, epochs=1):
    return L.Trainer(max_epochs=epochs, logger=logger, log_every_n_steps=1, enable_checkpointing=False,
                     enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
"""


@needs("lightning", "torch")
def test_lightning_fit_twice_validate_test_predict_land_in_one_run(db_path: Path) -> None:
    (live,), ended, _ = at_pauses(
        LIGHTNING
        + """
logger = TrackerLogger(project="pl", name="pl-life", db=sys.argv[1])
model = Regressor()
first = trainer(logger, epochs=2)
first.fit(model, data, data)
second = trainer(logger)  # a new Trainer, the same logger: its steps start again at 0
second.fit(model, data, data)
second.validate(model, data)
second.test(model, data)
second.predict(model, data)
assert logger.experiment.id == logger.version
pause(logger.experiment)
""",
        db_path,
    )
    assert [r.id for r in read_runs(db_path)] == [live.id]
    assert live.status == "running" and ended.status == "finished"
    metrics = live.metrics
    assert metrics["train/loss"].count == 12  # 8 steps of the first fit + 4 of the second
    assert metrics["val/loss"].count == 4 and metrics["test/loss"].count == 1  # 3 epochs + validate
    assert metrics["trainer/global_step"].max == 7
    assert defs(live) == {"trainer/global_step": None, "*": "trainer/global_step"}
    assert live.step_metric("test/loss") == "trainer/global_step"
    assert live.config == {"lr": 0.05, "hidden": 8, "fail_at": None}


@needs("lightning", "torch")
def test_a_failed_lightning_stage_marks_the_run_failed(db_path: Path, tmp_path: Path) -> None:
    caught_db, uncaught_db = db_path, tmp_path / "uncaught.db"
    caught = (
        LIGHTNING
        + """
logger = TrackerLogger(project="pl", name="caught", db=sys.argv[1])
try:
    trainer(logger).fit(Regressor(fail_at=2), data, data)
except RuntimeError:
    pass  # the script goes on: a test after the failure still lands in the run
trainer(logger).test(Regressor(), data)
pause(logger.experiment)
"""
    )
    uncaught = (
        LIGHTNING
        + """
logger = TrackerLogger(project="pl", name="uncaught", db=sys.argv[1])
trainer(logger).fit(Regressor(fail_at=2), data, data)
"""
    )
    # both children at once: each spends most of its time importing torch and Lightning
    other = start_preloaded(uncaught, str(uncaught_db))
    (live,), ended, _ = at_pauses(caught, caught_db)
    assert other.wait(timeout=180) == 1
    assert live.status == "running" and "test/loss" in live.metrics
    assert live.metrics["train/loss"].count == 2
    assert ended.status == "failed"  # the script caught the exception and exited 0
    (crashed,) = read_runs(uncaught_db)
    assert crashed.status == "failed" and "RuntimeError: boom at step 2" in (crashed.error or "")


# --- Keras ----------------------------------------------------------------------------------

KERAS = """
import os, sys
os.environ.setdefault("KERAS_BACKEND", "torch")
import keras, numpy as np
from tracker.integrations.keras import TrackerCallback
x = np.random.default_rng(0).normal(size=(128, 4)).astype("float32")
y = x.sum(1, keepdims=True)
model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)], name="tiny")
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
"""


@needs("keras", "torch")
def test_keras_fit_then_evaluate_and_predict_land_in_one_run(db_path: Path) -> None:
    (live,), ended, _ = at_pauses(
        KERAS
        + """
callback = TrackerCallback(project="keras", name="keras-life", db=sys.argv[1])
model.fit(x, y, epochs=3, batch_size=32, validation_split=0.25, verbose=0, callbacks=[callback])
model.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[callback])  # fit again: same run
result = model.evaluate(x, y, verbose=0, callbacks=[callback], return_dict=True)
model.predict(x, verbose=0, callbacks=[callback])
assert callback.run in __import__("tracker").recorder.active_runs()
pause(callback.run)
""",
        db_path,
        env={"KERAS_BACKEND": "torch"},
    )
    assert [r.id for r in read_runs(db_path)] == [live.id]
    assert live.status == "running" and ended.status == "finished"
    metrics = live.metrics
    assert metrics["batch/loss"].count == 3 * 3 + 4 and metrics["batch/batch_step"].last == 12
    assert metrics["epoch/val_loss"].count == 3 and metrics["epoch/loss"].count == 4
    assert metrics["eval/loss"].count == 1 and "eval/mae" in metrics  # evaluate(), after fit
    assert metrics["epoch/learning_rate"].last == pytest.approx(0.01)
    assert live.step_metric("batch/loss") == "batch/batch_step"
    assert live.step_metric("epoch/val_loss") == live.step_metric("eval/loss") == "epoch/epoch"
    assert live.config["model"]["name"] == "tiny"


# --- Accelerate -----------------------------------------------------------------------------

ACCELERATE = """
import sys, torch
from torch import nn
from accelerate import Accelerator
import tracker
from tracker.integrations.accelerate import AccelerateTracker

accelerator = Accelerator(cpu=True, log_with=AccelerateTracker(run_name="acc-life"))
accelerator.init_trackers("acc-project", config={"lr": 0.05, "epochs": 2},
                          init_kwargs={"tracktui": {"db": sys.argv[1], "tags": ["accelerate"]}})
x = torch.randn(128, 4, generator=torch.Generator().manual_seed(0))
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True)), batch_size=32)
model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
step = 0
for epoch in range(2):
    for xb, yb in loader:
        loss = nn.functional.mse_loss(model(xb), yb)
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        accelerator.log({"train/loss": loss.item(), "train/epoch": epoch, "note": "text"}, step=step)
        step += 1
    accelerator.log({"eval": {"loss": loss.item()}}, step=step - 1)
run = accelerator.get_tracker("tracktui", unwrap=True)
assert isinstance(run, tracker.Run) and accelerator.get_tracker("tracktui").tracker is run
pause(run)                  # training is over, the run still records
accelerator.end_training()  # the user's "finish"
pause(run)
"""


@needs("accelerate", "torch")
def test_accelerate_tracker_records_a_real_loop(db_path: Path) -> None:
    (live, after_end), ended, _ = at_pauses(ACCELERATE, db_path)
    assert live.status == "running" and after_end.status == "finished"
    assert ended.status == "finished" and len(read_runs(db_path)) == 1
    assert live.name == "acc-life" and live.project == "acc-project"  # init_trackers' project
    assert live.tags == ["accelerate"] and live.config == {"lr": 0.05, "epochs": 2}
    assert live.metrics["train/loss"].count == 8 and live.metrics["eval/loss"].count == 2
    assert live.step == 7 and "note" not in live.metrics
    assert live.summary["note"] == "text"  # text is wandb's: the summary keeps its latest value


WANDB_NAMED = """
import sys
import numpy as np
from accelerate import Accelerator
import tracker as wandb
from tracker.integrations.accelerate import AccelerateTracker

accelerator = Accelerator(cpu=True, log_with=AccelerateTracker(name="wandb"))
accelerator.init_trackers("diffusion", config={"lr": 1e-4},
                          init_kwargs={"wandb": {"db": sys.argv[1], "name": "ddpm"}})
accelerator.log({"loss": 0.5}, step=0)
samples = [np.full((8, 8, 3), 40 * i, dtype=np.uint8) for i in range(3)]
accelerator.get_tracker("wandb").log({"test_samples": [wandb.Image(s) for s in samples]}, step=0)
for t in accelerator.trackers:
    if t.name == "wandb":
        t.log({"validation": [wandb.Image(samples[0], caption="0: a prompt")]})
accelerator.end_training()
"""


@needs("accelerate", "numpy")
def test_a_wandb_named_tracker_serves_scripts_that_look_wandb_up(db_path: Path) -> None:
    """Scripts written for wandb (diffusers' examples) find their tracker by wandb's name and
    log wandb.Image lists through it; with ``name="wandb"`` the one changed line is log_with."""
    run_preloaded(WANDB_NAMED, str(db_path))
    (record,) = read_runs(db_path)
    assert record.name == "ddpm" and record.project == "diffusion" and record.status == "finished"
    assert set(record.media) == {"test_samples[0]", "test_samples[1]", "test_samples[2]",
                                 "validation[0]"}  # fmt: skip
    assert record.metrics["loss"].count == 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
@needs("accelerate", "torch")
def test_accelerate_main_process_only_records_one_run(db_path: Path) -> None:
    """The example under torchrun with two processes: one run, written by the main process."""
    example = ROOT / "examples" / "accelerate_loop.py"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    command += ["--master_addr", "127.0.0.1", "--master_port", str(free_port())]
    result = subprocess.run(
        [*command, str(example), "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TRACKTUI_SYSTEM_METRICS": "0"},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    (run,) = read_runs(db_path)
    assert run.status == "finished" and run.config["processes"] == 2
    # 512 samples in batches of 32, split over two processes: 8 steps an epoch, 3 epochs
    assert run.metrics["train/loss"].count == 24 and run.metrics["eval/loss"].count == 3


# --- the lifecycle rule, in this process ------------------------------------------------------


def test_a_run_the_adapter_starts_lives_until_the_user_finishes_it(db_path: Path) -> None:
    slot = RunSlot(None, {"db": db_path, "name": "mine"}, "test")
    setups: list[tracker.Run] = []
    run = slot.acquire(lambda: {"lr": 1}, setups.append)
    assert slot.owned and run.name == "mine" and run.config == {"lr": 1}
    assert slot.acquire(setup=setups.append) is run and setups == [run]  # set up once
    run.finish()  # the user finishes it: the next stage starts another
    again = slot.acquire(setup=setups.append)
    assert again is not run and again in active_runs() and setups == [run, again]
    slot.finish()  # Accelerate's end_training: finishes a run the adapter started
    assert again not in active_runs()


def test_a_users_run_is_used_and_never_finished(db_path: Path) -> None:
    run = tracker.init(db=db_path, name="user", config={"lr": 5})
    adopted = RunSlot(None, {}, "test")
    assert adopted.acquire(lambda: {"lr": 1, "epochs": 3}) is run and not adopted.owned
    assert run.config == {"lr": 5, "epochs": 3}  # filled in, never overwritten
    adopted.failed()
    adopted.release()
    adopted.finish()
    assert run in active_runs()

    other = tracker.init(db=db_path, name="other", reinit="create_new")
    given = RunSlot(other, {}, "test")
    assert given.acquire() is other and not given.owned
    given.finish()
    given.release()
    assert other in active_runs() and given.acquire() is other


def test_adopting_the_active_run_names_the_unused_options(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(db=db_path, name="user")
    assert RunSlot(None, {"project": "elsewhere"}, "TrackerLogger").acquire() is run
    err = capsys.readouterr().err
    assert "TrackerLogger: logging into the active run user" in err and "(project)" in err
