"""Logged media read back for scripts: one :class:`MediaFile` per logged object, its raw
bytes read on first use, decoded with :mod:`tracker.media.decoded` (tables, histograms,
confusion matrices) or Pillow (images).

An image's header is read and its size checked against what tracktui writes before any pixel
is decoded, so a file that claims a billion pixels is refused, not decoded; what cannot be
decoded raises ``ValueError`` saying why.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..media.decoded import (
    ChartData,
    ConfusionData,
    HistogramData,
    TableData,
    decode_confusion,
    decode_histogram,
    decode_table_or_chart,
    parse_meta,
)
from ..media.image import MAX_PIXELS, MAX_SIDE, too_large

_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"
MediaRow = tuple[int, str, int, float, str, str]  # id, key, step, t, kind, meta json


@dataclass(eq=False)
class MediaFile:
    """One logged media object: ``key``, ``step``, ``kind`` (image, table, histogram,
    confusion), ``caption``, ``meta`` (width, height, format...), ``timestamp`` (unix
    seconds); ``data`` is the stored bytes (PNG/JPEG, or JSON for the others)."""

    run_id: str
    key: str
    step: int
    timestamp: float
    kind: str
    meta: dict[str, Any]
    _load: Callable[[], bytes] = field(repr=False)
    _data: bytes | None = field(default=None, repr=False)

    @classmethod
    def of_row(cls, run_id: str, row: MediaRow, load: Callable[[int], bytes]) -> MediaFile:
        media_id, key, step, t, kind, meta = row
        return cls(
            run_id, str(key), int(step), float(t), str(kind), parse_meta(meta),
            lambda: load(media_id),
        )  # fmt: skip

    @property
    def caption(self) -> str:
        caption = self.meta.get("caption")
        return caption if isinstance(caption, str) else ""

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = self._load()
        return self._data

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the stored bytes to ``path`` (an image as the PNG/JPEG file it was logged as)."""
        with open(path, "wb") as out:
            out.write(self.data)

    def decoded(self) -> TableData | ChartData | HistogramData | ConfusionData | Any:
        """The object as plain data: a PIL image, TableData/ChartData, HistogramData or
        ConfusionData."""
        if self.kind == "image":
            return self.to_pil()
        if self.kind == "table":
            return decode_table_or_chart(self.data)
        if self.kind == "histogram":
            return decode_histogram(self.data)
        if self.kind == "confusion":
            return decode_confusion(self.data)
        raise ValueError(f"media of kind {self.kind!r} cannot be decoded by this tracktui")

    def to_pil(self) -> Any:
        """An image as a ``PIL.Image.Image`` (its mode as stored)."""
        if self.kind != "image":
            raise ValueError(f"{self.key} at step {self.step} is a {self.kind}, not an image")
        return open_image(self.data)

    def to_numpy(self) -> Any:
        """An image's pixels (H×W or H×W×C uint8), a histogram's counts, a confusion
        matrix's counts, a table's cells (an object array)."""
        import numpy as np

        value = self.decoded()
        if isinstance(value, HistogramData):
            return np.asarray(value.counts, dtype=np.float64)
        if isinstance(value, ConfusionData):
            return np.asarray(value.matrix, dtype=np.int64)
        if isinstance(value, (TableData, ChartData)):
            table = value if isinstance(value, TableData) else value.table
            return np.asarray(table.rows, dtype=object).reshape(len(table.rows), -1)
        return np.asarray(value)

    def to_pandas(self) -> Any:
        """A table (or a chart's table) as a DataFrame; a histogram as one row per bin
        (``left``, ``right``, ``count``); a confusion matrix indexed by true label, one
        column per predicted label."""
        from .frames import require_pandas

        pd = require_pandas()
        value = self.decoded()
        if isinstance(value, (TableData, ChartData)):
            table = value if isinstance(value, TableData) else value.table
            return pd.DataFrame(table.rows, columns=pd.Index(table.columns, dtype=object))
        if isinstance(value, HistogramData):
            return pd.DataFrame(
                {"left": value.edges[:-1], "right": value.edges[1:], "count": value.counts}
            )
        if isinstance(value, ConfusionData):
            labels = pd.Index(value.labels, dtype=object)
            return pd.DataFrame(value.matrix, index=labels, columns=labels)
        raise ValueError(f"{self.key} at step {self.step} is an image: use to_pil or to_numpy")


def open_image(data: bytes) -> Any:
    """Decode stored PNG/JPEG bytes, refusing (``ValueError``) before decoding any pixel a
    header that claims more than tracktui writes."""
    from PIL import JpegImagePlugin, PngImagePlugin

    if data.startswith(_PNG):
        factory: Any = PngImagePlugin.PngImageFile
    elif data.startswith(_JPEG):
        factory = JpegImagePlugin.JpegImageFile
    else:
        raise ValueError("stored image cannot be decoded (not a PNG or JPEG file)")
    try:
        opened = factory(io.BytesIO(data))  # reads the header only
        width, height = (int(side) for side in opened.size)
    except Exception as exc:
        raise ValueError(f"stored image cannot be decoded ({exc or type(exc).__name__})") from None
    if width < 1 or height < 1 or too_large(width, height):
        raise ValueError(
            f"stored image not decoded: it claims {width:,}x{height:,} pixels (tracktui writes "
            f"from 1 to {MAX_SIDE:,} a side, {MAX_PIXELS:,} in all)"
        )
    try:
        opened.load()
    except Exception as exc:  # truncated or corrupt data
        raise ValueError(f"stored image cannot be decoded ({exc or type(exc).__name__})") from None
    return opened
