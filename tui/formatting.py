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


def format_bytes(value: float | None, rate: bool = False) -> str:
    """Binary units for sizes (``12.3 GiB``), decimal ones for rates (``1.2 MB/s``)."""
    if value is None or value != value:
        return "-"
    base, units = (
        (1000.0, ("B/s", "kB/s", "MB/s", "GB/s", "TB/s"))
        if rate
        else (
            1024.0,
            ("B", "KiB", "MiB", "GiB", "TiB", "PiB"),
        )
    )
    size = float(value)
    for unit in units:
        if abs(size) < base or unit == units[-1]:
            return f"{size:.0f} {unit}" if unit in ("B", "B/s") else f"{size:.1f} {unit}"
        size /= base
    return f"{size:.1f} {units[-1]}"


def format_with_unit(value: float | None, unit: str) -> str:
    """A value with the unit of the metric registry: %, B, B/s, °C, W, MHz, cores."""
    if value is None or value != value:
        return "-"
    if unit == "B":
        return format_bytes(value)
    if unit == "B/s":
        return format_bytes(value, rate=True)
    if unit == "%":
        return f"{value:.0f}%"
    if unit in ("°C", "W", "MHz"):
        return f"{value:.0f} {unit}"
    if unit == "cores":
        return f"{value:g} cores"
    return format_number(value, 3)
