"""Stored JSON read back safely: text that is damaged, of the wrong type or absurdly deep
becomes a default instead of an exception (every backend's readers use it)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

T = TypeVar("T")

# The writer stores configs at most ~34 levels deep (tracker.values); anything deeper was not
# written by tracktui and would make every recursive walk of it raise RecursionError.
MAX_JSON_DEPTH = 64


def loads_json(text: object, default: T) -> T | Any:
    """Stored JSON text parsed, or ``default`` when it is empty, does not parse, is not of
    ``default``'s type or is nested deeper than :data:`MAX_JSON_DEPTH`."""
    if not text or not isinstance(text, (str, bytes)):
        return default
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return default
    if not isinstance(value, type(default)) or _too_deep(value):
        return default
    return value


def _too_deep(value: object) -> bool:
    """Whether ``value`` nests lists and dicts more than :data:`MAX_JSON_DEPTH` levels
    (an explicit stack, so this cannot raise ``RecursionError`` itself)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Any
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
