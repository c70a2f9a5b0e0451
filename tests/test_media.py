"""Media logged with run.log(): each type round-trips through the database, and bad inputs
get clear errors that leave the run (and the rest of the call) untouched."""

from __future__ import annotations

import io
import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import tracker
from tracker.db.sqlite.schema import SCHEMA_VERSION
from tracker.db.sqlite.store import SqliteStore
from tracker.media.decoded import decode_confusion, decode_histogram, decode_table, parse_meta

from .helpers import media_rows


def _media(db: Path) -> dict[str, tuple[int, str, dict[str, Any], bytes]]:
    """key -> (step, kind, meta, data) of the only run's newest media per key."""
    return {
        key: (step, kind, parse_meta(meta), data) for key, step, kind, meta, data in media_rows(db)
    }


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)))


def test_every_type_round_trips(db_path: Path) -> None:
    rgb = np.arange(12 * 8 * 3, dtype=np.uint8).reshape(12, 8, 3)
    values = np.linspace(-1, 1, 1001)
    run = tracker.init(db=db_path, quiet=True, console=False)
    run.log(
        {
            "loss": 0.5,
            "samples": tracker.Image(rgb, caption="epoch [bold]3[/bold]"),
            "gen": tracker.Table(
                columns=["prompt", "output", "score"],
                rows=[["héllo \x1b[31m", "wörld", 0.5], ["b", None, math.nan]],
            ),
            "grads": {"w": tracker.Histogram(values, bins=10)},
            "pre": tracker.Histogram(counts=[1, 2, 3], edges=[0.0, 1.0, 2.0, 4.0]),
            "cm": tracker.ConfusionMatrix([0, 1, 2, 2], [0, 2, 2, 1], labels=["a", "b", "c"]),
        },
        step=7,
    )
    run.finish()
    media = _media(db_path)
    assert set(media) == {"samples", "gen", "grads/w", "pre", "cm"}
    step, kind, meta, data = media["samples"]
    assert (step, kind) == (7, "image")
    assert meta == {"width": 8, "height": 12, "caption": "epoch [bold]3[/bold]", "format": "png"}
    assert np.array_equal(_pixels(data), rgb)  # lossless

    table = decode_table(media["gen"][3])
    assert table.columns == ["prompt", "output", "score"]
    assert table.rows == [["héllo \x1b[31m", "wörld", 0.5], ["b", None, "NaN"]]

    hist = decode_histogram(media["grads/w"][3])
    assert len(hist.counts) == 10 and sum(hist.counts) == 1001
    assert hist.edges[0] == -1.0 and hist.edges[-1] == 1.0
    assert media["grads/w"][2]["mean"] == pytest.approx(0.0, abs=1e-12)
    pre = decode_histogram(media["pre"][3])
    assert (pre.counts, pre.edges) == ([1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 4.0])

    cm = decode_confusion(media["cm"][3])
    assert cm.labels == ["a", "b", "c"]
    assert cm.matrix == [[1, 0, 0], [0, 0, 1], [0, 1, 1]]
    assert media["cm"][2]["accuracy"] == 0.5
    assert only_metric_keys(db_path) == {"loss"}


def only_metric_keys(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT key FROM series")}
    finally:
        conn.close()


def test_image_sources(db_path: Path, tmp_path: Path) -> None:
    grey_float = np.linspace(0.0, 1.0, 6 * 5, dtype=np.float32).reshape(6, 5)
    chw = np.zeros((3, 4, 6), np.float32)
    chw[0] = 1.0  # red, channels first
    pil = PILImage.new("RGB", (9, 3), (10, 200, 30))
    png_file = tmp_path / "pic.png"
    pil.save(png_file)
    jpeg_file = tmp_path / "pic.jpg"
    pil.save(jpeg_file, quality=90)
    run = tracker.init(db=db_path, quiet=True, console=False)
    run.log(
        {
            "grey": tracker.Image(grey_float),
            "chw": tracker.Image(chw),
            "pil": tracker.Image(pil),
            "png": tracker.Image(str(png_file)),
            "jpeg": tracker.Image(jpeg_file, caption="kept as JPEG"),
            "many": [tracker.Image(np.zeros((2, 2), np.uint8)) for _ in range(3)],
            "bool": tracker.Image(np.eye(3, dtype=bool)),
        }
    )
    pil.paste((0, 0, 0), (0, 0, 9, 3))  # changing the caller's image later changes nothing
    run.finish()
    media = _media(db_path)
    grey = _pixels(media["grey"][3])
    assert grey.shape == (6, 5) and grey[0, 0] == 0 and grey[-1, -1] == 255
    red = _pixels(media["chw"][3])
    assert red.shape == (4, 6, 3) and (red[..., 0] == 255).all() and (red[..., 1] == 0).all()
    assert _pixels(media["pil"][3])[0, 0].tolist() == [10, 200, 30]
    assert media["png"][3] == png_file.read_bytes()
    assert media["jpeg"][3] == jpeg_file.read_bytes() and media["jpeg"][2]["format"] == "jpeg"
    assert {"many[0]", "many[1]", "many[2]"} <= set(media)
    assert _pixels(media["bool"][3]).max() == 255


def test_torch_tensors_on_any_device_path(db_path: Path) -> None:
    torch = pytest.importorskip("torch")
    chw = torch.zeros(3, 4, 6, requires_grad=True)  # channels first, part of a graph
    with torch.no_grad():
        chw[1] = 0.5
    run = tracker.init(db=db_path, quiet=True, console=False)
    run.log({"t": tracker.Image(chw), "h": tracker.Histogram(torch.linspace(-1, 1, 101))})
    run.finish()
    media = _media(db_path)
    pixels = _pixels(media["t"][3])
    assert pixels.shape == (4, 6, 3) and (pixels[..., 1] == 127).all()  # wandb truncates 127.5
    assert sum(decode_histogram(media["h"][3]).counts) == 101


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: tracker.Image(np.zeros((4, 4, 2))), "not an image"),
        (lambda: tracker.Image(np.zeros((2, 3, 4, 5))), "not an image"),
        (lambda: tracker.Image(np.zeros((0, 4))), "empty"),
        (lambda: tracker.Image(np.zeros((9000, 2), np.uint8)), "at most 8192 a side"),
        (lambda: tracker.Image(np.zeros((5000, 5000), np.uint8)), "downscale"),
        (lambda: tracker.Image(np.array([["a"]])), "must be numbers"),
        (lambda: tracker.Image("/no/such/file.png"), "cannot read"),
        (lambda: tracker.Table(columns=["a", "b"], rows=[[1]]), "row 0 has 1 cells"),
        (lambda: tracker.Table(columns=["a"], rows=[[b"\xff\xfe"]]), "not valid UTF-8"),
        (lambda: tracker.Table(columns=["a"], rows=[["\ud800"]]), "lone surrogate"),
        (lambda: tracker.Table(columns="abc", rows=[]), "not a string"),
        (lambda: tracker.Histogram(counts=[1, math.nan], edges=[0, 1, 2]), "NaN found"),
        (lambda: tracker.Histogram(counts=[1, 2], edges=[0, 1]), "need 3 edges"),
        (lambda: tracker.Histogram(counts=[1, 2], edges=[0, 2, 1]), "increase"),
        (lambda: tracker.Histogram([1, 2], bins=0), "bins must be"),
        (lambda: tracker.Histogram(), "pass values"),
        (lambda: tracker.ConfusionMatrix([0, 1], [0]), "2 true labels but 1"),
        (lambda: tracker.ConfusionMatrix([0, 5], [0, 1], labels=["a", "b"]), "class index 5"),
        (lambda: tracker.ConfusionMatrix(["a"], ["z"], labels=["a", "b"]), "not one of"),
        (lambda: tracker.ConfusionMatrix(matrix=[[1, 2]]), "must be square"),
        (lambda: tracker.ConfusionMatrix([0.5], [1]), "non-integer"),
    ],
)
def test_bad_inputs_get_clear_errors(make: Any, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message.replace("[", r"\[")):
        make()


def test_bad_file_is_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(ValueError, match="not an image file"):
        tracker.Image(text)


def test_nan_in_raw_histogram_values_is_counted_and_warned(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    values = np.r_[np.arange(10.0), [math.nan, math.inf]]
    run.log({"h": tracker.Histogram(values, bins=5)}, step=1)
    run.log({"h": tracker.Histogram(values, bins=5)}, step=2)
    run.log({"all_nan": tracker.Histogram([math.nan, math.nan])}, step=3)
    run.finish()
    err = capsys.readouterr().err
    assert err.count("'h': 2 NaN/inf values left out") == 1  # once per key
    media = _media(db_path)
    assert media["h"][2]["nonfinite"] == 2 and media["h"][2]["total"] == 10
    assert sum(decode_histogram(media["h"][3]).counts) == 10
    assert decode_histogram(media["all_nan"][3]).counts == []


def test_bad_media_in_a_call_queues_nothing_of_it(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    with pytest.raises(TypeError, match="'bad'"):
        run.log({"loss": 1.0, "img": tracker.Image(np.zeros((2, 2))), "bad": np.zeros(3, complex)})
    run.log({"loss": 2.0}, step=5)
    run.finish()
    assert _media(db_path) == {}
    assert only_metric_keys(db_path) == {"loss"}


def test_media_are_written_by_the_writer_not_in_log(db_path: Path) -> None:
    """log() only queues the object; PNG encoding happens on the writer thread."""
    run = tracker.init(db=db_path, quiet=True, console=False)
    image = tracker.Image(np.zeros((64, 64, 3), np.uint8))
    calls: list[str] = []
    original = image.encode

    def spy() -> Any:
        import threading

        calls.append(threading.current_thread().name)
        return original()

    image.encode = spy  # type: ignore[method-assign]
    run.log({"img": image})
    run.finish()
    assert calls == ["tracker-writer"]


def test_media_survive_an_unwritable_database_and_are_written_later(db_path: Path) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    conn = sqlite3.connect(db_path, timeout=0.1)
    conn.execute("BEGIN EXCLUSIVE")  # another process holds the write lock for a while
    run.log({"img": tracker.Image(np.ones((3, 3), np.uint8))}, step=1)
    assert not run.flush(timeout=0.5)
    conn.execute("ROLLBACK")
    conn.close()
    assert run.flush(timeout=30)
    run.finish()
    assert _media(db_path)["img"][0] == 1


def test_a_version_1_database_is_migrated_in_place(db_path: Path) -> None:
    from tracker.db.sqlite.schema import _SCHEMA_V1, APPLICATION_ID, _split_statements

    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in _split_statements(_SCHEMA_V1):
        conn.execute(statement)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO runs (id, project, name, status, created_at, updated_at, host, pid, version)"
        " VALUES ('old1', 'p', 'old run', 'finished', 1, 2, 'h', 1, 1)"
    )
    conn.close()
    reader = SqliteStore.for_reading(db_path)  # an older file is readable as it is
    assert [r.name for r in reader.read_runs()] == ["old run"]
    reader.close()
    SqliteStore.for_writing(db_path).close()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"media", "console"} <= tables
    assert conn.execute("SELECT name FROM runs").fetchall() == [("old run",)]
    conn.close()


def test_pandas_style_and_wandb_spellings() -> None:
    table = tracker.Table(columns=["a"], data=[[1], [2]])
    assert table.rows == [[1], [2]]
    hist = tracker.Histogram(np_histogram=([1, 1], [0.0, 1.0, 2.0]))
    assert hist.counts == [1.0, 1.0]
    cm = tracker.ConfusionMatrix(y_true=[1, 0], preds=[1, 1], class_names=["n", "y"])
    assert cm.matrix == [[0, 1], [0, 1]]
    numpy_cells = tracker.Table(columns=["x"], rows=[[np.float32(0.5)], [np.int64(3)]])
    assert numpy_cells.rows == [[0.5], [3]]


def test_wandb_style_confusion_matrix_helper() -> None:
    import tracker as wandb

    from_probs = wandb.plot.confusion_matrix(
        probs=[[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], y_true=[0, 1, 1], class_names=["no", "yes"]
    )
    assert from_probs.matrix == [[1, 0], [1, 1]] and from_probs.labels == ["no", "yes"]
    from_preds = wandb.plot.confusion_matrix(y_true=[0, 1], preds=[1, 1], class_names=["a", "b"])
    assert from_preds.matrix == [[0, 1], [0, 1]]
    with pytest.raises(ValueError, match="samples x classes"):
        wandb.plot.confusion_matrix(probs=[0.1, 0.9], y_true=[1])


def test_sigkill_while_logging_media_leaves_a_sound_file(db_path: Path) -> None:
    import signal

    from .helpers import start_python

    child = start_python(
        """
        import sys, numpy as np, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        step = 0
        while True:
            for _ in range(5):
                pixels = np.full((128, 128, 3), step % 256, np.uint8)
                run.log({"img": tracker.Image(pixels, normalize=False),
                         "h": tracker.Histogram(np.arange(100.0))},
                        step=step)
                print(f"console line {step}")
                step += 1
            if run.flush():
                print(f"flushed {step - 1}", flush=True)
        """,
        str(db_path),
    )
    assert child.stdout is not None
    flushed = -1
    while flushed < 20:
        line = child.stdout.readline()
        if line.startswith("flushed"):
            flushed = int(line.split()[1])
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    reader = SqliteStore.for_reading(db_path)
    (run,) = reader.read_runs()
    rows = reader.read_media_index(run.id)
    data = reader.read_media_data([r[0] for r in rows])
    console = reader.read_console(run.id)
    reader.close()
    steps = sorted({r[2] for r in rows if r[1] == "img"})
    assert steps[: flushed + 1] == list(range(flushed + 1))  # every acknowledged image
    for row in rows:  # and every stored one is whole
        if row[1] == "img":
            assert _pixels(data[row[0]])[0, 0, 0] == row[2] % 256
    assert "console line 0\n" in "".join(chunk[3] for chunk in console)
    assert run.status == "crashed"


def test_disk_full_while_logging_media_never_raises_and_recovers(db_path: Path) -> None:
    from .helpers import run_python

    result = run_python(
        """
        import os, resource, sys, time, numpy as np, tracker
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.flush()
        size = sum(os.path.getsize(sys.argv[1] + s) for s in ("", "-wal") if os.path.exists(sys.argv[1] + s))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size + 256 * 1024, hard))
        noise = np.random.default_rng(0).integers(0, 256, (40, 128, 128, 3), dtype=np.uint8)
        for step in range(40):  # 40 incompressible images of 48 KiB: far more than fits
            run.log({"loss": float(step), "img": tracker.Image(noise[step])}, step=step)
        print("flushed while full:", run.flush(timeout=1), flush=True)  # it cannot
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space comes back
        deadline = time.time() + 30
        while not run.flush(timeout=5) and time.time() < deadline:
            time.sleep(0.2)
        run.finish()
        print("loop finished", flush=True)
        """,
        str(db_path),
    )
    assert "flushed while full: False" in result.stdout
    assert "loop finished" in result.stdout
    assert result.stderr.count("cannot write to") == 1, result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM media").fetchone()[0] == 40
    conn.close()
