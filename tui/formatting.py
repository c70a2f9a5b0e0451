"""Human formats for numbers, durations and ages, shared by the CLI and the TUI."""

from __future__ import annotations

import math


def format_number(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}g}"


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{int(minutes)}m{int(seconds % 60):02d}s"
    hours = minutes / 60
    if hours < 48:
        return f"{int(hours)}h{int(minutes % 60):02d}m"
    return f"{hours / 24:.1f}d"


def format_age(seconds: float) -> str:
    return f"{format_duration(seconds)} ago"
