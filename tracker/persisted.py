"""Small pieces of a run: generated ids and names, and the config and summary dicts that
persist themselves (a change queues a write of the whole dict: the writer stores the latest)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from .jsonable import check_entry, config_items

if TYPE_CHECKING:
    from .recorder import Run
    from .summary_stats import SummaryStats

_ADJECTIVES = (
    "amber", "brisk", "calm", "daring", "eager", "fuzzy", "gentle", "hidden", "icy", "jolly",
    "keen", "lucid", "misty", "noble", "olive", "proud", "quiet", "rapid", "silver", "tidy",
    "upbeat", "vivid", "warm", "young", "zesty",
)  # fmt: skip
_NOUNS = (
    "badger", "comet", "delta", "ember", "falcon", "glacier", "harbor", "island", "jaguar",
    "kernel", "lagoon", "meadow", "nebula", "otter", "prairie", "quasar", "river", "summit",
    "tundra", "valley", "willow", "yak", "zephyr",
)  # fmt: skip


def new_run_id() -> str:
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    return "".join(secrets.choice(alphabet) for _ in range(8))


MAX_RUN_ID = 128
_FORBIDDEN_IN_ID = set("/\\#?%:")


def check_run_id(run_id: object) -> str:
    """A run id given by the script or the launcher (``init(id=...)``, ``$TRACKTUI_RUN_ID``):
    1 to 128 printable characters without spaces or any of ``/ \\ # ? % :`` (wandb's rule)."""
    if not isinstance(run_id, str):
        raise TypeError(f"run id must be a string, not {type(run_id).__name__}")
    if not 0 < len(run_id) <= MAX_RUN_ID:
        raise ValueError(f"run id must be 1 to {MAX_RUN_ID} characters long")
    bad = next(
        (c for c in run_id if c in _FORBIDDEN_IN_ID or not c.isprintable() or c.isspace()),
        None,
    )
    if bad is not None:
        raise ValueError(f"run id may not contain {bad!r} (nor spaces or any of / \\ # ? % :)")
    return run_id


def new_run_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(100)}"


class PersistedDict(dict[str, Any]):
    """A dict whose changes are written to the run's row (config or summary) by the writer.

    With no run (``tracker.config`` before ``init()``) it only holds the values; ``init()``
    carries them into the run. wandb's ``update(..., allow_val_change=)`` and ``setdefaults``
    are there; a changed value is taken as it is (wandb would refuse it without
    ``allow_val_change=True``; tracktui never stops a script for that)."""

    def __init__(self, run: Run | None, column: str, initial: Mapping[str, Any]) -> None:
        super().__init__(initial)
        self._run = run
        self._column = column

    def _changed(self) -> None:
        if self._run is not None:
            self._run._persist(self._column)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(check_entry(self._column, key, value), value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: Any, allow_val_change: bool | None = None, **kwargs: Any) -> None:
        """Add or change entries: from a mapping, an ``argparse.Namespace``, a dataclass, absl
        flags or keywords. ``allow_val_change`` is accepted for wandb scripts (changes are
        always allowed here)."""
        if len(args) > 1:
            raise TypeError(f"update expected at most 1 positional argument, got {len(args)}")
        entries = dict(config_items(args[0])) if args else {}
        entries.update(kwargs)
        super().update({check_entry(self._column, k, v): v for k, v in entries.items()})
        self._changed()

    def setdefaults(self, defaults: Any) -> None:
        """wandb's ``config.setdefaults(d)``: add the entries of ``d`` that are not set yet."""
        missing = {
            check_entry(self._column, k, v): v
            for k, v in config_items(defaults).items()
            if k not in self
        }
        if missing:
            super().update(missing)
            self._changed()

    def as_dict(self) -> dict[str, Any]:
        return dict(self)

    def persist(self) -> None:
        """wandb's ``config.persist()``: every change is already persisted."""
        self._changed()

    def setdefault(self, key: str, default: Any = None) -> Any:
        name = check_entry(self._column, key, default)
        had = name in self
        value = super().setdefault(name, default)
        if not had:
            self._changed()
        return value

    def pop(self, key: str, *default: Any) -> Any:
        value = super().pop(key, *default)
        self._changed()
        return value

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self._changed()
        return item

    def clear(self) -> None:
        super().clear()
        self._changed()

    def __ior__(self, other: Any) -> PersistedDict:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __getattr__(self, name: str) -> Any:
        # wandb-style ``run.config.lr``
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self[name] = value


class SummaryDict(PersistedDict):
    """``run.summary``: what the script set, and (as in wandb) every metric's latest logged
    value for the keys it did not set, or the operations its ``define_metric(summary=...)``
    names (:mod:`tracker.summary_stats`). Reading, iterating and ``len()`` see both, as in
    wandb; only what the script set (the dict's own entries) is stored as the run's summary, the
    latest values are in the metrics (``ls --json``'s ``metrics[key].last``)."""

    def __init__(
        self,
        run: Run | None,
        initial: Mapping[str, Any],
        latest: dict[str, float],
        stats: SummaryStats | None = None,
    ) -> None:
        super().__init__(run, "summary", initial)
        self._latest = latest
        self._stats = stats

    def _logged_keys(self) -> list[str]:
        stats = self._stats
        return [
            key
            for key in self._latest
            if not dict.__contains__(self, key) and (stats is None or not stats.hidden(key))
        ]

    def __getitem__(self, key: str) -> Any:
        try:
            return super().__getitem__(key)
        except KeyError:
            if key in self._latest:
                latest = self._latest[key]
                return latest if self._stats is None else self._stats.read(key, latest)
            raise

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        if key not in self._latest:
            return False
        return self._stats is None or not self._stats.hidden(str(key))

    def __iter__(self) -> Iterator[str]:
        return iter([*self._logged_keys(), *dict.keys(self)])

    def __len__(self) -> int:
        return len(self._logged_keys()) + dict.__len__(self)

    def keys(self) -> list[str]:  # type: ignore[override]
        return list(self)

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        return [(key, self[key]) for key in self]

    def values(self) -> list[Any]:  # type: ignore[override]
        return [self[key] for key in self]

    def latest(self) -> dict[str, Any]:
        """The whole summary as wandb shows it: latest values, then what the script set."""
        return dict(self.items())

    def __repr__(self) -> str:
        return repr(self.latest())
