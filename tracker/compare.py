"""Comparing runs: which config keys differ, and their values side by side."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .models import RunRecord

MISSING = object()


def flatten_config(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested config as dotted keys (``optimizer.lr``); lists stay values."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten_config(value, f"{name}."))
        else:
            out[name] = value
    return out


def config_table(
    runs: Sequence[RunRecord], only_differences: bool = True
) -> list[tuple[str, list[Any]]]:
    """Rows of ``(key, [value per run])`` (``MISSING`` where a run lacks the key), sorted by key.

    With ``only_differences``, keys whose value is the same in every run are left out.
    """
    flat = [flatten_config(run.config) for run in runs]
    keys = sorted({key for config in flat for key in config})
    rows = []
    for key in keys:
        values = [config.get(key, MISSING) for config in flat]
        if only_differences and len(runs) > 1 and all(_same(values[0], v) for v in values[1:]):
            continue
        rows.append((key, values))
    return rows


def differing_keys(runs: Sequence[RunRecord]) -> list[str]:
    return [key for key, _ in config_table(runs, only_differences=True)]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return bool(a == b)
