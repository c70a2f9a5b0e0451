"""A sparkline: the recent values of a series as block characters, lowest to highest."""

from __future__ import annotations

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> str:
    recent = [v for v in values[-width:] if v == v]
    if not recent or width <= 0:
        return ""
    low, high = min(recent), max(recent)
    span = (high - low) or 1.0
    return "".join(
        SPARKS[min(len(SPARKS) - 1, int((v - low) / span * (len(SPARKS) - 1)))] for v in recent
    )
