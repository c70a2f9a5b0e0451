"""``tracker.Image``: a picture of what the model sees or predicts, stored as PNG (or as the
JPEG/PNG file it came from) with its caption.

Accepted: a numpy array or torch tensor (H×W, H×W×1/3/4, or channels first C×H×W; uint8, or
floats in [0, 1] or [0, 255]), a PIL image, or a path to an image file.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from .base import MAX_CAPTION, Encoded, Media, check_size, check_text, to_numpy

MAX_SIDE = 8192
MAX_PIXELS = 4096 * 4096
_FILE_FORMATS = {"PNG": "png", "JPEG": "jpeg"}


class Image(Media):
    """``run.log({"samples": tracker.Image(array, caption="epoch 3")}, step=300)``"""

    kind = "image"

    def __init__(self, data: Any, caption: str | None = None, **_wandb_options: Any) -> None:
        self.caption = (
            None if caption is None else check_text(caption, "Image caption", MAX_CAPTION)
        )
        self._file_bytes: bytes | None = None
        self._file_format = ""
        self._pixels: Any = None  # uint8 numpy array, H×W or H×W×C
        self._pil: Any = None
        if isinstance(data, (str, os.PathLike)):
            self._from_file(Path(data))
        elif _is_pil(data):
            self._pil = data.copy()  # the caller may reuse or close theirs
            self.width, self.height = data.size
        else:
            self._pixels = _pixels(data)
            self.height, self.width = self._pixels.shape[:2]
        _check_dimensions(self.width, self.height)

    def _from_file(self, path: Path) -> None:
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ValueError(f"Image: cannot read {path}: {exc.strerror or exc}") from None
        check_size(f"Image file {path}", len(raw))
        try:
            with PILImage.open(io.BytesIO(raw)) as opened:
                self.width, self.height = opened.size
                file_format = opened.format or ""
                if file_format in _FILE_FORMATS:
                    self._file_bytes = raw
                    self._file_format = _FILE_FORMATS[file_format]
                else:
                    opened.load()
                    self._pil = opened.copy()
        except (UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise ValueError(
                f"Image: {path} is not an image file Pillow can read ({exc})"
            ) from None

    def approx_bytes(self) -> int:
        if self._file_bytes is not None:
            return len(self._file_bytes)
        if self._pixels is not None:
            return int(self._pixels.nbytes)
        return int(self.width) * int(self.height) * 4

    def encode(self) -> Encoded:
        meta: dict[str, Any] = {"width": self.width, "height": self.height}
        if self.caption:
            meta["caption"] = self.caption
        if self._file_bytes is not None:
            meta["format"] = self._file_format
            return Encoded(self.kind, meta, self._file_bytes)
        from PIL import Image as PILImage

        picture = self._pil
        if picture is None:
            picture = PILImage.fromarray(self._pixels)
        if picture.mode not in ("L", "LA", "RGB", "RGBA", "P", "1", "I;16"):
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", compress_level=4)
        data = buffer.getvalue()
        check_size("Image", len(data))
        meta["format"] = "png"
        return Encoded(self.kind, meta, data)

    def __repr__(self) -> str:
        return f"<tracker.Image {self.width}x{self.height} caption={self.caption!r}>"


def _is_pil(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("PIL.") and hasattr(value, "size") and hasattr(value, "copy")


def too_large(width: int, height: int) -> bool:
    """More pixels than tracktui stores (the writer refuses them; readers never decode them)."""
    return width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS


def _check_dimensions(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"Image is {width}x{height} pixels: empty")
    if too_large(width, height):
        raise ValueError(
            f"Image is {width}x{height} pixels; at most {MAX_SIDE} a side and "
            f"{MAX_PIXELS:,} pixels in all (downscale it before logging)"
        )


def _pixels(data: Any) -> Any:
    """A uint8 H×W or H×W×C copy of an array-like image, or a clear error."""
    import numpy as np

    array = to_numpy(data, "Image")
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"Image: pixel values must be numbers, not {array.dtype}")
    if array.ndim == 3 and array.shape[0] in (1, 3, 4) and array.shape[2] > 4:
        array = np.moveaxis(array, 0, -1)  # channels first (torch): C×H×W -> H×W×C
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"Image: an array of shape {tuple(array.shape)} is not an image; expected H×W "
            "(grey), H×W×3 (RGB), H×W×4 (RGBA) or channels first C×H×W"
        )
    _check_dimensions(int(array.shape[1]), int(array.shape[0]))
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array).copy()
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * 255
    values = array.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("Image: the array holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if array.dtype.kind == "f" and low >= 0.0 and high <= 1.0:
        values = values * 255.0
    elif low < 0.0 or high > 255.0:
        raise ValueError(
            f"Image: values run from {low:g} to {high:g}; expected [0, 1] (floats) or [0, 255]"
        )
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)
