"""``tracker.Image``: a picture of what the model sees or predicts, stored as PNG or JPEG (or as
the JPEG/PNG file it came from) with its caption.

Accepted: a numpy array or torch tensor (H×W, H×W×1/3/4, or channels first C×H×W, any numeric
dtype), a PIL image, a matplotlib figure, another ``Image``, or a path to an image file.

Pixel values follow wandb's rule (``normalize=True``, the default): data in [0, 1] is
multiplied by 255, data in [-1, 1] is mapped from -1..1 to 0..255, anything else is clipped
to [0, 255], and the result is truncated to ``uint8``. ``normalize=False`` takes the values as
they are (integers wrap as numpy's ``astype(uint8)`` does, floats are clipped). wandb's
``masks=``, ``boxes=`` and ``classes=`` are accepted but not drawn (one warning per process).
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from ..errors import warn_once
from .base import MAX_CAPTION, Encoded, Media, check_size, check_text, to_numpy

MAX_SIDE = 8192
MAX_PIXELS = 4096 * 4096
_FILE_FORMATS = {"PNG": "png", "JPEG": "jpeg"}
# wandb's file_type= values -> the format stored (the viewer decodes PNG and JPEG only)
FILE_TYPES = {"png": "png", "jpg": "jpeg", "jpeg": "jpeg", "bmp": "png"}
MODES = ("1", "L", "LA", "P", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "HSV", "I", "F")
_STORED_MODES = ("L", "LA", "RGB", "RGBA", "P", "1", "I;16")


class Image(Media):
    """``run.log({"samples": tracker.Image(array, caption="epoch 3")}, step=300)``

    The arguments are wandb's, in wandb's order: ``Image(data_or_path, mode=None,
    caption=None, grouping=None, classes=None, boxes=None, masks=None, file_type=None,
    normalize=True)``.
    """

    kind = "image"

    def __init__(
        self,
        data_or_path: Any = None,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: dict[str, Any] | None = None,
        masks: dict[str, Any] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
        *,
        data: Any = None,
    ) -> None:
        if data_or_path is None:
            data_or_path = data
        if data_or_path is None:
            raise TypeError("Image: pass the picture (an array, tensor, PIL image or path)")
        self.caption = (
            None if caption is None else check_text(caption, "Image caption", MAX_CAPTION)
        )
        self.grouping = _grouping(grouping)
        self.mode = _mode(mode)
        self.file_type = _file_type(file_type)
        self.overlays = _overlays(classes, boxes, masks)
        self._file_bytes: bytes | None = None
        self._file_format = ""
        self._pixels: Any = None  # uint8 numpy array, H×W or H×W×C
        self._pil: Any = None
        if isinstance(data_or_path, Image):
            self._copy(data_or_path, caption)
        elif isinstance(data_or_path, (str, os.PathLike)):
            self._from_file(Path(data_or_path))
        elif _is_pil(data_or_path):
            self._pil = data_or_path.copy()  # the caller may reuse or close theirs
            self.width, self.height = data_or_path.size
        elif _is_figure(data_or_path):
            self._from_figure(data_or_path)
        else:
            self._pixels = _pixels(data_or_path, normalize, _is_tensor(data_or_path))
            self.height, self.width = self._pixels.shape[:2]
        _check_dimensions(self.width, self.height)

    def _copy(self, other: Image, caption: str | None) -> None:
        """wandb's ``Image(image, caption=...)``: the same picture with new metadata."""
        self._file_bytes, self._file_format = other._file_bytes, other._file_format
        self._pixels, self._pil = other._pixels, other._pil  # never changed after building
        self.width, self.height = other.width, other.height
        if caption is None:
            self.caption = other.caption
        self.grouping = self.grouping if self.grouping is not None else other.grouping
        self.mode = self.mode or other.mode
        self.file_type = self.file_type or other.file_type

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

    def _from_figure(self, figure: Any) -> None:
        """A matplotlib figure (or ``pyplot`` itself), drawn to PNG now: the caller goes on
        changing it afterwards."""
        from PIL import Image as PILImage

        buffer = io.BytesIO()
        try:
            figure.savefig(buffer, format="png")
        except Exception as exc:
            raise ValueError(f"Image: the figure cannot be drawn ({exc})") from None
        raw = buffer.getvalue()
        check_size("Image figure", len(raw))
        with PILImage.open(io.BytesIO(raw)) as opened:
            self.width, self.height = opened.size
        self._file_bytes, self._file_format = raw, "png"

    def approx_bytes(self) -> int:
        if self._file_bytes is not None:
            return len(self._file_bytes)
        if self._pixels is not None:
            return int(self._pixels.nbytes)
        return int(self.width) * int(self.height) * 4

    def cell_text(self) -> str:
        caption = f" {self.caption!r}" if self.caption else ""
        return f"<image {self.width}x{self.height}{caption}>"

    def encode(self) -> Encoded:
        meta: dict[str, Any] = {"width": self.width, "height": self.height}
        if self.caption:
            meta["caption"] = self.caption
        if self.grouping is not None:
            meta["grouping"] = self.grouping
        if self.overlays:
            meta["not_drawn"] = list(self.overlays)
        if self._file_bytes is not None:
            meta["format"] = self._file_format
            return Encoded(self.kind, meta, self._file_bytes)
        from PIL import Image as PILImage

        picture = self._pil
        if picture is None:
            picture = PILImage.fromarray(self._pixels)
        if self.mode and self._pixels is not None and picture.mode != self.mode:
            picture = picture.convert(self.mode)
        stored = self.file_type or "png"
        if stored == "jpeg":
            if picture.mode not in ("L", "RGB"):
                picture = picture.convert("RGB")  # JPEG has no alpha (wandb drops it too)
        elif picture.mode not in _STORED_MODES:
            picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
        buffer = io.BytesIO()
        if stored == "jpeg":
            picture.save(buffer, format="JPEG", quality=90)
        else:
            picture.save(buffer, format="PNG", compress_level=4)
        data = buffer.getvalue()
        check_size("Image", len(data))
        meta["format"] = stored
        return Encoded(self.kind, meta, data)

    def __repr__(self) -> str:
        return f"<tracker.Image {self.width}x{self.height} caption={self.caption!r}>"


def _is_pil(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("PIL.") and hasattr(value, "size") and hasattr(value, "copy")


def _is_tensor(value: Any) -> bool:
    return type(value).__module__.startswith("torch") and callable(getattr(value, "detach", None))


def _is_figure(value: Any) -> bool:
    """A matplotlib figure or the ``matplotlib.pyplot`` module (wandb takes both)."""
    module = getattr(value, "__name__", None) if isinstance(value, type(os)) else None
    owner = module or type(value).__module__
    return owner.startswith("matplotlib") and callable(getattr(value, "savefig", None))


def _grouping(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"Image: grouping must be an int, not {type(value).__name__}")
    number = int(value.__index__())
    if not -(2**63) <= number < 2**63:
        raise ValueError("Image: grouping is out of range")
    return number


def _mode(value: Any) -> str | None:
    if value is None:
        return None
    if value not in MODES:
        raise ValueError(f"Image: mode {value!r} is not one of {', '.join(MODES)}")
    return str(value)


def _file_type(value: Any) -> str | None:
    if value is None:
        return None
    stored = FILE_TYPES.get(str(value).lower()) if isinstance(value, str) else None
    if stored is None:
        raise ValueError(f"Image: file_type must be one of {', '.join(FILE_TYPES)}, not {value!r}")
    return stored


def _overlays(classes: Any, boxes: Any, masks: Any) -> tuple[str, ...]:
    """wandb's box and mask layers: checked as wandb checks them, kept out of the file."""
    for name, value in (("boxes", boxes), ("masks", masks)):
        if _given(value) and not isinstance(value, dict):
            raise ValueError(f'Image: "{name}" must be a dictionary of layers, as in wandb')
    given = tuple(
        name
        for name, value in (("boxes", boxes), ("masks", masks), ("classes", classes))
        if _given(value)
    )
    if given:
        warn_once(
            "image-overlays",
            "Image: masks=, boxes= and classes= are accepted but not drawn or stored; the "
            "picture itself is (reported once)",
        )
    return given


def _given(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (dict, list, tuple)):
        return len(value) > 0
    return True


class Classes:
    """wandb's ``wandb.Classes([{"id": 1, "name": "cat"}, ...])``: accepted for ``classes=``
    (class names are not drawn)."""

    def __init__(self, class_set: Any) -> None:
        self._class_set = class_set


class BoundingBoxes2D:
    """wandb's ``wandb.BoundingBoxes2D(val, key)``: accepted in ``boxes=``, not drawn."""

    def __init__(self, val: Any, key: str) -> None:
        self._val, self._key = val, key


class ImageMask:
    """wandb's ``wandb.ImageMask(val, key)``: accepted in ``masks=``, not drawn."""

    def __init__(self, val: Any, key: str) -> None:
        self._val, self._key = val, key


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


def _pixels(data: Any, normalize: bool, tensor: bool) -> Any:
    """A uint8 H×W or H×W×C copy of an array-like image, or a clear error."""
    import numpy as np

    array = to_numpy(data, "Image")
    if array.dtype == object or array.dtype.kind not in "biuf":
        raise TypeError(f"Image: pixel values must be numbers, not {array.dtype}")
    if array.ndim > 2 and 1 in array.shape:  # wandb drops trivial dimensions (1×H×W×3)
        squeezed = np.squeeze(array)
        if squeezed.ndim >= 2:
            array = squeezed
    if array.ndim == 3 and _channels_first(array.shape, tensor):
        array = np.moveaxis(array, 0, -1)  # C×H×W -> H×W×C
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ValueError(
            f"Image: an array of shape {tuple(array.shape)} is not an image; expected H×W "
            "(grey), H×W×3 (RGB), H×W×4 (RGBA) or channels first C×H×W (log a batch as a "
            "list: [tracker.Image(x) for x in batch])"
        )
    _check_dimensions(int(array.shape[1]), int(array.shape[0]))
    if array.dtype == np.uint8 and not normalize:
        return np.ascontiguousarray(array).copy()
    if not normalize:
        if array.dtype.kind == "f":
            return np.clip(np.nan_to_num(array, nan=0.0), 0, 255).astype(np.uint8)
        return array.astype(np.uint8)  # integers wrap, as numpy's (and wandb's) astype does
    return rescaled(array)


def _channels_first(shape: tuple[int, ...], tensor: bool) -> bool:
    """torch tensors are C×H×W (as wandb takes them) unless they cannot be; numpy arrays are
    H×W×C unless only channels first makes sense (the last side longer than 4)."""
    return shape[0] in (1, 3, 4) and (tensor or shape[2] > 4)


def rescaled(array: Any) -> Any:
    """wandb's rule for ``normalize=True``: [0, 1] times 255, [-1, 1] mapped onto 0..255,
    anything else clipped to [0, 255]; then truncated to uint8 (computed in the array's own
    float precision, as wandb computes it). NaN is drawn as 0, and out-of-range or NaN data
    is reported once."""
    import numpy as np

    if array.dtype.kind == "b":
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint8:  # the common case, without a wider copy
        if array.size and array.max() <= 1:
            return array * np.uint8(255)
        return np.ascontiguousarray(array).copy()
    values = array if array.dtype.kind == "f" else array.astype(np.int64)
    finite = np.isfinite(values) if values.dtype.kind == "f" else None
    if finite is not None and not finite.all():
        bad = int(values.size - np.count_nonzero(finite))
        warn_once(
            "image-nonfinite",
            f"Image: {bad:,} NaN/inf pixel values (NaN drawn as 0, ±inf clipped; reported once)",
        )
        shown = values[finite]
        values = np.nan_to_num(values, nan=0.0, posinf=np.inf, neginf=-np.inf)
    else:
        shown = values
    if shown.size == 0:
        return np.zeros(values.shape, np.uint8)
    low, high = shown.min(), shown.max()
    if low >= 0 and high <= 1:
        scaled = values * 255
    elif low >= -1 and high <= 1:
        scaled = 255 * 0.5 * (values + 1)
    else:
        if low < 0 or high > 255:
            warn_once(
                "image-range",
                f"Image: pixel values run from {float(low):g} to {float(high):g}, outside "
                "[0, 255]; clipped to [0, 255] as wandb does (a normalised tensor comes out "
                "nearly black: undo the normalisation, or pass normalize=False; reported once)",
            )
        scaled = values
    return np.clip(scaled, 0, 255).astype(np.uint8)
