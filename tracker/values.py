"""Validation and conversion of what users pass to ``log()``: metric keys, steps, values, and
run names, projects and tags.

Metric values become Python floats (never numpy/torch objects, which SQLite would store as
BLOBs); text, None, sequences, figures and media are sorted out as wandb takes them; keys are
checked once and remembered by the caller. Everything here raises before anything of a
``log()`` call is queued. JSON for config and summary is :mod:`tracker.jsonable`'s.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from typing import Any

from .media.base import Media

MAX_KEY_LENGTH = 256
MAX_NAME_LENGTH = 256
MAX_KEYS_PER_CALL = 10_000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

# C0 controls, DEL, C1 controls: never part of a key or a name (they reach terminals as escapes).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def check_key(key: object) -> str:
    """Return ``key`` if it can name a metric, else raise ``ValueError``/``TypeError``."""
    if type(key) is not str:
        if isinstance(key, str):
            key = str(key)
        else:
            raise TypeError(f"metric key {key!r} must be a str, not {type(key).__name__}")
    if not key:
        raise ValueError("metric key must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"metric key {_short(key)} is {len(key)} characters; at most {MAX_KEY_LENGTH}"
        )
    if _CONTROL.search(key):
        raise ValueError(f"metric key {_short(key)} contains a control character")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"metric key {_short(key)} is not valid Unicode (lone surrogate)"
        ) from None
    return key


def check_step(step: Any) -> int:
    """``step`` as an int SQLite can store (64-bit signed), or a clear error."""
    if isinstance(step, bool) or not hasattr(step, "__index__"):
        raise TypeError(f"log(): step must be an int, not {type(step).__name__}")
    try:
        value = int(step.__index__())
    except Exception as exc:
        raise TypeError(f"log(): step {type(step).__name__} cannot be read as an int") from exc
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(
            f"log(): step {value} is out of range; steps are 64-bit signed integers "
            f"({INT64_MIN} to {INT64_MAX})"
        )
    return value


def check_name(value: object, what: str) -> str:
    """A run name, project or tag as stored: text (a number is taken as its text), stripped,
    at most :data:`MAX_NAME_LENGTH` characters (longer is cut, with one warning). Control
    characters and markup are kept as given (wandb takes them) and shown escaped everywhere."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ValueError(f"{what} must not be empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {_short(text)} is not valid Unicode") from None
    if len(text) > MAX_NAME_LENGTH:
        from .errors import warn_once

        warn_once(
            f"long-name:{what}:{text[:40]}",
            f"{what} {_short(text)} is {len(text):,} characters; kept as its first "
            f"{MAX_NAME_LENGTH}",
        )
        text = text[:MAX_NAME_LENGTH]
    return text


FLOAT_INT_MAX = int(sys.float_info.max)  # ints beyond it have no float (OverflowError)


def to_float(key: str, value: object) -> float:
    """Convert one metric value to a float or raise ``TypeError`` naming ``key``.

    Accepted: int, float, bool, numpy scalars and 0-d / one-element arrays, torch tensors with
    one element (``.item()``), and any object with ``__float__``. NaN and ±inf pass through.
    Whatever the value's own conversion raises is chained as the ``TypeError``'s cause.
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int or kind is bool:
        if -FLOAT_INT_MAX <= value <= FLOAT_INT_MAX:  # type: ignore[operator]
            return float(value)  # type: ignore[arg-type]
        raise NotANumber(f"log(): value of {key!r} is an int too large for a float")
    if isinstance(value, (str, bytes, bytearray)) or value is None:
        raise TypeError(
            f"log(): value of {key!r} is {type(value).__name__}, not a number"
            + (
                " (log text with tracker.Table or put it in run.summary)"
                if isinstance(value, str)
                else ""
            )
        )
    try:
        return _converted(key, value)
    except NotANumber:
        raise
    except Exception as exc:  # the value's own code (item, __float__, size...) failed
        raise TypeError(
            f"log(): value of {key!r} cannot be converted to float: {type(exc).__name__}: {exc}"
        ) from exc


class NotANumber(TypeError):
    """A value :func:`to_float` turns down itself (the user's code did not fail)."""


TEXT_OR_NONE = (str, type(None))


def _converted(key: str, value: object) -> float:
    """``value`` as a float; exceptions from the value's own methods propagate."""
    if isinstance(value, int):  # int subclasses (IntEnum, numpy bool excluded)
        return to_float(key, int(value))
    dtype = getattr(value, "dtype", None)
    if getattr(dtype, "kind", None) in _NOT_NUMBERS:
        raise NotANumber(f"log(): value of {key!r} is {dtype}, not a number")
    item = getattr(value, "item", None)
    if item is not None and callable(item):
        size = element_count(value)
        if size is not None and size != 1:
            raise NotANumber(
                f"log(): value of {key!r} is an array with {size} elements; log a scalar "
                "(e.g. .mean()) or a tracker.Histogram"
            )
        scalar = item()
        if type(scalar) is float or type(scalar) is int or type(scalar) is bool:
            return to_float(key, scalar)
        if isinstance(scalar, (int, float)) and not isinstance(scalar, complex):
            return to_float(key, float(scalar))
        if getattr(getattr(scalar, "dtype", None), "kind", None) == "f":  # numpy longdouble
            return float(scalar)
        raise NotANumber(f"log(): value of {key!r} holds {type(scalar).__name__}, not a number")
    if isinstance(value, complex):
        raise NotANumber(f"log(): value of {key!r} is complex; log its .real and .imag separately")
    if hasattr(type(value), "__float__"):
        return float(value)  # type: ignore[arg-type]
    raise NotANumber(f"log(): value of {key!r} is {type(value).__name__}, not a number")


_NOT_NUMBERS = frozenset("cmMOSUV")  # complex, times, objects, text, raw bytes


def element_count(value: object) -> int | None:
    size = getattr(value, "size", None)
    if isinstance(size, int):
        return size
    numel = getattr(value, "numel", None)
    if callable(numel):
        try:
            count = numel()
        except Exception:
            return None
        return count if isinstance(count, int) else None
    return None


def flatten_metrics(
    data: Mapping[str, Any],
    prefix: str = "",
    media: dict[str, Any] | None = None,
    texts: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Validate and flatten a ``log()`` payload: nested mappings become ``outer/inner`` keys.

    Media objects (and lists of them, which become ``key[0]``, ``key[1]``...) and sequences of
    numbers (a list, an array or tensor of more than one element: a :class:`Histogram`, as wandb
    makes them) go to ``media`` when it is given; text and None go to ``texts`` when it is given
    (wandb takes both); without them they are refused like any other non-number.
    """
    out: dict[str, float] = {}
    for raw_key, value in data.items():
        if not isinstance(raw_key, str):
            raise TypeError(
                f"log(): metric key {raw_key!r} must be a str, not {type(raw_key).__name__}"
            )
        key = check_key(f"{prefix}{raw_key}")
        if isinstance(value, Mapping):
            nested = flatten_metrics(value, key + "/", media, texts)
            for repeated in nested.keys() & out.keys():
                _given_twice(repeated)
            out.update(nested)
        elif key in out or (media is not None and key in media) or (texts and key in texts):
            _given_twice(key)
        elif texts is not None and (
            isinstance(value, TEXT_OR_NONE) or getattr(value, "not_stored", False) is True
        ):
            texts[key] = value if isinstance(value, str) else None
        elif media is not None and _is_matplotlib(value):
            media[key] = _image_of_figure(key, value)  # wandb takes a figure or plt itself
        elif media is not None and _is_number_sequence(value):
            media[key] = _histogram_of(key, value)  # wandb turns sequences into histograms
        elif texts is not None and isinstance(value, (list, tuple)) and not value:
            texts[key] = None
        elif media is not None and isinstance(value, Media):
            media[key] = value.at_log()  # a Table the script keeps filling is stored as logged
        elif media is not None and _is_media_list(value):
            for index, item in enumerate(value):
                media[check_key(f"{key}[{index}]")] = item.at_log()
        else:
            out[key] = to_float(key, value)
        if len(out) + (len(media) if media else 0) > MAX_KEYS_PER_CALL:
            raise ValueError(f"log(): more than {MAX_KEYS_PER_CALL} keys in one call")
    return out


def _is_matplotlib(value: object) -> bool:
    """A matplotlib figure, or the ``matplotlib.pyplot`` module (its current figure)."""
    if type(value).__module__.startswith("matplotlib.figure"):
        return True
    return getattr(value, "__name__", None) == "matplotlib.pyplot" and hasattr(value, "gcf")


def _image_of_figure(key: str, value: Any) -> Any:
    from .media import Image

    figure = value.gcf() if hasattr(value, "gcf") else value
    try:
        return Image(figure)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"log(): the figure under {key!r} cannot be drawn: {exc}") from exc


def _is_number_sequence(value: object) -> bool:
    """A list/tuple of real numbers, or a numeric array or tensor of more than one element."""
    if isinstance(value, (list, tuple)):
        return bool(value) and all(
            isinstance(item, (int, float)) and not isinstance(item, bool) for item in value
        )
    if not hasattr(value, "shape") or not callable(getattr(value, "item", None)):
        return False
    size = element_count(value)
    if size is None or size < 2:
        return False
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", None)
    if kind is not None:  # numpy and anything like it
        return kind in "biuf"
    return bool(getattr(dtype, "is_floating_point", False)) or str(dtype).startswith(
        ("torch.int", "torch.uint", "torch.bool")
    )  # torch tensors: real numbers only


def _histogram_of(key: str, value: object) -> Any:
    from .media import Histogram

    try:
        return Histogram(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"log(): value of {key!r} is a sequence tracktui cannot bin: {exc}"
        ) from exc


def _given_twice(key: str) -> None:
    raise ValueError(
        f"log(): metric key {_short(key)} is given twice in one call (as a 'a/b' key and inside a "
        "nested dict); one of the values would be lost"
    )


def _is_media_list(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, Media) for item in value)
    )
