"""``init(health=...)``: which detectors run and with which thresholds.

``None``/``True``: every detector with its default thresholds; ``False`` (or
``$TRACKTUI_HEALTH=0``): none. A dict changes options (``{"loss_spike": {"factor": 5}}``) or
switches detectors off by name (``{"gpu_underused": False}``); an unknown detector or option
raises ``ValueError`` naming the valid ones.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..settings import health_off_by_env

# The defaults, documented in the README's "Training health" table. Every number is a float
# or an int; the type of the default is the type accepted.
DETECTORS: dict[str, dict[str, float]] = {
    # A NaN/inf loss at once; a gradient norm only when 3 in a row are (fp16 loss scaling
    # skips steps with an inf gradient norm now and then: that is normal).
    # A non-finite loss is an error at once; a non-finite gradient norm with a finite loss is
    # what fp16 loss scaling does while it finds its scale (GradScaler skips those steps, often
    # several in a row at the start): a warning only after grad_points in a row.
    "nonfinite": {"loss_points": 1, "grad_points": 25, "clear_points": 20},
    # value > median + max((factor - 1) * |median|, sigmas * 1.4826 * MAD,
    # tail * (window max - median)) for `points` points in a row, over a window of the
    # series' last `window` points, after `warmup` points. The tail term keeps the noise of
    # small-batch losses (heavy-tailed: a batch at 3x the median is normal) from alerting.
    "loss_spike": {
        "factor": 3.0, "sigmas": 6.0, "tail": 2.0, "window": 64, "warmup": 50, "points": 2,
        "clear_points": 20,
    },
    "grad_explosion": {
        "factor": 10.0, "sigmas": 6.0, "tail": 2.0, "window": 64, "warmup": 50, "points": 2,
        "clear_points": 20,
    },
    # No new step for max(factor * usual time between steps, min_seconds,
    # gap_factor * the longest gap seen that did not alert), after warmup_steps steps.
    "stalled": {"factor": 5.0, "min_seconds": 60.0, "gap_factor": 1.5, "warmup_steps": 20},
    # A window (>= window_steps step changes and >= window_s seconds) whose rate is below
    # factor * the median of the previous windows, `patience` windows in a row.
    "throughput_drop": {
        "factor": 0.5, "clear_factor": 0.8, "window_steps": 20, "window_s": 5.0,
        "baseline_windows": 32, "warmup_windows": 5, "patience": 3,
    },
    # Mean utilisation of a GPU this run uses below `util` % over the last duration_s while
    # steps advance.
    "gpu_underused": {"util": 25.0, "clear_util": 40.0, "duration_s": 300.0, "warmup_s": 60.0},
    "gpu_memory": {"percent": 98.0, "clear_percent": 95.0, "points": 3},
    "host_memory": {"percent": 95.0, "clear_percent": 90.0, "points": 3},
    "disk_full": {"percent": 95.0, "clear_percent": 93.0, "points": 1},
}  # fmt: skip
GENERAL: dict[str, Any] = {
    "webhook": None,  # an http(s) URL a JSON POST goes to for each event (else $TRACKTUI_WEBHOOK)
    "loss_keys": None,  # patterns (fnmatch, case-insensitive) replacing the default rule
    "grad_keys": None,
    "throughput_keys": None,
    "max_events": 100,  # per run: after that, one last event says the detectors went quiet
}
_INTEGERS = frozenset(
    {"loss_points", "grad_points", "clear_points", "window", "warmup", "points",
     "warmup_steps", "window_steps", "baseline_windows", "warmup_windows", "patience"}
)  # fmt: skip


@dataclass(slots=True)
class HealthConfig:
    """The detectors that run (name -> options) and the general options."""

    detectors: dict[str, dict[str, float]] = field(default_factory=dict)
    loss_keys: tuple[str, ...] | None = None
    grad_keys: tuple[str, ...] | None = None
    throughput_keys: tuple[str, ...] | None = None
    max_events: int = 100
    webhook: str | None = None

    def on(self, name: str) -> bool:
        return name in self.detectors


def health_config(choice: object) -> HealthConfig | None:
    """The configuration ``init(health=choice)`` asks for, or None when every detector is off.

    Raises ``ValueError`` (or ``TypeError``) for unknown names, options or values, whatever
    ``$TRACKTUI_HEALTH`` says, so a typo is found on the first run."""
    config = _parse(choice)
    if health_off_by_env():
        return None
    return config if config.detectors else None


def _parse(choice: object) -> HealthConfig:
    detectors = copy.deepcopy(DETECTORS)
    config = HealthConfig()
    if choice is None or choice is True:
        config.detectors = detectors
        return config
    if choice is False:
        return config
    if not isinstance(choice, Mapping):
        raise TypeError(f"health= takes None, True, False or a dict, not {type(choice).__name__}")
    valid = sorted(DETECTORS) + sorted(GENERAL)
    for name, value in choice.items():
        if name in GENERAL:
            _general(config, name, value)
            continue
        if name not in DETECTORS:
            raise ValueError(
                f"health: unknown detector or option {name!r}; valid: {', '.join(valid)}"
            )
        if value is None:
            raise ValueError(f"health[{name!r}] must be True, False or a dict of options")
        if value is False:
            del detectors[name]
        elif value is True:
            pass
        elif isinstance(value, Mapping):
            detectors[name] = _options(name, detectors[name], value)
        else:
            raise ValueError(f"health[{name!r}] must be True, False or a dict of options")
    config.detectors = detectors
    return config


def _options(name: str, defaults: dict[str, float], given: Mapping[Any, Any]) -> dict[str, float]:
    options = dict(defaults)
    for option, value in given.items():
        if option not in defaults:
            raise ValueError(
                f"health[{name!r}]: unknown option {option!r}; valid: "
                + ", ".join(sorted(defaults))
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"health[{name!r}][{option!r}] must be a number, not {value!r}")
        if not value >= 0 or value == float("inf"):
            raise ValueError(f"health[{name!r}][{option!r}] must be a finite number >= 0")
        if option in _INTEGERS and value != int(value):
            raise ValueError(f"health[{name!r}][{option!r}] must be a whole number, not {value!r}")
        options[option] = int(value) if option in _INTEGERS else float(value)
    _check_ranges(name, options)
    return options


def _check_ranges(name: str, options: dict[str, float]) -> None:
    """Settings that could never fire, or never stop firing, are errors, not silent no-ops."""

    def fail(why: str) -> None:
        raise ValueError(f"health[{name!r}]: {why}")

    if "window" in options and options["window"] < 3:
        fail("'window' must be at least 3")
    for option in ("points", "clear_points", "loss_points", "grad_points", "patience"):
        if option in options and options[option] < 1:
            fail(f"{option!r} must be at least 1")
    for high, low in (("percent", "clear_percent"), ("clear_util", "util")):
        if high in options and not 0 < options[high] <= 100:
            fail(f"{high!r} is a percentage (0-100]")
        if high in options and low in options and not options[low] < options[high]:
            fail(f"{low!r} must be below {high!r}")
    if name == "throughput_drop" and not options["factor"] < options["clear_factor"] <= 1:
        fail("needs 'factor' < 'clear_factor' <= 1 (fractions of the usual rate)")
    if name in ("loss_spike", "grad_explosion") and options["factor"] <= 1:
        fail("'factor' must be above 1 (a multiple of the median)")
    if name == "stalled" and options["min_seconds"] <= 0:
        fail("'min_seconds' must be above 0")


def _general(config: HealthConfig, name: str, value: Any) -> None:
    if name == "max_events":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError("health['max_events'] must be a positive integer")
        config.max_events = value
        return
    if value is None:
        return
    if name == "webhook":
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ValueError("health['webhook'] must be an http:// or https:// URL")
        config.webhook = value
        return
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"health[{name!r}] must be a list of key names or patterns")
    setattr(config, name, tuple(v.lower() for v in value))
