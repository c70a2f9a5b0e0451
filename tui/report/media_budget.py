"""Fitting a report's images into its media budget (``--max-media-mb``): pictures are first
re-encoded smaller (photos as JPEG at a smaller side; flat images such as plots and masks
stay PNG, which JPEG would blur and often not shrink), then the oldest are left out, newest
kept, each named in the footer. Sizes are counted as embedded: base64, 4 bytes per 3.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace

from .model import MediaEntry, Picture

SMALLER_SIDE = 640  # a photo re-encoded for the budget: still readable in a 360 px card
JPEG_QUALITY = 80
FLAT_COLORS = 256  # at most this many colours: a plot, a mask, a diagram (kept PNG)
SMALL_PIXELS = 96 * 96  # too small to be worth re-encoding


def embedded_size(picture: Picture) -> int:
    """Bytes the picture takes in the page: its ``data:`` URL's base64."""
    return 4 * ((len(picture.data) + 2) // 3) + len(f"data:{picture.mime};base64,")


def _total(entries: Sequence[MediaEntry]) -> int:
    return sum(embedded_size(e.picture) for e in entries if e.picture is not None)


def smaller(picture: Picture) -> Picture:
    """The picture re-encoded for a tight budget, or itself when that would not help."""
    from PIL import Image

    if picture.width * picture.height <= SMALL_PIXELS:
        return picture
    try:
        image = Image.open(io.BytesIO(picture.data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError):
        return picture
    flat = image.getcolors(FLAT_COLORS) is not None
    copy = image.copy()
    copy.thumbnail((SMALLER_SIDE, SMALLER_SIDE))
    out = io.BytesIO()
    if flat or "A" in copy.getbands() or copy.mode not in ("RGB", "L"):
        if copy.size == image.size:
            return picture  # a flat PNG at its size: nothing to gain
        copy.save(out, format="PNG", optimize=True)
        mime = "image/png"
    else:
        copy.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
        mime = "image/jpeg"
    data = out.getvalue()
    if len(data) >= len(picture.data):
        return picture
    return Picture(mime, data, *copy.size)


def fit_media(entries: list[MediaEntry], budget: int, notes: list[str]) -> list[MediaEntry]:
    """``entries`` with their pictures within ``budget`` bytes as embedded: the largest
    re-encoded first, then the oldest (lowest step) left out; what was left out is noted."""
    if _total(entries) <= budget:
        return entries
    out = list(entries)
    by_size = sorted(
        (i for i, e in enumerate(out) if e.picture is not None),
        key=lambda i: -embedded_size(out[i].picture),  # type: ignore[arg-type]
    )
    shrunk = 0
    for index in by_size:
        if _total(out) <= budget:
            break
        picture = out[index].picture
        assert picture is not None
        fitted = smaller(picture)
        if fitted is not picture:
            out[index] = replace(out[index], picture=fitted)
            shrunk += 1
    left: list[str] = []
    oldest = sorted(
        (i for i, e in enumerate(out) if e.picture is not None),
        key=lambda i: (out[i].step, i),
    )
    for index in oldest:
        if _total(out) <= budget:
            break
        entry = out[index]
        megabytes = budget / 1e6
        out[index] = replace(
            entry,
            picture=None,
            problem=f"left out: the report's {megabytes:g} MB for images is spent",
        )
        left.append(f"{entry.run_id}: {entry.key}")
    if shrunk:
        notes.append(f"{shrunk} images re-encoded smaller to fit the {budget / 1e6:g} MB for media")
    if left:
        named = ", ".join(left[:12]) + (f" and {len(left) - 12} more" if len(left) > 12 else "")
        notes.append(
            f"{len(left)} images left out for the {budget / 1e6:g} MB for media "
            f"(the oldest first; --max-media-mb raises it): {named}"
        )
    return out
