"""``Store.history_columns``: the columnar read ``tracker.Api`` builds its frames from holds
exactly what ``Store.history`` returns, element for element, in SQLite, PostgreSQL (``any_db``)
and several SQLite files (``MultiStore``): NaN in the same places, ±inf, huge and tiny floats,
-0.0, huge steps, a step logged twice, resumed runs, ``after_seq``, an empty series and a one-point one."""

from __future__ import annotations

import math
import sys
import uuid
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracker
from tracker.db import Store, open_store
from tracker.db.base import SeriesColumns, transaction
from tracker.db.multi import MultiStore
from tracker.db.target import several

SPECIAL = [
    math.nan,
    math.inf,
    -math.inf,
    sys.float_info.max,
    -sys.float_info.max,
    5e-324,
    sys.float_info.min,
    -0.0,
    0.0,
    1.0,
]


def _assert_same(store: Store, series: int, after_seq: int = 0) -> SeriesColumns:
    """The columns equal ``history()``'s points, bit for bit (NaN at the same places)."""
    columns = store.history_columns(series, after_seq)
    expected = SeriesColumns.of_points(store.history(series, after_seq))
    assert len(columns) == len(expected)
    for name in ("seq", "step", "value", "t"):
        got, want = getattr(columns, name), getattr(expected, name)
        assert got.dtype == want.dtype and got.ndim == 1, name
        assert got.flags.c_contiguous, name
        if name == "value":
            nan = np.isnan(want)
            assert np.array_equal(np.isnan(got), nan)
            # bit for bit where not NaN: ±inf, subnormals and the sign of zero as history() has them
            assert np.array_equal(got[~nan].view(np.int64), want[~nan].view(np.int64))
        else:
            assert np.array_equal(got, want), name
    return columns


def _log(db: str, values: list[float], steps: list[int] | None = None, **init: object) -> str:
    run = tracker.init(db=db, quiet=True, console=False, **init)  # type: ignore[arg-type]
    for index, value in enumerate(values):
        run.log({"v": value}, step=None if steps is None else steps[index])
    run.finish()
    return run.id


def _series(store: Store, run_id: str, key: str = "v") -> int:
    sid = store.series_id(run_id, key)
    assert sid is not None
    return sid


def test_columns_equal_history_with_nonfinite_values_and_after_seq(any_db: str) -> None:
    values = [SPECIAL[i % len(SPECIAL)] * (1 if i % 3 else -1) for i in range(2_500)]
    steps = [i // 2 for i in range(len(values))]  # each step logged twice
    run_id = _log(any_db, values, steps)
    store = open_store(any_db)
    try:
        sid = _series(store, run_id)
        full = _assert_same(store, sid)
        assert len(full) == 2_500 and full.seq[0] == 1 and full.step[-1] == 1_249
        assert int(np.isnan(full.value).sum()) == 250 and np.isposinf(full.value).any()
        assert np.isneginf(full.value).any() and 5e-324 in full.value
        for after in (1, 999, 1_000, 2_499, 2_500, 10_000):
            part = _assert_same(store, sid, after)
            assert len(part) == max(0, 2_500 - after)
            assert np.array_equal(part.seq, np.arange(after + 1, 2_501))
    finally:
        store.close()


def test_a_resumed_run_reads_as_one_series(any_db: str) -> None:
    run_id = f"resumed-{uuid.uuid4().hex[:8]}"
    _log(any_db, [1.0, math.nan, 3.0], id=run_id, resume="allow")
    _log(any_db, [math.inf, 5.0], [10, 11], id=run_id, resume="allow")
    _log(any_db, [6.0], [11], id=run_id, resume="allow")  # a step logged again, later
    store = open_store(any_db)
    try:
        sid = _series(store, run_id)
        columns = _assert_same(store, sid)
        assert columns.seq.tolist() == [1, 2, 3, 4, 5, 6]
        assert columns.step.tolist() == [0, 1, 2, 10, 11, 11]
        assert np.array_equal(columns.value, [1.0, math.nan, 3.0, math.inf, 5.0, 6.0], True)
        assert bool(np.all(np.diff(columns.t) >= 0))
        for after in range(7):
            _assert_same(store, sid, after)
    finally:
        store.close()


def test_a_series_whose_seqs_have_a_gap(any_db: str) -> None:
    run_id = _log(any_db, [1.0, 2.0, 3.0])
    store = open_store(any_db, write=True)
    try:
        sid = _series(store, run_id)
        with transaction(store):  # points 10 and 11, as no writer numbers them: seqs 4-9 absent
            store.insert_points([(sid, 10, [7, 8], [math.nan, -math.inf], [5_000, 6_000])])
        columns = _assert_same(store, sid)
        assert columns.seq.tolist() == [1, 2, 3, 10, 11] and columns.t[-1] == 6.0
        assert np.isnan(columns.value[3]) and columns.value[4] == -math.inf
        for after in (2, 3, 9, 10):
            _assert_same(store, sid, after)
        with transaction(store):  # a NULL value no writer stores (PostgreSQL: inside an array)
            store.insert_points([(sid, 12, [9], [None], [7_000])])  # type: ignore[list-item]
        columns = _assert_same(store, sid)
        assert columns.seq.tolist() == [1, 2, 3, 10, 11, 12] and np.isnan(columns.value[-1])
    finally:
        store.close()


def test_an_empty_series_and_a_series_of_one_point(any_db: str) -> None:
    run_id = _log(any_db, [math.nan])
    store = open_store(any_db)
    try:
        one = _assert_same(store, _series(store, run_id))
        assert len(one) == 1 and math.isnan(float(one.value[0])) and one.seq.tolist() == [1]
        for empty in (
            store.history_columns(_series(store, run_id), after_seq=1),
            store.history_columns(10**6),  # no such series
        ):
            assert len(empty) == 0
            assert [getattr(empty, n).dtype for n in ("seq", "step", "value", "t")] == [
                np.int64,
                np.int64,
                np.float64,
                np.float64,
            ]
    finally:
        store.close()


def test_several_files_read_each_series_from_its_own_file(tmp_path: Path) -> None:
    firsts = {
        "one": _log(str(tmp_path / "one.db"), [1.0, math.nan, -math.inf]),
        "two": _log(str(tmp_path / "two.db"), [5e-324, math.inf], [5, 2**62]),
    }
    store = open_store(several([tmp_path / "one.db", tmp_path / "two.db"]))
    try:
        assert isinstance(store, MultiStore)
        sids = {name: _series(store, run_id) for name, run_id in firsts.items()}
        assert sids["one"] != sids["two"]  # the same local id in each file, told apart
        one, two = _assert_same(store, sids["one"]), _assert_same(store, sids["two"])
        assert np.array_equal(one.value, [1.0, math.nan, -math.inf], equal_nan=True)
        assert two.step.tolist() == [5, 2**62] and two.value.tolist() == [5e-324, math.inf]
        _assert_same(store, sids["two"], 1)
        assert len(store.history_columns(sids["one"] + (1 << 40))) == 0  # a file never opened
    finally:
        store.close()


floats = st.one_of(
    st.sampled_from(SPECIAL),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e-300, max_value=1e-300),
    st.integers(-(2**53), 2**53).map(float),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=st.lists(floats, min_size=1, max_size=60),
    steps=st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=60),
    after=st.integers(0, 70),
)
def test_columns_equal_history_for_any_values(
    any_db: str, values: list[float], steps: list[int], after: int
) -> None:
    # steps only go forward (an earlier one is dropped), the same one may come again
    steps = sorted((steps * len(values))[: len(values)])
    run_id = _log(any_db, values, steps)  # every example: a new run in the test's database
    store = open_store(any_db)
    try:
        sid = _series(store, run_id)
        _assert_same(store, sid)
        _assert_same(store, sid, after)
    finally:
        store.close()
