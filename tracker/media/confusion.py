"""``tracker.ConfusionMatrix``: counts of (true class, predicted class), with class names.

Built from labels and predictions (class indices or class names) or from a precomputed
``matrix=``; stored as JSON. Rows are the true classes, columns the predicted ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .base import Encoded, Media, check_text, json_bytes, to_numpy

MAX_CLASSES = 256


class ConfusionMatrix(Media):
    """``tracker.ConfusionMatrix(y_true, y_pred, labels=["cat", "dog"])``

    wandb's ``class_names=`` and ``preds=`` spellings are accepted too; ``title=`` is shown
    above the matrix.
    """

    kind = "confusion"

    def __init__(
        self,
        y_true: Any = None,
        y_pred: Any = None,
        labels: Sequence[Any] | None = None,
        *,
        matrix: Any = None,
        class_names: Sequence[Any] | None = None,
        preds: Any = None,
        title: str | None = None,
    ) -> None:
        self.title = None if title is None else check_text(title, "ConfusionMatrix title", 1000)
        labels = labels if labels is not None else class_names
        y_pred = y_pred if y_pred is not None else preds
        if matrix is not None:
            if y_true is not None or y_pred is not None:
                raise ValueError("ConfusionMatrix: pass y_true and y_pred, or matrix=, not both")
            self.matrix = _square(matrix)
            size = len(self.matrix)
            self.labels = _names(labels, size)
            return
        if y_true is None or y_pred is None:
            raise ValueError("ConfusionMatrix: pass y_true and y_pred (or matrix=)")
        truth, predicted = _flat(y_true, "y_true"), _flat(y_pred, "y_pred")
        if len(truth) != len(predicted):
            raise ValueError(
                f"ConfusionMatrix: {len(truth)} true labels but {len(predicted)} predictions"
            )
        if labels is not None:
            names = [check_text(n, "ConfusionMatrix label", 200) for n in labels]
            index = _indexer(names)
            rows, cols = (
                [index(v, "y_true") for v in truth],
                [index(v, "y_pred") for v in predicted],
            )
        else:
            seen = sorted({*truth, *predicted}, key=lambda v: (isinstance(v, str), v))
            indices = [v for v in seen if isinstance(v, int)]
            position: dict[int | str, int]
            if len(indices) == len(seen) and indices and indices[0] >= 0:
                names = [str(i) for i in range(indices[-1] + 1)]  # class ids: keep their places
                position = {v: v for v in indices}
            else:
                names = [str(v) for v in seen]
                position = {v: i for i, v in enumerate(seen)}
            rows, cols = [position[v] for v in truth], [position[v] for v in predicted]
        if len(names) > MAX_CLASSES:
            raise ValueError(f"ConfusionMatrix: {len(names)} classes; at most {MAX_CLASSES}")
        if not names:
            raise ValueError("ConfusionMatrix: no classes (empty labels and predictions)")
        self.labels = names
        self.matrix = [[0] * len(names) for _ in names]
        for r, c in zip(rows, cols, strict=True):
            self.matrix[r][c] += 1

    def encode(self) -> Encoded:
        total = sum(map(sum, self.matrix))
        correct = sum(self.matrix[i][i] for i in range(len(self.matrix)))
        meta: dict[str, Any] = {
            "classes": len(self.labels),
            "total": total,
            "accuracy": correct / total if total else None,
        }
        if self.title:
            meta["title"] = self.title
        return Encoded(self.kind, meta, json_bytes({"labels": self.labels, "matrix": self.matrix}))

    def __repr__(self) -> str:
        return f"<tracker.ConfusionMatrix {len(self.labels)} classes>"


def _flat(values: Any, what: str) -> list[int | str]:
    if isinstance(values, (str, bytes)):
        raise TypeError(f"ConfusionMatrix: {what} must be a sequence of labels, not a string")
    array = to_numpy(values, f"ConfusionMatrix {what}").ravel()
    if array.dtype.kind in "biu":
        return [int(v) for v in array.tolist()]
    if array.dtype.kind == "f":
        as_list = array.tolist()
        if any(v != v or v != int(v) for v in as_list):
            raise ValueError(
                f"ConfusionMatrix: {what} holds non-integer numbers (NaN or fractions)"
            )
        return [int(v) for v in as_list]
    return [str(v) for v in array.tolist()]


def _indexer(names: list[str]) -> Any:
    by_name = {name: i for i, name in enumerate(names)}

    def index(value: int | str, what: str) -> int:
        if isinstance(value, int):
            if 0 <= value < len(names):
                return value
            raise ValueError(
                f"ConfusionMatrix: {what} has class index {value}, but there are "
                f"{len(names)} labels"
            )
        if value in by_name:
            return by_name[value]
        raise ValueError(f"ConfusionMatrix: {what} has {value!r}, which is not one of the labels")

    return index


def _square(matrix: Any) -> list[list[int]]:
    import numpy as np

    array = to_numpy(matrix, "ConfusionMatrix matrix")
    if array.ndim != 2 or array.shape[0] != array.shape[1] or array.shape[0] == 0:
        raise ValueError(f"ConfusionMatrix: matrix must be square, not of shape {array.shape}")
    if array.shape[0] > MAX_CLASSES:
        raise ValueError(f"ConfusionMatrix: {array.shape[0]} classes; at most {MAX_CLASSES}")
    if array.dtype.kind not in "biuf" or not np.isfinite(array).all() or (array < 0).any():
        raise ValueError("ConfusionMatrix: matrix counts must be finite numbers >= 0")
    return [[int(v) for v in row] for row in array.tolist()]


def _names(labels: Sequence[Any] | None, size: int) -> list[str]:
    if labels is None:
        return [str(i) for i in range(size)]
    names = [check_text(n, "ConfusionMatrix label", 200) for n in labels]
    if len(names) != size:
        raise ValueError(f"ConfusionMatrix: {len(names)} labels for a {size}x{size} matrix")
    return names
