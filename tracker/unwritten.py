"""What a run could not write: counted exactly, and said in one line at ``finish()``."""

from __future__ import annotations

from dataclasses import dataclass, field

from .batch import Record, RunHandle


@dataclass(slots=True)
class Unwritten:
    """Buffered records of one run that were given up on."""

    points: int = 0
    keys: set[str] = field(default_factory=set)
    first_step: int | None = None
    last_step: int | None = None
    media: int = 0
    console: int = 0
    updates: int = 0  # config and summary changes
    events: int = 0  # alerts and other events

    def add(self, record: Record) -> None:
        if type(record[0]) is RunHandle:
            step, values = record[1], record[3]
            self.points += len(values)
            self.keys.update(values)
            if self.first_step is None or step < self.first_step:
                self.first_step = step
            if self.last_step is None or step > self.last_step:
                self.last_step = step
        elif record[0] == "media":
            self.media += len(record[2][2])
        elif record[0] == "console":
            self.console += 1
        elif record[0] == "json":
            self.updates += 1
        elif record[0] == "event":
            self.events += 1

    def __bool__(self) -> bool:
        return bool(self.points or self.media or self.console or self.updates or self.events)

    def describe(self) -> str:
        parts = []
        if self.points:
            steps = (
                f"step {self.first_step:,}"
                if self.first_step == self.last_step
                else f"steps {self.first_step:,}-{self.last_step:,}"
            )
            parts.append(f"{self.points:,} points of {len(self.keys):,} metrics ({steps})")
        if self.media:
            parts.append(f"{self.media:,} media")
        if self.console:
            parts.append(f"{self.console:,} console chunks")
        if self.updates:
            parts.append(f"{self.updates:,} config/summary updates")
        if self.events:
            parts.append(f"{self.events:,} events (alerts)")
        return ", ".join(parts) or "nothing"


def describe_left_out(record: Record) -> str:
    """One record, as a user would recognise it ("the points of step 12 (loss, acc)")."""
    if type(record[0]) is RunHandle:
        keys = ", ".join(sorted(record[3])[:4]) + (", ..." if len(record[3]) > 4 else "")
        return f"the points of step {record[1]} ({keys})"
    kind = record[0]
    if kind == "media":
        return f"the media of step {record[2][0]} ({', '.join(sorted(record[2][2])[:4])})"
    if kind == "console":
        return "a chunk of console output"
    if kind == "json":
        return f"a {record[2]} update"
    if kind == "event":
        return f"the {record[2][2]} event {record[2][5]!r}"
    return f"the run's {kind} record"
