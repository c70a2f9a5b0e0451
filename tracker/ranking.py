"""Picking the best run by a metric: the direction of a metric and the choice itself.

The direction is what the runs say (``define_metric(key, goal="maximize")`` or
``summary="max"``) and, where none of them says, a guess from the words of the metric's name
(``train/samples_per_second``: a rate, higher is better; ``val_loss``: lower is better;
``epoch``, ``lr``, ``global_step``: neither, see :func:`guessed_direction`)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from .models import RunRecord


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A cost, whatever else the name says (``reward_loss`` is a loss): lower is better.
_COSTS = _words(
    "loss losses nll err error errors perplexity ppl wer cer ter mse mae rmse msle mape bpb bpc "
    "bpd distance regret cost divergence kl fid lpips eer fnr fpr miss misses chamfer"
)
# A duration (``train_runtime``, ``epoch_time``, ``latency_ms``): lower is better.
_TIMES = _words(
    "time times runtime duration elapsed latency walltime wallclock ms msec sec secs second "
    "seconds minutes hours"
)
# A clock that runs with the training (``runtime``, ``_runtime``, ``elapsed``, ``walltime``),
# logged at every step: its smallest value is its first, about 0, so a run is ranked by its
# last (the time it took). Logged once at the end, as ``train_runtime`` is, that is the same.
_CLOCKS = _words("runtime elapsed walltime wallclock uptime timestamp")
# ... and a time word after one of these (``wall_time``, ``total_time``, ``time/total_s``).
_CLOCK_QUALIFIERS = _words("wall total cumulative")
# Units of time after ``per`` or ``/`` make a rate (``it/s``, ``tokens_per_sec``); before
# them, a time per unit of work (``s/it``, ``sec_per_step``).
# A clock is no unit (``train/elapsed_s`` is no rate).
_TIME_UNITS = (_TIMES - _CLOCKS) | {"s", "h", "hr", "hrs", "min", "mins", "minute", "hour", "us"}
# A ``/`` reads as "per" next to a unit only (``it/s``, ``s/it``): ``perf/latency_ms`` is a
# latency in a group, no count per latency.
_UNITS = _words("s sec secs second seconds ms msec us min mins minute minutes h hr hrs hour hours")
# Quality, reward and throughput: higher is better.
_GAINS = _words(
    "acc accuracy top1 top5 f1 f1score fscore auc auroc auprc roc bleu rouge rougel rougelsum "
    "meteor chrf precision prec recall reward rewards return returns score scores map ap miou "
    "iou dice r2 psnr ssim ndcg mrr hit hits hitrate em exact win wins winrate success "
    "mfu hfu throughput goodput tps fps qps ips sps speed speedup tflops gflops"
)
# Counters and schedules: no value of them is better than another.
_NEUTRAL = _words(
    "epoch epochs lr learning step steps iter iters iteration iterations batch batches sample "
    "samples token tokens example examples flos count num momentum temperature warmup wd "
    "decay"
)
# Recognised at the end of a run-together word too (``valacc``, ``trainloss``).
_SUFFIXES = (
    ("min", ("loss", "error", "perplexity", "time", "latency", "duration")),
    ("max", ("accuracy", "acc", "reward", "score", "precision", "recall", "iou", "auc")),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKENS = re.compile(r"[A-Za-z0-9]+|/")


def _tokens(key: str) -> tuple[list[str], set[str]]:
    """(the name's lower-case humps in order, with ``per`` where a ``/`` stands next to a unit
    of time; every word and hump, digits stripped from a word's end too: ``bleu4``, ``mAP``)."""
    raw = _TOKENS.findall(key)
    sequence: list[str] = []
    words: set[str] = set()
    for word in raw:
        if word == "/":
            sequence.append("/")
            continue
        humps = [h.lower() for h in _CAMEL.split(word) if h]
        sequence += humps
        for part in [*humps, word.lower()]:
            words.add(part)
            stem = part.rstrip("0123456789")
            if len(stem) > 1:
                words.add(stem)
    tokens: list[str] = []
    for index, token in enumerate(sequence):
        if token != "/":
            tokens.append(token)
            continue
        before = sequence[index - 1] if index > 0 else ""
        after = sequence[index + 1] if index + 1 < len(sequence) else ""
        tokens.append("per" if _UNITS & {before, after} else "/")
    return tokens, words


def name_parts(key: str) -> list[str]:
    """The lower-case words of a metric name, split at every character that is neither a
    letter nor a digit (``/``, ``_``, ``-``, ``.``, spaces) and at camelCase humps:
    ``eval/accuracyTop1`` -> ``["eval", "accuracy", "top1"]``."""
    return [t for t in _tokens(key)[0] if t != "/"]


def guessed_direction(key: str) -> str | None:
    """Which way the name says ``key`` is better: ``"min"``, ``"max"``, or None for a counter
    or a schedule (``epoch``, ``lr``, ``learning_rate``, ``global_step``, ``train/tokens``),
    where neither is. A name that says nothing is lower-is-better, as losses are.

    By its words (:func:`name_parts`), first match wins: a cost (``loss``, ``error``,
    ``perplexity``, ``wer``) is ``min``; a count per unit of time (``samples_per_second``,
    ``it/s``, ``tokens_per_sec``) ``max``; a time per unit of work (``s/it``, ``sec_per_step``)
    and a duration (``runtime``, ``latency_ms``) ``min``; a quality, reward or throughput
    (``accuracy``, ``f1``, ``mfu``, ``throughput``) ``max``; a counter or schedule None."""
    tokens, words = _tokens(key)
    if words & _COSTS:
        return "min"
    pers = [i for i, t in enumerate(tokens) if t == "per" and 0 < i < len(tokens) - 1]
    if any(tokens[i + 1] in _TIME_UNITS and tokens[i - 1] not in _TIME_UNITS for i in pers):
        return "max"
    if any(tokens[i - 1] in _TIME_UNITS for i in pers) or words & _TIMES:
        return "min"
    if words & _GAINS:
        return "max"
    if words & _NEUTRAL:
        return None
    for direction, suffixes in _SUFFIXES:
        if any(word.endswith(suffixes) for word in words):
            return direction
    return "min"


def defined_direction(runs: Iterable[RunRecord], key: str) -> str | None:
    """``"min"``/``"max"`` as these runs define it for ``key`` (``define_metric``'s goal or a
    min/max summary): the one most of them define, ties to the first; None if none does."""
    counts: dict[str, int] = {}
    for run in runs:
        if run.metric_defs:
            goal = run.goal(key)
            if goal is not None:
                counts[goal] = counts.get(goal, 0) + 1
    return max(counts, key=lambda g: counts[g]) if counts else None


def metric_direction(key: str, runs: Iterable[RunRecord] = ()) -> str:
    """``"min"`` or ``"max"``: what ``runs`` define for ``key``, else what its name says
    (:func:`guessed_direction`). A counter or schedule (``epoch``, ``lr``), better neither
    way, is ``max``: how far a run got, its peak learning rate, never its first value."""
    defined = defined_direction(runs, key)
    if defined is not None:
        return defined
    return guessed_direction(key) or "max"


def has_better_direction(key: str, runs: Iterable[RunRecord] = ()) -> bool:
    """Whether one value of ``key`` is better than another: the runs define its direction or
    its name says one (not a counter or schedule such as ``epoch`` or ``lr``)."""
    return defined_direction(runs, key) is not None or guessed_direction(key) is not None


@dataclass(frozen=True, slots=True)
class Best:
    run: RunRecord
    metric: str
    mode: str
    value: float


@lru_cache(maxsize=4096)
def is_clock(key: str) -> bool:
    """Whether ``key`` names time elapsed since the start (``runtime``, ``train/elapsed_s``,
    ``_runtime``), not a time per unit of work (``s/it``, ``step_time``, ``latency``).
    Cached: :func:`best_value` asks it for every run a frame ranks."""
    words = _tokens(key)[1]  # the written words: a slash read as "per" is not among them
    if words & _COSTS or "per" in words:
        return False
    timed = words & (_TIME_UNITS | _TIMES)
    return bool(words & _CLOCKS) or bool(timed and words & _CLOCK_QUALIFIERS)


def best_stat(key: str, mode: str) -> str:
    """What a run's best value of ``key`` is, to name it: ``mode`` (``min``/``max``), or
    ``last`` for a clock."""
    return "last" if is_clock(key) else mode


def best_value(run: RunRecord, metric: str, mode: str) -> float | None:
    """The run's best finite value of ``metric`` (its min or max), or None if it has none.
    A clock (:func:`is_clock`) counts by its last value, what the run took so far."""
    summary = run.metrics.get(metric)
    if summary is None:
        return None
    clock = is_clock(metric)
    value = summary.last if clock else summary.min if mode == "min" else summary.max
    if value is None or not math.isfinite(value):
        return None
    return value


def best_run(runs: Iterable[RunRecord], metric: str, mode: str | None = None) -> Best | None:
    """The run with the lowest (``min``) or highest (``max``) best value; ties: the older.
    Without ``mode``, the direction the runs define for ``metric``, else the name's."""
    runs = list(runs)
    mode = mode or metric_direction(metric, runs)
    if mode not in ("min", "max"):
        raise ValueError("mode must be 'min' or 'max'")
    chosen: Best | None = None
    for run in sorted(runs, key=lambda r: (r.created_at, r.id)):
        value = best_value(run, metric, mode)
        if value is None:
            continue
        if chosen is None or (value < chosen.value if mode == "min" else value > chosen.value):
            chosen = Best(run, metric, mode, value)
    return chosen
