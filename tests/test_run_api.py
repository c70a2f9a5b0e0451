"""The run lifecycle of the public API: init, config, summary, finish, context manager."""

from __future__ import annotations

import argparse
import dataclasses
import os
import stat
from pathlib import Path

import numpy as np
import pytest

import tracker
from tracker.db.sqlite.store import SqliteStore
from tracker.models import FAILED, FINISHED, LIVE

from .helpers import only_run


def test_init_records_run_and_prints_where(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(
        project="llm-twin",
        name="lora-r16",
        config={"lr": 3e-4, "batch_size": 16},
        tags=["lora"],
        db=db_path,
    )
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "lora-r16" in err[0] and str(db_path) in err[0] and f"tracktui --db {db_path}" in err[0]
    record = only_run(db_path)
    assert (record.name, record.project, record.status, record.tags) == (
        "lora-r16",
        "llm-twin",
        LIVE,
        ["lora"],
    )
    assert record.config == {"lr": 3e-4, "batch_size": 16}
    assert record.pid == os.getpid()
    run.finish()
    record = only_run(db_path)
    assert record.status == FINISHED and record.finished_at is not None and record.exit_code == 0


def test_config_and_summary_are_persisted(db_path: Path) -> None:
    run = tracker.init(config={"lr": 1e-3, "optimizer": {"name": "adamw"}}, db=db_path, quiet=True)
    run.config.update({"warmup": 100})
    run.config["scale"] = np.float32(0.5)
    run.config.dropout = 0.1
    assert run.config.lr == 1e-3
    run.summary["best_eval_loss"] = 1.31
    run.summary["note"] = "[bold]fine[/]"
    run.log({"loss": 1.0})
    run.finish()
    record = only_run(db_path)
    assert record.config == {
        "lr": 1e-3,
        "optimizer": {"name": "adamw"},
        "warmup": 100,
        "scale": 0.5,
        "dropout": 0.1,
    }
    assert record.summary == {"best_eval_loss": 1.31, "note": "[bold]fine[/]"}


def test_config_from_namespace_and_dataclass(db_path: Path, tmp_path: Path) -> None:
    @dataclasses.dataclass
    class Hyper:
        lr: float = 0.1
        layers: tuple[int, ...] = (64, 64)

    run = tracker.init(config=argparse.Namespace(lr=0.01, epochs=3), db=db_path, quiet=True)
    run.finish()
    assert only_run(db_path).config == {"lr": 0.01, "epochs": 3}
    other = tmp_path / "other.db"
    tracker.init(config=Hyper(), db=other, quiet=True).finish()
    assert only_run(other).config == {"lr": 0.1, "layers": [64, 64]}


def test_finish_is_idempotent(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"a": 1.0})
    run.finish()
    run.finish()
    run.finish(exit_code=3)
    assert only_run(db_path).status == FINISHED


def test_context_manager_marks_exception_as_failed(db_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), tracker.init(db=db_path, quiet=True) as run:
        run.log({"loss": 1.0})
        raise RuntimeError("boom")
    record = only_run(db_path)
    assert (
        record.status == FAILED
        and record.error is not None
        and "RuntimeError: boom" in record.error
    )
    assert record.metrics["loss"].count == 1


def test_context_manager_success_finishes(db_path: Path) -> None:
    with tracker.init(db=db_path, quiet=True) as run:
        run.log({"loss": 1.0})
    assert only_run(db_path).status == FINISHED


def test_module_level_api(db_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    tracker.log({"x": 1.0})  # before init: a warning, no exception
    assert "before tracker.init()" in capfd.readouterr().err
    run = tracker.init(db=db_path, quiet=True)
    assert tracker.run is run
    tracker.log({"x": 2.0})
    tracker.log({"x": 3.0}, step=7)
    tracker.finish()
    assert tracker.run is None
    record = only_run(db_path)
    assert record.status == FINISHED and record.step == 7 and record.metrics["x"].count == 2


def test_logging_after_finish_says_so_and_a_long_name_is_cut_in_messages(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """It said "called before tracker.init()" of a finished run, the summary set after
    finish() was lost without a word, and each warning repeated a 256-character name."""
    name = "sweep-" + "x" * 240 + "-seed7"
    run = tracker.init(db=db_path, name=name, quiet=True)
    tracker.log({"x": 1.0})
    tracker.finish()
    capfd.readouterr()
    tracker.log({"x": 2.0})
    run.summary["after"] = 1
    err = capfd.readouterr().err
    assert "called after run sweep-xxx" in err and "before tracker.init()" not in err
    assert "its summary is no longer stored" in err
    assert name not in err and "…" in err and "-seed7 finished" in err
    assert all(len(line) < 200 for line in err.splitlines()), err
    assert "after" not in only_run(db_path).summary
    run.alert(title="late", text="x")
    run.define_metric("x", summary="min")
    err = capfd.readouterr().err
    assert "its alert is no longer stored" in err and "its metric_defs is no longer" in err
    with pytest.raises(tracker.TrackerError, match=r"finished; tracker\.init"):
        tracker.summary["y"] = 2  # wandb raises too; the reason is the run that finished


def test_failed_via_exit_code(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.finish(exit_code=2)
    record = only_run(db_path)
    assert record.status == FAILED and record.exit_code == 2


def test_database_created_private(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "er" / "runs.db"
    tracker.init(db=db, quiet=True).finish()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.parent.parent.stat().st_mode) == 0o700


def test_default_path_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    tracker.init(quiet=True).finish()
    assert (tmp_path / ".tracktui" / "runs.db").exists()
    monkeypatch.setenv("TRACKTUI_DB", str(tmp_path / "env.db"))
    tracker.init(quiet=True).finish()
    assert (tmp_path / "env.db").exists()


def test_names_are_taken_as_wandb_takes_them(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Control characters and markup are kept (shown escaped everywhere), numbers become text,
    an over-long name is cut with one warning; only what cannot be stored is refused."""
    run = tracker.init(name="a\x1b[2Jb", project="p" * 1000, tags=[1], db=db_path)
    run.finish()
    err = capfd.readouterr().err
    assert "\x1b" not in err, "init's line shows the name escaped"
    assert "kept as its first 256" in err
    reader = SqliteStore.for_reading(db_path)
    (record,) = reader.read_runs()
    reader.close()
    assert record.name == "a\x1b[2Jb" and record.project == "p" * 256 and record.tags == ["1"]
    with pytest.raises(TypeError):
        tracker.init(tags=[object()], db=db_path, quiet=True)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="must not be empty"):
        tracker.init(name="  ", db=db_path, quiet=True)


def test_two_runs_in_one_process(db_path: Path) -> None:
    first = tracker.init(name="a", db=db_path, quiet=True)
    second = tracker.init(name="b", db=db_path, quiet=True, reinit="create_new")
    first.log({"loss": 1.0})
    second.log({"loss": 2.0})
    second.log({"loss": 3.0})
    first.finish()
    second.finish()
    reader = SqliteStore.for_reading(db_path)
    runs = {r.name: r for r in reader.read_runs()}
    reader.close()
    assert runs["a"].metrics["loss"].count == 1 and runs["b"].metrics["loss"].last == 3.0
