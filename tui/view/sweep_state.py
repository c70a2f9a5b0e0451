"""What the sweep views show, apart from how: the choices (grouping key, metric, scatter key,
parallel axes, best or last value, highlighted run, picked groups) settled against the runs,
and the numbers worked out from them (metrics, sweep keys, the metric's direction, the runs
best first, the groups and those the curves draw), each computed once while the runs are the
same records. :class:`SweepChoices` is mixed into :class:`tui.screens.sweep.SweepScreen`;
it holds no widget and draws nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar, cast

from tracker.models import RunRecord
from tracker.ranking import has_better_direction, metric_direction

from ..model import main_metrics
from ..sanitize import safe_text
from . import sweep as sv

T = TypeVar("T")

MAX_AXES = 6  # config axes chosen at first
EVAL_PREFIXES = ("eval", "val", "valid", "test")


def default_metric(metrics: Sequence[str], runs: Sequence[RunRecord]) -> str | None:
    """What a sweep is judged by: the first evaluation metric that has a better direction
    (``eval/loss``, ``val_accuracy``), else the first metric."""
    for key in metrics:
        if key.lower().startswith(EVAL_PREFIXES) and has_better_direction(key, runs):
            return key
    return metrics[0] if metrics else None


class SweepChoices:
    """The sweep screen's state and its memoised numbers (call :meth:`init_choices` first)."""

    max_groups = 10  # the groups the curves draw at most (the screen: one per colour)
    group_key: str | None
    metric: str | None
    x_key: str | None
    axes: list[str] | None
    which: str
    highlight: str | None
    picked: tuple[str | None, tuple[str, ...]] | None  # (group key, labels)
    _memo_runs: list[RunRecord]
    _memo: dict[Hashable, object]

    def init_choices(self) -> None:
        self.group_key = None
        self.metric = None
        self.x_key = None
        self.axes = None
        self.which = sv.BEST
        self.highlight = None
        self.picked = None
        self._memo_runs = []
        self._memo = {}

    def _cached(self, runs: Sequence[RunRecord], what: Hashable, compute: Callable[[], T]) -> T:
        """``compute()`` once per ``what`` while the runs are the same records (the model
        replaces a record that changed, so an unchanged one is the same object): a live frame
        that changes no run of the sweep costs no regrouping of 1,000 runs."""
        held = self._memo_runs
        if len(held) != len(runs) or any(a is not b for a, b in zip(held, runs, strict=True)):
            self._memo_runs, self._memo = list(runs), {}
        if what not in self._memo:
            self._memo[what] = compute()
        return cast(T, self._memo[what])

    def metrics(self, runs: Sequence[RunRecord]) -> list[str]:
        def compute() -> list[str]:
            keys: dict[str, None] = {}
            for run in runs:
                keys.update(dict.fromkeys(main_metrics(run, 50)))
            return list(keys)

        return self._cached(runs, "metrics", compute)

    def keys(self, runs: Sequence[RunRecord]) -> list[str]:
        return self._cached(runs, "keys", lambda: sv.sweep_keys(runs))

    def _settle_choices(self, runs: Sequence[RunRecord]) -> list[str]:
        """Fill in choices not made yet (or no longer possible); returns the sweep keys."""
        keys = self.keys(runs)
        if self.group_key not in keys:
            self.group_key = self._cached(runs, "group", lambda: sv.default_group_key(runs, keys))
        if self.x_key not in keys:
            numeric = [k for k in keys if k != sv.TAG and "seed" not in k.lower()]
            fallback = numeric or keys
            self.x_key = (
                self.group_key if self.group_key in numeric else fallback[0] if fallback else None
            )
        if self.axes is None or not set(self.axes) <= set(keys):
            config = [k for k in keys if k != sv.TAG]
            # seeds are no hyperparameter: a seed axis of a hundred values is a hairball
            chosen = [k for k in config if "seed" not in k.lower()] or config
            kept = [k for k in (self.axes or chosen) if k in config]
            self.axes = kept[:MAX_AXES] or chosen[:MAX_AXES]
        metrics = self.metrics(runs)
        if self.metric not in metrics:
            self.metric = default_metric(metrics, runs)
        return keys

    def mode(self, runs: Sequence[RunRecord]) -> str:
        metric = self.metric
        if metric is None:
            return "min"
        return self._cached(runs, ("mode", metric), lambda: metric_direction(metric, runs))

    def ranked(self, runs: Sequence[RunRecord]) -> list[RunRecord]:
        """Runs with a value of the metric, best first (the highlight moves along these)."""
        metric, which = self.metric, self.which
        if metric is None:
            return []
        mode = self.mode(runs)

        def compute() -> list[RunRecord]:
            valued = [(sv.metric_value(r, metric, which, mode), r) for r in runs]
            kept = [(v, r) for v, r in valued if v is not None]
            kept.sort(key=lambda p: (p[0] if mode == "min" else -p[0], p[1].created_at))
            return [r for _, r in kept]

        return self._cached(runs, ("ranked", metric, which), compute)

    def _groups(self, runs: Sequence[RunRecord]) -> list[sv.Group]:
        key = self.group_key
        if key is None:
            return [sv.Group("all runs", tuple(r.id for r in runs))]
        return self._cached(runs, ("groups", key), lambda: sv.group_runs(runs, key))

    def _ranked_groups(self, runs: Sequence[RunRecord]) -> list[tuple[sv.Group, float | None]]:
        """The groups, best first by the mean of their runs' values of the metric."""
        metric, which, key = self.metric, self.which, self.group_key
        groups = self._groups(runs)
        if metric is None:
            return [(g, None) for g in groups]
        mode = self.mode(runs)
        return self._cached(
            runs,
            ("group ranks", key, metric, which),
            lambda: sv.rank_groups(groups, runs, metric, which, mode),
        )

    def _shown_groups(self, runs: Sequence[RunRecord]) -> list[sv.Group]:
        """The groups the curves draw (best first): those picked with ``G`` for this key, else
        the best :data:`self.max_groups` with the highlighted run's."""
        ranked = [g for g, _ in self._ranked_groups(runs)]
        if self.picked is not None and self.picked[0] == self.group_key:
            labels = set(self.picked[1])
            chosen = [g for g in ranked if g.label in labels]
            if chosen:
                return chosen[: self.max_groups]
        keep = next((g.label for g in ranked if self.highlight in g.run_ids), None)
        return sv.choose_groups(ranked, self.max_groups, keep)

    def _group_name(self, group: sv.Group) -> str:
        if self.group_key is None:
            return group.label
        return f"{safe_text(self.group_key, 24)}={safe_text(group.label, 24)}"

    def _picked_here(self) -> bool:
        return self.picked is not None and self.picked[0] == self.group_key
