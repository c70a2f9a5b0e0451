"""sync_tensorboard: real SummaryWriters write real event files into a tmp logdir while patched;
the run's metrics and media are read back from the database and the event files with
TensorBoard's own reader."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import tracker
from tracker import tensorboard_sync
from tracker.db.sqlite.store import SqliteStore
from tracker.media.decoded import decode_histogram, decode_table

from .helpers import media_rows

torch = pytest.importorskip("torch")
pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402
from torch.utils.tensorboard import SummaryWriter  # noqa: E402


@pytest.fixture(autouse=True)
def _patched() -> Iterator[None]:
    tensorboard_sync.unpatch()
    assert "torch.utils.tensorboard" in tensorboard_sync.patch(tracker.current_run)
    yield
    tensorboard_sync.unpatch()


def _series(db: Path) -> dict[str, list[tuple[int, float]]]:
    """key -> [(step, value), ...] of the only run."""
    reader = SqliteStore.for_reading(db)
    try:
        (run,) = reader.read_runs()
        keys = [
            row[0]
            for row in reader.conn.execute("SELECT key FROM series WHERE run_id = ?", (run.id,))
        ]
        out = {}
        for key in keys:
            series = reader.series_id(run.id, key)
            assert series is not None
            out[key] = [(p.step, p.value) for p in reader.history(series)]
        return out
    finally:
        reader.close()


def _media(db: Path) -> dict[str, tuple[int, str, bytes]]:
    """key -> (step, kind, data) of the only run's newest media per key."""
    return {key: (step, kind, data) for key, step, kind, _meta, data in media_rows(db)}


def _events(logdir: Path) -> Any:
    accumulator = event_accumulator.EventAccumulator(
        str(logdir), size_guidance={event_accumulator.IMAGES: 0, event_accumulator.SCALARS: 0}
    )
    accumulator.Reload()
    return accumulator


def test_scalars_go_into_the_run_and_the_event_files(db_path: Path, tmp_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    writer = SummaryWriter(tmp_path / "tb")
    for step in range(0, 30, 10):
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
        writer.add_scalar("train/lr", torch.tensor(0.1), global_step=step)
        writer.add_scalars("acc", {"top1": 0.5 + step / 100, "top5": 0.9}, step)
    writer.add_scalar("eval/loss", 0.7, 20)  # same TensorBoard step as the last row: joins it
    writer.add_scalar("train/loss", 9.0, 5)  # steps need not grow: a new row
    writer.close()
    assert run.flush()

    series = _series(db_path)
    assert set(series) == {
        "train/loss", "train/lr", "acc/top1", "acc/top5", "eval/loss", "global_step",
    }  # fmt: skip
    # one run step per TensorBoard step, global_step logged beside the values
    assert series["global_step"] == [(0, 0), (1, 10), (2, 20), (3, 5)]
    assert series["train/loss"] == [(0, 1.0), (1, 1 / 11), (2, 1 / 21), (3, 9.0)]
    assert series["train/lr"] == [(0, pytest.approx(0.1)), (1, pytest.approx(0.1)),
                                  (2, pytest.approx(0.1))]  # fmt: skip
    assert series["acc/top1"] == [(0, 0.5), (1, 0.6), (2, 0.7)]
    assert series["eval/loss"] == [(2, 0.7)]

    # TensorBoard's own files are as they would be without the patch
    events = _events(tmp_path / "tb")
    assert [(e.step, round(e.value, 6)) for e in events.Scalars("train/loss")] == [
        (0, 1.0), (10, round(1 / 11, 6)), (20, round(1 / 21, 6)), (5, 9.0),
    ]  # fmt: skip
    assert [e.step for e in events.Scalars("eval/loss")] == [20]
    top1 = _events(tmp_path / "tb" / "acc_top1")
    assert [(e.step, round(e.value, 6)) for e in top1.Scalars("acc")] == [
        (0, 0.5), (10, 0.6), (20, 0.7),
    ]  # fmt: skip


def test_rows_follow_global_step_and_the_scripts_own_log_joins_them(
    db_path: Path, tmp_path: Path
) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    with SummaryWriter(tmp_path / "tb") as writer:
        writer.add_scalar("a", 1.0, 7)
        run.log({"mine": 1.0})  # wandb.log after writer calls: the same row
        writer.add_scalar("a", 2.0, 7)  # the same tag again at the same global_step: next row
        writer.add_scalar("b", 3.0, 7)
        writer.add_scalar("a", 4.0, 3)  # going back in TensorBoard steps: next row, kept
        run.log({"mine": 2.0}, commit=False)
        writer.add_scalar("c", 5.0, 3)
    assert run.flush()
    series = _series(db_path)
    assert series["global_step"] == [(0, 7), (1, 7), (2, 3)]
    assert series["a"] == [(0, 1.0), (1, 2.0), (2, 4.0)]
    assert series["b"] == [(1, 3.0)]
    assert series["c"] == [(2, 5.0)]
    assert series["mine"] == [(0, 1.0), (2, 2.0)]


def test_two_writers_in_sibling_logdirs_get_their_folder_as_prefix(
    db_path: Path, tmp_path: Path
) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    train = SummaryWriter(tmp_path / "tb" / "train")
    val = SummaryWriter(tmp_path / "tb" / "val")
    for step in range(3):
        train.add_scalar("loss", 1.0 + step, step)
        val.add_scalar("loss", 2.0 + step, step)
    train.close()
    val.close()
    later = SummaryWriter(tmp_path / "tb" / "later")  # alone by its first call: no prefix
    later.add_scalar("loss", 5.0, 3)
    later.close()
    assert run.flush()
    series = _series(db_path)
    assert series["train/loss"] == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert series["val/loss"] == [(0, 2.0), (1, 3.0), (2, 4.0)]
    assert series["loss"] == [(3, 5.0)]
    for name, value in (("train", 3.0), ("val", 4.0)):
        assert _events(tmp_path / "tb" / name).Scalars("loss")[-1].value == value


def test_root_logdir_fixes_the_prefix(db_path: Path, tmp_path: Path) -> None:
    tensorboard_sync.patch(tracker.current_run, root_logdir=tmp_path / "tb")
    run = tracker.init(db=db_path, quiet=True, console=False)
    with SummaryWriter(tmp_path / "tb" / "fold0" / "train") as writer:
        writer.add_scalar("loss", 1.0, 0)
    assert run.flush()
    assert set(_series(db_path)) == {"fold0/train/loss", "global_step"}


def test_histograms_images_text_and_hparams(db_path: Path, tmp_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False, config={"lr": 0.5})
    writer = SummaryWriter(tmp_path / "tb")
    values = torch.linspace(-1, 1, 1001)
    writer.add_histogram("weights", values, 3)
    writer.add_histogram("weights_10", values, 3, bins=10)
    chw = torch.zeros(3, 4, 6)
    chw[0] = 1.0  # red, channels first, floats in [0, 1]
    chw[1, 0, 0] = 2.0  # out of range: TensorBoard clips it
    writer.add_image("red", chw, 3)
    batch = np.random.default_rng(0).random((5, 2, 3, 1), dtype=np.float32)
    writer.add_images("batch", batch, 3, dataformats="NHWC")
    writer.add_text("notes", "lr looks **high**", 3)
    writer.add_hparams({"lr": 0.1, "layers": 4}, {"hparam/score": 0.25})
    writer.close()
    assert run.flush()

    media = _media(db_path)
    step, kind, data = media["weights"]
    hist = decode_histogram(data)
    assert (step, kind, len(hist.counts), sum(hist.counts)) == (0, "histogram", 64, 1001)
    assert len(decode_histogram(media["weights_10"][2]).counts) == 10
    events = _events(tmp_path / "tb")
    for key in ("red", "batch"):
        assert media[key][1] == "image"
        ours = np.asarray(PILImage.open(io.BytesIO(media[key][2])))
        theirs = np.asarray(PILImage.open(io.BytesIO(events.Images(key)[0].encoded_image_string)))
        if ours.ndim == 2:  # grey: TensorBoard repeats it in three channels
            ours = np.stack([ours] * 3, axis=2)
        assert np.array_equal(ours, theirs), key  # the very pixels TensorBoard stored
    assert ours.shape[:2] == (2, 5 * 3)  # TensorBoard's grid: 5 images of 2×3 in a row
    table = decode_table(media["notes"][2])
    assert (table.columns, table.rows) == (["text"], [["lr looks **high**"]])
    assert run.config["lr"] == 0.5 and run.config["layers"] == 4  # the config keeps its own
    assert _series(db_path)["hparam/score"] == [(1, 0.25)]


def test_define_metric_makes_global_step_the_x_axis(db_path: Path, tmp_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    calls: list[tuple[Any, ...]] = []
    original = getattr(run, "define_metric", None)

    def define_metric(name: str, step_metric: str | None = None, **kwargs: Any) -> Any:
        calls.append((name, step_metric))
        return original(name, step_metric=step_metric, **kwargs) if original else None

    run.define_metric = define_metric  # type: ignore[method-assign,assignment]
    with SummaryWriter(tmp_path / "tb") as writer:
        for step in range(3):
            writer.add_scalar("loss", 1.0, step)
    assert calls == [("*", "global_step")]  # once per run


def test_nothing_recorded_without_a_run_and_errors_never_reach_the_script(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SummaryWriter(tmp_path / "before") as writer:
        writer.add_scalar("loss", 1.0, 0)  # no run yet: TensorBoard only
    assert _events(tmp_path / "before").Scalars("loss")[0].value == 1.0
    run = tracker.init(db=db_path, quiet=True, console=False)
    with SummaryWriter(tmp_path / "tb") as writer:
        writer.add_scalar("bad\x01tag", 1.0, 0)  # TensorBoard takes it; the run refuses it
        writer.add_scalar("bad\x01tag", 2.0, 1)
        writer.add_scalar("good", 3.0, 1)
        with pytest.raises(Exception):  # noqa: B017 - TensorBoard's own error stays the script's
            writer.add_scalar("worse", object(), 2)
    assert run.flush()
    err = capsys.readouterr().err
    assert err.count("add_scalar() was written to TensorBoard but not recorded") == 1
    assert set(_series(db_path)) == {"good", "global_step"}
    assert [e.value for e in _events(tmp_path / "tb").Scalars("bad\x01tag")] == [1.0, 2.0]


def test_patch_is_idempotent_and_unpatch_restores(db_path: Path, tmp_path: Path) -> None:
    patched = SummaryWriter.add_scalar
    tensorboard_sync.patch(tracker.current_run)
    assert SummaryWriter.add_scalar is patched  # not wrapped twice
    run = tracker.init(db=db_path, quiet=True, console=False)
    with SummaryWriter(tmp_path / "tb") as writer:
        writer.add_scalar("loss", 1.0, 0)
        tensorboard_sync.unpatch()
        assert not tensorboard_sync.is_patched()
        assert SummaryWriter.add_scalar is not patched
        writer.add_scalar("loss", 2.0, 1)  # TensorBoard only now
    assert run.flush()
    assert _series(db_path)["loss"] == [(0, 1.0)]
    assert [e.value for e in _events(tmp_path / "tb").Scalars("loss")] == [1.0, 2.0]


def test_tensorboardx_writer_too(db_path: Path, tmp_path: Path) -> None:
    tensorboardx = pytest.importorskip("tensorboardX")
    assert "tensorboardX" in tensorboard_sync.patch(tracker.current_run)
    run = tracker.init(db=db_path, quiet=True, console=False)
    writer = tensorboardx.SummaryWriter(str(tmp_path / "tbx"))
    for step in range(3):
        writer.add_scalar("loss", 1.0 + step, step)
        writer.add_scalars("acc", {"a": 0.5}, step)
    writer.add_histogram("w", np.linspace(0, 1, 100), 2)
    writer.close()
    assert run.flush()
    series = _series(db_path)
    assert series["loss"] == [(0, 1.0), (1, 2.0), (2, 3.0)]
    assert series["acc/a"] == [(0, 0.5), (1, 0.5), (2, 0.5)]
    assert _media(db_path)["w"][:2] == (2, "histogram")
    assert [e.value for e in _events(tmp_path / "tbx").Scalars("loss")] == [1.0, 2.0, 3.0]
