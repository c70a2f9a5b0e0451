"""Stored media decoded for display, on the reader thread: images opened (and cut down to a
display size), tables, histograms and confusion matrices parsed. The UI thread only draws what
arrives here; data that cannot be decoded arrives as :class:`Unreadable` with the reason."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from tracker.media.decoded import (
    ConfusionData,
    HistogramData,
    TableData,
    decode_confusion,
    decode_histogram,
    decode_table,
)

if TYPE_CHECKING:  # Pillow is imported when the first image is decoded, not at startup
    from PIL import Image as PILImage

MAX_DISPLAY_SIDE = 1600  # more pixels than any terminal shows in one tile


@dataclass(frozen=True, slots=True)
class Unreadable:
    reason: str


Decoded: TypeAlias = "PILImage.Image | TableData | HistogramData | ConfusionData | Unreadable"


def open_image(data: bytes) -> PILImage.Image:
    """Decode stored PNG/JPEG bytes as RGB(A), at most ``MAX_DISPLAY_SIDE`` a side."""
    from PIL import Image as PILImage

    try:
        opened = PILImage.open(io.BytesIO(data))
        opened.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"stored image cannot be decoded ({exc})") from None
    picture: PILImage.Image = opened
    if picture.mode not in ("RGB", "RGBA"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    if max(picture.size) > MAX_DISPLAY_SIDE:
        picture.thumbnail((MAX_DISPLAY_SIDE, MAX_DISPLAY_SIDE))
    return picture


def decode_for_display(kind: str, data: bytes) -> Decoded:
    try:
        if kind == "image":
            return open_image(data)
        if kind == "table":
            return decode_table(data)
        if kind == "histogram":
            return decode_histogram(data)
        if kind == "confusion":
            return decode_confusion(data)
    except ValueError as exc:
        return Unreadable(str(exc))
    return Unreadable(f"media of kind {kind!r} cannot be shown by this tracktui")


def decoded_size(value: Decoded) -> int:
    """Bytes held by a decoded object, roughly, for the cache's bound."""
    if isinstance(value, TableData):
        return 64 * len(value.columns) * (len(value.rows) + 1) + sum(
            len(c) for row in value.rows for c in row if isinstance(c, str)
        )
    if isinstance(value, HistogramData):
        return 16 * (len(value.counts) + len(value.edges))
    if isinstance(value, ConfusionData):
        return 16 * len(value.labels) ** 2 + 64
    if isinstance(value, Unreadable):
        return 64
    return int(value.width) * int(value.height) * 4  # a picture
