"""The detectors' state, a few numbers per series: a fixed-size sorted window (medians in
O(1)), hysteresis for episodes, a spike's baseline, a rate's drop, a GPU's recent use."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque

_MAD_SIGMA = 1.4826  # MAD * this = the standard deviation of a normal distribution


class Window:
    """The last ``size`` values, also kept sorted: the median in O(1), an update in O(size)
    with ``size`` fixed (a bisect and a short memmove)."""

    __slots__ = ("pos", "ring", "size", "sorted")

    def __init__(self, size: int) -> None:
        self.size = size
        self.ring: list[float] = []
        self.sorted: list[float] = []
        self.pos = 0

    def __len__(self) -> int:
        return len(self.ring)

    def add(self, value: float) -> None:
        ring, ordered = self.ring, self.sorted
        if len(ring) < self.size:
            ring.append(value)
        else:
            old = ring[self.pos]
            ring[self.pos] = value
            self.pos = (self.pos + 1) % self.size
            del ordered[bisect_left(ordered, old)]
        insort(ordered, value)

    def median(self) -> float:
        ordered = self.sorted
        n = len(ordered)
        half = n // 2
        return ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) / 2.0

    def spread(self, median: float) -> float:
        """A robust standard deviation: 1.4826 * the median absolute deviation."""
        deviations = sorted(abs(v - median) for v in self.ring)
        return _MAD_SIGMA * deviations[len(deviations) // 2]


class Episode:
    """Hysteresis: start after ``points`` bad points in a row, end after ``clear`` good ones."""

    __slots__ = ("active", "bad", "clear", "good", "points", "started_step")

    def __init__(self, points: int, clear: int) -> None:
        self.points, self.clear = max(1, points), max(1, clear)
        self.active = False
        self.bad = self.good = 0
        self.started_step: int | None = None

    def see(self, bad: bool) -> int:
        """+1 when an episode starts with this point, -1 when it ends, 0 otherwise."""
        if bad:
            self.good = 0
            if not self.active:
                self.bad += 1
                if self.bad >= self.points:
                    self.active, self.bad = True, 0
                    return 1
            return 0
        self.bad = 0
        if self.active:
            self.good += 1
            if self.good >= self.clear:
                self.active, self.good = False, 0
                return -1
        return 0


SETTLED = -2  # a spike that lasted a whole window: the series' new level, not a spike


class Spike:
    """Loss spike / gradient-norm explosion of one series. A spike that lasts a whole window
    (a new data phase, a curriculum step, a divergence that plateaued) ends as the series'
    new level: the baseline becomes what the window saw, so a later, further jump is caught
    again instead of hiding in an episode that never closes."""

    __slots__ = ("during", "episode", "factor", "peak", "seen", "sigmas", "tail", "warmup",
                 "window")  # fmt: skip

    def __init__(self, options: dict[str, float]) -> None:
        self.window = Window(int(options["window"]))
        self.factor = options["factor"]
        self.sigmas = options["sigmas"]
        self.tail = options["tail"]
        self.warmup = int(options["warmup"])
        self.episode = Episode(int(options["points"]), int(options["clear_points"]))
        self.seen = 0
        self.peak = 0.0
        self.during = Window(self.window.size)

    def see(self, value: float) -> tuple[int, float, float]:
        """(+1 start / -1 end / 0, the median, the threshold) for one finite value."""
        window = self.window
        if self.seen < self.warmup or len(window) < 3:
            self.seen += 1
            window.add(value)
            return 0, 0.0, 0.0
        median = window.median()
        margin = max((self.factor - 1.0) * abs(median), 1e-12)
        threshold = median + margin
        bad = value > threshold
        if bad:
            tail = self.tail * (window.sorted[-1] - median)
            threshold = median + max(margin, tail, self.sigmas * window.spread(median))
            bad = value > threshold
        episode = self.episode
        if episode.active and not bad:
            bad = value > median + margin / 2.0  # clears only once well below the threshold
        change = episode.see(bad)
        if not bad and not episode.active:
            window.add(value)  # the baseline stays frozen while a spike lasts
        if change == 1 or (episode.active and value > self.peak):
            self.peak = value
        if episode.active:
            if change == 1:
                self.during = Window(window.size)
            self.during.add(value)
            if len(self.during) >= window.size:
                episode.active, episode.bad, episode.good = False, 0, 0
                self.window, self.during = self.during, Window(window.size)
                return SETTLED, median, threshold
        return change, median, threshold


class RateDrop:
    """A rate (steps/s, or a logged throughput) falling below a fraction of its usual value."""

    __slots__ = ("active", "baseline", "count", "low", "options")

    def __init__(self, options: dict[str, float]) -> None:
        self.options = options
        self.baseline = Window(int(options["baseline_windows"]))
        self.count = 0
        self.low = 0
        self.active = False

    def see(self, rate: float) -> tuple[int, float]:
        options = self.options
        self.count += 1
        if self.count <= options["warmup_windows"] or len(self.baseline) < 3:
            self.baseline.add(rate)
            return 0, rate
        usual = self.baseline.median()
        if rate < options["factor"] * usual:
            self.low += 1
            if not self.active and self.low >= options["patience"]:
                self.active = True
                return 1, usual
            return 0, usual
        self.low = 0
        if self.active:
            if rate >= options["clear_factor"] * usual:
                self.active = False
                return -1, usual
            return 0, usual
        self.baseline.add(rate)
        return 0, usual


class RateWindow:
    """Groups a logged throughput's points into windows; yields each window's mean."""

    __slots__ = ("drop", "n", "start", "total")

    def __init__(self, options: dict[str, float]) -> None:
        self.drop = RateDrop(options)
        self.n = 0
        self.total = 0.0
        self.start: float | None = None


class Gpu:
    __slots__ = ("active", "ours", "run_mem_seen", "samples", "total")

    def __init__(self) -> None:
        self.samples: deque[tuple[float, float, int]] = deque()  # (time, util, step)
        self.total = 0.0
        self.ours = False
        self.run_mem_seen = False
        self.active = False


def num(value: float) -> str:
    """A number as an event's title shows it: three digits, or whole with separators (up to
    a quadrillion: a diverged loss of 1e21 was written out in 28 digits)."""
    if abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:,.0f}" if abs(value) < 1e15 else f"{value:.3g}"
