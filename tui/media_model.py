"""The UI thread's cache of media and console output for the runs on screen.

Media lists grow by the rows the reader sends; decoded media (images, tables, histograms)
are held in a bounded least-recently-used cache, since only what is on screen needs them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from tracker.media.decoded import MediaItem
from tracker.natural import natural_key

from .console_log import ConsoleLog
from .media_decode import Decoded, decoded_size

MAX_DATA_BYTES = 96 * 1024 * 1024


class RunMedia:
    """One run's media, by key, each key's items in step order."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[MediaItem]] = {}
        self._ids: set[int] = set()

    def add(self, items: Iterable[MediaItem]) -> None:
        for item in items:
            if item.id in self._ids:  # a re-read after the file was reopened
                continue
            self._ids.add(item.id)
            series = self.by_key.setdefault(item.key, [])
            if series and item.step < series[-1].step:
                series.append(item)
                series.sort(key=lambda m: (m.step, m.id))
            else:
                series.append(item)

    def keys(self) -> list[str]:
        return sorted(self.by_key, key=natural_key)


class MediaCache:
    def __init__(self, max_bytes: int = MAX_DATA_BYTES) -> None:
        self.runs: dict[str, RunMedia] = {}
        self.consoles: dict[str, ConsoleLog] = {}
        self._data: OrderedDict[int, tuple[Decoded, int]] = OrderedDict()  # id -> (value, size)
        self._bytes = 0
        self.max_bytes = max_bytes

    def clear(self) -> None:
        self.runs.clear()
        self.consoles.clear()
        self._data.clear()
        self._bytes = 0

    def forget_run(self, run_id: str) -> None:
        """Drop a run's media list and console (the reader stopped following them)."""
        self.runs.pop(run_id, None)
        self.consoles.pop(run_id, None)

    def add_data(self, media_id: int, value: Decoded) -> None:
        if media_id in self._data:
            return
        size = decoded_size(value)
        self._data[media_id] = (value, size)
        self._bytes += size
        while self._bytes > self.max_bytes and len(self._data) > 1:
            _, (_, dropped) = self._data.popitem(last=False)
            self._bytes -= dropped

    def data(self, media_id: int) -> Decoded | None:
        entry = self._data.get(media_id)
        if entry is None:
            return None
        self._data.move_to_end(media_id)
        return entry[0]


def pick_at(items: list[MediaItem], step: int | None) -> MediaItem | None:
    """The newest item logged at or before ``step`` (the last one when ``step`` is None)."""
    if not items:
        return None
    if step is None:
        return items[-1]
    chosen = None
    for item in items:
        if item.step <= step:
            chosen = item
        else:
            break
    return chosen


def sample(items: list[MediaItem], limit: int) -> list[MediaItem]:
    if len(items) <= limit:
        return items
    picks = {round(i * (len(items) - 1) / (limit - 1)) for i in range(limit)}
    return [items[i] for i in sorted(picks)]
