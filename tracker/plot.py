"""wandb's ``wandb.plot`` helpers that have a tracktui media type, so that scripts written for
wandb (``import tracker as wandb``) keep working: ``wandb.plot.confusion_matrix(...)``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .media import ConfusionMatrix


def confusion_matrix(
    probs: Any = None,
    y_true: Any = None,
    preds: Any = None,
    class_names: Sequence[Any] | None = None,
    title: str | None = None,
    **_ignored: Any,
) -> ConfusionMatrix:
    """A :class:`tracker.ConfusionMatrix` from predictions, or from class probabilities
    (``probs``, one row per sample: the most likely class is the prediction)."""
    if probs is not None:
        if preds is not None:
            raise ValueError("confusion_matrix: pass probs or preds, not both")
        import numpy as np

        from .media.base import to_numpy

        scores = to_numpy(probs, "confusion_matrix probs")
        if scores.ndim != 2:
            raise ValueError(
                f"confusion_matrix: probs must be samples x classes, not of shape {scores.shape}"
            )
        preds = np.argmax(scores, axis=1)
    return ConfusionMatrix(y_true, preds, labels=class_names)
