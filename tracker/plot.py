"""wandb's ``wandb.plot`` charts, so that scripts written for wandb (``import tracker as
wandb``) keep working: each returns a :class:`~tracker.media.chart.Chart` that
``run.log({"key": chart})`` stores as its table plus the kind of chart, and the TUI draws.

``line``, ``scatter``, ``bar`` and ``histogram`` chart columns of a ``Table``;
``line_series``, ``pr_curve`` and ``roc_curve`` build the table from arrays (the curves are
computed with numpy, the same points wandb computes with scikit-learn); ``plot_table`` is
wandb's custom chart; ``confusion_matrix`` gives a :class:`tracker.ConfusionMatrix`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import warn_once
from .media import ConfusionMatrix, Table
from .media.base import to_numpy
from .media.chart import Chart
from .media.table import MAX_ROWS

__all__ = [
    "Chart",
    "bar",
    "confusion_matrix",
    "histogram",
    "line",
    "line_series",
    "plot_table",
    "pr_curve",
    "roc_curve",
    "scatter",
]


def plot_table(
    vega_spec_name: str,
    data_table: Table,
    fields: dict[str, Any],
    string_fields: dict[str, Any] | None = None,
    split_table: bool = False,
) -> Chart:
    """wandb's custom chart: a Vega spec's name, the table, and which column feeds which of
    its fields. wandb's own specs (``wandb/line/v0``, ...) are drawn; others are stored and
    shown as their table."""
    return Chart(vega_spec_name, data_table, fields, string_fields)


def line(
    table: Table,
    x: str,
    y: str,
    stroke: str | None = None,
    title: str = "",
    split_table: bool = False,
) -> Chart:
    """Column ``y`` against column ``x``, one line per value of column ``stroke``."""
    return Chart("wandb/line/v0", table, {"x": x, "y": y, "stroke": stroke}, {"title": title})


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> Chart:
    return Chart("wandb/scatter/v0", table, {"x": x, "y": y}, {"title": title})


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> Chart:
    """One bar per row: its ``label`` column's text, its ``value`` column's length."""
    return Chart("wandb/bar/v0", table, {"label": label, "value": value}, {"title": title})


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> Chart:
    """The distribution of column ``value``."""
    return Chart("wandb/histogram/v0", table, {"value": value}, {"title": title})


def line_series(
    xs: Any,
    ys: Any,
    keys: Sequence[Any] | None = None,
    title: str = "",
    xname: str = "x",
    split_table: bool = False,
) -> Chart:
    """Several lines: ``ys`` is a list of series; ``xs`` one x series for all of them or one
    per series. Stored as wandb stores it: columns ``step``, ``lineKey``, ``lineVal``."""
    series = [_values(y, "line_series ys") for y in _sequence(ys, "line_series ys")]
    if _shared_x(xs):
        x_lists = [_values(xs, "line_series xs")] * len(series)
    else:
        x_lists = [_values(x, "line_series xs") for x in _sequence(xs, "line_series xs")]
    if len(x_lists) != len(series):
        raise ValueError(
            f"line_series: the number of x-series ({len(x_lists)}) must match the y-series "
            f"({len(series)})"
        )
    names = [f"line_{i}" for i in range(len(series))] if keys is None else list(keys)
    if len(names) != len(series):
        raise ValueError(
            f"line_series: the number of keys ({len(names)}) must match the y-series "
            f"({len(series)})"
        )
    pairs = [list(zip(x, y, strict=False)) for x, y in zip(x_lists, series, strict=True)]
    pairs = _thinned(pairs, "line_series")
    rows = [[x, name, y] for name, points in zip(names, pairs, strict=True) for x, y in points]
    table = Table(columns=["step", "lineKey", "lineVal"], data=rows)
    return Chart(
        "wandb/lineseries/v0",
        table,
        {"step": "step", "lineKey": "lineKey", "lineVal": "lineVal"},
        {"title": title, "xname": xname},
    )


def pr_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[Any] | None = None,
    classes_to_plot: Sequence[Any] | None = None,
    interp_size: int = 21,
    title: str = "Precision-Recall Curve",
    split_table: bool = False,
) -> Chart:
    """Precision against recall for each class (one-vs-rest), as wandb draws it: precision
    interpolated (the best precision at that recall or more) at ``interp_size`` recalls from
    1 down to 0, rounded to 3 decimals. ``y_probas`` is samples × classes (or, for two
    classes, the probability of class 1)."""
    import numpy as np

    if isinstance(interp_size, bool) or not isinstance(interp_size, int) or interp_size < 2:
        raise ValueError(f"pr_curve: interp_size must be an int >= 2, not {interp_size!r}")
    targets = np.linspace(0, 1, interp_size)[::-1]
    curves = []
    for name, positive, scores in _one_vs_rest("pr_curve", y_true, y_probas, labels,
                                               classes_to_plot):  # fmt: skip
        tps, fps = _counts_at_thresholds(positive, scores)
        precision = np.r_[tps / (tps + fps), 1.0]
        recall = np.r_[tps / tps[-1], 0.0]
        order = np.argsort(recall, kind="mergesort")
        by_recall, best = recall[order], np.maximum.accumulate(precision[order][::-1])[::-1]
        at = best[np.searchsorted(by_recall, targets, side="left")]
        curves.append((name, np.round(at, 3), np.round(targets, 3)))
    return _curves_chart(
        "pr_curve", curves, ("precision", "recall"), "recall",
        {"title": title, "x-axis-title": "Recall", "y-axis-title": "Precision"},
    )  # fmt: skip


def roc_curve(
    y_true: Any = None,
    y_probas: Any = None,
    labels: Sequence[Any] | None = None,
    classes_to_plot: Sequence[Any] | None = None,
    title: str = "ROC Curve",
    split_table: bool = False,
) -> Chart:
    """True positive rate against false positive rate for each class (one-vs-rest): the
    points scikit-learn's ``roc_curve`` gives (from (0, 0), corners only), rounded to 3
    decimals, as wandb stores them."""
    import numpy as np

    curves = []
    for name, positive, scores in _one_vs_rest("roc_curve", y_true, y_probas, labels,
                                               classes_to_plot):  # fmt: skip
        tps, fps = _counts_at_thresholds(positive, scores)
        if fps[-1] == 0:
            warn_once(
                f"roc-no-negatives:{name}",
                f"roc_curve: class {name!r} has no negative samples; its curve is left out",
            )
            continue
        if tps.size > 2:  # drop points on straight stretches, as roc_curve(drop_intermediate)
            corner = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
            tps, fps = tps[corner], fps[corner]
        tps, fps = np.r_[0, tps], np.r_[0, fps]
        curves.append((name, np.round(fps / fps[-1], 3), np.round(tps / tps[-1], 3)))
    return _curves_chart(
        "roc_curve", curves, ("fpr", "tpr"), "fpr",
        {"title": title, "x-axis-title": "False positive rate",
         "y-axis-title": "True positive rate"},
    )  # fmt: skip


def _curves_chart(
    what: str,
    curves: list[tuple[str, Any, Any]],
    columns: tuple[str, str],
    x: str,
    strings: dict[str, str],
) -> Chart:
    """One area-under-curve chart of per-class curves ``(class, first, second)``: a row per
    point, ``columns`` naming the two values, ``x`` the one on the x-axis."""
    rows = [
        [name, float(a), float(b)]
        for name, first, second in curves
        for a, b in zip(first, second, strict=True)
    ]
    y = columns[0] if x == columns[1] else columns[1]
    return Chart(
        "wandb/area-under-curve/v0",
        Table(columns=["class", *columns], data=_fit_rows(rows, what)),
        {"x": x, "y": y, "class": "class"},
        strings,
    )


def confusion_matrix(
    probs: Any = None,
    y_true: Any = None,
    preds: Any = None,
    class_names: Sequence[Any] | None = None,
    title: str | None = None,
    split_table: bool = False,
    **_ignored: Any,
) -> ConfusionMatrix:
    """A :class:`tracker.ConfusionMatrix` from predictions, or from class probabilities
    (``probs``, one row per sample: the most likely class is the prediction)."""
    if probs is not None:
        if preds is not None:
            raise ValueError("confusion_matrix: pass probs or preds, not both")
        import numpy as np

        scores = to_numpy(probs, "confusion_matrix probs")
        if scores.ndim != 2:
            raise ValueError(
                f"confusion_matrix: probs must be samples x classes, not of shape {scores.shape}"
            )
        preds = np.argmax(scores, axis=1)
    return ConfusionMatrix(y_true, preds, labels=class_names, title=title)


# --- helpers -----------------------------------------------------------------------------------


def _sequence(value: Any, what: str) -> list[Any]:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{what} must be a list of series, not {type(value).__name__}")
    if hasattr(value, "ndim") or callable(getattr(value, "detach", None)):
        array = to_numpy(value, what)
        return list(array) if array.ndim > 1 else [array]
    return list(value)


def _shared_x(xs: Any) -> bool:
    """wandb's rule: xs is one series for all lines unless its first item is itself a
    sequence."""
    if hasattr(xs, "ndim") or callable(getattr(xs, "detach", None)):
        return bool(to_numpy(xs, "line_series xs").ndim <= 1)
    items = list(xs)
    if not items:
        return True
    first = items[0]
    return isinstance(first, (str, bytes)) or not hasattr(first, "__iter__")


def _values(series: Any, what: str) -> list[Any]:
    if hasattr(series, "ndim") or callable(getattr(series, "detach", None)):
        return list(to_numpy(series, what).ravel().tolist())
    if isinstance(series, (str, bytes)) or not hasattr(series, "__iter__"):
        raise TypeError(f"{what}: each series must be a list of values, not {series!r}")
    return list(series)


def _thinned(series: list[list[Any]], what: str) -> list[list[Any]]:
    """Every series cut to an even share of ``MAX_ROWS`` points (evenly spaced, both ends
    kept) when together they have more."""
    total = sum(len(s) for s in series)
    if total <= MAX_ROWS:
        return series
    warn_once(
        f"chart-thinned:{what}",
        f"{what}: {total:,} points; {MAX_ROWS:,} evenly spaced ones are stored (reported once)",
    )
    share = max(2, MAX_ROWS // max(1, len(series)))
    out = []
    for points in series:
        if len(points) <= share:
            out.append(points)
            continue
        picks = sorted({round(i * (len(points) - 1) / (share - 1)) for i in range(share)})
        out.append([points[i] for i in picks])
    return out


def _fit_rows(rows: list[list[Any]], what: str) -> list[list[Any]]:
    """Rows grouped by their first cell (the class), thinned per class to fit the table."""
    if len(rows) <= MAX_ROWS:
        return rows
    groups: dict[Any, list[list[Any]]] = {}
    for row in rows:
        groups.setdefault(row[0], []).append(row)
    return [row for group in _thinned(list(groups.values()), what) for row in group]


def _one_vs_rest(
    what: str,
    y_true: Any,
    y_probas: Any,
    labels: Sequence[Any] | None,
    classes_to_plot: Sequence[Any] | None,
) -> list[tuple[Any, Any, Any]]:
    """``(class name, is-positive mask, scores)`` per class to plot."""
    import numpy as np

    if y_true is None or y_probas is None:
        raise ValueError(f"{what}: pass y_true and y_probas")
    truth = to_numpy(y_true, f"{what} y_true").ravel()
    scores = to_numpy(y_probas, f"{what} y_probas")
    if scores.dtype.kind not in "biuf":
        raise TypeError(f"{what}: y_probas must be numbers, not {scores.dtype}")
    scores = scores.astype(np.float64)
    if scores.ndim == 1:  # two classes: the probability of class 1
        scores = np.stack([1.0 - scores, scores], axis=1)
    if scores.ndim != 2 or scores.shape[0] != truth.size:
        raise ValueError(
            f"{what}: y_probas must be samples x classes ({truth.size} samples), not of "
            f"shape {scores.shape}"
        )
    if truth.size == 0:
        raise ValueError(f"{what}: no samples")
    if not np.isfinite(scores).all():
        raise ValueError(f"{what}: y_probas holds NaN or infinite values")
    if truth.dtype.kind == "b":
        truth = truth.astype(np.int64)
    if truth.dtype.kind == "f":
        if not np.isfinite(truth).all() or (truth != np.round(truth)).any():
            raise ValueError(f"{what}: y_true holds non-integer numbers (NaN or fractions)")
        truth = truth.astype(np.int64)
    classes = np.unique(truth)
    integer = truth.dtype.kind in "biu"
    by_value = integer and classes.min() >= 0 and classes.max() < scores.shape[1]
    if not by_value and classes.size > scores.shape[1]:
        raise ValueError(
            f"{what}: y_true has {classes.size} classes but y_probas only {scores.shape[1]} columns"
        )
    wanted = None if classes_to_plot is None else list(classes_to_plot)
    out = []
    for position, value in enumerate(classes.tolist()):
        if wanted is not None and value not in wanted:
            continue
        column = value if by_value else position
        if labels is not None and integer and 0 <= value < len(labels):
            name = labels[value]
        else:
            name = value
        out.append((name, truth == classes[position], scores[:, column]))
    if not out:
        raise ValueError(f"{what}: none of classes_to_plot ({wanted!r}) is in y_true")
    return out


def _counts_at_thresholds(positive: Any, scores: Any) -> tuple[Any, Any]:
    """True and false positives when everything scoring at least each distinct score (from
    the highest down) is called positive."""
    import numpy as np

    order = np.argsort(-scores, kind="mergesort")
    ranked, hits = scores[order], positive[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1]
    tps = np.cumsum(hits)[last_of_each].astype(np.float64)
    fps = 1.0 + last_of_each - tps
    return tps, fps
