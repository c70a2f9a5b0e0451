"""The UI thread's cache of the database: runs and the series it follows, updated by deltas.

Only :meth:`RunsModel.apply` changes it, with what the reader thread sent; widgets read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.models import RunRecord

from .reader import DbStatus, Update
from .series import SeriesBuffer, span_of_bucket

MAIN_METRICS = ("train/loss", "loss", "eval/loss", "val/loss", "train/grad_norm", "grad_norm")


@dataclass(slots=True)
class Changed:
    runs: set[str] = field(default_factory=set)
    series: set[int] = field(default_factory=set)
    status: bool = False
    reset: bool = False


class RunsModel:
    def __init__(self) -> None:
        self.runs: dict[str, RunRecord] = {}
        self.series: dict[int, SeriesBuffer] = {}
        self.status = DbStatus("missing", "opening…")

    def apply(self, update: Update) -> Changed:
        changed = Changed()
        if update.reset:
            self.runs.clear()
            self.series.clear()
            changed.reset = True
        if update.status is not None:
            self.status = update.status
            changed.status = True
        for run in update.runs:
            self.runs[run.id] = run
            changed.runs.add(run.id)
        for sid, (count, buckets) in update.loaded.items():
            buffer = self.series.setdefault(sid, SeriesBuffer())
            buffer.load((span_of_bucket(b, b.mean) for b in buckets), count, count)
            changed.series.add(sid)
        for sid, points in update.points.items():
            followed = self.series.get(sid)
            if followed is not None:
                followed.extend(points)
                changed.series.add(sid)
        return changed

    def newest_first(self) -> list[RunRecord]:
        return sorted(self.runs.values(), key=lambda r: (r.created_at, r.id), reverse=True)

    def live_count(self) -> int:
        return sum(1 for run in self.runs.values() if run.is_live)


def section_of(key: str) -> str:
    """The group a metric is plotted in: its prefix (``train``, ``eval``), or its hardware kind."""
    if key.startswith("sys/gpu/"):
        return "hardware: GPU " + key.split("/")[2]
    if key.startswith("sys/"):
        return "hardware: " + key.split("/")[1]
    return key.rsplit("/", 1)[0] if "/" in key else "metrics"


def ordered_metric_keys(run: RunRecord, include_system: bool = True) -> list[str]:
    """Every metric of a run grouped by section: the sections of the main metrics (training
    loss, evaluation loss, gradient norm) first, other metrics next, hardware last; inside a
    section, main metrics first, then losses and gradients, then by name."""
    keys = [k for k in run.metrics if include_system or not k.startswith("sys/")]

    def key_rank(key: str) -> tuple[int, int, str]:
        leaf = key.rsplit("/", 1)[-1]
        if key in MAIN_METRICS:
            return (0, MAIN_METRICS.index(key), key)
        return (1 if ("loss" in leaf or "grad" in leaf) else 2, 0, key)

    def section_rank(section: str) -> tuple[int, int, str]:
        members = [k for k in keys if section_of(k) == section]
        best = min(key_rank(k) for k in members)
        hardware = section.startswith("hardware")
        return (2 if hardware else 0 if best[0] == 0 else 1, best[1], section)

    sections = sorted({section_of(k) for k in keys}, key=section_rank)
    return [
        k
        for section in sections
        for k in sorted((k for k in keys if section_of(k) == section), key=key_rank)
    ]


def main_metrics(run: RunRecord, limit: int = 3) -> list[str]:
    chosen = [k for k in MAIN_METRICS if k in run.metrics]
    for key in ordered_metric_keys(run, include_system=False):
        if key not in chosen:
            chosen.append(key)
    return chosen[:limit]
