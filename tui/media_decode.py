"""Stored media decoded for display, on the reader thread: images opened (and cut down to a
display size), tables, charts, histograms and confusion matrices parsed. The UI thread only
draws what arrives here; data that cannot be decoded arrives as :class:`Unreadable` with the
reason."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from tracker.media.decoded import (
    ChartData,
    ConfusionData,
    HistogramData,
    TableData,
    decode_confusion,
    decode_histogram,
    decode_table_or_chart,
)
from tracker.media.image import MAX_PIXELS, MAX_SIDE, too_large

from .media_render import confusion_table, histogram_heatmap, histogram_line

if TYPE_CHECKING:  # Pillow is imported when the first image is decoded, not at startup
    from PIL import Image as PILImage

MAX_DISPLAY_SIDE = 1600  # more pixels than any terminal shows in one tile
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8\xff"


@dataclass(frozen=True, slots=True)
class Unreadable:
    reason: str


Decoded: TypeAlias = (
    "PILImage.Image | TableData | ChartData | HistogramData | ConfusionData | Unreadable"
)


def open_image(data: bytes) -> PILImage.Image:
    """Decode stored PNG/JPEG bytes as RGB(A), at most ``MAX_DISPLAY_SIDE`` a side.

    Only the header is read before the size is checked against what the writer accepts
    (``MAX_SIDE`` a side, ``MAX_PIXELS`` in all): a file that claims more is refused before
    any pixel is decoded. Whatever else goes wrong raises ``ValueError`` with the reason.
    """
    from PIL import JpegImagePlugin, PngImagePlugin

    if data.startswith(_PNG):
        factory: Any = PngImagePlugin.PngImageFile
    elif data.startswith(_JPEG):
        factory = JpegImagePlugin.JpegImageFile
    else:
        raise ValueError("stored image cannot be decoded (not a PNG or JPEG file)")
    try:
        # the format's own class, not Image.open(): it reads the header and nothing more
        # (and leaves the size check to us rather than raising DecompressionBombError)
        opened = factory(io.BytesIO(data))
        width, height = (int(side) for side in opened.size)
    except Exception as exc:
        raise ValueError(f"stored image cannot be decoded ({_why(exc)})") from None
    if width < 1 or height < 1:
        raise ValueError(f"stored image cannot be decoded (it claims {width}x{height} pixels)")
    if too_large(width, height):
        raise ValueError(
            f"stored image not decoded: it claims {width:,}x{height:,} pixels, more than "
            f"tracktui writes ({MAX_SIDE:,} a side, {MAX_PIXELS:,} in all)"
        )
    try:
        if opened.format == "JPEG":
            opened.draft("RGB", (MAX_DISPLAY_SIDE, MAX_DISPLAY_SIDE))  # decode at a lower scale
        opened.load()
        picture: PILImage.Image = opened
        if picture.mode not in ("RGB", "RGBA"):
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        if max(picture.size) > MAX_DISPLAY_SIDE:
            picture.thumbnail((MAX_DISPLAY_SIDE, MAX_DISPLAY_SIDE))
    except Exception as exc:  # truncated or corrupt data, a warning turned into an error...
        raise ValueError(f"stored image cannot be decoded ({_why(exc)})") from None
    return picture


def _why(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def decode_for_display(kind: str, data: bytes) -> Decoded:
    """What the UI draws for one stored media object; never raises."""
    try:
        if kind == "image":
            return open_image(data)
        if kind == "table":
            return decode_table_or_chart(data)  # a chart that cannot be drawn says so in its tile
        if kind == "histogram":
            return checked_histogram(decode_histogram(data))
        if kind == "confusion":
            return checked_confusion(decode_confusion(data))
        return Unreadable(f"media of kind {repr(kind)[:60]} cannot be shown by this tracktui")
    except ValueError as exc:
        return Unreadable(str(exc))
    except Exception as exc:  # a bug of ours on hostile data: still a message, not a crash
        return Unreadable(f"stored {kind} cannot be shown ({type(exc).__name__})")


def checked_histogram(value: HistogramData) -> HistogramData:
    """``value`` once the renderers have drawn it here: what they cannot draw is refused on
    the reader thread rather than raised on the UI thread."""
    try:
        histogram_line(value, 40)
        histogram_heatmap([(0, value)], 40, 8, None)
    except Exception as exc:
        raise ValueError(f"stored histogram cannot be drawn ({_why(exc)})") from None
    return value


def checked_confusion(value: ConfusionData) -> ConfusionData:
    try:
        confusion_table(value)
    except Exception as exc:
        raise ValueError(f"stored confusion matrix cannot be drawn ({_why(exc)})") from None
    return value


def decoded_size(value: Decoded) -> int:
    """Bytes held by a decoded object, roughly, for the cache's bound."""
    if isinstance(value, ChartData):
        value = value.table
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
