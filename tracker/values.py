"""Validation and conversion of what users pass to ``log()``, ``config`` and ``summary``.

Metric values become Python floats (never numpy/torch objects, which SQLite would store as
BLOBs); keys are checked once and remembered by the caller. Everything here raises before
anything of a ``log()`` call is queued.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
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
    if key.startswith("/") or key.endswith("/") or "//" in key:
        raise ValueError(f"metric key {_short(key)} has an empty '/' segment")
    return key


def check_name(value: object, what: str) -> str:
    """Validate a run name, project or tag: printable text of bounded length."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ValueError(f"{what} must not be empty")
    if len(text) > MAX_NAME_LENGTH:
        raise ValueError(
            f"{what} {_short(text)} is {len(text)} characters; at most {MAX_NAME_LENGTH}"
        )
    if _CONTROL.search(text):
        raise ValueError(f"{what} {_short(text)} contains a control character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} {_short(text)} is not valid Unicode") from None
    return text


def to_float(key: str, value: object) -> float:
    """Convert one metric value to a float or raise ``TypeError`` naming ``key``.

    Accepted: int, float, bool, numpy scalars and 0-d / one-element arrays, torch tensors with
    one element (``.item()``), and any object with ``__float__``. NaN and ±inf pass through.
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int or kind is bool:
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, (str, bytes, bytearray)) or value is None:
        raise TypeError(
            f"log(): value of {key!r} is {type(value).__name__}, not a number"
            + (
                " (log text with tracker.Table or put it in run.summary)"
                if isinstance(value, str)
                else ""
            )
        )
    item = getattr(value, "item", None)
    if item is not None and callable(item):
        size = _element_count(value)
        if size is not None and size != 1:
            raise TypeError(
                f"log(): value of {key!r} is an array with {size} elements; log a scalar "
                "(e.g. .mean()) or a tracker.Histogram"
            )
        try:
            scalar = item()
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"log(): value of {key!r} cannot be read as a scalar: {exc}") from None
        if isinstance(scalar, (int, float)) and not isinstance(scalar, complex):
            return float(scalar)
        raise TypeError(f"log(): value of {key!r} holds {type(scalar).__name__}, not a number")
    if isinstance(value, complex):
        raise TypeError(f"log(): value of {key!r} is complex; log its .real and .imag separately")
    if hasattr(kind, "__float__"):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(
                f"log(): value of {key!r} cannot be converted to float: {exc}"
            ) from None
    raise TypeError(f"log(): value of {key!r} is {type(value).__name__}, not a number")


def _element_count(value: object) -> int | None:
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
    data: Mapping[str, Any], prefix: str = "", media: dict[str, Any] | None = None
) -> dict[str, float]:
    """Validate and flatten a ``log()`` payload: nested mappings become ``outer/inner`` keys.

    Media objects (and lists of them, which become ``key[0]``, ``key[1]``...) go to ``media``
    when it is given; without it they are refused like any other non-number.
    """
    out: dict[str, float] = {}
    for raw_key, value in data.items():
        if not isinstance(raw_key, str):
            raise TypeError(
                f"log(): metric key {raw_key!r} must be a str, not {type(raw_key).__name__}"
            )
        key = check_key(f"{prefix}{raw_key}")
        if isinstance(value, Mapping):
            out.update(flatten_metrics(value, key + "/", media))
        elif media is not None and isinstance(value, Media):
            media[key] = value
        elif media is not None and _is_media_list(value):
            for index, item in enumerate(value):
                media[check_key(f"{key}[{index}]")] = item
        else:
            out[key] = to_float(key, value)
        if len(out) + (len(media) if media else 0) > MAX_KEYS_PER_CALL:
            raise ValueError(f"log(): more than {MAX_KEYS_PER_CALL} keys in one call")
    return out


def _is_media_list(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and bool(value)
        and all(isinstance(item, Media) for item in value)
    )


def to_jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON-ready copy of a config or summary value (numpy/torch scalars become numbers).

    Objects that are not plain data are stored as their ``str()``, so a config never fails to
    save because one entry is exotic.
    """
    if depth > 32:
        return str(value)
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else float(value)
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [to_jsonable(v, depth + 1) for v in items]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), depth + 1)
    item = getattr(value, "item", None)
    if callable(item) and _element_count(value) == 1:
        try:
            return to_jsonable(item(), depth + 1)
        except Exception:
            return str(value)
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        try:
            return to_jsonable(tolist(), depth + 1)
        except Exception:
            return str(value)
    return str(value)


def config_to_dict(config: Any) -> dict[str, Any]:
    """Accept a mapping, an argparse Namespace, a dataclass or an object with ``to_dict()``."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        return {str(k): v for k, v in config.items()}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    to_dict = getattr(config, "to_dict", None)
    if callable(to_dict):
        result = to_dict()
        if isinstance(result, Mapping):
            return dict(result)
    if hasattr(config, "__dict__"):
        return {k: v for k, v in vars(config).items() if not k.startswith("_")}
    raise TypeError(
        f"config must be a mapping, dataclass or namespace, not {type(config).__name__}"
    )


def dumps(value: Any) -> str:
    """JSON text for the database: compact, keys kept in insertion order, NaN written as NaN."""
    return json.dumps(to_jsonable(value), separators=(",", ":"), ensure_ascii=False)


def json_safe_number(value: float | None) -> float | str | None:
    """NaN and ±inf as the strings "NaN", "Infinity", "-Infinity" so that output is valid JSON."""
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_json_safe(value: Any) -> Any:
    """A copy of decoded JSON with non-finite floats replaced by their string names."""
    if isinstance(value, float):
        return json_safe_number(value)
    if isinstance(value, dict):
        return {k: to_json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json_safe(v) for v in value]
    return value
