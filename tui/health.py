"""A run's health events (``kind="health"``, from the tracker's detectors) and alerts
(``kind="alert"``, from the script), as the viewer shows them: one glyph per detector with an
open episode, a count, and the markers on the plots. Pure: no widgets.

An episode is the events of one detector on one key; it is open until an event of it carries
``detail["resolved"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.models import RunEvent, RunRecord

HEALTH = "health"
ALERT = "alert"

# One cell each (tests check it with Rich's cell_len), none an emoji.
DETECTOR_GLYPHS: dict[str, str] = {
    "nonfinite": "∅",
    "loss_spike": "↑",
    "grad_explosion": "∇",
    "stalled": "∥",
    "throughput_drop": "↓",
    "gpu_underused": "◌",
    "gpu_memory": "▣",
    "host_memory": "▤",
    "disk_full": "▦",
}
OTHER_GLYPH = "•"
COUNT_GLYPH = "⚠"
DETECTOR_NAMES: dict[str, str] = {
    "nonfinite": "NaN/inf values",
    "loss_spike": "loss spike",
    "grad_explosion": "gradient explosion",
    "stalled": "stalled (no new steps)",
    "throughput_drop": "throughput drop",
    "gpu_underused": "GPU underused",
    "gpu_memory": "GPU memory nearly full",
    "host_memory": "host memory nearly full",
    "disk_full": "disk nearly full",
}
LEVEL_STYLES = {"ERROR": "bold red", "WARN": "yellow"}
MARKER_COLORS = {"ERROR": "red", "WARN": "yellow"}


def legend() -> str:
    """The glyphs, for the help screen and the README."""
    return "  ".join(f"{glyph} {DETECTOR_NAMES[name]}" for name, glyph in DETECTOR_GLYPHS.items())


def detector_of(event: RunEvent) -> str:
    found = event.detail.get("detector") if isinstance(event.detail, dict) else None
    return found if isinstance(found, str) else "other"


def is_resolved(event: RunEvent) -> bool:
    return isinstance(event.detail, dict) and event.detail.get("resolved") is True


def glyph_of(detector: str) -> str:
    return DETECTOR_GLYPHS.get(detector, OTHER_GLYPH)


@dataclass(frozen=True, slots=True)
class HealthSummary:
    open: tuple[tuple[str, str], ...]  # (detector, level) of each open episode, first opened first
    count: int  # health events that open or continue an episode, and alerts

    @property
    def worst(self) -> str | None:
        levels = {level for _, level in self.open}
        return "ERROR" if "ERROR" in levels else "WARN" if levels else None


NO_HEALTH = HealthSummary((), 0)


def health_summary(events: Sequence[RunEvent]) -> HealthSummary:
    if not events:
        return NO_HEALTH
    episodes: dict[tuple[str, str | None], tuple[str, str] | None] = {}
    count = 0
    for event in events:
        if event.kind == ALERT:
            count += 1
        elif event.kind == HEALTH:
            detector = detector_of(event)
            episode = (detector, event.key)
            if is_resolved(event):
                episodes[episode] = None
                continue
            count += 1
            previous = episodes.get(episode)
            level = event.level or "WARN"
            if previous is None or level == "ERROR":
                episodes.pop(episode, None)  # kept in the order it (re)opened
                episodes[episode] = (detector, level)
    opened: dict[str, str] = {}
    for found in episodes.values():
        if found is not None:
            detector, level = found
            if opened.get(detector) != "ERROR":
                opened[detector] = level
    return HealthSummary(tuple(opened.items()), count)


def event_markers(run: RunRecord, key: str) -> tuple[tuple[int, float, str], ...]:
    """(step, seconds since the run started, colour) of each health event on ``key`` and each
    alert of the run (alerts go on every plot); an episode's resolving event is not marked."""
    if not run.events:
        return ()
    return tuple(
        (e.step, e.t - run.created_at, MARKER_COLORS.get(e.level or "", "yellow"))
        for e in run.events
        if e.step is not None
        and (e.kind == ALERT or (e.kind == HEALTH and e.key == key and not is_resolved(e)))
    )


def new_notable(previous: RunRecord | None, run: RunRecord) -> int:
    """How many health events and alerts ``run`` has that ``previous`` (the same run as read
    before) did not; every one of a run seen for the first time."""
    seen = {e.id for e in previous.events} if previous is not None else set()
    return sum(1 for e in run.events if e.kind in (HEALTH, ALERT) and e.id not in seen)
