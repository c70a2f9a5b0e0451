"""Images in the terminal through ``textual-image``: Kitty graphics or Sixel where the terminal
answers that it speaks them, coloured half cells elsewhere (also when output is not a terminal,
which keeps tests and screenshots deterministic). ``TRACKTUI_IMAGES=halfcell|sixel|kitty``
overrides the choice. This module must be imported before the app starts: the library asks the
terminal about its abilities once, which is impossible after Textual owns stdin.
"""

from __future__ import annotations

import io
import os

from PIL import Image as PILImage
from textual.widget import Widget
from textual_image.renderable import Image as AutoRenderable
from textual_image.renderable.sixel import Image as SixelRenderable
from textual_image.renderable.tgp import Image as TGPRenderable
from textual_image.widget import HalfcellImage, SixelImage, TGPImage

__all__ = ["DETECTED", "HalfcellImage", "image_widget", "open_image", "renderer_name"]

_CHOICES: dict[str, type[Widget]] = {
    "halfcell": HalfcellImage,
    "sixel": SixelImage,
    "kitty": TGPImage,
    "tgp": TGPImage,
}


def _detected() -> type[Widget]:
    forced = os.environ.get("TRACKTUI_IMAGES", "").strip().lower()
    if forced in _CHOICES:
        return _CHOICES[forced]
    if AutoRenderable is SixelRenderable:
        return SixelImage
    if AutoRenderable is TGPRenderable:
        return TGPImage
    return HalfcellImage  # also without a terminal: unicode shading shows far less


DETECTED: type[Widget] = _detected()
RENDERER_NAMES = {HalfcellImage: "half cells", SixelImage: "sixel", TGPImage: "kitty graphics"}


def renderer_name(kind: type[Widget]) -> str:
    return RENDERER_NAMES.get(kind, "auto")


def open_image(data: bytes) -> PILImage.Image:
    """Decode stored PNG/JPEG bytes (raises ``ValueError`` for data that is not an image)."""
    try:
        picture = PILImage.open(io.BytesIO(data))
        picture.load()
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"stored image cannot be decoded ({exc})") from None
    if picture.mode in ("RGB", "RGBA"):
        return picture
    return picture.convert("RGBA" if "A" in picture.getbands() else "RGB")


def image_widget(picture: PILImage.Image, renderer: type[Widget] | None = None) -> Widget:
    kind = renderer or DETECTED
    return kind(picture)  # type: ignore[arg-type]
