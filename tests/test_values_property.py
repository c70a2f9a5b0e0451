"""Property-based tests of value coercion: whatever a training loop hands ``log()``, ``config``
or ``summary``, it is either stored as ``float(value)`` (JSON for config and summary), taken as
wandb takes it (text to the summary, None skipped, a sequence of numbers as a histogram), or
refused with a ``TypeError``/``ValueError`` that names the key, the user's own exception
chained as its cause, before anything of that call is queued. Never another exception."""

from __future__ import annotations

import collections
import enum
import json
import math
import sqlite3
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tracker

FLOAT_MAX_INT = int(sys.float_info.max)
ERRORS: list[type[Exception]] = [
    ValueError,
    TypeError,
    KeyError,
    RuntimeError,
    ZeroDivisionError,
    OverflowError,
    AttributeError,
    ArithmeticError,
    LookupError,
]


class Boom(Exception):
    """An exception no library would expect."""


class Hostile:
    """A value whose conversion runs user code: ``__float__``, ``.item()`` or ``.size`` that
    raise an arbitrary exception or return something that is not a float."""

    def __init__(self, how: str, result: Any, error: Exception | None) -> None:
        self.how, self.result, self.error = how, result, error

    def __repr__(self) -> str:
        return f"Hostile({self.how}, {self.result!r}, {self.error!r})"


def hostile_class(how: str) -> type[Hostile]:
    def call(self: Hostile) -> Any:
        if self.error is not None:
            raise self.error
        return self.result

    if how == "float":
        return type("FloatHostile", (Hostile,), {"__float__": call})
    if how == "item":
        return type("ItemHostile", (Hostile,), {"item": call})
    return type("SizeHostile", (Hostile,), {"item": call, "size": property(call)})


class Level(enum.IntEnum):
    HIGH = 3


errors = st.builds(
    lambda kind, text: kind(text), st.sampled_from([*ERRORS, Boom]), st.text(max_size=20)
)
returns = st.one_of(
    st.floats(),
    st.integers(),
    st.sampled_from([10**400, -(10**400), None, "1.0", 1 + 2j, [1.0], b"1", np.float64(2.5)]),
)
hostile = st.builds(
    lambda how, result, error: hostile_class(how)(how, result, error),
    st.sampled_from(["float", "item", "size"]),
    returns,
    st.none() | errors,
)
huge_ints = st.one_of(
    st.integers(min_value=2**1000, max_value=2**1100),
    st.integers(max_value=-(2**1000), min_value=-(2**1100)),
    st.sampled_from(
        [10**400, -(10**400), 2**1023, FLOAT_MAX_INT, FLOAT_MAX_INT + 1, -FLOAT_MAX_INT, 2**1024]
    ),
)
arrays = st.one_of(
    hnp.arrays(hnp.scalar_dtypes(), st.sampled_from([(), (1,), (2,), (1, 1)])),
    st.floats(width=64).map(np.longdouble),
)
numpy_values = st.one_of(arrays, arrays.filter(lambda a: a.ndim == 0).map(lambda a: a[()]))
leaves = st.one_of(
    st.integers(),
    huge_ints,
    st.floats(),
    st.booleans(),
    numpy_values,
    hostile,
    st.text(max_size=5),
    st.none(),
    st.binary(max_size=4),
    st.just(Level.HIGH),
    st.lists(st.floats(), max_size=2),
)
values = st.recursive(
    leaves, lambda inner: st.dictionaries(st.sampled_from("abc"), inner), max_leaves=4
)


def reference(value: Any) -> float:
    """What a stored value must equal: ``float(value)``, through ``.item()`` for the objects
    (numpy, torch, ours) whose float is their item."""
    item = getattr(value, "item", None)
    return float(item() if callable(item) else value)


def is_sequence(value: Any) -> bool:
    if isinstance(value, list):
        return True
    return isinstance(value, np.ndarray) and value.size > 1 and value.dtype.kind in "biuf"


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in flat(f"{prefix}/{k}", v)]
    return [(prefix, value)]


def points(db: Path, key: str) -> dict[int, float]:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT p.step, p.value FROM point_values p JOIN series s ON s.id = p.series"
        " WHERE s.key = ?",
        (key,),
    ).fetchall()
    conn.close()
    return {step: math.nan if value is None else value for step, value in rows}


def test_log_stores_float_of_a_value_or_refuses_it_naming_the_key(db_path: Path) -> None:
    run = tracker.init(db=db_path, name="values", quiet=True, console=False)
    run.log(
        {"known": 1.0, "other": 1.0, "stored": 1.0}, step=0
    )  # known keys: the fast path of log()
    real_queue = run._queue
    accepted: list[tuple[int, Any, float]] = []

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(value=values, known=st.booleans())
    def check(value: Any, known: bool) -> None:
        key = "known" if known else "fresh"
        queue: collections.deque[Any] = collections.deque()
        run._queue = queue
        step = run.step
        try:
            run.log({key: value, "other": 2.0})
        except (TypeError, ValueError) as exc:
            assert not queue and run.step == step, "nothing of a refused call is queued"
            named = [leaf for name, leaf in flat(key, value) if repr(name) in str(exc)]
            assert len(named) == 1, (exc, value)
            if isinstance(named[0], Hostile) and named[0].error is not None:
                assert exc.__cause__ is named[0].error, (exc, exc.__cause__)
            return
        finally:
            run._queue = real_queue
        (record,) = [r for r in queue if type(r[0]) is not str]  # text goes to the summary
        media = [r[2][2] for r in queue if r[0] == "media"]
        histograms = media[0] if media else {}
        logged = record[3]
        for name, leaf in flat(key, value):
            if isinstance(leaf, str):  # wandb takes text: the summary keeps the latest
                assert run.summary[name] == leaf and name not in logged
                continue
            if leaf is None or (isinstance(leaf, list) and not leaf):  # skipped, as in wandb
                assert name not in logged
                continue
            if is_sequence(leaf):  # wandb makes a histogram of a sequence of numbers
                assert isinstance(histograms[name], tracker.Histogram), (name, leaf)
                assert name not in logged
                continue
            expected = reference(leaf)
            assert same(float(logged[name]), expected), (name, leaf, logged[name])
            if isinstance(leaf, (int, float, bool, np.generic, np.ndarray)):
                accepted.append((len(accepted) + 1, leaf, expected))

    check()
    base = run.step  # steps only go forward
    for step, leaf, _ in accepted:  # and what was accepted is what the database holds
        run.log({"stored": leaf}, step=base + step)
    run.finish()
    stored = points(db_path, "stored")
    assert len(stored) == len(accepted) + 1
    for step, leaf, expected in accepted:
        assert same(stored[base + step], expected), (leaf, stored[base + step])


@pytest.mark.parametrize(
    "value, cause",
    [
        (10**400, None),
        (-(10**400), None),
        (hostile_class("float")("float", None, Boom("mine")), Boom),
        (hostile_class("item")("item", None, KeyError("k")), KeyError),
        (hostile_class("item")("item", 10**400, None), None),
        (hostile_class("size")("size", None, ZeroDivisionError()), ZeroDivisionError),
    ],
    ids=["10**400", "-10**400", "float-raises", "item-raises", "item-huge", "size-raises"],
)
def test_conversions_that_raise_or_overflow_name_the_key(
    db_path: Path, value: Any, cause: type[BaseException] | None
) -> None:
    run = tracker.init(db=db_path, quiet=True, console=False)
    run.log({"loss": 1.0})
    for payload in ({"loss": value}, {"fresh": value}, {"nested": {"deep": value}}):
        with pytest.raises(TypeError) as raised:
            run.log(payload)
        key = next(iter(flat("", payload)))[0].lstrip("/")
        assert repr(key) in str(raised.value)
        if cause is not None:
            assert isinstance(raised.value.__cause__, cause)
    assert run.step == 1
    run.finish()
    assert points(db_path, "loss") == {0: 1.0}


class BadStr:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def __str__(self) -> str:
        raise self.error


json_leaves = st.one_of(
    st.integers(),
    huge_ints,
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    numpy_values,
    hostile,
    st.builds(BadStr, errors),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.one_of(
        st.dictionaries(st.sampled_from("ab"), inner), st.lists(inner, max_size=2)
    ),
    max_leaves=6,
)


def test_config_and_summary_values_are_stored_as_json_or_refused_naming_the_key(
    db_path: Path,
) -> None:
    run = tracker.init(db=db_path, name="json", quiet=True, console=False)
    kept: dict[str, Any] = {}

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(value=json_values, where=st.sampled_from(["summary", "config", "update"]))
    def check(value: Any, where: str) -> None:
        target = run.config if where == "config" else run.summary
        key = f"k{len(kept)}"
        before = dict(target)
        try:
            if where == "update":
                target.update({key: value})
            else:
                target[key] = value
        except TypeError as exc:
            assert repr(key) in str(exc), str(exc)
            assert exc.__cause__ is not None
            assert dict(target) == before, "a refused value is not kept"
            return
        kept[key] = value

    check()
    assert run.flush()
    run.finish()
    conn = sqlite3.connect(db_path)
    config, summary = conn.execute("SELECT config, summary FROM runs").fetchone()
    conn.close()
    stored = {**json.loads(config), **json.loads(summary)}
    assert set(kept) <= set(stored)


@pytest.mark.parametrize(
    "value",
    [
        10**400,
        BadStr(Boom("no str")),
        {"deep": [BadStr(KeyError("x"))]},
        np.array(10**400, dtype=object),
    ],
    ids=["10**400", "str-raises", "nested-str-raises", "object-array"],
)
def test_init_refuses_a_config_it_cannot_store_naming_the_key(db_path: Path, value: Any) -> None:
    with pytest.raises(TypeError, match="'bad'") as raised:
        tracker.init(db=db_path, config={"ok": 1, "bad": value}, quiet=True, console=False)
    assert raised.value.__cause__ is not None
