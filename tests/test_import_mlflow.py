"""``tracktui import mlflow``: runs logged by ``mlflow.start_run``/``log_param``/``log_metric``
into a real SQLite tracking store and a file store (``mlruns``), imported twice (nothing
doubled), after more logging into the same run (only the new points), and shown in the TUI."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker.db import open_store
from tracker.importers.mlflow import coerce_param

from .import_helpers import run_import, runs_of
from .tui_helpers import TIMINGS, screen_lines, wait_until

# One xdist worker runs this module (--dist loadgroup): the mlflow stores (an mlflow import and a
# migrated SQLite store): made once.
pytestmark = pytest.mark.xdist_group("mlflow")

SCRIPT = textwrap.dedent(
    """
    import json, math, sys
    import mlflow

    ids = {}
    for uri in sys.argv[1:]:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment("exp [bold]<script>")
        with mlflow.start_run(run_name="lr-sweep ü") as run:
            mlflow.log_param("lr", "0.001")
            mlflow.log_param("layers", 4)
            mlflow.log_param("opt", "adam")
            mlflow.set_tag("team", "vision")
            for step in range(8):
                value = math.nan if step == 2 else math.inf if step == 3 else 1.0 / (step + 1)
                mlflow.log_metric("train/loss", value, step=step)
            mlflow.log_metric("eval/acc", 0.9, step=7)
        with mlflow.start_run(run_name="broken") as failed:
            mlflow.log_metric("loss", 5.0, step=0)
            mlflow.end_run(status="FAILED")
        ids[uri] = [run.info.run_id, failed.info.run_id]
    print(json.dumps(ids))
    """
)


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("mlflow")
    sqlite_uri = f"sqlite:///{root / 'mlflow.db'}"
    file_uri = (root / "mlruns").as_uri()
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "HOME": str(root / "home")}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, sqlite_uri, file_uri],
        cwd=root, env=env, check=True, timeout=180, capture_output=True, text=True,
    )  # fmt: skip
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    return {"root": root, "sqlite": sqlite_uri, "file": file_uri, "ids": ids}


@pytest.mark.parametrize("kind", ["sqlite", "file"])
def test_runs_params_metrics_tags_and_twice_adds_nothing(
    stores: dict[str, Any], kind: str, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = stores[kind]
    assert run_import("mlflow", uri, "--db", str(db_path)) == 0
    assert "2 run(s): 2 imported" in capsys.readouterr().out
    good_id, failed_id = stores["ids"][uri]
    store = open_store(db_path)
    try:
        good, failed = store.read_run(good_id), store.read_run(failed_id)
        assert good is not None and failed is not None
        assert good.name == "lr-sweep ü" and good.project == "exp [bold]<script>"
        assert good.status == "finished" and failed.status == "failed"
        params = {k: v for k, v in good.config.items() if not k.startswith("mlflow.")}
        assert params == {"layers": 4, "lr": 0.001, "opt": "adam"}
        assert good.config["mlflow.user"] and "mlflow.runName" not in good.config
        assert good.tags == ["team=vision"]  # no parent: not a nested run
        loss = good.metrics["train/loss"]
        # MLflow's SQL store itself keeps inf as the largest float; its file store keeps inf
        infinite = math.inf if kind == "file" else sys.float_info.max
        assert loss.count == 8 and loss.nonfinite == (2 if kind == "file" else 1)
        points = store.history(loss.series_id)
        assert [p.step for p in points] == list(range(8))
        assert math.isnan(points[2].value) and points[3].value == infinite
        assert 0 <= points[0].t < 60  # MLflow's timestamps, against the run's start
        assert good.metrics["eval/acc"].last == 0.9
    finally:
        store.close()
    before = {r.id: {k: m.count for k, m in r.metrics.items()} for r in runs_of(db_path)}
    assert run_import("mlflow", uri, "--db", str(db_path)) == 0
    assert "0 imported or updated, 2 already up to date" in capsys.readouterr().out
    after = {r.id: {k: m.count for k, m in r.metrics.items()} for r in runs_of(db_path)}
    assert after == before


def test_a_run_that_kept_logging_gets_only_its_new_points(
    stores: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from mlflow.tracking import MlflowClient

    db_file = tmp_path / "copy.db"
    shutil.copy(stores["root"] / "mlflow.db", db_file)
    dest = tmp_path / "runs.db"
    assert run_import("mlflow", str(db_file), "--db", str(dest)) == 0  # a plain path works
    good_id = stores["ids"][stores["sqlite"]][0]
    client = MlflowClient(tracking_uri=f"sqlite:///{db_file}")
    for step in range(8, 11):
        client.log_metric(good_id, "train/loss", 0.01 * step, step=step)
    client.set_terminated(good_id, status="FINISHED")
    capsys.readouterr()
    assert run_import("mlflow", str(db_file), "--db", str(dest)) == 0
    out = capsys.readouterr().out
    assert "3 points" in out and "1 already up to date" in out
    with closing(open_store(dest)) as store:
        run = store.read_run(good_id)
        assert run is not None
        points = store.history(run.metrics["train/loss"].series_id)
    assert [p.step for p in points] == list(range(11)) and run.step == 10


def test_last_is_the_value_at_the_highest_step_not_the_last_logged(
    stores: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil
    import time

    from mlflow.tracking import MlflowClient

    db_file = tmp_path / "copy.db"
    shutil.copy(stores["root"] / "mlflow.db", db_file)
    good_id = stores["ids"][stores["sqlite"]][0]
    client = MlflowClient(tracking_uri=f"sqlite:///{db_file}")
    now = int(time.time() * 1000)
    client.log_metric(good_id, "ooo", 3.0, step=10, timestamp=now)
    client.log_metric(good_id, "ooo", 1.0, step=2, timestamp=now + 5)  # logged later, lower step
    assert client.get_run(good_id).data.metrics["ooo"] == 3.0  # MLflow's own "latest"
    dest = tmp_path / "runs.db"
    assert run_import("mlflow", str(db_file), "--db", str(dest)) == 0

    def ooo() -> tuple[int, float | None, int | None, list[int]]:
        with closing(open_store(dest)) as store:
            run = store.read_run(good_id)
            assert run is not None
            summary = run.metrics["ooo"]
            steps = [p.step for p in store.history(summary.series_id)]
            return summary.count, summary.last, summary.last_step, steps

    assert ooo() == (2, 3.0, 10, [2, 10])  # stored in step order: ls, sorting, filters agree
    # more points after the import, one below the stored steps: each once, last still step 10
    client.log_metric(good_id, "ooo", 7.0, step=5, timestamp=now + 10)
    capsys.readouterr()
    assert run_import("mlflow", str(db_file), "--db", str(dest)) == 0
    assert "1 points" in capsys.readouterr().out
    assert ooo() == (3, 3.0, 10, [2, 10, 5])
    assert run_import("mlflow", str(db_file), "--db", str(dest)) == 0
    assert "0 imported or updated" in capsys.readouterr().out
    assert ooo() == (3, 3.0, 10, [2, 10, 5])


def test_a_run_of_its_own_with_the_id_is_left_alone(
    stores: dict[str, Any], db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tracker

    good_id = stores["ids"][stores["sqlite"]][0]
    with tracker.init(project="mine", name="native", id=good_id, db=db_path) as run:
        run.log({"x": 1.0})
    assert run_import("mlflow", stores["sqlite"], "--db", str(db_path)) == 1
    out = capsys.readouterr()
    assert f"already has another run {good_id} (native" in out.err and "1 run(s) failed" in out.out
    native = next(r for r in runs_of(db_path) if r.id == good_id)
    assert native is not None and native.name == "native" and set(native.metrics) == {"x"}


def test_missing_store_is_a_clear_error_and_creates_nothing(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    assert run_import("mlflow", f"sqlite:///{missing}", "--db", str(db_path)) == 1
    assert "no such SQLite file" in capsys.readouterr().err
    assert run_import("mlflow", str(tmp_path / "mlruns"), "--db", str(db_path)) == 1
    assert "no such file or directory" in capsys.readouterr().err
    assert not missing.exists() and not db_path.exists()


async def test_imported_mlflow_runs_show_in_the_tui(
    stores: dict[str, Any], db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.app import TrackTuiApp

    assert run_import("mlflow", stores["sqlite"], "--db", str(db_path)) == 0
    app = TrackTuiApp(db_path, timings=TIMINGS)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 2, what="imported runs")
        await wait_until(
            pilot, lambda: any("lr-sweep" in line for line in screen_lines(app)), what="row"
        )


@given(st.text(max_size=40))
def test_a_param_becomes_the_value_it_spells(text: str) -> None:
    value = coerce_param(text)
    if isinstance(value, bool):
        assert text.lower() in ("true", "false")
    elif isinstance(value, int):
        assert int(text) == value
    elif isinstance(value, float):
        assert float(text) == value or (math.isnan(value) and math.isnan(float(text)))
    elif value is None:
        assert text.lower() in ("none", "null")
    else:
        assert value == text


@given(st.floats(allow_nan=False) | st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_numbers_come_back_as_numbers(number: float) -> None:
    assert coerce_param(str(number)) == number


NESTED = textwrap.dedent(
    """
    import json, sys
    import mlflow

    mlflow.set_tracking_uri(sys.argv[1])
    ids = {}
    for experiment in ("exp-A", "exp [b]B"):
        mlflow.set_experiment(experiment)
        with mlflow.start_run(run_name="parent [bold]") as parent:
            mlflow.set_tag("mlflow.source.git.commit", "0123abc")
            for lr in (0.1, 0.01):
                with mlflow.start_run(run_name=f"child-{lr}", nested=True) as child:
                    mlflow.log_param("lr", lr)
                    mlflow.log_metric("loss", lr, step=0)
                ids[f"{experiment}/child-{lr}"] = child.info.run_id
        ids[f"{experiment}/parent"] = parent.info.run_id
    print(json.dumps(ids))
    """
)


def test_nested_runs_keep_their_parent_and_mlflow_tags(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = (tmp_path / "mlruns").as_uri()
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "HOME": str(tmp_path / "home")}
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", NESTED, uri],
        cwd=tmp_path, env=env, check=True, timeout=180, capture_output=True, text=True,
    )  # fmt: skip
    ids = json.loads(done.stdout.strip().splitlines()[-1])
    assert run_import("mlflow", uri, "--db", str(db_path)) == 0
    runs = {f"{run.project}/{run.name}": run for run in runs_of(db_path)}
    for experiment in ("exp-A", "exp [b]B"):
        parent = runs[f"{experiment}/parent [bold]"]
        assert parent.id == ids[f"{experiment}/parent"] and parent.tags == []
        assert "mlflow.parent_run_id" not in parent.config
        assert parent.config["mlflow.source.git.commit"] == "0123abc"
        for lr in (0.1, 0.01):
            child = runs[f"{experiment}/child-{lr}"]
            assert child.id == ids[f"{experiment}/child-{lr}"]
            assert child.tags == ["parent=parent [bold]"]
            assert child.config["mlflow.parent_run_id"] == parent.id
            assert child.config["mlflow.parent_run_name"] == "parent [bold]"
            assert child.config["lr"] == lr and child.config["mlflow.user"]
            assert "mlflow.parentRunId" not in child.config
    # the filters of ls and the TUI reach them both ways
    from tracker.filters import filter_runs

    for expression in (
        'tag="parent=parent [bold]" project=exp-A',
        f'cfg.mlflow.parent_run_id="{ids["exp-A/parent"]}"',
    ):
        names = sorted(run.name for run in filter_runs(runs.values(), expression))
        assert names == ["child-0.01", "child-0.1"], expression
