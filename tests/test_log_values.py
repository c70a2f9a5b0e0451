"""What log() accepts, how values are stored, and what it refuses before queueing anything."""

from __future__ import annotations

import math
import re
import sqlite3
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import tracker
from tracker.db.sqlite.store import SqliteStore


def _points(db: Path, key: str) -> list[tuple[int, float | None]]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT p.step, p.value, typeof(p.value) FROM point_values p JOIN series s ON s.id = p.series"
        " WHERE s.key = ? ORDER BY p.seq",
        (key,),
    ).fetchall()
    conn.close()
    assert all(kind in ("real", "null") for _, _, kind in rows), rows  # never a BLOB
    return [(step, value) for step, value, _ in rows]


def test_plain_numbers_and_auto_step(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"loss": 1.5, "count": 3})
    run.log({"loss": 1.25})
    run.log({"loss": 1.0}, step=10)
    run.log({"loss": 0.5})
    assert run.step == 12  # wandb's run.step: where the next log() goes
    run.finish()
    assert _points(db_path, "loss") == [(0, 1.5), (1, 1.25), (10, 1.0), (11, 0.5)]
    assert _points(db_path, "count") == [(0, 3.0)]


@pytest.mark.parametrize(
    "value, expected",
    [
        (True, 1.0),
        (np.float32(0.25), 0.25),
        (np.float64(2.5), 2.5),
        (np.int64(7), 7.0),
        (np.array(0.5), 0.5),
        (np.array([1.5]), 1.5),
        (Decimal("0.125"), 0.125),
        (Fraction(1, 4), 0.25),
        (2**70, float(2**70)),
        (-0.0, -0.0),
    ],
)
def test_value_conversion(db_path: Path, value: object, expected: float) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"v": value})
    run.finish()
    assert _points(db_path, "v") == [(0, expected)]


def test_torch_scalars(db_path: Path) -> None:
    torch = pytest.importorskip("torch")
    run = tracker.init(db=db_path, quiet=True)
    run.log({"t": torch.tensor(0.75), "one": torch.tensor([2.0]), "i": torch.tensor(3)})
    with pytest.raises(TypeError, match=r"'m' is an array with 2 elements"):
        run.log({"m": torch.ones(2, dtype=torch.complex64)})
    run.finish()
    assert _points(db_path, "t") == [(0, 0.75)]
    assert _points(db_path, "one") == [(0, 2.0)]
    assert _points(db_path, "i") == [(0, 3.0)]


def test_nan_and_inf_are_kept_and_flagged(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    for value in (1.0, math.nan, math.inf, -math.inf, np.float32("nan"), 0.5):
        run.log({"loss": value})
    run.finish()
    stored = _points(db_path, "loss")
    assert stored[0] == (0, 1.0) and stored[-1] == (5, 0.5)
    assert stored[1] == (1, None) and stored[4] == (4, None)  # NaN is stored as NULL
    assert stored[2] == (2, math.inf) and stored[3] == (3, -math.inf)
    reader = SqliteStore.for_reading(db_path)
    (record,) = reader.read_runs()
    summary = record.metrics["loss"]
    assert summary.count == 6 and summary.nonfinite == 4
    assert (summary.min, summary.max, summary.last) == (0.5, 1.0, 0.5)
    points = reader.history(summary.series_id)
    assert math.isnan(points[1].value) and points[2].value == math.inf
    reader.close()


def test_last_value_nan_reads_back_as_nan(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"loss": 1.0})
    run.log({"loss": math.nan})
    run.finish()
    reader = SqliteStore.for_reading(db_path)
    summary = reader.read_runs()[0].metrics["loss"]
    assert math.isnan(summary.last) and summary.min == 1.0
    reader.close()


def test_text_and_none_are_taken_as_wandb_takes_them(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """wandb scripts log text beside numbers (``"train/epoch": "1 pq: 0"``) and None: the text
    becomes the summary's latest value, None is skipped, the numbers of the call are stored."""
    run = tracker.init(db=db_path, quiet=True)
    run.log({"loss": 1.0, "phase": "warmup", "extra": None, "nested": {"note": "a"}})
    run.log({"loss": 0.5, "phase": "train"})
    run.log({"phase": "done"})  # only text: the step still advances
    run.log({"loss": 0.25})
    run.finish()
    assert _points(db_path, "loss") == [(0, 1.0), (1, 0.5), (3, 0.25)]
    reader = SqliteStore.for_reading(db_path)
    (record,) = reader.read_runs()
    reader.close()
    assert record.summary == {"phase": "done", "nested/note": "a"}
    assert "phase" not in record.metrics and "extra" not in record.metrics
    assert capfd.readouterr().err.count("text values") == 1


@pytest.mark.parametrize(
    "payload, message",
    [
        ({"ok": 1.0, "bad": b"0.5"}, "'bad' is bytes"),
        ({"ok": 1.0, "bad": [1, "2"]}, "'bad' is list"),
        ({"ok": 1.0, "bad": 1 + 2j}, "'bad' is complex"),
        ({"ok": 1.0, "bad": np.array(["a", "b"])}, "'bad' is <U1"),
        ({"ok": 1.0, "bad": object()}, "'bad' is object"),
        ({"ok": 1.0, "text": "kept", "nested": {"bad": [None]}}, "'nested/bad' is list"),
    ],
)
def test_bad_values_raise_type_error_and_queue_nothing(
    db_path: Path, payload: dict[str, object], message: str
) -> None:
    run = tracker.init(db=db_path, quiet=True)
    with pytest.raises(TypeError, match=re.escape(message)):
        run.log(payload)
    assert run.step == 0
    run.log({"ok": 2.0})
    run.finish()
    assert _points(db_path, "ok") == [(0, 2.0)]


@pytest.mark.parametrize(
    "key, message",
    [
        ("", "must not be empty"),
        ("x" * 300, "at most 256"),
        ("a\x1b]0;pwn\x07", "control character"),
        ("nul\x00inside", "control character"),
        ("bad\ud800", "lone surrogate"),
    ],
)
def test_bad_keys_raise_value_error(db_path: Path, key: str, message: str) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"ok": 1.0})
    with pytest.raises(ValueError, match=message):
        run.log({key: 1.0})
    with pytest.raises(TypeError, match="must be a str"):
        run.log({3: 1.0})  # type: ignore[dict-item]
    run.finish()


def test_unicode_and_markup_keys_are_kept_exactly(db_path: Path) -> None:
    run = tracker.init(db=db_path, name="[bold]run[/] 🚀", quiet=True)
    run.log({"loss/ünïcödé 🔥": 1.0, "[red]x[/red]": 2.0})
    run.finish()
    reader = SqliteStore.for_reading(db_path)
    (record,) = reader.read_runs()
    assert record.name == "[bold]run[/] 🚀"
    assert set(record.metrics) == {"loss/ünïcödé 🔥", "[red]x[/red]"}
    reader.close()


def test_nested_dicts_flatten(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"eval": {"loss": 1.4, "acc": {"top1": 0.5}}, "train/loss": 2.0}, step=3)
    run.log({"eval": {"loss": 1.2}}, step=4)
    run.finish()
    assert _points(db_path, "eval/loss") == [(3, 1.4), (4, 1.2)]
    assert _points(db_path, "eval/acc/top1") == [(3, 0.5)]


def test_step_validation(db_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.log({"a": 1.0}, step=np.int64(5))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="step must be an int"):
        run.log({"a": 1.0}, step=1.5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="step must be an int"):
        run.log({"a": 1.0}, step=True)
    run.log({"a": 2.0}, step=2)  # wandb's rule: a step below the current one is dropped
    run.log({"a": 3.0}, step=1)
    run.log({"a": 4.0})  # and the automatic step goes on from the highest
    run.finish()
    assert _points(db_path, "a") == [(5, 1.0), (6, 4.0)]
    err = capfd.readouterr().err
    assert err.count("is below the current step 5") == 1, err


def test_caller_mutating_its_dict_after_log_changes_nothing(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True)
    metrics = {"loss": 1.0}
    run.log(metrics)
    metrics["loss"] = 99.0
    run.log({"loss": 2.0})
    run.finish()
    assert _points(db_path, "loss") == [(0, 1.0), (1, 2.0)]


def test_log_after_finish_warns_once_and_drops(
    db_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(db=db_path, quiet=True)
    run.finish()
    run.log({"a": 1.0})
    run.log({"a": 2.0})
    err = capfd.readouterr().err
    assert err.count("is finished; log() is ignored") == 1
