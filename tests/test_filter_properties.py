"""Property-based tests of the filter language: for any text the parser returns a filter or
raises FilterError (nothing else, and it never hangs); generated expressions obey boolean
algebra (``NOT NOT e`` is ``e``, ``OR`` is union, ``AND`` intersection, ``NOT`` complement);
evaluating any filter on any run never raises."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tracker.errors import FilterError
from tracker.filters import compile_filter
from tracker.models import MetricSummary, RunRecord

from .test_filters import RUNS

pytestmark = pytest.mark.timeout(240)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Examples that draw whole runs (hostile text in every field, nested configs, metric summaries)
# cost about 15 ms each to generate, nearly all of these tests' time: 120 of them a run, and a
# random new set every run.
RUNS_SETTINGS = settings(SETTINGS, max_examples=120)

# --- runs ----------------------------------------------------------------------------------------

KEYS = ["lr", "a", "a.b", "b", "opt"]
odd = st.sampled_from(["\ud800", "\udfff", "\x00", "\u202e", "\n", "é", "Ü"])  # lone surrogates too
any_text = st.text(st.one_of(st.characters(), odd), max_size=30)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**400), max_value=10**400),
)
json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, any_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
maybe_float = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def summaries(draw: Any) -> dict[str, MetricSummary]:
    keys = draw(st.lists(st.sampled_from(["loss", "eval/loss", "acc", "loss.min"]), unique=True))
    return {
        key: MetricSummary(
            i,
            key,
            draw(st.integers(0, 10**6)),
            draw(maybe_float),
            draw(maybe_float),
            draw(maybe_float),
            draw(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))),
            0,
        )
        for i, key in enumerate(keys)
    }


@st.composite
def runs(draw: Any) -> RunRecord:
    created = draw(
        st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12)
    )
    return RunRecord(
        id=draw(any_text), name=draw(any_text), project=draw(any_text),
        status=draw(st.sampled_from(["running", "finished", "crashed", "failed"])),
        stored_status="running", created_at=created, updated_at=created + draw(st.floats(0, 1e6)),
        finished_at=draw(st.one_of(st.none(), st.just(created))), host=draw(any_text),
        pid=draw(st.integers(0, 2**31)), pid_start=None,
        step=draw(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1))),
        tags=draw(st.lists(any_text, max_size=3)),
        config=draw(st.dictionaries(st.sampled_from(KEYS), json_like, max_size=5)),
        summary=draw(st.dictionaries(st.sampled_from(KEYS), json_like, max_size=3)),
        exit_code=None, error=None, dropped=0, version=1, metrics=draw(summaries()),
    )  # fmt: skip


# --- expressions ---------------------------------------------------------------------------------

FIELDS = ["name", "id", "project", "status", "tag", "host", "step", "duration", "created_at",
          "pid", "cfg.lr", "config.a.b", "cfg.opt", "m.loss", "metrics.eval/loss",
          "metrics.loss.min", "m.loss.count", "summary.b"]  # fmt: skip
SCALAR_FIELDS = [
    f for f in FIELDS if f != "tag" and not f.startswith(("cfg.", "config.", "summary."))
]
OPS = ["=", "!=", "<", "<=", ">", ">=", "~"]
VALUES = ["0", "1", "-1", "1e-3", "nan", "inf", "true", "null", "lora", "'a b'", "'(x)'",
          "^a", "'.*'", "'(a+)+$'", "'[[:alpha:]]+'", "'\\d'", "''", "finished"]  # fmt: skip

terms = st.one_of(
    st.builds(lambda f, o, v: f"{f}{o}{v}", st.sampled_from(FIELDS), st.sampled_from(OPS), st.sampled_from(VALUES)),
    st.sampled_from(["lora", "'r16'", "base", "x", "'a b'"]),
)  # fmt: skip


def _combine(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda e: f"NOT {e}", inner),
        st.builds(lambda e: f"({e})", inner),
        st.builds(lambda a, b: f"{a} OR {b}", inner, inner),
        st.builds(lambda a, b: f"{a} AND {b}", inner, inner),
        st.builds(lambda a, b: f"({a}) ({b})", inner, inner),
    )


expressions = st.recursive(terms, _combine, max_leaves=20)
TOKENS = ["(", ")", " ", "NOT", "not", "AND", "OR", "or", "'", '"', "\\", "!", "!=", "=", "<",
          ">=", "~", "cfg.", "m.", "name", "lr", "1e-3", "x", "é", "\x00", "\t"]  # fmt: skip
token_soup = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


def matching(expression: str, records: list[RunRecord]) -> list[bool]:
    try:
        predicate = compile_filter(expression)
    except FilterError as exc:  # generated expressions are valid, but may nest past the limit
        assume("nested too deeply" not in str(exc))
        raise
    results = [predicate(run) for run in records]
    assert all(type(r) is bool for r in results)
    return results


@SETTINGS
@given(st.one_of(st.text(st.one_of(st.characters(), odd), max_size=200), token_soup, expressions))
def test_any_text_parses_or_is_a_filter_error(text: str) -> None:
    try:
        predicate = compile_filter(text)
    except FilterError as exc:
        assert exc.position is not None and 0 <= exc.position <= len(text)
        assert "^" in str(exc)
        return
    for run in RUNS:
        assert type(predicate(run)) is bool


@RUNS_SETTINGS
@given(expressions, st.lists(runs(), min_size=1, max_size=4))
def test_evaluation_never_raises(expression: str, records: list[RunRecord]) -> None:
    matching(expression, records)


@RUNS_SETTINGS
@given(expressions, expressions, st.lists(runs(), max_size=3))
def test_boolean_algebra(a: str, b: str, records: list[RunRecord]) -> None:
    records = records + RUNS
    left, right = matching(a, records), matching(b, records)
    assert matching(f"NOT NOT ({a})", records) == left
    assert matching(f"NOT ({a})", records) == [not x for x in left]
    assert matching(f"({a}) OR ({b})", records) == [
        x or y for x, y in zip(left, right, strict=True)
    ]
    assert matching(f"({a}) AND ({b})", records) == [
        x and y for x, y in zip(left, right, strict=True)
    ]
    assert matching(f"({a}) ({b})", records) == matching(f"({b}) and ({a})", records)
    assert matching(f"NOT (({a}) OR ({b}))", records) == matching(f"NOT ({a}) NOT ({b})", records)


@RUNS_SETTINGS
@given(
    st.sampled_from(SCALAR_FIELDS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.lists(runs(), min_size=1, max_size=3),
)
def test_comparisons_partition_the_runs(field: str, value: float, records: list[RunRecord]) -> None:
    """``<`` and ``>=`` never both hold (fields with one value); ``=`` and ``!=`` are
    complements (a missing field is ``!=``)."""
    literal = repr(value) if math.isfinite(value) else str(value)
    less, at_least = (
        matching(f"{field}<{literal}", records),
        matching(f"{field}>={literal}", records),
    )
    assert not any(x and y for x, y in zip(less, at_least, strict=True))
    equal, unequal = (
        matching(f"{field}={literal}", records),
        matching(f"{field}!={literal}", records),
    )
    assert [not x for x in equal] == unequal
