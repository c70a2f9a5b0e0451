"""Which metrics matter most: the main ones (losses, gradient norm) and how a run's are grouped."""

from __future__ import annotations

from collections.abc import Iterable

from tracker.models import RunRecord
from tracker.natural import natural_key

MAIN_METRICS = (
    "train/loss", "loss", "eval/loss", "val/loss", "validation/loss",
    "train/grad_norm", "grad_norm",
)  # fmt: skip


def sys_values(run: RunRecord) -> dict[str, float]:
    """A run's last hardware readings (its ``sys/`` metrics' last finite values)."""
    return {
        key: summary.last
        for key, summary in run.metrics.items()
        if key.startswith("sys/") and summary.last is not None and summary.last == summary.last
    }


def section_of(key: str) -> str:
    """The group a metric is plotted in: its prefix (``train``, ``eval``), or its hardware kind."""
    if key.startswith("sys/gpu/"):
        return "hardware: GPU " + key.split("/")[2]
    if key.startswith("sys/"):
        return "hardware: " + key.split("/")[1]
    return key.rsplit("/", 1)[0] if "/" in key else "metrics"


def ordered_metric_keys(run: RunRecord, include_system: bool = True) -> list[str]:
    """Every metric of a run in plotting order (see :func:`order_keys`)."""
    return order_keys(run.metrics, include_system)


def order_keys(metric_keys: Iterable[str], include_system: bool = True) -> list[str]:
    """Every metric of a run grouped by section: the sections of the main metrics (training
    loss, evaluation loss, gradient norm) first, other metrics next, hardware last; inside a
    section, main metrics first, then losses and gradients, then by name in natural order
    (``layer2`` before ``layer10``)."""
    keys = [k for k in metric_keys if include_system or not k.startswith("sys/")]

    def key_rank(key: str) -> tuple[int, int, tuple[object, ...], str]:
        leaf = key.rsplit("/", 1)[-1]
        if key in MAIN_METRICS:
            return (0, MAIN_METRICS.index(key), (), key)
        return (1 if ("loss" in leaf or "grad" in leaf) else 2, 0, natural_key(key), key)

    def section_rank(section: str) -> tuple[int, int, tuple[object, ...], str]:
        members = [k for k in keys if section_of(k) == section]
        best = min(key_rank(k) for k in members)
        hardware = section.startswith("hardware")
        return (2 if hardware else 0 if best[0] == 0 else 1, best[1], natural_key(section), section)

    sections = sorted({section_of(k) for k in keys}, key=section_rank)
    return [
        k
        for section in sections
        for k in sorted((k for k in keys if section_of(k) == section), key=key_rank)
    ]


def main_metrics(run: RunRecord, limit: int = 3) -> list[str]:
    """The run's first ``limit`` metrics in plotting order (cheap when the usual ones exist);
    its step counters (``iter``, ``train/global_step``) are its x-axis, not among them."""
    chosen = [k for k in MAIN_METRICS if k in run.metrics]
    if len(chosen) >= limit:
        return chosen[:limit]
    counters = run.counters
    for key in ordered_metric_keys(run, include_system=False):
        if key not in chosen and key not in counters:
            chosen.append(key)
    return chosen[:limit]
