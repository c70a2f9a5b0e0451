"""Which of the columns (:mod:`tui.columns`) a runs table shows: those it can offer, those it
shows by default at a width, and which go first, whole, when the chosen ones do not fit."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tracker.models import RunRecord

from .columns import FIXED, flat_config, has_health
from .metrics import MAIN_METRICS, main_metrics, order_keys


def available_columns(runs: Sequence[RunRecord], differing: Sequence[str]) -> list[str]:
    """Every column the runs could show: facts, each non-hardware metric's four views, config."""
    ids = list(FIXED)
    metrics = ordered_keys_of(runs)
    for key in metrics:
        ids += [f"last:{key}", f"best:{key}", f"smooth:{key}", f"trend:{key}"]
    configs = dict.fromkeys(differing)
    for run in runs:
        configs.update(dict.fromkeys(flat_config(run.config)))
    return ids + [f"cfg:{key}" for key in configs]


def ordered_keys_of(runs: Sequence[RunRecord]) -> list[str]:
    """Every non-hardware metric of these runs, in plotting order (computed once, not per run)."""
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(k for k in run.metrics if not k.startswith("sys/")))
    return order_keys(keys, include_system=False)


_CONFIG_PRIORITY = (
    "lr",
    "learning_rate",
    "batch_size",
    "warmup",
    "weight_decay",
    "dropout",
    "epochs",
)


def config_priority(key: str) -> tuple[int, str]:
    """Learning rate and friends first, seeds last: the hyperparameters people compare first."""
    leaf = key.rsplit(".", 1)[-1].lower()
    if leaf in _CONFIG_PRIORITY:
        return (_CONFIG_PRIORITY.index(leaf), key)
    if "seed" in leaf:
        return (99, key)
    return (len(_CONFIG_PRIORITY), key)


WIDE_PANE = 160  # from this width on, the default columns are all there are


def shared_main_metrics(runs: Sequence[RunRecord], limit: int = 3) -> list[str]:
    """The metrics the table shows first: of each run's main metrics, the losses and gradient
    norm (:data:`MAIN_METRICS`), then those most runs have, the more main, the first met (one
    run of 300 metrics put its layer0/grad_norm where the eval/loss 9 of 11 runs log had been)."""
    runs_with: dict[str, int] = {}
    place: dict[str, tuple[int, int]] = {}  # key -> (best position in a run, first met)
    for run in runs:
        for position, key in enumerate(main_metrics(run, limit)):
            runs_with[key] = runs_with.get(key, 0) + 1
            seen = place.get(key)
            place[key] = (
                (position, len(place)) if seen is None else (min(seen[0], position), seen[1])
            )

    def rank(key: str) -> tuple[int, ...]:
        if key in MAIN_METRICS:  # the losses and gradient norm, in their order, first
            return (0, MAIN_METRICS.index(key))
        return (1, -runs_with[key], *place[key])

    return sorted(runs_with, key=rank)[:limit]


def default_columns(runs: Sequence[RunRecord], differing: Sequence[str], width: int) -> list[str]:
    """The main metrics (last value; best and trend of the first), then differing config keys."""
    ids = ["marks", "status", "name"]
    health = has_health(runs)
    if health:
        ids.append("health")
    if width >= 100:
        ids.append("project")
    ids += ["step", "age"]
    if width >= 120:
        ids.append("rate")
    metrics = shared_main_metrics(runs)[: 3 if width >= 90 else 2]
    for index, key in enumerate(metrics):
        ids.append(f"last:{key}")
        if index == 0 and width >= 100:
            ids += [f"best:{key}", f"trend:{key}"]
        elif index == 1 and width >= 100 and "loss" in key:
            ids.append(f"best:{key}")
    if width >= 120:
        wanted = sorted(differing, key=config_priority)
        room = (4 if width < 160 else 6) - health  # the health column takes one key's room
        ids += [f"cfg:{key}" for key in wanted[:room]]
    return ids


# Which columns go first when the table is too narrow for all it was asked to show: the higher
# the rank, the sooner (the rightmost first among equals). Marks, status and name always stay.
# The step ranks with the metrics: among equals the rightmost goes first, so it stays.
_DROP_RANK = {"marks": 0, "status": 0, "name": 0, "step": 1, "health": 3, "age": 4}
_DROP_RANK_BY_KIND = {"last": 1, "best": 5, "trend": 8, "smooth": 9, "cfg": 9}
_DROP_RANK_FIXED = {"project": 6, "rate": 7}


def drop_rank(column_id: str) -> int:
    """How soon a column is left out for width (0: never)."""
    if column_id in _DROP_RANK:
        return _DROP_RANK[column_id]
    if column_id in _DROP_RANK_FIXED:
        return _DROP_RANK_FIXED[column_id]
    return _DROP_RANK_BY_KIND.get(column_id.partition(":")[0], 9)


def fit_columns(
    widths: Sequence[tuple[str, int]], budget: int, hint_width: Callable[[int], int]
) -> list[str]:
    """The columns (``(id, width in cells)`` in table order) that fit in ``budget`` cells: the
    least important are left out whole (a value is never shown cut), making room for the hint
    saying how many were (``hint_width(count)`` cells). Columns that never go stay even when
    they alone overflow."""
    kept = list(widths)
    total = sum(width for _, width in kept)
    dropped = 0
    while total + (hint_width(dropped) if dropped else 0) > budget:
        candidates = [(drop_rank(cid), index) for index, (cid, _) in enumerate(kept)]
        rank, index = max(candidates)
        if rank == 0:
            break
        total -= kept.pop(index)[1]
        dropped += 1
    return [cid for cid, _ in kept]
