"""``tracker.Histogram``: the distribution of weights, gradients or activations at a step.

Raw values are binned here (numpy; 64 bins by default); precomputed ``counts=``/``edges=`` are
checked and stored as they are. Non-finite raw values cannot go in a bin: they are counted in
``nonfinite`` (shown beside the histogram) and reported once per key by a warning, so a NaN
explosion is visible rather than an error that stops training.
"""

from __future__ import annotations

from typing import Any

from ..errors import warn_once
from .base import Encoded, Media, json_bytes, to_numpy

DEFAULT_BINS = 64
MAX_BINS = 512


class Histogram(Media):
    """``tracker.Histogram(values, bins=64)`` or ``tracker.Histogram(counts=c, edges=e)``.

    wandb's spellings work too: ``Histogram(sequence, num_bins=64)``,
    ``Histogram(np_histogram=np.histogram(x))`` (also as the second positional argument, as
    in wandb), and the ``histogram`` (counts) and ``bins`` (edges) attributes.
    """

    kind = "histogram"

    def __init__(
        self,
        values: Any = None,
        bins: int | tuple[Any, Any] | list[Any] = DEFAULT_BINS,
        *,
        counts: Any = None,
        edges: Any = None,
        np_histogram: tuple[Any, Any] | None = None,
        num_bins: int | None = None,
        sequence: Any = None,
    ) -> None:
        import numpy as np

        if sequence is not None:
            if values is not None:
                raise ValueError("Histogram: pass values or sequence=, not both")
            values = sequence
        if isinstance(bins, (tuple, list)):  # wandb's Histogram(sequence, np_histogram)
            np_histogram, bins = (bins[0], bins[1]) if len(bins) == 2 else None, DEFAULT_BINS
            if np_histogram is None:
                raise ValueError("Histogram: np_histogram must be (counts, edges)")
        if np_histogram is not None:
            if len(np_histogram) != 2:
                raise ValueError("Histogram: np_histogram must be (counts, edges)")
            counts, edges = np_histogram
        bins = num_bins if num_bins is not None else bins
        if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= MAX_BINS:
            raise ValueError(f"Histogram: bins must be an int from 1 to {MAX_BINS}, not {bins!r}")
        self.nonfinite = 0
        if counts is not None or edges is not None:
            if values is not None:
                raise ValueError("Histogram: pass values, or counts= and edges=, not both")
            self.counts, self.edges = _precomputed(counts, edges)
            self.total = float(sum(self.counts))
            self.stats: dict[str, float] = {}
            return
        if values is None:
            raise ValueError("Histogram: pass values, or counts= and edges=")
        raw = to_numpy(values, "Histogram")
        if raw.dtype.kind not in "biuf":
            raise TypeError(f"Histogram: values must be numbers, not {raw.dtype}")
        array = raw.astype(np.float64, copy=False).ravel()
        finite = array[np.isfinite(array)]
        self.nonfinite = int(array.size - finite.size)
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            if low == high:
                low, high = low - 0.5, high + 0.5
            hist, bin_edges = np.histogram(finite, bins=bins, range=(low, high))
            self.counts = [float(c) for c in hist]
            self.edges = [float(e) for e in bin_edges]
            self.stats = {
                "min": float(finite.min()),
                "max": float(finite.max()),
                "mean": float(finite.mean()),
                "std": float(finite.std()),
            }
        else:
            self.counts, self.edges, self.stats = [], [], {}
        self.total = float(finite.size)

    @property
    def histogram(self) -> list[float]:
        """wandb's name for the counts."""
        return self.counts

    @property
    def bins(self) -> list[float]:
        """wandb's name for the bin edges."""
        return self.edges

    def cell_text(self) -> str:
        return f"<histogram {len(self.counts)} bins>"

    def encode(self) -> Encoded:
        meta: dict[str, Any] = {"bins": len(self.counts), "total": self.total, **self.stats}
        if self.nonfinite:
            meta["nonfinite"] = self.nonfinite
        data = json_bytes({"counts": self.counts, "edges": self.edges})
        return Encoded(self.kind, meta, data)

    def warn_nonfinite(self, key: str) -> None:
        if self.nonfinite:
            warn_once(
                f"histogram-nonfinite:{key}",
                f"Histogram {key!r}: {self.nonfinite:,} NaN/inf values left out of the bins "
                "(counted as 'nonfinite'; reported once per key)",
            )

    def __repr__(self) -> str:
        return f"<tracker.Histogram {len(self.counts)} bins, {self.total:g} values>"


def _precomputed(counts: Any, edges: Any) -> tuple[list[float], list[float]]:
    import numpy as np

    if counts is None or edges is None:
        raise ValueError("Histogram: counts= and edges= go together")
    count_array = to_numpy(counts, "Histogram counts").astype(np.float64).ravel()
    edge_array = to_numpy(edges, "Histogram edges").astype(np.float64).ravel()
    if not 1 <= count_array.size <= MAX_BINS:
        raise ValueError(f"Histogram: {count_array.size} bins; from 1 to {MAX_BINS}")
    if edge_array.size != count_array.size + 1:
        raise ValueError(
            f"Histogram: {count_array.size} counts need {count_array.size + 1} edges, "
            f"not {edge_array.size}"
        )
    if not np.isfinite(count_array).all() or (count_array < 0).any():
        raise ValueError("Histogram: counts must be finite and not negative (NaN found or < 0)")
    if not np.isfinite(edge_array).all():
        raise ValueError("Histogram: edges must be finite (NaN or inf found)")
    if (np.diff(edge_array) <= 0).any():
        raise ValueError("Histogram: edges must increase strictly")
    return [float(c) for c in count_array], [float(e) for e in edge_array]
