"""``tracktui import tensorboard`` and ``add_hparams``: the timestamp-named subfolder that torch's
and tensorboardX's ``SummaryWriter.add_hparams`` write is the config and summary of the run
whose folder holds it, not a run of its own; the layouts where it is not (a parent without
event files, TensorBoard's experiment-over-sessions layout, a nested run with curves)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.db import open_store
from tracker.importers.tensorboard import _shortest, run_id
from tracker.models import RunRecord

from .import_helpers import run_import

HOSTILE = "[bold]ü<script>x</script>"


def runs_by_name(db: Path) -> dict[str, RunRecord]:
    store = open_store(db)
    try:
        return {run.name: run for run in store.read_runs()}
    finally:
        store.close()


def tb_id(folder: Path) -> str:
    return run_id(sorted(folder.glob("events.out.tfevents.*")))


def subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def torch_experiment(folder: Path, lr: float, calls: int = 1) -> None:
    """Training curves, then ``add_hparams`` (``calls`` times: lr, then lr*10, ...)."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(folder)) as writer:
        for step in range(20):
            writer.add_scalar("train/loss", 1.0 / (step + 1), step)
        for call in range(calls):
            hparams: dict[str, object] = {"lr": lr * 10**call, HOSTILE: "adam"}
            if call == 0:
                hparams["only_first"] = "yes"
            writer.add_hparams(hparams, {"hparam/accuracy": 0.5 + call / 10})


def test_torch_add_hparams_is_the_config_and_summary_of_its_run(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logdir = tmp_path / "tblogs"
    torch_experiment(logdir / "exp" / "lr0.01", 0.01)
    torch_experiment(logdir / "exp" / "lr0.1", 0.1, calls=3)
    assert len(subfolders(logdir / "exp" / "lr0.1")) == 3  # one timestamp folder per call
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    out = capsys.readouterr().out
    assert "2 run(s): 2 imported or updated" in out
    runs = runs_by_name(db_path)
    assert set(runs) == {"exp/lr0.01", "exp/lr0.1"}  # not 2 + 4 timestamp-named runs
    first, second = runs["exp/lr0.01"], runs["exp/lr0.1"]
    assert first.id == tb_id(logdir / "exp" / "lr0.01")  # the id is still the parent's
    assert first.config == {"lr": 0.01, HOSTILE: "adam", "only_first": "yes"}
    assert first.summary == {"hparam/accuracy": 0.5}  # as logged, not float32's 0.5000000x
    assert first.metrics["train/loss"].count == 20 and set(first.metrics) == {"train/loss"}
    # three calls: on a key they share the latest wins; a key only the first had stays
    assert second.config["lr"] == pytest.approx(10.0) and second.config["only_first"] == "yes"
    assert second.summary == {"hparam/accuracy": 0.7}
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    assert "0 imported or updated, 2 already up to date" in capsys.readouterr().out
    assert runs_by_name(db_path) == runs


def test_tensorboardx_add_hparams_is_merged_the_same_way(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tensorboardX

    logdir = tmp_path / "logs"
    writer = tensorboardX.SummaryWriter(str(logdir / "tbx"))
    for step in range(5):
        writer.add_scalar("eval/loss", 2.0 - step * 0.1, step)
    writer.add_hparams({"bs": 32, "lr": 0.3}, {"hparam/acc": math.nan, "hparam/f1": 0.25})
    writer.close()
    assert len(subfolders(logdir / "tbx")) == 1
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    runs = runs_by_name(db_path)
    assert set(runs) == {"tbx"}
    run = runs["tbx"]
    assert run.id == tb_id(logdir / "tbx") and run.config == {"bs": 32, "lr": 0.3}
    assert math.isnan(run.summary["hparam/acc"]) and run.summary["hparam/f1"] == 0.25
    assert run.metrics["eval/loss"].count == 5


def test_hparams_folder_without_a_parent_run_is_a_run_named_after_the_parent(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = tmp_path / "written"
    torch_experiment(written / "run1", 0.01)
    (stamp,) = subfolders(written / "run1")
    logdir = tmp_path / "copied"
    (logdir / "run1").mkdir(parents=True)
    shutil.copytree(stamp, logdir / "run1" / stamp.name)  # only the hparams folder
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    runs = runs_by_name(db_path)
    assert set(runs) == {"run1"}
    assert runs["run1"].id == tb_id(stamp) and runs["run1"].config["lr"] == 0.01
    assert set(runs["run1"].metrics) == {"hparam/accuracy"}  # its own run: a series, as before


def test_an_experiment_folder_over_sessions_and_nested_runs_are_not_merged(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    logdir = tmp_path / "logs"
    experiment = logdir / "tuning"  # TensorBoard's HParams layout: the experiment on top,
    with SummaryWriter(str(experiment)) as writer:  # one session per subfolder
        exp, _ssi, _sei = hparams({"lr": 0.1}, {"accuracy": 0.0})
        writer.file_writer.add_summary(exp)
    for index, lr in enumerate((0.1, 0.2)):
        with SummaryWriter(str(experiment / f"run-{index}")) as writer:
            _exp, ssi, sei = hparams({"lr": lr}, {"accuracy": 0.0})
            writer.file_writer.add_summary(ssi)
            writer.file_writer.add_summary(sei)
            writer.add_scalar("accuracy", lr * 2, 1)
    parent = logdir / "parent"  # a run with a nested run of its own that logs hparams too
    with SummaryWriter(str(parent)) as writer:
        writer.add_scalar("loss", 1.0, 0)
    with SummaryWriter(str(parent / "child")) as writer:
        _exp, ssi, _sei = hparams({"lr": 0.5}, {"loss": 0.0})
        writer.file_writer.add_summary(ssi)
        for step in range(3):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    runs = runs_by_name(db_path)
    assert {"tuning/run-0", "tuning/run-1", "parent", "parent/child"} <= set(runs)
    assert runs["tuning/run-1"].config == {"lr": 0.2}
    assert runs["tuning/run-1"].metrics["accuracy"].last == pytest.approx(0.4)
    assert runs["parent"].config == {} and runs["parent/child"].config == {"lr": 0.5}
    assert runs["parent/child"].metrics["loss"].count == 3


def test_a_lone_folder_not_named_by_the_time_keeps_its_path(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import hparams

    logdir = tmp_path / "logs"  # Lightning's layout: hparams in the run's own folder, and a
    with SummaryWriter(str(logdir / "lightning_logs" / "version_0")) as writer:  # short run
        _exp, ssi, _sei = hparams({"lr": 0.5}, {"val/acc": 0.0})
        writer.file_writer.add_summary(ssi)
        writer.add_scalar("val/acc", 0.75, 0)
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    runs = runs_by_name(db_path)
    assert set(runs) == {"lightning_logs/version_0"}
    assert runs["lightning_logs/version_0"].config == {"lr": 0.5}


def _digits(number: float) -> int:
    """Significant digits of a float's shortest repr (1e15 and 999999986991104.0: 1 and 15)."""
    mantissa = repr(number).lstrip("-").split("e")[0].replace(".", "").strip("0")
    return max(1, len(mantissa))


@given(st.floats(width=32) | st.floats())
def test_a_summary_value_is_the_float32_as_logged_or_kept(value: float) -> None:
    short = _shortest(value)
    if math.isnan(value):
        assert math.isnan(short)
    elif abs(value) <= float(np.finfo(np.float32).max) and float(np.float32(value)) == value:
        assert np.float32(short) == np.float32(value)
        assert _digits(short) <= _digits(value)  # the short decimal, never a longer one
    else:
        assert short == value
