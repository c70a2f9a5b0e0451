"""The sweep views' numbers and pictures (tui.view.sweep, tui.view.sweep_draw): grouping,
mean/min/max bands, best/last values by the metric's direction, axes in [0, 1] (log for rates
spanning decades, categories for text), and the pictures' sizes. Pure functions, no app."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.metric_defs import MetricDef
from tracker.models import MetricSummary, RunRecord
from tracker.ranking import metric_direction
from tui.view import sweep as sv
from tui.view.sweep_draw import (
    BandGroup,
    axis_end_label,
    axis_ticks,
    draw_bands,
    draw_parallel,
    draw_scatter,
)


def run(
    run_id: str,
    config: dict[str, Any],
    metrics: dict[str, tuple[float, float, float]] | None = None,
    tags: list[str] | None = None,
    defs: list[MetricDef] | None = None,
) -> RunRecord:
    """A run record with metric summaries given as (min, max, last)."""
    summaries = {
        key: MetricSummary(i, key, 10, last, low, high, 9, 0)
        for i, (key, (low, high, last)) in enumerate((metrics or {}).items())
    }
    return RunRecord(
        id=run_id, name=run_id, project="p", status="finished", stored_status="finished",
        created_at=float(len(run_id)), updated_at=0.0, finished_at=None, host="h", pid=1,
        pid_start=None, step=9, tags=tags or [], config=config, summary={}, exit_code=0,
        error=None, dropped=0, version=1, metrics=summaries, metric_defs=defs or [],
    )  # fmt: skip


def sweep_runs() -> list[RunRecord]:
    out = []
    for lr in (1e-4, 1e-3, 1e-2):
        for seed in range(3):
            loss = 1.0 + abs(math.log10(lr) + 3) + seed * 0.01
            out.append(
                run(
                    f"lr{lr:g}-s{seed}",
                    {"lr": lr, "seed": seed, "model": {"width": 64}, "opt": "adam"},
                    {"val/loss": (loss, loss + 1, loss + 0.5), "val/acc": (0.1, 0.9, 0.8)},
                )
            )
    return out


def test_sweep_keys_and_default_group() -> None:
    runs = sweep_runs()
    assert sv.sweep_keys(runs) == ["lr", "seed"]  # model.width and opt never differ
    assert sv.default_group_key(runs) == "lr"  # seeds are what a group averages over
    groups = sv.group_runs(runs, "lr")
    assert [g.label for g in groups] == ["0.0001", "0.001", "0.01"]
    assert all(len(g.run_ids) == 3 for g in groups)


def test_group_by_tag_and_missing_key() -> None:
    runs = [
        run("a", {"x": 1}, tags=["b", "a"]),
        run("b", {}, tags=["a", "b"]),
        run("c", {"x": 1.0}),
    ]
    assert sv.sweep_keys(runs) == ["x", "tag"]
    by_tag = sv.group_runs(runs, sv.TAG)
    assert [(g.label, g.run_ids) for g in by_tag] == [("a, b", ("a", "b")), ("(none)", ("c",))]
    by_x = sv.group_runs(runs, "x")  # 1 and 1.0 are one configuration; missing last
    assert [(g.label, g.run_ids) for g in by_x] == [("1", ("a", "c")), ("(none)", ("b",))]


def test_nested_key_and_unhashable_values() -> None:
    runs = [run("a", {"opt": {"betas": [0.9, 0.95]}}), run("b", {"opt": {"betas": [0.9, 0.99]}})]
    assert sv.sweep_keys(runs) == ["opt.betas"]
    assert [g.label for g in sv.group_runs(runs, "opt.betas")] == ["[0.9, 0.95]", "[0.9, 0.99]"]


def test_best_respects_direction_and_define_metric() -> None:
    r = run("a", {}, {"val/loss": (0.5, 2.0, 1.0), "score": (3.0, 9.0, 4.0)})
    assert sv.metric_value(r, "val/loss", sv.BEST, "min") == 0.5
    assert sv.metric_value(r, "score", sv.BEST, "max") == 9.0
    assert sv.metric_value(r, "score", sv.LAST, "max") == 4.0
    assert sv.metric_value(r, "missing", sv.BEST, "min") is None
    # define_metric's goal beats the name: this "loss" is better high
    defined = run("d", {}, {"val/loss": (0.5, 2.0, 1.0)}, defs=[MetricDef("val/loss", goal="max")])
    mode = metric_direction("val/loss", [defined])
    assert mode == "max" and sv.metric_value(defined, "val/loss", sv.BEST, mode) == 2.0
    nan = run("n", {}, {"loss": (1.0, 1.0, math.nan)})
    assert sv.metric_value(nan, "loss", sv.LAST, "min") is None


def test_band_aligns_runs_logged_at_different_steps() -> None:
    a = [(float(x), 1.0) for x in range(0, 100, 2)]
    b = [(float(x), 3.0) for x in range(1, 100, 2)]
    points = sv.band([a, b], 10, (0.0, 100.0))
    assert len(points) == 10
    assert all(p.n == 2 and p.low == 1.0 and p.high == 3.0 and p.mean == 2.0 for p in points)
    assert sv.band([], 10) == [] and sv.band([[(0.0, math.nan)]], 10) == []


def test_axes_linear_log_category() -> None:
    lr = sv.make_axis("lr", [1e-4, 1e-3, 1e-2])
    assert lr.kind == "log" and lr.position(1e-3) == 0.5
    assert sv.make_axis("bs", [16, 32, 64]).kind == "linear"  # not two decades
    assert sv.make_axis("x", [-1.0, 100.0]).kind == "linear"  # not all positive
    opt = sv.make_axis("opt", ["sgd", "adam", True])
    assert opt.kind == "category" and opt.categories == ("adam", "sgd", "true")
    assert opt.position("adam") == 0.0 and opt.position("nope") is None
    ticks = axis_ticks(lr, 4)
    assert [t for _, t in ticks] == ["0.0001", "0.001", "0.01"]


def test_scatter_and_parallel_mark_the_best() -> None:
    runs = sweep_runs()
    x_axis, y_axis, points = sv.scatter_points(runs, "lr", "val/loss", sv.BEST, "min")
    assert x_axis.kind == "log" and y_axis.kind == "linear" and len(points) == 9
    data = sv.parallel_lines(runs, ["lr", "seed"], "val/loss", sv.BEST, "min")
    assert [a.key for a in data.axes] == ["lr", "seed", "val/loss"]
    assert data.lines[-1].run_id == "lr0.001-s0" and data.lines[-1].rank == 0.0  # drawn last
    assert data.left_out == 0


def test_pictures_fit_their_cells() -> None:
    runs = sweep_runs()
    for width, height in ((120, 30), (80, 18), (20, 6)):
        band_points = sv.band([[(0.0, 1.0), (5.0, 2.0)], [(0.0, 2.0), (5.0, 4.0)]], 2 * width)
        image = draw_bands("t", [BandGroup("g", "color(6)", band_points)], width, height)
        assert len(image.rows) <= height
        assert all(len(line) <= width for line in image.plain.splitlines())
        x_axis, y_axis, points = sv.scatter_points(runs, "lr", "val/loss", sv.BEST, "min")
        dots = [(p.x, p.y, "color(6)") for p in points]
        image = draw_scatter("t", x_axis, y_axis, dots, dots[0][:2], width, height, "lr", "")
        assert len(image.rows) <= height and all(len(r) <= width for r in image.plain.split("\n"))
        data = sv.parallel_lines(runs, ["lr", "seed"], "val/loss", sv.BEST, "min")
        image = draw_parallel(["lr", "seed", "loss"], data, "lr0.001-s0", width, height)
        assert len(image.rows) <= height and all(len(r) <= width for r in image.plain.split("\n"))
    assert "◆" in draw_parallel(["lr", "seed", "loss"], data, "lr0.001-s0", 80, 20).plain


def test_two_decades_exactly_is_log() -> None:
    # log10(0.03) - log10(0.0003) == 1.9999999999999998: the commonest lr grid
    for values in ([3e-4, 3e-3, 3e-2], [0.0003, 0.03], [5e-5, 5e-3]):
        assert sv.make_axis("lr", values).kind == "log"
    assert sv.make_axis("lr", [3e-4, 2.9e-2]).kind == "linear"  # just short of two decades
    x_axis, _, _ = sv.scatter_points(
        [run(f"r{i}", {"lr": lr}, {"val/loss": (1.0, 2.0, 1.5)}) for i, lr in enumerate([3e-4, 3e-3, 3e-2])],
        "lr", "val/loss", sv.BEST, "min",
    )  # fmt: skip
    assert x_axis.kind == "log" and x_axis.position(3e-3) == pytest.approx(0.5)


def fifteen_lrs() -> list[RunRecord]:
    """15 learning rates × 2 seeds; the best (lowest mean val/loss) are the largest lrs."""
    runs = []
    for i in range(15):
        for seed in range(2):
            loss = 2.0 - i * 0.1 + seed * 0.01
            runs.append(run(f"lr{i}-s{seed}", {"lr": 1e-5 * 10 ** (i / 4), "seed": seed},
                            {"val/loss": (loss, loss + 1, loss + 0.5)}))  # fmt: skip
    return runs


def test_groups_ranked_best_first_and_the_highlighted_kept() -> None:
    runs = fifteen_lrs()
    groups = sv.group_runs(runs, "lr")
    ranked = sv.rank_groups(groups, runs, "val/loss", sv.BEST, "min")
    order = [g.run_ids[0] for g, _ in ranked]
    assert order[:3] == ["lr14-s0", "lr13-s0", "lr12-s0"]  # the best group first
    assert ranked[0][1] == pytest.approx((0.6 + 0.61) / 2)  # its runs' mean
    flipped = sv.rank_groups(groups, runs, "val/loss", sv.BEST, "max")
    assert flipped[0][0].run_ids[0] == "lr0-s0"
    chosen = sv.choose_groups([g for g, _ in ranked], 10)
    assert len(chosen) == 10 and chosen[0] is ranked[0][0]
    worst = ranked[-1][0].label  # a highlighted run in the worst group: it takes the last place
    kept = sv.choose_groups([g for g, _ in ranked], 10, keep=worst)
    assert len(kept) == 10 and kept[-1].label == worst and kept[:9] == chosen[:9]
    # a group with no value of the metric goes last
    runs.append(run("none", {"lr": 1.0, "seed": 0}))
    ranked = sv.rank_groups(sv.group_runs(runs, "lr"), runs, "val/loss", sv.BEST, "min")
    assert ranked[-1][0].run_ids == ("none",) and ranked[-1][1] is None


def test_parallel_category_labels_readable_and_titles_fit_80() -> None:
    runs = [
        run(f"r{i}", {"bs": bs, "lr": lr, "opt": opt}, {"val/loss": (loss, 2.0, 1.0)})
        for i, (bs, lr, opt, loss) in enumerate(
            [(32, 1e-4, "adam", 0.3), (64, 1e-2, "sgd", 0.5), (32, 3.0, "sgd", 0.9),
             (64, 1e-3, "adam", 0.1), (32, 1e-1, "sgd", 0.7)]
        )
    ]  # fmt: skip
    data = sv.parallel_lines(runs, ["bs", "lr", "opt"], "val/loss", sv.BEST, "min")
    names = ["bs", "lr (log)", "opt", "eval/loss best (log)"]
    image = draw_parallel(names, data, "r3", 80, 20)
    lines = image.plain.split("\n")
    assert "eval/loss best (log)" in lines[0]  # the last axis's title whole, at 80 columns
    plot = "\n".join(lines[2:-1])
    for label in ("adam", "sgd"):  # each category label whole, not broken by the lines
        assert label in plot
    # right of each label, the gutter is its lines' level start: no dot of a crossing line
    # inside the label's cells (the cells of a label are letters, not braille)
    row = next(line for line in lines if "adam" in line)
    at = row.index("adam")
    assert all(not "\u2800" <= c <= "\u28ff" for c in row[at : at + 4])


# --- properties ------------------------------------------------------------------------------

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
hostile = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(max_size=6),
    st.none(),
    st.lists(st.integers(0, 3), max_size=2),
)
curve = st.lists(st.tuples(st.floats(0, 1000, allow_nan=False), finite), max_size=30)


@settings(max_examples=150, deadline=None)
@given(st.lists(curve, max_size=6), st.integers(1, 64))
def test_band_mean_within_min_max(curves: list[list[tuple[float, float]]], buckets: int) -> None:
    for point in sv.band(curves, buckets):
        assert point.low <= point.mean <= point.high
        assert 1 <= point.n <= len(curves)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(hostile, st.lists(st.sampled_from("abc"), max_size=3)), max_size=12))
def test_groups_partition_the_runs(values: list[tuple[Any, list[str]]]) -> None:
    runs = [run(f"r{i}", {"k": v}, tags=tags) for i, (v, tags) in enumerate(values)]
    for key in ("k", sv.TAG):
        groups = sv.group_runs(runs, key)
        ids = [r for g in groups for r in g.run_ids]
        assert sorted(ids) == sorted(r.id for r in runs) and len(ids) == len(set(ids))
        assert len({g.label for g in groups}) == len(groups)


@settings(max_examples=200, deadline=None)
@given(st.lists(hostile, max_size=12), hostile)
def test_positions_are_in_the_unit_interval(values: list[Any], probe: Any) -> None:
    axis = sv.make_axis("k", values)
    for value in [*values, probe]:
        position = axis.position(value)
        assert position is None or 0.0 <= position <= 1.0
    for position, label in axis_ticks(axis, 5):
        assert -1e-9 <= position <= 1 + 1e-9 and isinstance(label, str)


def test_parallel_axis_ends_in_one_short_format() -> None:
    """Both ends of the metric axis (and of a numeric config axis) read with at most four
    significant digits, alike (the top once read ``0.771326``, the bottom ``0.09365``)."""
    runs = [
        run("a", {"lr": 0.000123456, "seed": 0}, {"val/loss": (0.771326, 0.9, 0.8)}),
        run("b", {"lr": 0.0123456789, "seed": 1}, {"val/loss": (0.0936500, 0.9, 0.8)}),
    ]
    data = sv.parallel_lines(runs, ["lr", "seed"], "val/loss", sv.BEST, "min")
    lines = draw_parallel(["lr", "seed", "loss"], data, None, 80, 12).plain.splitlines()
    assert lines[1].split() == ["0.01235", "1", "0.7713"]
    assert lines[-1].split() == ["0.0001235", "0", "0.09365"]


@settings(max_examples=200, deadline=None)
@given(finite, finite)
def test_axis_end_labels_are_short(low: float, high: float) -> None:
    axis = sv.make_axis("m", [low, high])
    for end in (0.0, 1.0):
        label = axis_end_label(axis, end)
        digits = label.lstrip("-").split("e")[0].replace(",", "").replace(".", "").lstrip("0")
        assert len(digits) <= 5 if float(axis.value_at(end)).is_integer() else len(digits) <= 4
