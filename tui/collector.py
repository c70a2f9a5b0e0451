"""The viewer process's garbage-collector policy: long-lived objects out of its way.

A viewer holds some 90,000 long-lived objects (Textual's widgets, styles, caches, the runs) and
allocates short-lived ones every frame. With CPython's default thresholds a full collection
walked all of them every ten seconds or so, 40 ms each, and the young collections ran several
times a second: measured while following 6 runs at 25 steps/s, 0.5% of a core, a sixth of the
viewer's CPU. So, in a process the viewer owns (``tracktui``, ``tracktui demo``; never in a
test or a host program):

- after the first screen, everything alive is collected once and frozen (``gc.freeze``): later
  collections skip it;
- the young generation is collected every 5,000 allocations rather than 700;
- every few minutes the frozen objects are thawed, collected and frozen again, so a widget tree
  that died since (a closed screen: its parent and child links are a cycle) is still freed.
"""

from __future__ import annotations

import gc

THRESHOLDS = (5000, 20, 20)
REFREEZE_S = 300.0


class CollectorPolicy:
    """What the app calls; does nothing unless ``enabled`` (the process is the viewer's own)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.frozen = False
        self._thresholds: tuple[int, int, int] | None = None

    def start(self) -> None:
        if self.enabled and self._thresholds is None:
            self._thresholds = gc.get_threshold()
            gc.set_threshold(*THRESHOLDS)

    def freeze(self) -> None:
        """Collect, then set aside everything still alive (the first screen is up)."""
        if not self.enabled:
            return
        if self.frozen:
            gc.unfreeze()  # what was set aside is looked at again: it may have died since
        gc.collect()
        gc.freeze()
        self.frozen = True

    def stop(self) -> None:
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None
