"""Natural order of names: the numbers in them compared as numbers (``k2`` before ``k10``,
an event file's ``.9`` before its ``.10``), the rest as text."""

from __future__ import annotations

import re

_NUMBERS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """A sort key: each run of digits as a number, each run of other characters as text."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _NUMBERS.split(text) if part
    )
