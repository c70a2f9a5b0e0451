"""What every logged media object shares: its kind, its size limits, and its encoding.

A media object is built (and validated) in the caller's thread, where a bad input raises a
clear ``TypeError``/``ValueError`` before anything is queued. The costly part, encoding (PNG
compression, JSON), runs later in the writer thread, so ``log()`` stays a queue append.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

MAX_MEDIA_BYTES = 16 * 1024 * 1024  # one encoded object; SQLite rows stay far below its limits
MAX_CAPTION = 1000


@dataclass(frozen=True, slots=True)
class Encoded:
    """A media object ready for the ``media`` table."""

    kind: str
    meta: dict[str, Any]
    data: bytes


class Media:
    """Base of :class:`Image`, :class:`Table`, :class:`Histogram` and :class:`ConfusionMatrix`."""

    kind: ClassVar[str] = ""

    def encode(self) -> Encoded:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def approx_bytes(self) -> int:
        """Memory held until written: the writer's buffer caps pending media by this."""
        return 1024

    def at_log(self) -> Media:
        """What ``log()`` queues for this object: itself, or (for a :class:`Table`, which
        the caller may keep changing) a copy of it as it is now, so that what is stored is
        what was logged even though the writer encodes it later."""
        return self

    def cell_text(self) -> str:
        """How this object reads inside a :class:`Table` cell (it is stored as this text)."""
        return f"<{self.kind}>"


def json_bytes(value: Any) -> bytes:
    """Compact UTF-8 JSON; ``allow_nan`` off because every number was checked before."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def check_size(what: str, size: int) -> None:
    if size > MAX_MEDIA_BYTES:
        raise ValueError(
            f"{what} is {size / 1e6:.1f} MB encoded; at most {MAX_MEDIA_BYTES / 1e6:.0f} MB per "
            "logged object (log a smaller or downscaled one)"
        )


def check_text(value: object, what: str, limit: int) -> str:
    """Text as stored: valid UTF-8 (bytes are decoded strictly), no NUL, bounded length."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{what} is bytes that are not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "decode it first, e.g. data.decode('latin-1')"
            ) from None
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} is not valid Unicode (it holds a lone surrogate)") from None
    if len(text) > limit:
        raise ValueError(f"{what} is {len(text):,} characters; at most {limit:,}")
    return text.replace("\x00", "\ufffd")


def to_numpy(value: Any, what: str) -> Any:
    """A numpy array from a list, numpy array or torch tensor (moved to the CPU, detached)."""
    import numpy as np

    detach = getattr(value, "detach", None)
    if callable(detach):  # a torch tensor: never keep a reference to GPU memory or autograd
        tensor = detach().cpu()
        try:
            value = tensor.numpy()
        except TypeError:  # bfloat16 and other dtypes numpy lacks: as float32
            value = tensor.float().numpy()
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what}: cannot read {type(value).__name__} as an array ({exc})") from None
