"""What the framework adapters share: picking the numbers out of a framework's log dict."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..values import to_float


def numeric_items(logs: Mapping[str, Any] | None) -> dict[str, float]:
    """The entries of ``logs`` that are numbers (tensors and numpy scalars included); others are
    skipped silently, since frameworks mix strings and lists into their log dicts."""
    out: dict[str, float] = {}
    for key, value in (logs or {}).items():
        if not isinstance(key, str) or isinstance(value, (str, bytes)) or value is None:
            continue
        try:
            out[key] = to_float(key, value)
        except TypeError:
            continue
    return out
