"""Turning queued records into one write transaction: point rows, series summaries, run rows.

Records of one run are split into segments of consecutive ``log()`` calls with the same keys;
each segment is transposed into columns at C speed (``zip(*rows)``), so the Python cost is per
call, not per point. Points of a series get consecutive sequence numbers in logging order.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .console import collapse_carriage_returns
from .db.base import PointChunk, Store
from .db.target import Target
from .errors import warn_once
from .jsonable import dumps
from .media.base import Encoded

if TYPE_CHECKING:
    from .health.monitor import HealthMonitor

MAX_SEQ = (1 << 32) - 1


@dataclass(slots=True)
class SeriesState:
    id: int
    count: int
    min: float | None
    max: float | None
    nonfinite: int


@dataclass(eq=False, slots=True)
class RunHandle:
    """The writer's view of one run. Fields below ``summary`` belong to the writer thread."""

    run_id: str
    db: Target
    t0: float
    config: dict[str, Any]
    summary: dict[str, Any]
    metric_defs: list[dict[str, Any]] = field(default_factory=list)  # replaced, never mutated
    name: str = ""  # set when the script renames the run
    tags: list[str] = field(default_factory=list)  # replaced, never mutated
    series: dict[str, SeriesState] = field(default_factory=dict)
    dropped: int = 0
    refused: int = 0  # records SQLite refused and the writer left out
    finished: bool = False
    last_write: float = 0.0
    node: str | None = None  # attached from another node: its keys go under node/<label>/
    health: HealthMonitor | None = None  # the run's detectors (tracker.health), None: off

    def take_series(
        self, stored: dict[str, tuple[int, int, float | None, float | None, int]]
    ) -> None:
        """Continue the series a resumed (or re-attached) run holds: ``stored`` maps each
        stored key to ``(id, count, min, max, nonfinite)``; this process's own are kept."""
        own = {self.stored_key(key): key for key in self.series}
        for stored_key, state in stored.items():
            key = self.logged_key(stored_key)
            if key is not None and stored_key not in own:
                self.series[key] = SeriesState(*state)

    def logged_key(self, stored_key: str) -> str | None:
        """The key this process logs that goes to ``stored_key`` (None: another node's)."""
        if self.node is None:
            return stored_key  # other nodes' keys are never logged here: knowing them is harmless
        for prefix, replacement in ((f"sys/node/{self.node}/", "sys/"), (f"node/{self.node}/", "")):
            if stored_key.startswith(prefix):
                return replacement + stored_key[len(prefix) :]
        return None

    def stored_key(self, key: str) -> str:
        """The series a key of this run's process goes to (an attached node's are its own)."""
        if self.node is None:
            return key
        if key.startswith("sys/"):
            return f"sys/node/{self.node}/{key[4:]}"
        return f"node/{self.node}/{key}"


# A metrics record: (handle, step, unix time, {key: number}).
# A control record: (kind, handle, payload) with kind a str: "json" (payload: column name),
# "finish" (payload: (status, exit_code, error)), "media" (payload: (step, unix time,
# {key: Media or its Encoded form})), "console" (payload: (stream, unix time, text)) or
# "event" (payload: (unix time, step, kind, key, level, title, detail dict)).
Record = tuple[Any, ...]
Chunk = tuple[list[int], Sequence[Any], list[int]]  # steps, values, times (ms since start)


def owner(record: Record) -> RunHandle:
    """The run a queued record belongs to."""
    first = record[0]
    return first if type(first) is RunHandle else record[1]


def metric_points(records: Sequence[Record], handle: RunHandle | None = None) -> int:
    """How many points the metric records hold (of one run, if ``handle`` is given)."""
    return sum(
        len(r[3]) for r in records if type(r[0]) is RunHandle and (handle is None or r[0] is handle)
    )


def write_batch(
    store: Store, records: list[Record], now: float | None = None
) -> list[Callable[[], None]]:
    """Write ``records`` in one transaction; return the updates to apply once it committed.

    ``now`` stamps heartbeats and finish times (the clock, unless a fixture wants fixed ones)."""
    groups: dict[RunHandle, list[Record]] = {}
    controls: list[Record] = []
    for record in records:
        if type(record[0]) is RunHandle:
            group = groups.get(record[0])
            if group is None:
                groups[record[0]] = [record]
            else:
                group.append(record)
        else:
            controls.append(record)
    after_commit: list[Callable[[], None]] = []
    now = time.time() if now is None else now
    media_rows = _media_rows(controls)  # encoded before the write lock is taken
    console_rows = _console_rows(controls)
    columns = {handle: _columns(group, handle.t0) for handle, group in groups.items()}
    for handle, group in groups.items():
        if handle.health is not None:  # before the write lock is taken
            _observe_health(handle, handle.health, group, columns[handle])
    version = store.begin()
    try:
        chunks: list[PointChunk] = []
        series_updates: list[tuple[Any, ...]] = []
        for handle, group in groups.items():
            run_chunks, updates, states = _series_rows(store, handle, columns[handle], version)
            chunks.extend(run_chunks)
            series_updates.extend(updates)
            # The run's step is its first node's: another node only keeps the run's heartbeat.
            step = group[-1][1] if handle.node is None else None
            store.update_run_progress(handle.run_id, step, now, version)
            after_commit.append(_committer(handle, states, now))
        if chunks:
            store.insert_points(chunks)
            store.update_series(series_updates)
        for kind, handle, payload in controls:
            if handle.node is not None and kind in ("json", "finish"):
                if kind == "finish":  # the run is the primary node's to finish
                    after_commit.append(_mark_finished(handle))
                continue
            if kind == "json":
                if payload == "name":
                    store.rename_run(handle.run_id, handle.name, version)
                    continue
                if payload == "metric_defs":
                    text = dumps(handle.metric_defs)
                elif payload == "tags":
                    text = dumps(handle.tags)
                else:
                    text = _snapshot_json(handle.config if payload == "config" else handle.summary)
                store.update_run_json(handle.run_id, payload, text, version)
            elif kind == "finish":
                status, exit_code, error = payload
                store.finish_run(
                    handle.run_id, status, now, exit_code, error, handle.dropped, version
                )
                after_commit.append(_mark_finished(handle))
        event_rows = [
            (handle.run_id, *payload[:6], dumps(payload[6]))
            for kind, handle, payload in controls
            if kind == "event"
        ]
        if event_rows:
            store.insert_events(event_rows, version)
        if media_rows:
            store.insert_media(media_rows)
        if console_rows:
            store.insert_console(console_rows)
        store.commit()
    except BaseException:
        store.rollback()
        raise
    return after_commit


def _observe_health(
    handle: RunHandle, monitor: HealthMonitor, group: list[Record], per_key: dict[str, list[Chunk]]
) -> None:
    """Feed the run's detectors this batch's columns. A batch retried after a failed write is
    fed again; the monitor skips the points it saw (numbered from the committed count)."""
    series = handle.series

    def committed(key: str) -> int:
        state = series.get(key)
        return state.count if state is not None else 0

    try:
        monitor.observe(group, per_key, committed, handle.t0)
    except Exception as exc:  # a detector's bug must never cost the points
        warn_once(f"health-bug:{type(exc).__name__}", f"health detectors failed: {exc!r}")


def _media_rows(controls: list[Record]) -> list[tuple[str, str, int, float, str, str, bytes]]:
    """Encode each media object once (the result replaces it, so a retried batch does not
    encode again); one that cannot be encoded is reported and left out."""
    rows = []
    for kind, handle, payload in controls:
        if kind != "media":
            continue
        step, wall, objects = payload
        for key, item in list(objects.items()):
            if not isinstance(item, Encoded):
                try:
                    item = objects[key] = item.encode()
                except Exception as exc:
                    warn_once(f"media-encode:{key}", f"cannot store {key!r} ({exc}); left out")
                    del objects[key]
                    continue
            rows.append((handle.run_id, key, step, wall, item.kind, dumps(item.meta), item.data))
    return rows


def _console_rows(controls: list[Record]) -> list[tuple[str, int, float, str]]:
    """Consecutive console chunks of one run and stream become one row, in order."""
    rows: list[tuple[str, int, float, str]] = []
    current: tuple[Any, int] | None = None
    texts: list[str] = []
    started = 0.0
    for kind, handle, payload in controls:
        if kind != "console":
            continue
        stream, wall, text = payload
        if current != (handle, stream):
            if current is not None and texts:
                rows.append((current[0].run_id, current[1], started, _console_text(texts)))
            current, texts, started = (handle, stream), [], wall
        texts.append(text)
    if current is not None and texts:
        rows.append((current[0].run_id, current[1], started, _console_text(texts)))
    return rows


def _console_text(texts: list[str]) -> str:
    text = collapse_carriage_returns("".join(texts))
    return text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be stored


def heavy_bytes(record: Record) -> int:
    """Memory a console or media record holds until written (0 for other records)."""
    kind = record[0]
    if kind == "console":
        return len(record[2][2])
    if kind == "media":
        return sum(
            len(item.data) if isinstance(item, Encoded) else item.approx_bytes()
            for item in record[2][2].values()
        )
    return 0


def _columns(group: list[Record], t0: float) -> dict[str, list[Chunk]]:
    """Per key, the chunks of (steps, values, times) in logging order.

    Columns are pulled key by key with list comprehensions: no tuple per record is kept
    alive, which would wake the cyclic garbage collector (in every thread) again and again.
    """
    per_key: dict[str, list[Chunk]] = {}
    segments: list[list[Record]] = []
    previous: Any = None
    current: list[Record] = []
    for record in group:
        keys = record[3].keys()
        if keys != previous:
            current = []
            segments.append(current)
            previous = keys
        current.append(record)
    for segment in segments:
        steps = [r[1] for r in segment]
        times = [int((r[2] - t0) * 1000.0) for r in segment]
        dicts = [r[3] for r in segment]
        for key in dicts[0]:
            column = [d[key] for d in dicts]
            chunks = per_key.get(key)
            if chunks is None:
                per_key[key] = [(steps, column, times)]
            else:
                chunks.append((steps, column, times))
    return per_key


def _joined(chunks: list[Chunk], index: int) -> Sequence[Any]:
    if len(chunks) == 1:
        return chunks[0][index]
    return list(itertools.chain.from_iterable(c[index] for c in chunks))


def _series_rows(
    store: Store, handle: RunHandle, per_key: dict[str, list[Chunk]], version: int
) -> tuple[list[PointChunk], list[tuple[Any, ...]], dict[str, SeriesState]]:
    """Point chunks for every key of one run, the series updates, and the states after commit."""
    known = handle.series
    new_keys = [k for k in per_key if k not in known]
    created = (
        store.ensure_series(handle.run_id, [handle.stored_key(k) for k in new_keys], version)
        if new_keys
        else {}
    )
    out: list[PointChunk] = []
    updates: list[tuple[Any, ...]] = []
    states: dict[str, SeriesState] = {}
    for key, chunks in per_key.items():
        state = known.get(key)
        if state is None:
            # A key this run never wrote (a resumed run's are known): its points start at 1
            # whatever the database counts, which can only be this batch's own points from an
            # attempt whose commit went through but whose answer was lost.
            state = SeriesState(created[handle.stored_key(key)][0], 0, None, None, 0)
        steps = _joined(chunks, 0)
        values = list(map(float, _joined(chunks, 1)))
        times = _joined(chunks, 2)
        n = len(values)
        if state.count + n > MAX_SEQ:
            warn_once(f"full-series:{handle.run_id}:{key}", f"{key}: 2**32 points; no more kept")
            continue
        total = sum(values)
        if total - total == 0.0:  # all finite (NaN and inf make the sum non-finite)
            finite: Sequence[float] = values
        else:
            finite = [v for v in values if v - v == 0.0]
        low, high = state.min, state.max
        if finite:
            batch_low, batch_high = min(finite), max(finite)
            low = batch_low if low is None or batch_low < low else low
            high = batch_high if high is None or batch_high > high else high
        count = state.count + n
        nonfinite = state.nonfinite + n - len(finite)
        out.append((state.id, state.count + 1, steps, values, times))
        last = values[-1]
        updates.append(
            (count, None if math.isnan(last) else last, steps[-1], times[-1], low, high,
             nonfinite, version, state.id)
        )  # fmt: skip
        states[key] = SeriesState(state.id, count, low, high, nonfinite)
    return out, updates, states


def _snapshot_json(source: dict[str, Any]) -> str:
    # The entries held: a summary's iteration adds the latest values, which are not its own.
    for _ in range(5):
        try:
            return dumps(dict(dict.items(source)))
        except RuntimeError:  # mutated by the training thread while we read it
            time.sleep(0)
    return dumps(dict(dict.items(source)))


def _committer(handle: RunHandle, states: dict[str, SeriesState], now: float) -> Callable[[], None]:
    def apply() -> None:
        handle.series.update(states)
        handle.last_write = now

    return apply


def _mark_finished(handle: RunHandle) -> Callable[[], None]:
    def apply() -> None:
        handle.finished = True

    return apply
