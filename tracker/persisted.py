"""Small pieces of a run: generated ids and names, and the config and summary dicts that
persist themselves (a change queues a write of the whole dict: the writer stores the latest)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .values import check_entry

if TYPE_CHECKING:
    from .recorder import Run

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


def new_run_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(100)}"


class PersistedDict(dict[str, Any]):
    """A dict whose changes are written to the run's row (config or summary) by the writer."""

    def __init__(self, run: Run, column: str, initial: Mapping[str, Any]) -> None:
        super().__init__(initial)
        self._run = run
        self._column = column

    def _changed(self) -> None:
        self._run._persist(self._column)

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(check_entry(self._column, key, value), value)
        self._changed()

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._changed()

    def update(self, *args: Any, **kwargs: Any) -> None:
        entries = dict(*args, **kwargs).items()
        super().update({check_entry(self._column, k, v): v for k, v in entries})
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
