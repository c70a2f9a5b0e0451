"""The filter and sort language shared by ``tracktui ls`` and the TUI."""

from __future__ import annotations

import math
import re

import pytest

from tracker.errors import FilterError
from tracker.filters import compile_filter, filter_runs, sort_runs, tokenize
from tracker.models import MetricSummary, RunRecord


def make_run(
    name: str,
    *,
    status: str = "finished",
    project: str = "p",
    tags: list[str] | None = None,
    config: dict[str, object] | None = None,
    metrics: dict[str, float] | None = None,
    created: float = 0.0,
    step: int | None = 100,
) -> RunRecord:
    summaries = {
        key: MetricSummary(
            i,
            key,
            10,
            value,
            value - 1 if math.isfinite(value) else None,
            value + 1 if math.isfinite(value) else None,
            step,
            0,
        )
        for i, (key, value) in enumerate((metrics or {}).items())
    }
    return RunRecord(
        id=f"id{name}", name=name, project=project, status=status, stored_status=status,
        created_at=created, updated_at=created + 10, finished_at=created + 10, host="h", pid=1,
        pid_start=None, step=step, tags=tags or [], config=config or {}, summary={"best": 1.0},
        exit_code=0, error=None, dropped=0, version=1, metrics=summaries,
    )  # fmt: skip


RUNS = [
    make_run("lora-r16", status="running", tags=["lora"], config={"lr": 3e-4, "optimizer": {"lr": 0.1, "name": "adamw"}, "amp": True}, metrics={"eval/loss": 1.41, "train/loss": 1.38}, created=3),
    make_run("baseline", tags=["base"], config={"lr": 1e-4, "warmup": 0}, metrics={"eval/loss": 1.53}, created=2),
    make_run("lr-1e-2", status="crashed", tags=["lora", "debug"], config={"lr": 1e-2, "optimizer.lr": 5.0}, metrics={"eval/loss": math.nan}, created=1),
    make_run("no-metrics", project="other", config={"lr": "0.001"}, created=0, step=None),
]  # fmt: skip


def names(expression: str) -> list[str]:
    return [r.name for r in filter_runs(RUNS, expression)]


@pytest.mark.parametrize(
    "expression, expected",
    [
        ("", ["lora-r16", "baseline", "lr-1e-2", "no-metrics"]),
        ("status=finished", ["baseline", "no-metrics"]),
        ("status != finished", ["lora-r16", "lr-1e-2"]),
        ("cfg.lr<1e-3", ["lora-r16", "baseline"]),
        ("config.lr>=0.001", ["lr-1e-2", "no-metrics"]),  # "0.001" in config compares as a number
        ("metrics.eval/loss<1.5", ["lora-r16"]),
        ("m.eval/loss>=1.4", ["lora-r16", "baseline"]),  # NaN matches no comparison
        ("m.eval/loss!=1.41", ["baseline", "lr-1e-2", "no-metrics"]),  # missing and NaN are !=
        ("metrics.eval/loss.min<0.5", ["lora-r16"]),
        ("tag=lora", ["lora-r16", "lr-1e-2"]),
        ("NOT tag=debug", ["lora-r16", "baseline", "no-metrics"]),
        ("tag!=debug", ["lora-r16", "baseline", "no-metrics"]),
        ("lora", ["lora-r16", "lr-1e-2"]),
        ("LORA base", []),
        ("lora OR base", ["lora-r16", "baseline", "lr-1e-2"]),
        ("(lora OR base) AND status=finished", ["baseline"]),
        ("lora or base and status=finished", ["lora-r16", "baseline", "lr-1e-2"]),
        ("name~^l", ["lora-r16", "lr-1e-2"]),
        ("name~R16", ["lora-r16"]),
        ("cfg.optimizer.name=adamw", ["lora-r16"]),
        ("cfg.optimizer.lr=0.1", ["lora-r16"]),
        ("cfg.optimizer.lr=5", ["lr-1e-2"]),  # a flat "optimizer.lr" key wins
        ("cfg.amp=true", ["lora-r16"]),
        ("cfg.amp=True", ["lora-r16"]),  # Python's spelling, any case
        ("cfg.amp=TRUE", ["lora-r16"]),
        ("cfg.amp=False", []),
        ("cfg.amp!=True", ["baseline", "lr-1e-2", "no-metrics"]),
        ("cfg.optimizer.name=ADAMW", []),  # only a true/false value ignores case
        ("cfg.warmup=0", ["baseline"]),
        ("project=other", ["no-metrics"]),
        ("summary.best=1", ["lora-r16", "baseline", "lr-1e-2", "no-metrics"]),
        ("step>=100", ["lora-r16", "baseline", "lr-1e-2"]),
        ("name='lora-r16'", ["lora-r16"]),
        ('name="lr-1e-2"', ["lr-1e-2"]),
        ("status=finished cfg.lr<1e-3 metrics.eval/loss<2.1 NOT tag=debug", ["baseline"]),
    ],
)
def test_filter(expression: str, expected: list[str]) -> None:
    assert names(expression) == expected


@pytest.mark.parametrize(
    "expression, message, position",
    [
        ("cfg.lr<", "expected a value after '<'", 7),
        ("(status=finished", "missing ')'", 16),
        ("status=finished)", "unexpected ')'", 15),
        ("bogus=1", "unknown field 'bogus'", 0),
        ("name~'('", "bad regular expression", 5),
        ("name~(", "expected a value after '~'", 5),
        ("name='abc", "unterminated quoted string", 5),
        ("a ! b", "'!' must be followed by '='", 2),
        ("AND", "expected a term, found 'AND'", 0),
        ("NOT", "expected a term", 3),
        ("cfg.=1", "unknown field", 0),
    ],
)
def test_malformed_expressions_are_explained(expression: str, message: str, position: int) -> None:
    with pytest.raises(FilterError, match=re.escape(message)) as info:
        compile_filter(expression)
    assert info.value.position == position
    assert "^" in str(info.value)


def test_filter_never_evaluates_input() -> None:
    assert names("name=__import__('os').system('false')") == []


def test_tokens() -> None:
    kinds = [t.kind for t in tokenize("a AND (b OR NOT c>=1)")]
    assert kinds == [
        "WORD",
        "AND",
        "LPAREN",
        "WORD",
        "OR",
        "NOT",
        "WORD",
        "OP",
        "WORD",
        "RPAREN",
        "END",
    ]


def sorted_names(key: str | None, desc: bool = False) -> list[str]:
    return [r.name for r in sort_runs(RUNS, key, desc)]


def test_sort_default_newest_first() -> None:
    assert sorted_names(None) == ["lora-r16", "baseline", "lr-1e-2", "no-metrics"]


def test_sort_by_metric_puts_missing_and_nan_last_both_ways() -> None:
    assert sorted_names("metrics.eval/loss") == ["lora-r16", "baseline", "lr-1e-2", "no-metrics"]
    assert sorted_names("metrics.eval/loss", desc=True) == [
        "baseline",
        "lora-r16",
        "lr-1e-2",
        "no-metrics",
    ]


def test_sort_by_config_name_status() -> None:
    assert sorted_names("config.lr") == ["baseline", "lora-r16", "no-metrics", "lr-1e-2"]
    assert sorted_names("name") == ["baseline", "lora-r16", "lr-1e-2", "no-metrics"]
    assert sorted_names("status", desc=True) == ["lora-r16", "baseline", "no-metrics", "lr-1e-2"]
    assert sorted_names("status") == ["lr-1e-2", "baseline", "no-metrics", "lora-r16"]  # stable


def test_bad_sort_key() -> None:
    with pytest.raises(FilterError, match="unknown field"):
        sort_runs(RUNS, "nonsense")
