"""What the writer does when writing goes wrong: a buffer over its caps, a record the database
refuses."""

from __future__ import annotations

from .batch import Record, RunHandle, heavy_bytes, metric_points, owner
from .errors import warn_once
from .unwritten import describe_left_out


def leave_out(record: Record, exc: BaseException) -> None:
    """A record SQLite refuses whatever we do: count it and say so once per cause."""
    handle = owner(record)
    if type(record[0]) is RunHandle:
        handle.dropped += len(record[3])
    handle.refused += 1
    warn_once(
        f"refused:{handle.run_id}:{type(exc).__name__}",
        f"run {handle.run_id}: left out {describe_left_out(record)} that the database refuses "
        f"({type(exc).__name__}: {exc}); every other record is written",
    )


def without_oldest_points(pending: list[Record], cap: int) -> list[Record] | None:
    """``pending`` without its oldest metric records beyond ``cap`` points (counted in each
    run's ``dropped``), or None when it is within the cap."""
    excess = metric_points(pending) - cap
    if excess <= 0:
        return None
    kept: list[Record] = []
    for record in pending:
        if excess > 0 and type(record[0]) is RunHandle:
            excess -= len(record[3])
            record[0].dropped += len(record[3])
            continue
        kept.append(record)
    return kept


def without_oldest_heavy(pending: list[Record], cap: int) -> list[Record] | None:
    """``pending`` without its oldest media and console records beyond ``cap`` bytes, or None
    when it is within the cap."""
    sizes = [heavy_bytes(record) for record in pending]
    excess = sum(sizes) - cap
    if excess <= 0:
        return None
    kept: list[Record] = []
    for record, size in zip(pending, sizes, strict=True):
        if excess > 0 and size:
            excess -= size
            continue
        kept.append(record)
    return kept
