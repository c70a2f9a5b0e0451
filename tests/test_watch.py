"""watch(): a real torch model trained on the CPU into a real run; the histograms are read back
from the database: which keys, at which steps, with which counts, and that unwatch() stops it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tracker
from tracker import watching
from tracker.db.sqlite.store import SqliteStore
from tracker.media.decoded import decode_histogram, parse_meta

from .helpers import media_rows, run_python

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def _fresh_watches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(watching, "_watch_index", 0)  # wandb's process-wide model counter
    yield
    watching.unwatch()


def _mlp(frozen_bias: bool = False) -> Any:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    if frozen_bias:
        model[2].bias.requires_grad_(False)
    return model


def _batch(step: int) -> tuple[Any, Any]:
    generator = torch.Generator().manual_seed(step)
    return torch.randn(16, 4, generator=generator), torch.randint(0, 3, (16,), generator=generator)


def _media(db: Path) -> list[tuple[str, int, dict[str, Any], bytes]]:
    """(key, step, meta, data) of every media row of the only run, in logging order."""
    return [(key, step, parse_meta(meta), data) for key, step, _kind, meta, data in media_rows(db)]


def _steps(db: Path, key: str) -> list[int]:
    reader = SqliteStore.for_reading(db)
    try:
        (run,) = reader.read_runs()
        series = reader.series_id(run.id, key)
        return [] if series is None else [p.step for p in reader.history(series)]
    finally:
        reader.close()


def _hooks(model: Any) -> int:
    """How many forward and tensor hooks the model carries."""
    count = len(model._forward_hooks)
    for parameter in model.parameters():
        count += len(parameter._backward_hooks or {})
    return count


def test_watch_all_logs_weights_and_gradients_every_log_freq_batches(db_path: Path) -> None:
    model = _mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    run = tracker.init(db=db_path, quiet=True, console=False)
    assert watching.watch(run, model, log="all", log_freq=2) == []
    names = [name for name, _ in model.named_parameters()]
    weights_seen: dict[int, dict[str, Any]] = {}
    grads_seen: dict[int, dict[str, Any]] = {}
    for step in range(6):
        x, y = _batch(step)
        weights_seen[step] = {n: p.detach().clone() for n, p in model.named_parameters()}
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        grads_seen[step] = {n: p.grad.detach().clone() for n, p in model.named_parameters()}
        optimizer.step()
        run.log({"loss": loss.item()})
    assert run.flush()

    media = _media(db_path)
    expected_keys = {f"parameters/{n}" for n in names} | {f"gradients/{n}" for n in names}
    assert {key for key, *_ in media} == expected_keys
    # every second forward/backward (the 2nd, 4th, 6th batch) logs each key once; commit=False
    # puts them on the step the loop logs next, and they never advance the steps themselves
    for key in expected_keys:
        assert [step for k, step, *_ in media if k == key] == [1, 3, 5]
    assert _steps(db_path, "loss") == [0, 1, 2, 3, 4, 5]

    for key, step, meta, data in media:
        kind, name = key.split("/", 1)
        tensor = (weights_seen if kind == "parameters" else grads_seen)[step][name]
        values = tensor.numpy().astype(np.float64).ravel()
        hist = decode_histogram(data)
        assert len(hist.counts) == 64 and len(hist.edges) == 65
        assert sum(hist.counts) == values.size == meta["total"]
        assert meta["min"] == pytest.approx(values.min(), rel=1e-6)
        assert meta["max"] == pytest.approx(values.max(), rel=1e-6)
        assert meta["mean"] == pytest.approx(values.mean(), rel=1e-4, abs=1e-7)
        assert hist.edges[0] == meta["min"] and hist.edges[-1] == meta["max"]
        reference, _ = np.histogram(values, bins=64, range=(hist.edges[0], hist.edges[-1]))
        # torch bins in float32: a value on a bin edge may fall on the other side of it
        assert np.abs(np.asarray(hist.counts) - reference).sum() <= 2

    hooked = _hooks(model)
    assert hooked == 1 + len(names)  # one forward hook, one per parameter
    watching.unwatch(run)
    assert _hooks(model) == 0
    for step in range(6, 10):
        x, y = _batch(step)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.log({"loss": loss.item()})
    assert run.flush()
    assert len(_media(db_path)) == len(media)  # nothing after unwatch()
    assert watching.watched(run) == []


def test_default_logs_gradients_of_trainable_parameters_only(db_path: Path) -> None:
    model = _mlp(frozen_bias=True)
    run = tracker.init(db=db_path, quiet=True, console=False)
    watching.watch(run, model, log_freq=1)  # wandb's default: log="gradients"
    for step in range(2):
        x, y = _batch(step)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        run.log({"step_done": step})
    assert run.flush()
    keys = [key for key, *_ in _media(db_path)]
    assert set(keys) == {"gradients/0.weight", "gradients/0.bias", "gradients/2.weight"}
    assert len(keys) == 6  # each of the 3 every batch; the frozen bias has no gradient


def test_parameters_count_every_forward_pass(db_path: Path) -> None:
    model = _mlp()
    run = tracker.init(db=db_path, quiet=True, console=False)
    watching.watch(run, model, log="parameters", log_freq=3)
    with torch.no_grad():
        for step in range(7):  # evaluation passes count too, as in wandb
            model(_batch(step)[0])
            run.log({"i": step})
    assert run.flush()
    media = _media(db_path)
    assert {key for key, *_ in media} == {f"parameters/{n}" for n, _ in model.named_parameters()}
    assert sorted({step for _, step, *_ in media}) == [2, 5]  # the 3rd and 6th forward


def test_several_models_get_wandbs_prefixes_and_a_model_twice_is_watched_once(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _mlp(), _mlp()
    run = tracker.init(db=db_path, quiet=True, console=False)
    watching.watch(run, [first, second, first], log="gradients", log_freq=1)
    watching.watch(run, second, log="all", log_freq=1)  # already watched: the first one stays
    assert "already watched" in capsys.readouterr().err
    assert watching.watched(run) == [first, second]
    assert _hooks(first) == _hooks(second) == 4  # gradient hooks only, once each
    x, y = _batch(0)
    loss = torch.nn.functional.cross_entropy(first(x), y)
    loss = loss + torch.nn.functional.cross_entropy(second(x), y)
    loss.backward()
    run.log({"loss": loss.item()})
    assert run.flush()
    keys = sorted(key for key, *_ in _media(db_path))
    assert keys == sorted(
        [f"gradients/{n}" for n, _ in first.named_parameters()]
        + [f"gradients/graph_1{n}" for n, _ in second.named_parameters()]
    )
    third = _mlp()
    watching.watch(run, third, idx=5, log_freq=1)
    x, y = _batch(1)
    torch.nn.functional.cross_entropy(third(x), y).backward()
    run.log({"loss": 0.0})
    assert run.flush()
    assert {key for key, *_ in _media(db_path)} >= {"gradients/graph_50.weight"}

    watching.unwatch(run, second)
    assert _hooks(second) == 0 and _hooks(first) == 4
    watching.unwatch(run, second)
    assert "not watched" in capsys.readouterr().err
    watching.unwatch(run, [first, third])
    assert _hooks(first) == _hooks(third) == 0


def test_sparse_and_nan_gradients_are_histograms_not_errors(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    torch.manual_seed(0)
    embedding = torch.nn.Embedding(50, 4, sparse=True)
    linear = torch.nn.Linear(4, 1)
    run = tracker.init(db=db_path, quiet=True, console=False)
    watching.watch(run, [embedding, linear], log_freq=1)
    tokens = torch.tensor([1, 2, 3])
    embedding(tokens).sum().backward()  # a sparse gradient: 3 of 50 rows stored
    run.log({"i": 0})
    (linear(torch.ones(2, 4)) * float("nan")).sum().backward()  # NaN gradients
    run.log({"i": 1})
    assert run.flush()
    media = {key: (step, meta, data) for key, step, meta, data in _media(db_path)}
    step, meta, data = media["gradients/weight"]
    hist = decode_histogram(data)
    assert step == 0 and sum(hist.counts) == 50 * 4  # implicit zeros counted
    assert hist.edges[0] <= 0.0 <= hist.edges[-1]
    zero_bin = next(i for i in range(64) if hist.edges[i] <= 0.0 < hist.edges[i + 1] or i == 63)
    assert hist.counts[zero_bin] >= 47 * 4
    assert meta["mean"] == pytest.approx(12 / 200)  # 3 rows of ones among 50
    step, meta, data = media["gradients/graph_1weight"]
    assert step == 1 and meta["nonfinite"] == 4 and meta["total"] == 0
    assert decode_histogram(data).counts == []
    assert "NaN/inf" in capsys.readouterr().err  # reported once, training goes on


@pytest.mark.parametrize("copy_ok", [True, False])  # the CPU's way and the accelerators'
def test_histogram_statistics_either_way(copy_ok: bool) -> None:
    values = torch.cat([1 + 0.01 * torch.randn(10_000), torch.tensor([float("inf"), float("nan")])])
    mean, std = watching._mean_std(values[:10_000], copy_ok=copy_ok)
    reference = values[:10_000].double()
    assert mean == pytest.approx(reference.mean().item(), rel=1e-6)
    assert std == pytest.approx(reference.std(correction=0).item(), rel=1e-4)
    hist = watching.tensor_histogram(values.to(torch.bfloat16))
    assert hist is not None and hist.nonfinite == 2 and hist.total == 10_000
    assert hist.stats["min"] == pytest.approx(reference.min().item(), rel=1e-2)
    constant = watching.tensor_histogram(torch.full((3, 3), 0.25))
    assert constant is not None and constant.total == 9 and constant.stats["std"] == 0.0
    assert constant.edges[0] < 0.25 < constant.edges[-1]  # one value: a range around it
    assert watching.tensor_histogram(torch.empty(0)) is None


def test_a_failing_hook_warns_once_and_stops_watching(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class BrokenRun:
        calls = 0

        def log(self, data: Any, step: Any = None, commit: Any = None) -> None:
            BrokenRun.calls += 1
            raise OSError("disk gone")

    model = _mlp()
    run = BrokenRun()
    watching.watch(run, model, log="all", log_freq=1)
    for step in range(3):  # the training loop never sees the error
        x, y = _batch(step)
        torch.nn.functional.cross_entropy(model(x), y).backward()
    err = capsys.readouterr().err
    assert err.count("stopped watching Sequential") == 1 and "disk gone" in err
    assert BrokenRun.calls == 1
    assert _hooks(model) == 0 and watching.watched(run) == []


def test_arguments_are_checked_before_anything_is_hooked(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _mlp()
    run = tracker.init(db=db_path, quiet=True, console=False)
    with pytest.raises(ValueError, match="log must be one of"):
        watching.watch(run, model, log="weights")
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        watching.watch(run, [model, "not a model"])
    with pytest.raises(TypeError, match="log_freq"):
        watching.watch(run, model, log_freq=None)  # type: ignore[arg-type]
    assert _hooks(model) == 0
    assert watching.watch(run, model, log=None, log_graph=True) == []
    assert _hooks(model) == 0
    watching.watch(run, model, log_graph=True)
    watching.unwatch(run)
    watching.watch(run, model, log_graph=True)
    assert capsys.readouterr().err.count("graph is not recorded") == 1


def test_a_finished_runs_model_moves_to_the_next_run(db_path: Path, tmp_path: Path) -> None:
    model = _mlp()
    first = tracker.init(db=db_path, quiet=True, console=False)
    watching.watch(first, model, log_freq=1)
    first.finish()
    second = tracker.init(db=tmp_path / "second.db", quiet=True, console=False)
    watching.watch(second, model, log_freq=1)
    assert watching.watched(first) == [] and watching.watched(second) == [model]
    assert _hooks(model) == 4


def test_importing_tracker_does_not_import_torch() -> None:
    result = run_python(
        """
        import sys
        import tracker, tracker.watching, tracker.tensorboard_sync
        print("torch" in sys.modules)
        """
    )
    assert result.stdout.strip() == "False"


def test_no_media_rows_without_watch(db_path: Path) -> None:
    # control for the counts above: plain training logs no media at all
    model = _mlp()
    run = tracker.init(db=db_path, quiet=True, console=False)
    x, y = _batch(0)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    run.log({"loss": 1.0})
    run.finish()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("SELECT count(*) FROM media").fetchone()[0] == 0
    finally:
        conn.close()
