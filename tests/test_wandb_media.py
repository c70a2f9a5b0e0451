"""wandb's media surface through real runs: ``Image`` (wandb's pixel rule, mode, grouping,
file_type, masks/boxes accepted), ``Table`` (add_data, add_column, get_column, column types),
``Histogram`` (wandb's spellings), and every ``wandb.plot.*`` chart stored as its table plus
the chart, read back from the file and drawn in the TUI's media pane."""

from __future__ import annotations

import io
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

import tracker
import tracker as wandb
from tracker.media.decoded import ChartData, decode_table, decode_table_or_chart, parse_meta
from tui.media_chart import chart_plan, chart_text
from tui.media_decode import Unreadable, decode_for_display
from tui.widgets.media_pane import ChartView, MediaPane, SamplesTable

from .helpers import media_rows
from .test_media_tui import _view_text, header, make_app, press_into_media
from .tui_helpers import wait_until

torch = pytest.importorskip("torch")


def _media(db: Path) -> dict[str, tuple[int, str, dict[str, Any], bytes]]:
    """key -> (step, kind, meta, data) of the only run's newest media per key."""
    return {
        key: (step, kind, parse_meta(meta), data) for key, step, kind, meta, data in media_rows(db)
    }


def _logged(db: Path, payload: dict[str, Any]) -> dict[str, tuple[int, str, dict[str, Any], bytes]]:
    run = tracker.init(db=db, quiet=True, console=False)
    run.log(payload, step=3)
    assert run.flush(timeout=30)
    run.finish()
    return _media(db)


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(data)))


def wandb_rule(data: np.ndarray) -> np.ndarray:
    """wandb's documented ``normalize=True`` rule, written out from its docstring: [0, 1]
    times 255; [-1, 1] mapped from -1..1 onto 0..255; anything else clipped to [0, 255];
    truncated to uint8."""
    low, high = data.min(), data.max()
    if low >= 0 and high <= 1:
        return (data * 255).astype(np.uint8)
    if low >= -1 and high <= 1:
        return (255 * 0.5 * (data + 1)).astype(np.uint8)
    return data.clip(0, 255).astype(np.uint8)


# --- Image ---------------------------------------------------------------------------------


def test_a_normalised_tensor_is_stored_as_wandb_stores_it(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generator = torch.Generator().manual_seed(0)
    picture = torch.rand(3, 16, 24, generator=generator)
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    normalised = ((picture - mean[:, None, None]) / std[:, None, None]).requires_grad_(True)
    normalised = normalised * 1.0  # part of a graph, as a model's input often is
    low, high = float(normalised.detach().min()), float(normalised.detach().max())
    assert low < -0.4 and high > 2.5  # the range the issue reports (-0.42 .. 2.82)
    media = _logged(
        db_path,
        {"inputs": wandb.Image(normalised), "again": wandb.Image(normalised, caption="x")},
    )
    stored = _pixels(media["inputs"][3])
    expected = wandb_rule(normalised.detach().permute(1, 2, 0).numpy())
    assert stored.shape == (16, 24, 3) and np.array_equal(stored, expected)
    err = capsys.readouterr().err
    assert err.count("outside [0, 255]; clipped to [0, 255] as wandb does") == 1  # once


@pytest.mark.parametrize(
    ("name", "array"),
    [
        ("float01", np.linspace(0, 1, 48, dtype=np.float32).reshape(6, 8)),
        ("float_pm1", np.linspace(-1, 1, 48, dtype=np.float64).reshape(6, 8)),
        ("float255", np.linspace(0, 255, 48).reshape(6, 8)),
        ("float_wide", np.linspace(-40, 400, 48).reshape(6, 8)),
        ("float16", np.linspace(0, 1, 48, dtype=np.float16).reshape(6, 8)),
        ("int01", (np.arange(48) % 2).reshape(6, 8)),
        ("int_pm1", (np.arange(48) % 3 - 1).reshape(6, 8)),
        ("int16_wide", np.linspace(-500, 3000, 48).astype(np.int16).reshape(6, 8)),
        ("uint8_mask", (np.arange(48) % 2).astype(np.uint8).reshape(6, 8)),
        ("uint8", np.arange(48, dtype=np.uint8).reshape(6, 8) * 5),
        ("rgb_float", np.linspace(0, 1, 6 * 8 * 3, dtype=np.float32).reshape(6, 8, 3)),
    ],
)
def test_pixel_values_follow_wandbs_rule(name: str, array: np.ndarray) -> None:
    image = wandb.Image(array)
    stored = _pixels(image.encode().data)
    assert np.array_equal(stored, wandb_rule(array)), name


def test_integer_and_float_images_through_a_run(db_path: Path) -> None:
    mask = np.eye(6, dtype=np.int64)  # class ids 0/1: drawn black and white, as in wandb
    wide = np.arange(-20, 28, dtype=np.int32).reshape(6, 8) * 10
    media = _logged(
        db_path,
        {
            "mask": wandb.Image(mask),
            "wide": wandb.Image(wide),
            "raw": wandb.Image(np.array([[300, 5]], np.int64), normalize=False),
            "raw_float": wandb.Image(np.array([[0.5, 300.0, -2.0]]), normalize=False),
            "hwc_tensor": wandb.Image(torch.full((5, 7, 3), 0.25)),
        },
    )
    assert np.array_equal(_pixels(media["mask"][3]), mask.astype(np.uint8) * 255)
    assert np.array_equal(_pixels(media["wide"][3]), wide.clip(0, 255).astype(np.uint8))
    assert _pixels(media["raw"][3]).tolist() == [[44, 5]]  # 300 wraps, as astype(uint8) does
    assert _pixels(media["raw_float"][3]).tolist() == [[0, 255, 0]]
    hwc = _pixels(media["hwc_tensor"][3])
    assert hwc.shape == (5, 7, 3) and (hwc == 63).all()


def test_nan_pixels_do_not_stop_training(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = np.linspace(0, 1, 16).reshape(4, 4)
    values[0, 0] = math.nan
    values[1, 1] = math.inf
    media = _logged(db_path, {"diverged": wandb.Image(values), "again": wandb.Image(values)})
    stored = _pixels(media["diverged"][3])
    assert stored[0, 0] == 0 and stored[1, 1] == 255
    assert stored[3, 3] == 255 and stored[0, 1] == int(values[0, 1] * 255)
    assert capsys.readouterr().err.count("NaN/inf pixel values") == 1


def test_mode_grouping_and_file_type(db_path: Path) -> None:
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0] = 200
    rgba = np.full((6, 8, 4), 100, np.uint8)
    media = _logged(
        db_path,
        {
            "grey": wandb.Image(rgb, mode="L", grouping=3),
            "jpg": wandb.Image(rgba, file_type="jpg", caption="alpha dropped"),
            "bmp": wandb.Image(rgb, file_type="bmp"),
            "png": wandb.Image(rgb, file_type="png"),
        },
    )
    grey = PILImage.open(io.BytesIO(media["grey"][3]))
    assert grey.mode == "L" and media["grey"][2]["grouping"] == 3
    assert np.array_equal(np.asarray(grey), np.asarray(PILImage.fromarray(rgb).convert("L")))
    assert media["jpg"][3][:3] == b"\xff\xd8\xff" and media["jpg"][2]["format"] == "jpeg"
    assert abs(int(_pixels(media["jpg"][3]).mean()) - 100) <= 2  # JPEG, lossy
    assert media["bmp"][2]["format"] == "png" and np.array_equal(_pixels(media["bmp"][3]), rgb)
    with pytest.raises(ValueError, match="file_type must be one of"):
        wandb.Image(rgb, file_type="gif")
    with pytest.raises(ValueError, match="mode 'XYZ' is not one of"):
        wandb.Image(rgb, mode="XYZ")


def test_masks_and_boxes_are_accepted_with_one_warning(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)
    labels = {0: "background", 1: "cat"}
    boxes = {
        "predictions": {
            "box_data": [
                {"position": {"minX": 0.1, "maxX": 0.5, "minY": 0.2, "maxY": 0.6}, "class_id": 1}
            ],
            "class_labels": labels,
        }
    }
    masks = {"truth": {"mask_data": np.eye(16, dtype=np.uint8), "class_labels": labels}}
    classes = [{"id": 0, "name": "background"}, {"id": 1, "name": "cat"}]
    media = _logged(
        db_path,
        {
            "seg": wandb.Image(picture, masks=masks, classes=classes),
            "det": [wandb.Image(picture, boxes=boxes) for _ in range(3)],
        },
    )
    assert np.array_equal(_pixels(media["seg"][3]), picture)
    assert media["seg"][2]["not_drawn"] == ["masks", "classes"]
    assert {"det[0]", "det[1]", "det[2]"} <= set(media)  # a list of images under one key
    assert media["det[1]"][2]["not_drawn"] == ["boxes"]
    err = capsys.readouterr().err
    assert err.count("masks=, boxes= and classes= are accepted but not drawn") == 1
    with pytest.raises(ValueError, match='"boxes" must be a dictionary'):
        wandb.Image(picture, boxes=[1, 2])
    from tracker.media import BoundingBoxes2D, Classes, ImageMask

    typed = wandb.Image(
        picture,
        boxes={"p": BoundingBoxes2D(boxes["predictions"], "p")},
        masks={"m": ImageMask(masks["truth"], "m")},
        classes=Classes(classes),
    )
    assert typed.overlays == ("boxes", "masks", "classes")
    assert wandb.Image(picture, masks={}, classes=np.array([1])).overlays == ("classes",)


def test_images_from_images_figures_and_devices(db_path: Path) -> None:
    class Figure:  # what wandb.Image takes from matplotlib: anything that can savefig
        __module__ = "matplotlib.figure"

        def savefig(self, buffer: Any, format: str) -> None:
            PILImage.new("RGB", (10, 4), (1, 2, 3)).save(buffer, format=format)

    device = "cuda" if torch.cuda.is_available() else "cpu"
    on_device = torch.full((1, 4, 4), 1.0, device=device, requires_grad=True) * 0.5
    base = wandb.Image(np.zeros((3, 3), np.uint8), caption="first")
    media = _logged(
        db_path,
        {
            "copy": wandb.Image(base, caption="second"),
            "figure": wandb.Image(Figure()),
            "device": wandb.Image(on_device),
            "bf16": wandb.Image(torch.ones(3, 4, 4, dtype=torch.bfloat16)),
        },
    )
    assert media["copy"][2]["caption"] == "second" and base.caption == "first"
    assert _pixels(media["figure"][3])[0, 0].tolist() == [1, 2, 3]
    assert _pixels(media["device"][3]).tolist() == [[127] * 4] * 4
    assert (_pixels(media["bf16"][3]) == 255).all()


# --- Table ---------------------------------------------------------------------------------


def test_table_add_data_add_column_get_column(db_path: Path) -> None:
    table = wandb.Table(columns=["id", "image", "prediction"])
    for index in range(3):
        picture = wandb.Image(np.full((8, 8), index * 50, np.uint8), caption=f"digit {index}")
        table.add_data(index, picture, np.float32(index / 2))
    table.add_column("truth", np.array([0, 1, 1]))
    table.add_column("score", torch.tensor([0.5, 0.25, 1.0]))
    assert table.columns == ["id", "image", "prediction", "truth", "score"]
    assert table.get_column("truth") == [0, 1, 1]
    assert table.get_column("prediction", convert_to="numpy").tolist() == [0.0, 0.5, 1.0]
    assert isinstance(table.get_column("image")[0], wandb.Image)
    assert table.data[2][0] == 2 and len(table.data) == 3
    assert [index for index, _ in table.iterrows()] == [0, 1, 2]
    with pytest.raises(ValueError, match="row 3 has 2 cells but there are 5 columns"):
        table.add_data(1, 2)
    with pytest.raises(ValueError, match="has 2 values; the table has 3 rows"):
        table.add_column("short", [1, 2])
    with pytest.raises(ValueError, match="already a column 'id'"):
        table.add_column("id", [1, 2, 3])
    media = _logged(db_path, {"samples": table})
    stored = decode_table(media["samples"][3])
    assert stored.columns == table.columns
    assert stored.rows[1] == [1, "<image 8x8 'digit 1'>", 0.5, 1, 0.25]
    assert media["samples"][2] == {"columns": table.columns, "rows": 3}


def test_table_constructors_as_in_wandb(capsys: pytest.CaptureFixture[str]) -> None:
    assert wandb.Table().columns == ["Input", "Output", "Expected"]  # wandb's default
    from_array = wandb.Table(columns=["a", "b"], data=np.arange(6).reshape(3, 2))
    assert from_array.data == [[0, 1], [2, 3], [4, 5]]
    from_tensor = wandb.Table(["x"], torch.tensor([[1.5], [2.5]]))
    assert from_tensor.get_column("x") == [1.5, 2.5]

    class DataFrame:  # the part of pandas' DataFrame a Table reads
        columns = ["q", "n"]

        def itertuples(self, index: bool, name: None) -> Any:
            return iter([("why?", np.int64(4)), ("how?", np.int64(2))])

    assert wandb.Table(dataframe=DataFrame()).data == [["why?", 4], ["how?", 2]]
    assert wandb.Table(data=DataFrame()).columns == ["q", "n"]
    empty = wandb.Table(columns=[])
    empty.add_column("first", [1, 2, 3])  # the first column sets the number of rows
    assert empty.data == [[1], [2], [3]]

    big = wandb.Table(columns=["i"])
    for index in range(10_005):
        big.add_data(index)
    _, rows = big.stored()
    assert len(big.data) == 10_005 and len(rows) == 10_000 and rows[-1] == [9_999]
    assert capsys.readouterr().err.count("only the first 10,000 are stored") == 1


def test_table_column_types_as_in_wandb() -> None:
    table = wandb.Table(columns=["n", "text"])
    table.add_data(1, "a")
    table.add_data(2.5, None)  # ints and floats are numbers; None is allowed
    table.add_data(np.int64(3), "c")
    with pytest.raises(TypeError, match="column 'n' holds number values, but row 3 has a str"):
        table.add_data("four", "d")
    assert len(table.data) == 3  # the refused row is not added
    mixed = wandb.Table(columns=["v"], allow_mixed_types=True)
    for value in (1, "two", True, wandb.Image(np.zeros((2, 2), np.uint8)), None):
        mixed.add_data(value)
    assert len(mixed.data) == 5
    strict = wandb.Table(columns=["v"], optional=False)
    with pytest.raises(TypeError, match="is None but the column is not optional"):
        strict.add_data(None)
    with pytest.raises(ValueError, match="log_mode must be one of"):
        wandb.Table(columns=["a"], log_mode="SOMETIMES")


def test_a_table_copy_for_log_keeps_what_was_logged() -> None:
    """``at_log()`` is what log() should queue: later rows and columns are not in it."""
    table = wandb.Table(columns=["step"], data=[[0], [1]])
    logged = table.at_log()
    table.add_data(2)
    table.add_column("loss", [1.0, 0.5, 0.25])
    assert logged.stored() == (["step"], [[0], [1]])
    assert table.stored() == (["step", "loss"], [[0, 1.0], [1, 0.5], [2, 0.25]])


# --- Histogram -----------------------------------------------------------------------------


def test_histogram_spellings_and_tensors(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = np.random.default_rng(0).normal(size=1000)
    counts, edges = np.histogram(values, bins=10)
    grads = torch.randn(64, 32, dtype=torch.bfloat16, requires_grad=True) * 2
    exploded = torch.tensor([1.0, 2.0, math.nan, math.inf, 3.0])
    media = _logged(
        db_path,
        {
            "seq": wandb.Histogram(values, num_bins=16),
            "kw": wandb.Histogram(sequence=values.tolist()),
            "np": wandb.Histogram(np_histogram=(counts, edges)),
            "positional": wandb.Histogram(None, (counts, edges)),  # wandb's second argument
            "grads": wandb.Histogram(grads),
            "exploded": wandb.Histogram(exploded),
        },
    )
    from tracker.media.decoded import decode_histogram

    assert len(decode_histogram(media["seq"][3]).counts) == 16
    assert len(decode_histogram(media["kw"][3]).counts) == 64  # wandb's default
    for key in ("np", "positional"):
        stored = decode_histogram(media[key][3])
        assert stored.counts == counts.tolist() and stored.edges == edges.tolist()
    assert sum(decode_histogram(media["grads"][3]).counts) == 64 * 32
    assert media["exploded"][2]["nonfinite"] == 2 and media["exploded"][2]["total"] == 3
    assert capsys.readouterr().err.count("'exploded': 2 NaN/inf values left out") == 1
    hist = wandb.Histogram([1, 2, 2, 3], num_bins=3)
    assert hist.histogram == [1.0, 2.0, 1.0] and hist.bins == pytest.approx([1, 5 / 3, 7 / 3, 3])
    with pytest.raises(ValueError, match="bins must be an int from 1 to 512"):
        wandb.Histogram(values, num_bins=513)


# --- wandb.plot ----------------------------------------------------------------------------


def _chart(media: dict[str, Any], key: str) -> ChartData:
    _, kind, meta, data = media[key]
    assert kind == "table" and isinstance(meta["chart"], str)
    chart = decode_table_or_chart(data)
    assert isinstance(chart, ChartData)
    assert decode_table(data).columns == chart.table.columns  # any reader sees the table
    return chart


def test_every_plot_is_stored_as_its_table_and_chart(db_path: Path) -> None:
    steps = np.arange(50)
    table = wandb.Table(
        columns=["step", "value", "series"],
        data=[[int(s), float(np.sin(s / 8) + k), f"s{k}"] for k in range(2) for s in steps],
    )
    classes = wandb.Table(columns=["class", "accuracy"], data=[["car", 0.9], ["bus", 0.7]])
    heights = wandb.Table(columns=["height"], data=[[float(h)] for h in np.linspace(1, 2, 40)])
    media = _logged(
        db_path,
        {
            "line": wandb.plot.line(table, "step", "value", stroke="series", title="Sines"),
            "scatter": wandb.plot.scatter(table, "step", "value", title="Points"),
            "bar": wandb.plot.bar(classes, "class", "accuracy", title="Accuracy"),
            "hist": wandb.plot.histogram(heights, "height", title="Heights"),
            "series": wandb.plot.line_series(
                steps, [steps**2, steps * 3], keys=["sq", "lin"], title="Two", xname="epoch"
            ),
            "custom": wandb.plot.plot_table("me/odd/v1", table, {"a": "step"}, {"title": "t"}),
            "cm": wandb.plot.confusion_matrix(
                y_true=[0, 1, 1], preds=[0, 1, 0], class_names=["a", "b"], title="Errors"
            ),
        },
    )
    line = _chart(media, "line")
    assert (line.type, line.spec, line.title) == ("line", "wandb/line/v0", "Sines")
    assert line.fields == {"x": "step", "y": "value", "stroke": "series"}
    assert len(line.table.rows) == 100 and media["line"][2]["title"] == "Sines"
    assert _chart(media, "scatter").type == "scatter"
    bar = _chart(media, "bar")
    assert bar.fields == {"label": "class", "value": "accuracy"} and bar.table.rows[0] == [
        "car",
        0.9,
    ]
    assert _chart(media, "hist").fields == {"value": "height"}
    series = _chart(media, "series")
    assert series.table.columns == ["step", "lineKey", "lineVal"]
    assert series.table.rows[:2] == [[0, "sq", 0], [1, "sq", 1]]
    assert series.table.rows[50] == [0, "lin", 0] and series.strings["xname"] == "epoch"
    assert _chart(media, "custom").type == "custom"
    assert media["cm"][1] == "confusion" and media["cm"][2]["title"] == "Errors"
    plans = {key: chart_plan(_chart(media, key)) for key in ("line", "series", "hist", "bar")}
    assert [s.label for s in plans["line"].series] == ["s0", "s1"]
    assert plans["series"].xlabel == "epoch" and len(plans["series"].series) == 2
    assert len(plans["hist"].values) == 40 and plans["bar"].bars[1] == ("bus", 0.7)


def test_line_series_shapes_as_in_wandb() -> None:
    per_series = wandb.plot.line_series([[0, 1], [0, 2, 4]], [[1, 2], [3, 4, 5]])
    assert per_series.table.data == [
        [0, "line_0", 1], [1, "line_0", 2], [0, "line_1", 3], [2, "line_1", 4], [4, "line_1", 5]
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"x-series \(3\) must match the y-series \(2\)"):
        wandb.plot.line_series([[0], [1], [2]], [[1], [2]])
    with pytest.raises(ValueError, match=r"keys \(1\) must match the y-series \(2\)"):
        wandb.plot.line_series([0, 1], [[1, 2], [3, 4]], keys=["one"])


def test_roc_and_pr_curves_are_the_points_wandb_computes(db_path: Path) -> None:
    # scikit-learn's documented example: roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) is
    # fpr [0, 0, .5, .5, 1], tpr [0, .5, .5, 1, 1]; its precision_recall_curve is precision
    # [.5, .667, .5, 1, 1] at recall [1, 1, .5, .5, 0]
    y_true = np.array([0, 0, 1, 1])
    positive = torch.tensor([0.1, 0.4, 0.35, 0.8])
    y_probas = torch.stack([1 - positive, positive], dim=1)
    media = _logged(
        db_path,
        {
            "roc": wandb.plot.roc_curve(
                y_true, y_probas, labels=["no", "yes"], classes_to_plot=[1]
            ),
            "pr": wandb.plot.pr_curve(y_true, positive.numpy(), classes_to_plot=[1]),
            "both": wandb.plot.roc_curve(y_true, y_probas, labels=["no", "yes"]),
        },
    )
    roc = _chart(media, "roc")
    assert roc.table.columns == ["class", "fpr", "tpr"] and roc.fields["x"] == "fpr"
    assert roc.table.rows == [
        ["yes", 0.0, 0.0], ["yes", 0.0, 0.5], ["yes", 0.5, 0.5], ["yes", 0.5, 1.0],
        ["yes", 1.0, 1.0],
    ]  # fmt: skip
    assert roc.strings["x-axis-title"] == "False positive rate"
    pr = _chart(media, "pr")
    assert pr.table.columns == ["class", "precision", "recall"]
    recalls = [row[2] for row in pr.table.rows]
    assert recalls == [round(r, 3) for r in np.linspace(0, 1, 21)[::-1]]  # 1.0 down to 0.0
    precision = {row[2]: row[1] for row in pr.table.rows}
    assert all(precision[r] == 0.667 for r in recalls if r > 0.5)
    assert all(precision[r] == 1.0 for r in recalls if r <= 0.5)
    assert pr.title == "Precision-Recall Curve"
    assert {row[0] for row in _chart(media, "both").table.rows} == {"no", "yes"}
    plan = chart_plan(roc)
    assert plan.unit_square and plan.series[0].label == "yes AUC 0.75"


def test_curves_of_many_classes_and_bad_inputs() -> None:
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, 500)
    y_probas = rng.dirichlet(np.ones(4), 500)
    names = ["w", "x", "y", "z"]
    pr = wandb.plot.pr_curve(y_true, y_probas, labels=names, interp_size=11)
    assert len(pr.table.data) == 4 * 11 and {r[0] for r in pr.table.data} == set(names)
    roc = wandb.plot.roc_curve(list(y_true), y_probas.tolist(), classes_to_plot=[0, 2])
    assert {r[0] for r in roc.table.data} == {0, 2}
    for row in roc.table.data:
        assert 0.0 <= row[1] <= 1.0 and 0.0 <= row[2] <= 1.0
    text = wandb.plot.roc_curve(
        np.array(["cat", "dog", "cat"]), [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]
    )
    assert {r[0] for r in text.table.data} == {"cat", "dog"}
    with pytest.raises(ValueError, match="pass y_true and y_probas"):
        wandb.plot.pr_curve(y_true)
    with pytest.raises(ValueError, match="samples x classes"):
        wandb.plot.roc_curve([0, 1], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="NaN or infinite"):
        wandb.plot.roc_curve([0, 1], [[0.5, math.nan], [0.5, 0.5]])
    with pytest.raises(TypeError, match=r"expected a tracker\.Table"):
        wandb.plot.line([[1, 2]], "x", "y")  # type: ignore[arg-type]


def test_a_chart_snapshots_its_table_and_names_missing_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = wandb.Table(columns=["x", "y"], data=[[0, 1.0]])
    chart = wandb.plot.line(table, "x", "why")
    table.add_data(1, 2.0)  # after the chart was made: not in what it stores
    chart_data = decode_table_or_chart(chart.encode().data)
    assert isinstance(chart_data, ChartData) and len(chart_data.table.rows) == 1
    assert "'why' is not a column of its table" in capsys.readouterr().err
    with pytest.raises(ValueError, match="y column 'why' is not in its table"):
        chart_plan(chart_data)


# --- hostile text and stored data ------------------------------------------------------------


HOSTILE = "\x1b[2J\x1b]52;c;cHduZWQ=\x07[bold red]boom[/] \u202eevil"


def test_hostile_text_in_charts_is_inert() -> None:
    table = wandb.Table(columns=[HOSTILE, "v"], data=[[HOSTILE, 1.0], ["[link=x]ok[/link]", 2.0]])
    charts = [
        wandb.plot.bar(table, HOSTILE, "v", title=HOSTILE),
        wandb.plot.line(table, "v", "v", stroke=HOSTILE, title=HOSTILE),
        wandb.plot.line_series([0, 1], [[1, 2]], keys=[HOSTILE], xname=HOSTILE, title=HOSTILE),
    ]
    for chart in charts:
        data = decode_table_or_chart(chart.encode().data)
        assert isinstance(data, ChartData)
        for width, height in ((60, 14), (120, 30), (20, 6)):
            text = chart_text(data, width, height)
            assert "\x1b" not in text.plain and "\u202e" not in text.plain
            assert "\x07" not in text.plain
            assert not text.spans or all("link" not in str(s.style) for s in text.spans)
        assert "\\x1b" in chart_text(data, 120, 30).plain  # shown, escaped


@pytest.mark.parametrize(
    ("chart", "reason"),
    [
        ("not a dict", "not a JSON object"),
        ({"type": "pie"}, "type 'pie' cannot be drawn"),
        ({"type": "line", "fields": {"x": 5}}, "not column names"),
        ({"type": "line", "fields": [1]}, "not JSON objects"),
        ({"type": "line", "strings": {"title": "x" * 5000}}, "not short texts"),
        ({"type": "line", "fields": {str(i): "a" for i in range(100)}}, "more than 32"),
    ],
)
def test_hostile_stored_charts_are_a_reason(chart: Any, reason: str) -> None:
    data = json.dumps({"columns": ["a"], "rows": [[1]], "chart": chart}).encode()
    decoded = decode_for_display("table", data)
    assert isinstance(decoded, Unreadable) and reason in decoded.reason


def test_stored_charts_that_cannot_be_drawn_say_why() -> None:
    def stored(chart: dict[str, Any], rows: list[list[Any]]) -> ChartData:
        data = json.dumps({"columns": ["a", "b"], "rows": rows, "chart": chart}).encode()
        decoded = decode_for_display("table", data)
        assert isinstance(decoded, ChartData)
        return decoded

    no_numbers = stored({"type": "line", "fields": {"x": "a", "y": "b"}}, [["x", "y"]])
    with pytest.raises(ValueError, match="hold no pairs of numbers"):
        chart_plan(no_numbers)
    missing = stored({"type": "scatter", "fields": {"x": "a"}}, [[1, 2]])
    with pytest.raises(ValueError, match="no column given for y"):
        chart_plan(missing)
    huge = stored({"type": "line", "fields": {"x": "a", "y": "b"}}, [[1e308, -1e308], [0, 1]])
    assert "\x1b" not in chart_text(huge, 40, 10).plain  # draws (or says why), never raises


# --- the TUI -------------------------------------------------------------------------------


async def test_charts_are_drawn_in_the_media_pane(tmp_path: Path) -> None:
    db = tmp_path / "charts.db"
    y_true = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    scores = np.array([0.2, 0.9, 0.6, 0.4, 0.8, 0.1, 0.3, 0.7])
    losses = wandb.Table(columns=["epoch", "loss"], data=[[e, 1 / (e + 1)] for e in range(30)])
    run = tracker.init(db=db, name="charts", quiet=True, console=False)
    run.log(
        {
            "curves/roc": wandb.plot.roc_curve(y_true, scores, labels=["neg", "pos"]),
            "curves/loss": wandb.plot.line(losses, "epoch", "loss", title="Loss by epoch"),
            "curves/bad": wandb.plot.line(losses, "epoch", "nope"),
            "photo": wandb.Image(np.zeros((8, 8, 3), np.uint8), boxes={"p": {"box_data": []}}),
        },
        step=5,
    )
    run.finish()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 1, what="run")
        pane: MediaPane = await press_into_media(pilot, app)
        await wait_until(pilot, lambda: len(pane._keys) == 4, what="media keys")
        assert pane._keys == ["curves/bad", "curves/loss", "curves/roc", "photo"]

        def chart() -> str:
            views = list(pane.query(ChartView).results(ChartView))
            return views[0].render().plain if views else ""

        await wait_until(pilot, lambda: "is not in its table" in chart(), what="bad chart")
        assert "∿" in header(pane) and "t table" in header(pane)
        await pilot.press("down")
        await wait_until(pilot, lambda: "Loss by epoch" in chart(), what="line chart")
        view = pane.query_one(ChartView)
        room = pane.query_one("#media-view").size.height
        assert room >= 12 and view.size.height >= room - 3  # drawn to the pane's size
        assert any(c in chart() for c in "⠁⠂⠄⡀⢀⠈⠐⠠⣀") and "loss" in chart()
        assert "line chart" in _view_text(pane)
        await pilot.press("t")  # its data, as the table it was logged as
        await wait_until(pilot, lambda: bool(pane.query(SamplesTable)), what="its table")
        assert pane.query_one(SamplesTable).row_count == 30 and "t chart" in header(pane)
        await pilot.press("t")
        await wait_until(pilot, lambda: bool(pane.query(ChartView)), what="chart again")
        await pilot.press("down")
        await wait_until(pilot, lambda: "AUC" in chart(), what="roc chart")
        assert "False positive rate" in chart() and "pos AUC" in chart()
        await pilot.press("down")
        await wait_until(pilot, lambda: "boxes not drawn" in _view_text(pane), what="image note")
        assert app.is_running


def test_the_database_holds_charts_as_tables(db_path: Path) -> None:
    """An older reader (or sqlite3) sees a chart as a table row with its data."""
    table = wandb.Table(columns=["a", "b"], data=[[1, 2]])
    _logged(db_path, {"c": wandb.plot.scatter(table, "a", "b")})
    conn = sqlite3.connect(db_path)
    kind, meta, data = conn.execute("SELECT kind, meta, data FROM media").fetchone()
    conn.close()
    assert kind == "table" and json.loads(meta)["chart"] == "scatter"
    assert json.loads(data)["rows"] == [[1, 2]]


async def test_compared_runs_show_their_charts_side_by_side(tmp_path: Path) -> None:
    db = tmp_path / "compare.db"
    for name, slope in (("first", 1.0), ("second", 2.0)):
        run = tracker.init(db=db, name=name, quiet=True, console=False, reinit="create_new")
        table = wandb.Table(columns=["x", "y"], data=[[x, slope * x] for x in range(20)])
        run.log({"fit": wandb.plot.scatter(table, "x", "y", title=f"fit {name}")}, step=1)
        run.finish()
    app = make_app(db)
    async with app.run_test(size=(140, 44)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 2, what="runs")
        await pilot.press("space", "down", "space", "c", "3")
        await wait_until(pilot, lambda: bool(app.screen.query(MediaPane)), what="media pane")
        pane = app.screen.query_one(MediaPane)
        await wait_until(pilot, lambda: len(pane.query(ChartView)) == 2, what="two charts")
        await wait_until(pilot, lambda: all(v.size.width for v in pane.query(ChartView)))
        first, second = pane.query(ChartView).results(ChartView)
        assert first.region.y == second.region.y and first.region.x < second.region.x
        titles = {
            first.render().plain.split("\n")[0].strip(),
            second.render().plain.split("\n")[0].strip(),
        }
        assert titles == {"fit first", "fit second"}
