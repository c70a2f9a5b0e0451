"""Axis ticks: round values inside a range, and labels that read as what they count.

A step axis is labelled ``0  2,500  5,000``, never ``2.0  191.8``; a million steps as ``1.2M``;
a loss axis with as many decimals as its tick spacing needs (``0.25 0.50 0.75``), all labels of
one axis alike. Pure functions, no widgets.
"""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Sequence

_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)
_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def nice_step(span: float, count: int) -> float:
    """The round spacing (1, 2, 2.5 or 5 times a power of ten) whose number of ticks over
    ``span`` is nearest ``count`` (fewer rather than more on a tie: labels need room)."""
    if not math.isfinite(span) or span <= 0 or count < 1:
        return 1.0
    raw = span / count
    if raw < sys.float_info.min:  # a subnormal span: no round step is representable
        return span
    power = 10.0 ** math.floor(math.log10(raw))
    # No wider than the span: a range as long as the step always holds a multiple of it.
    candidates = [nice * power for nice in (0.5, *_NICE) if 0.0 < nice * power <= span]
    if not candidates:
        return span
    return min(candidates, key=lambda step: (abs(span / step - count), -step))


def share(value: float, low: float, high: float) -> float:
    """Where ``value`` lies from ``low`` (0) to ``high`` (1), worked out on halves: the
    differences of values near the largest float overflow (-1e308..1e308)."""
    return (value / 2 - low / 2) / (high / 2 - low / 2)


def decade_ticks(
    low: float,
    high: float,
    count: int,
    finest: Sequence[float] = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0),
    slack: float = 0.0,
) -> list[float]:
    """Round values from 10**low to 10**high (``slack`` more either side, in decades): powers
    of ten if there are two, else 1-2-5 steps, else the ``finest`` mantissas; [] if even those
    give fewer than two."""
    # the decades a float has (10.0 ** 309 overflows; a diverged run reaches 1e308)
    decades = range(max(-323, math.floor(low) - 1), min(308, math.ceil(high)) + 1)
    for mantissas in ((1.0,), (1.0, 2.0, 5.0), tuple(finest)):
        values = [
            value
            for k in decades
            for m in mantissas
            if 0 < (value := m * 10.0**k) < math.inf
            and low - slack <= math.log10(value) <= high + slack
        ]
        if len(values) >= 2:
            return values[:: max(1, len(values) // max(2, count))]
    return []


def ticks(low: float, high: float, count: int, integer: bool = False) -> list[float]:
    """Round values in [low, high], about ``count`` of them (at least one when low == high).
    ``integer``: whole numbers only (steps), spaced at least 1 apart."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high < low:
        low, high = high, low
    if high == low:
        return [] if integer and not float(low).is_integer() else [low]
    if not math.isfinite(high - low):  # -1e308..1e308: worked out on halves
        return [2 * v for v in ticks(low / 2, high / 2, count) if math.isfinite(2 * v)]
    step = nice_step(high - low, max(1, count))
    if integer:
        step = max(1.0, round(step))
    slack = (high - low) * 1e-12
    # (by the largest float the slack overflows: the ends themselves then)
    start, end = max(low - slack, -sys.float_info.max), min(high + slack, sys.float_info.max)
    first = math.ceil(start / step) * step
    out: list[float] = []
    value = first
    while value <= end and math.isfinite(value) and len(out) < 100:
        out.append(0.0 if abs(value) < step * 1e-9 else value)
        value = first + len(out) * step
    return out


def _decimals(step: float) -> int:
    """Digits after the point that tell ticks ``step`` apart (0.25 needs 2, 0.5 needs 1)."""
    if step <= 0 or not math.isfinite(step):
        return 0
    for digits in range(0, 10):
        if abs(round(step, digits) - step) <= step * 1e-6:
            return digits
    return 10


def tick_labels(values: Sequence[float], integer: bool = False) -> list[str]:
    """Labels for one axis's ticks, formatted alike: thousands separators for counts below
    100,000, k/M/G suffixes above, scientific notation for tiny or huge non-count values."""
    if not values:
        return []
    if len(values) == 1:
        return [label_value(values[0])]
    step = min((b - a for a, b in itertools.pairwise(values)), default=0.0)
    if not math.isfinite(step):  # ticks either side of zero near the largest float
        step = sys.float_info.max
    biggest = max(abs(v) for v in values)
    if biggest >= 1e15:  # past the suffixes' T: 5e+26, not 500000000000000T
        return [_scientific(v, step) for v in values]
    if biggest >= 1e5 and step >= biggest * 1e-3:
        return [_suffixed(v, step) for v in values]
    if biggest >= 1e5:  # a narrow window far from zero: every digit that differs
        digits = _decimals(step) if step else 2
        return [f"{v:,.{digits}f}" for v in values]
    if integer or (step >= 1 and all(float(v).is_integer() for v in values)):
        return [f"{round(v):,}" for v in values]
    if 0 < biggest < 1e-3 or (step and step < 1e-4):
        return [_scientific(v, step) for v in values]
    digits = _decimals(step) if step else 2
    return [f"{v:.{digits}f}" for v in values]


def _suffixed(value: float, step: float) -> str:
    if value == 0:
        return "0"
    for scale, suffix in _SUFFIXES:
        if abs(value) >= scale or (value == 0 and step >= scale):
            digits = _decimals(step / scale) if step else 1
            return f"{value / scale:.{min(digits, 3)}f}{suffix}"
    return f"{value:g}"


def _scientific(value: float, step: float) -> str:
    if value == 0:
        return "0"
    mantissa_digits = 1
    if step:
        exponent = math.floor(math.log10(abs(value)))
        mantissa_digits = max(1, min(4, exponent - math.floor(math.log10(step)) + 1))
    return f"{value:.{mantissa_digits - 1}e}"


def label_value(value: float) -> str:
    """One value on its own (a single-point axis), short."""
    if float(value).is_integer() and abs(value) < 1e5:
        return f"{round(value):,}"
    return min(f"{value:.4g}", repr(float(value)), key=len)  # 5e-324, not 4.941e-324
