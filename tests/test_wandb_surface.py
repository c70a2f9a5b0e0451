"""The wandb calls real training scripts make, with wandb's meaning (``import tracker as
wandb``): config from every kind of object, config before ``init()``, the empty commit, steps
that go backwards, ``reinit``, ``mode="disabled"``, ``define_metric``, ``alert``, ``run.dir``,
and a module that re-exports everything with ``from tracker import *``."""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sqlite3
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker.errors import TrackerError

from .helpers import only_run

_record = only_run


def _points(db: Path, key: str) -> list[tuple[int, float]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT p.step, p.value FROM point_values p JOIN series s ON s.id = p.series"
        " WHERE s.key = ? ORDER BY p.seq",
        (key,),
    ).fetchall()
    conn.close()
    return rows


def test_config_update_takes_what_scripts_pass(db_path: Path) -> None:
    @dataclasses.dataclass
    class Train:
        lr: float = 3e-4
        layers: int = 12

    class Flags:  # absl's FlagValues shape
        def flag_values_dict(self) -> dict[str, Any]:
            return {"batch_size": 64, "dataset": "shakespeare"}

    run = tracker.init(db=db_path, quiet=True)
    run.config.update(argparse.Namespace(epochs=3, seed=1))
    run.config.update(Train())
    run.config.update(Flags())
    run.config.update({"lr": 1e-3}, allow_val_change=True)
    run.config.update(warmup=100)
    run.config.setdefaults({"lr": 9.0, "dropout": 0.1})
    run.config.momentum = 0.9
    run.config["wd"] = 0.01
    assert run.config.lr == 1e-3 and run.config["dropout"] == 0.1
    assert tracker.config.as_dict() == dict(run.config)
    run.finish()
    assert _record(db_path).config == {
        "epochs": 3, "seed": 1, "lr": 1e-3, "layers": 12, "batch_size": 64,
        "dataset": "shakespeare", "warmup": 100, "dropout": 0.1, "momentum": 0.9, "wd": 0.01,
    }  # fmt: skip


def test_config_set_before_init_is_carried_into_the_run(db_path: Path) -> None:
    tracker.config.update({"lr": 0.1, "bs": 8})
    tracker.config.epochs = 2
    assert tracker.config["lr"] == 0.1 and "bs" in tracker.config
    run = tracker.init(db=db_path, quiet=True, config={"bs": 16})
    assert dict(run.config) == {"lr": 0.1, "bs": 16, "epochs": 2}, "init's config wins"
    run.finish()
    assert len(tracker.config) == 0, "the next run starts from an empty config"
    with pytest.raises(TrackerError, match=r"finished; tracker\.init\(\) starts another"):
        tracker.summary["x"] = 1


def test_empty_log_commits_an_open_step(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"a": 1.0}, commit=False)
    run.log({"b": 2.0}, commit=False)
    tracker.log()  # the commit: the next log() goes to a new step
    tracker.log({"a": 3.0})
    tracker.log({}, commit=True)
    tracker.log({"a": 4.0}, sync=False)
    run.finish()
    assert _points(db_path, "a") == [(0, 1.0), (1, 3.0), (2, 4.0)]
    assert _points(db_path, "b") == [(0, 2.0)]


def test_steps_going_backwards_are_dropped_with_one_warning(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(db=db_path, quiet=True)
    for step in (0, 10, 20):
        run.log({"loss": float(step)}, step=step)
    run.log({"loss": -1.0}, step=5)
    run.log({"loss": -2.0}, step=6)
    run.log({"loss": 20.5}, step=20)  # the current step is still open to more values
    run.log({"loss": 21.0})
    run.finish()
    assert _points(db_path, "loss") == [(0, 0.0), (10, 10.0), (20, 20.0), (20, 20.5), (21, 21.0)]
    assert capfd.readouterr().err.count("below the current step") == 1


def test_reinit_follows_wandb(db_path: Path) -> None:
    first = tracker.init(db=db_path, quiet=True)
    assert tracker.init(db=db_path, quiet=True) is first, "scripts: return_previous"
    assert tracker.init(db=db_path, quiet=True, reinit="return_previous") is first
    side = tracker.init(db=db_path, quiet=True, reinit="create_new")
    assert side is not first and tracker.run is first, "create_new leaves tracker.run alone"
    replaced = tracker.init(db=db_path, quiet=True, reinit=True)
    assert replaced is not first and tracker.run is replaced
    assert not first._active, "reinit=True finished the previous run"
    settings_run = tracker.init(
        db=db_path, quiet=True, settings=tracker.Settings(reinit="finish_previous")
    )
    assert settings_run is not replaced and not replaced._active
    side.finish()
    settings_run.finish()
    with pytest.raises(ValueError, match="mode must be one of"):
        tracker.init(db=db_path, quiet=True, mode="bogus", reinit="create_new")
    with pytest.raises(ValueError, match="reinit must be"):
        tracker.init(db=db_path, quiet=True, reinit="sometimes")


def test_mode_disabled_runs_the_script_and_records_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tracker.init(db=db_path, mode="disabled", config={"lr": 1})
    run.log({"loss": 1.0})
    run.summary["best"] = 1.0
    run.config.update({"x": 2})
    run.define_metric("*", step_metric="iter")
    run.alert("title", "text")
    assert run.config.lr == 1 and run.disabled
    tracker.finish()
    assert tracker.run is None
    monkeypatch.setenv("WANDB_MODE", "disabled")
    tracker.init(db=db_path).log({"loss": 2.0})
    tracker.finish()
    assert not db_path.exists()


def test_define_metric_and_alert_are_stored_with_the_run(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    tracker.define_metric("iter")
    iter_metric = run.define_metric("*", step_metric="iter")
    run.define_metric("eval/loss", summary="min", goal="minimize")
    run.define_metric("eval/acc", summary="max")
    assert iter_metric.step_metric == "iter"
    for i in range(3):
        run.log({"iter": 100 * i, "train/loss": 1.0 / (i + 1), "eval/acc": i / 3})
    tracker.alert(title="loss spike", text="loss 9.1 at iter 200", level=tracker.AlertLevel.WARN)
    run.alert("done", "ok")
    run.finish()
    record = _record(db_path)
    assert record.step_metric("train/loss") == "iter"
    assert record.step_metric("iter") is None, "a step metric is not plotted against itself"
    assert record.step_metric("sys/cpu/util") is None, "globs do not reach hardware metrics"
    assert record.goal("eval/loss") == "min" and record.goal("eval/acc") == "max"
    assert record.goal("train/loss") is None
    alerts = [e for e in record.events if e.kind == "alert"]
    assert [(e.level, e.title, e.step) for e in alerts] == [
        ("WARN", "loss spike", 2), ("INFO", "done", 2),
    ]  # fmt: skip
    assert alerts[0].detail["text"] == "loss 9.1 at iter 200"
    with pytest.raises(ValueError, match="goal must be"):
        tracker.init(db=db_path, quiet=True).define_metric("x", goal="up")


def test_define_metric_refuses_bad_arguments_clearly(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    with pytest.raises(TypeError, match="name must be"):
        run.define_metric("")
    with pytest.raises(ValueError, match="not a glob"):
        run.define_metric("*", step_metric="it*")
    with pytest.raises(ValueError, match="unknown summary"):
        run.define_metric("loss", summary="median")
    with pytest.raises(ValueError, match="INFO, WARN or ERROR"):
        run.alert("t", "x", level="loud")
    run.finish()


def test_run_attributes_scripts_read(db_path: Path, tmp_path: Path) -> None:
    run = tracker.init(project="proj", name="n1", db=db_path, quiet=True, dir=tmp_path / "out")
    folder = Path(run.dir)
    assert folder.is_dir() and folder == (tmp_path / "out" / "files" / run.id)
    (folder / "model.pt").write_bytes(b"weights")
    assert run.url.startswith("file://") and run.url.endswith(f"#run={run.id}")
    assert run.path.endswith(f"/proj/{run.id}") and run.project == "proj" and run.name == "n1"
    assert run.step == 0 and not run.resumed and run.sweep_id is None
    run.save("model.pt")
    run.log_artifact(tracker.Artifact("model", type="model"))
    tracker.login(key="x")
    run.mark_preempting()
    assert tracker.restore("model.pt") is None
    tracker.require("core")
    run.log({"clip": tracker.Video("x.mp4"), "sound": tracker.Audio([0.0]), "loss": 1.0})
    run.finish()
    chosen = tracker.util.generate_id()
    assert len(chosen) == 8 and chosen.isalnum()
    resumable = tracker.init(db=db_path, id=chosen, resume="allow", quiet=True)
    assert resumable.id == chosen
    resumable.finish()
    assert tracker.run is None


def test_unknown_init_options_are_named_once_and_wandb_ones_are_quiet(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(
        db=db_path, quiet=True, entity="me", save_code=True, monitor_gym=True,
        settings=tracker.Settings(start_method="thread"), group="g", job_type="train",
        notes="first try", config={"a": 1, "b": 2}, config_exclude_keys=["b"], frobnicate=1,
    )  # fmt: skip
    run.finish()
    err = capfd.readouterr().err
    assert "frobnicate" in err and "entity" not in err and "save_code" not in err
    assert (run.group, run.job_type, run.notes) == ("g", "train", "first try")
    record = _record(db_path)
    assert record.tags == ["group:g", "job_type:train"] and record.config == {"a": 1}
    assert record.summary == {"notes": "first try"}


def test_a_star_import_re_export_has_the_whole_surface(db_path: Path) -> None:
    module = types.ModuleType("my_logging")
    exec("from tracker import *", module.__dict__)
    sys.modules["my_logging"] = module
    try:
        for name in ("init", "log", "finish", "config", "summary", "run", "watch", "unwatch",
                     "define_metric", "alert", "Image", "Table", "Histogram", "plot", "save",
                     "login", "Artifact", "Settings", "AlertLevel"):  # fmt: skip
            assert hasattr(module, name), name
        module.config.update({"lr": 2})  # the same object as tracker.config: follows runs
        run = module.init(db=db_path, quiet=True)
        module.log({"x": 1.0})
        module.summary["best"] = 3
        module.define_metric("x", goal="maximize")
        assert module.config.lr == 2
        module.finish()
        assert _record(db_path).summary == {"best": 3}
        assert run.config == {"lr": 2}
    finally:
        del sys.modules["my_logging"]
    assert os.path.exists(db_path)


def test_renaming_and_retagging_after_init_are_stored(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True, tags=["a"])
    tracker.run.name = f"resnet-{run.id}"
    run.tags = run.tags + ("b",)  # noqa: RUF005 (wandb's documented idiom: tags are a tuple)
    assert run.tags == ("a", "b") and run.display_name == f"resnet-{run.id}"
    run.log({"x": 1.0})
    run.finish()
    record = _record(db_path)
    assert record.name == f"resnet-{run.id}" and record.tags == ["a", "b"]


def test_summary_reads_each_metrics_latest_value(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    for i in range(3):
        tracker.log({"loss": 3.0 - i, "val": {"acc": [0.5, 0.9, 0.7][i]}})
    run.summary["best_acc"] = 0.9
    assert run.summary["loss"] == 1.0 and tracker.summary["val/acc"] == 0.7
    assert run.summary.get("missing", 0) == 0 and "loss" in run.summary
    assert run.summary.latest() == {"loss": 1.0, "val/acc": 0.7, "best_acc": 0.9}
    run.finish()
    assert _record(db_path).summary == {"best_acc": 0.9}, "the stored summary is the script's"


def test_a_defined_summary_reads_as_wandbs_operations(db_path: Path) -> None:
    """wandb 0.31: ``define_metric("loss", summary="min")`` makes ``summary["loss"]`` read
    ``{"min": 1}`` (scripts then read ``summary["loss"]["min"]``, a TypeError on a float);
    ``"none"`` leaves the key out; iteration lists the logged keys."""
    run = tracker.init(db=db_path, quiet=True)
    run.define_metric("loss", summary="min")
    run.define_metric("val/*", summary="max,last")
    run.define_metric("lr", summary="mean")
    run.define_metric("hidden", summary="none")
    run.define_metric("copied", summary="copy")
    for i, (loss, acc) in enumerate([(3, 0.1), (1, 0.5), (float("nan"), 0.3), (2, 0.2)]):
        run.log({"loss": loss, "val/acc": acc, "lr": float(i), "hidden": i, "copied": i})
    assert run.summary["loss"] == {"min": 1}, "NaN is left out of min, ints stay ints"
    assert run.summary["val/acc"] == {"max": 0.5, "last": 0.2}
    assert run.summary["lr"] == {"mean": 1.5} and run.summary["copied"] == 3
    assert "hidden" not in run.summary and run.summary.get("hidden") is None
    with pytest.raises(KeyError):
        run.summary["hidden"]
    run.summary["best"] = 0.9
    assert list(run.summary) == ["loss", "val/acc", "lr", "copied", "best"]
    assert len(run.summary) == 5 and dict(run.summary)["best"] == 0.9
    assert dict(tracker.summary.items())["loss"] == {"min": 1}
    run.define_metric("never_finite", summary="min")
    run.log({"never_finite": float("nan")})
    assert math.isnan(run.summary["never_finite"]["min"]), "NaN, not an empty dict"
    run.finish()
    assert _record(db_path).summary == {"best": 0.9}, "the stored summary is the script's"


def test_a_resumed_runs_summary_covers_what_it_logged_before(db_path: Path) -> None:
    """A resumed run's summary forgot the earlier process: min and first over the new points
    only, keys logged before gone (KeyError). Found by an outside tester."""

    def session(values: list[float]) -> dict[str, Any]:
        run = tracker.init(db=db_path, id="r3", resume="allow", quiet=True, system_metrics=False)
        run.define_metric("loss", summary="min")
        run.define_metric("m", summary="mean")
        run.define_metric("f", summary="first")
        for v in values:
            run.log({"loss": v, "m": v, "f": v, **({"p": v} if len(values) > 1 else {})})
        summary = dict(run.summary.items())
        run.finish()
        return summary

    assert session([1.0, float("nan"), 9.0]) == {
        "loss": {"min": 1.0}, "m": {"mean": 5.0}, "f": {"first": 1.0}, "p": 9.0,
    }  # fmt: skip
    assert session([5.0]) == {
        "loss": {"min": 1.0},
        "m": {"mean": 5.0},
        "f": {"first": 1.0},
        "p": 9.0,
    }


def test_a_logged_int_reads_as_an_int_from_the_first_log(db_path: Path) -> None:
    """``summary["epoch"]`` read 1.0 after the first log and 2 after the second (the first
    log of a key is checked on a slower path that made floats of ints)."""
    run = tracker.init(db=db_path, quiet=True, system_metrics=False)
    run.log({"epoch": 1, "loss": 0.5})
    first = run.summary["epoch"]
    run.log({"epoch": 2, "loss": 0.4})
    assert type(first) is int and first == 1 and type(run.summary["epoch"]) is int
    run.finish()
    stored = _record(db_path).metrics["epoch"]
    assert (stored.count, stored.min, stored.max) == (2, 1.0, 2.0), "both stored, as numbers"


def test_sequences_become_histograms_as_in_wandb(db_path: Path) -> None:
    import numpy as np

    run = tracker.init(db=db_path, quiet=True)
    run.log({"grads": np.linspace(-1, 1, 100), "per_class": [0.9, 0.8, 0.7], "empty": []})
    with pytest.raises(TypeError, match="'mixed' is list"):
        run.log({"mixed": ["a", 1]})
    run.finish()
    record = _record(db_path)
    assert {k: v["kind"] for k, v in record.media.items()} == {
        "grads": "histogram", "per_class": "histogram",
    }  # fmt: skip


_FORKED_WORKER = """
    import os, sys, tracker
    run = tracker.init(db=sys.argv[1], config={"aug": 0.5}, quiet=True, console=False)
    cfg = tracker.config
    pid = os.fork()
    if pid == 0:  # a DataLoader worker: reads the hyperparameters, its log() is ignored
        ok = tracker.config.aug == 0.5 and cfg["aug"] == 0.5 and tracker.run is run
        tracker.log({"from_child": 1.0})
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    run.log({"loss": 1.0})
    run.finish()
    print("child", os.waitstatus_to_exitcode(status))
"""


def test_a_forked_worker_reads_the_config(db_path: Path) -> None:
    from .helpers import run_python

    out = run_python(_FORKED_WORKER, str(db_path))
    assert "child 0" in out.stdout, out.stderr
    assert "from_child" not in _record(db_path).metrics


def test_a_matplotlib_figure_or_plt_itself_is_logged_as_an_image(db_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run = tracker.init(db=db_path, quiet=True)
    plt.plot([1, 3, 2])
    run.log({"Residual Plot": plt, "figure": plt.gcf(), "as_image": tracker.Image(plt.gcf())})
    plt.close("all")
    run.finish()
    assert {k: v["kind"] for k, v in _record(db_path).media.items()} == {
        "Residual Plot": "image", "figure": "image", "as_image": "image",
    }  # fmt: skip


def test_a_refused_call_leaves_an_open_step_open(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"a": 1.0}, commit=False)
    with pytest.raises(TypeError):
        run.log({"bad": b"bytes"})  # refused: nothing of it happened, the step stays open
    run.log({"b": 2.0})
    run.log({"a": 3.0})
    run.finish()
    assert _points(db_path, "b") == [(0, 2.0)] and _points(db_path, "a") == [(0, 1.0), (1, 3.0)]
