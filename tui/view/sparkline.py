"""A sparkline: the recent values of a series as block characters, lowest to highest."""

from __future__ import annotations

import math

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int) -> str:
    recent = [v for v in values[-width:] if math.isfinite(v)]  # (NaN and inf have no height)
    if not recent or width <= 0:
        return ""
    # halves: the span of -1e308..1e308 overflows, and inf / inf made the viewer exit
    low, high = min(recent) / 2, max(recent) / 2
    span = (high - low) or 1.0
    return "".join(
        SPARKS[min(len(SPARKS) - 1, int((v / 2 - low) / span * (len(SPARKS) - 1)))] for v in recent
    )
