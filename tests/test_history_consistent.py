"""A history is whole and ``samples=N`` is at most N rows.

Whole: a real writer process logs three keys in one ``log()`` call per step at full speed while
this process reads ``run.history()`` (and ``Store.history_columns_many``) over and over, on
SQLite and PostgreSQL (``any_db``); no row may hold some of the keys and not the others (read
one series at a time, a key read later was 500-1,500 steps ahead of the others).

Sampled: for any number of keys, any logging pattern with NaN/±inf and any N, at most N rows
(exactly N where there are more), every key's extremes kept when ``N >= 2 * keys``, and the
first and last rows too when ``N >= 2 * keys + 2``.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tracker
from tracker.api.frames import SeriesArrays, aligned, sample_rows
from tracker.db import open_store, parse_target

KEYS = ["a", "b", "c/d"]
WRITER = textwrap.dedent(
    """
    import os, sys, tracker
    db, stop = sys.argv[1], sys.argv[2]
    run = tracker.init(project="live", name="w", db=db, quiet=True, console=False)
    step = 0
    while step < 5_000_000 and (step % 256 or not os.path.exists(stop)):  # the stop ends it
        run.log({"a": step, "b": -step, "c": {"d": 2 * step}})
        step += 1
    run.finish()
    print(step)
    """
)


def _whole(frame: Any) -> None:
    partial = frame[frame[KEYS].isna().any(axis=1)]
    assert partial.empty, f"{len(partial)} of {len(frame)} rows lack a key:\n{partial.tail()}"
    assert (frame["b"] == -frame["a"]).all() and (frame["c/d"] == 2 * frame["a"]).all()


def test_a_live_run_s_history_is_one_snapshot(any_db: str, tmp_path: Path) -> None:
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, any_db, str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20  # only a stuck writer gets near this
        store = None
        while store is None:  # the writer's first commit: the database and run exist
            assert writer.poll() is None, writer.communicate()
            assert time.monotonic() < deadline, "the writer never committed"
            try:
                with tracker.Api(any_db) as api:
                    runs = api.runs(project="live")
                    if runs and all(k in runs[0].metrics for k in KEYS):
                        store = open_store(parse_target(any_db))
            except tracker.DatabaseError:
                pass  # not created yet
        reads, grown, rows = 0, 0, 0
        end = time.monotonic() + 3
        with tracker.Api(any_db) as api:
            while grown < 6 and time.monotonic() < end:
                run = api.runs(project="live")[0]
                frame = run.history()
                _whole(frame)
                columns = store.history_columns_many([run.metrics[k].series_id for k in KEYS])
                assert len({len(c) for c in columns.values()}) == 1, {
                    k: len(columns[run.metrics[k].series_id]) for k in KEYS
                }
                reads += 1
                grown += len(frame) > rows
                rows = len(frame)
        store.close()
        assert grown >= 2, f"the run grew in only {grown} of {reads} reads"
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=20)
    assert writer.returncode == 0, err
    with tracker.Api(any_db) as api:
        final = api.runs(project="live")[0].history()
    _whole(final)
    assert len(final) == int(out) > rows


finite_or_not = st.one_of(
    st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0])
)


@settings(max_examples=200, deadline=None)
@given(st.data(), st.integers(1, 6), st.integers(1, 250), st.integers(1, 60))
def test_samples_are_at_most_n_rows_and_keep_the_extremes(
    data: st.DataObject, keys: int, steps: int, samples: int
) -> None:
    names = [f"k{i}" for i in range(keys)]
    logged: dict[str, dict[int, float]] = {}
    for name in names:
        at = data.draw(st.lists(st.integers(0, steps - 1), min_size=1, unique=True), name)
        values = data.draw(st.lists(finite_or_not, min_size=len(at), max_size=len(at)))
        logged[name] = dict(zip(sorted(at), values, strict=True))
    columns = aligned(
        {
            name: SeriesArrays(
                np.array(list(points), np.int64),
                np.array(list(points.values()), np.float64),
                np.array(list(points), np.float64),
            )
            for name, points in logged.items()
        }
    )
    n = len(columns)
    out = sample_rows(columns, names, samples)
    kept = out.data["step"].tolist()
    assert kept == sorted(set(kept))
    assert len(out) == min(n, samples)  # never more, and the budget is used
    if samples < 2 * keys:
        return
    for name, points in logged.items():
        at_kept = [points[s] for s in kept if s in points]
        finite = [v for v in points.values() if math.isfinite(v)]
        odd = len(finite) < len(points)
        if finite:
            assert min(finite) in at_kept, name
        if odd:  # a NaN or inf takes the largest slot: one of them survives
            assert any(not math.isfinite(v) for v in at_kept), name
        elif finite:
            assert max(finite) in at_kept, name
    if samples >= 2 * keys + 2:
        all_steps = columns.data["step"]
        assert kept[0] == all_steps[0] and kept[-1] == all_steps[-1]


def test_samples_cap_many_keys_through_the_api(tmp_path: Path) -> None:
    """The outside tester's case: 20 keys, samples=10 gave 42 rows, samples=50 the same 42."""
    db = tmp_path / "many.db"
    rng = np.random.default_rng(0)
    with tracker.init(project="many", db=str(db), quiet=True, console=False) as writer:
        for step in range(2000):
            writer.log({f"k{i}": float(rng.normal()) for i in range(20)}, step=step)
    with tracker.Api(db) as api:
        run = api.runs()[0]
        full = run.history()
        assert [len(run.history(samples=n)) for n in (1, 3, 10, 50, 500)] == [1, 3, 10, 50, 500]
        sampled = run.history(samples=42)
        for key in full.columns[2:]:
            assert sampled[key].min() == full[key].min() and sampled[key].max() == full[key].max()
        assert sampled["step"].iloc[0] == 0 and sampled["step"].iloc[-1] == 1999
        assert len(run.history(keys=["k0"], samples=3)) == 3
        with pytest.raises(ValueError, match="positive"):
            run.history(samples=0)
