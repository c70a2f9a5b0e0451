"""The read API the TUI stands on: history, SQL downsampling, deltas since a cursor; on both
backends (``any_db``: a SQLite file and a PostgreSQL database)."""

from __future__ import annotations

import itertools
import math

import tracker
from tracker.db import open_store

from .helpers import in_transaction, run_python


def test_history_and_buckets_keep_spikes_and_count_nan(any_db: str) -> None:
    run = tracker.init(db=any_db, quiet=True)
    for step in range(10_000):
        value = 1.0
        if step == 4321:
            value = 50.0  # one spike
        elif step == 777:
            value = math.nan
        run.log({"loss": value})
    run.finish()
    reader = open_store(any_db)
    sid = reader.series_id(run.id, "loss")
    assert sid is not None
    full = reader.history(sid)
    assert len(full) == 10_000 and full[4321].value == 50.0 and math.isnan(full[777].value)
    assert [p.seq for p in reader.history(sid, after_seq=9_998)] == [9_999, 10_000]
    # A few points (a live viewer's delta) and many: the NaN is a NaN either way.
    assert math.isnan(reader.history(sid, after_seq=770, limit=10)[7].value)  # seq 778: step 777
    assert math.isnan(reader.history(sid, after_seq=700, limit=3000)[77].value)
    assert all(p.value == 1.0 for p in reader.history(sid, after_seq=800, limit=10))
    buckets = reader.history_buckets(sid, 100)
    assert len(buckets) == 100
    assert sum(b.count for b in buckets) == 10_000
    assert max(b.max for b in buckets if b.max is not None) == 50.0  # the spike survives
    assert sum(b.nonfinite for b in buckets) == 1
    assert buckets[0].first_step == 0 and buckets[-1].last_step == 9_999
    assert all(a.last_step < b.first_step for a, b in itertools.pairwise(buckets))
    reader.close()


def test_read_changes_returns_only_what_is_new(any_db: str) -> None:
    run = tracker.init(name="a", db=any_db, quiet=True)
    run.log({"loss": 1.0})
    run.flush()
    reader = open_store(any_db)
    first = reader.read_changes(0)
    assert [r.name for r in first.runs] == ["a"] and first.points == {}
    sid = first.runs[0].metrics["loss"].series_id
    nothing = reader.read_changes(first.version, {sid: 1})
    assert nothing.runs == [] and nothing.points == {} and nothing.version == first.version
    before = reader.change_token()
    run.log({"loss": 2.0})
    run.log({"loss": 3.0, "new": 1.0})
    run.flush()
    assert reader.change_token() != before  # the cheap probe sees another connection's commit
    delta = reader.read_changes(first.version, {sid: 1})
    assert [p.value for p in delta.points[sid]] == [2.0, 3.0]
    assert set(delta.runs[0].metrics) == {"loss", "new"}
    assert not in_transaction(reader)
    run.finish()
    reader.close()


def test_read_changes_with_held_records_reads_only_changed_series(any_db: str) -> None:
    """A reader that passes the records it holds gets the same records as a full read, with
    unchanged summaries reused, changed ones new, and a new run read whole."""
    run = tracker.init(name="a", db=any_db, quiet=True, system_metrics=False)
    run.log({"loss": 1.0, "acc": 0.5, "lr": 0.1})
    run.flush()
    reader = open_store(any_db)
    first = reader.read_changes(0)
    held = {r.id: r for r in first.runs}
    run.log({"loss": 0.5})
    other = tracker.init(name="b", db=any_db, quiet=True, system_metrics=False, reinit="create_new")
    other.log({"loss": 9.0})
    run.flush()
    other.flush()
    delta = reader.read_changes(first.version, previous=held)
    full = {r.id: r for r in reader.read_changes(0).runs}
    assert {r.id for r in delta.runs} == {run.id, other.id}
    for record in delta.runs:
        assert record.metrics == full[record.id].metrics
    mine = next(r for r in delta.runs if r.id == run.id)
    assert mine.metrics["loss"].last == 0.5 and mine.metrics["loss"].count == 2
    assert mine.metrics["acc"] is held[run.id].metrics["acc"]  # reused, not parsed again
    assert held[run.id].metrics["loss"].last == 1.0  # what the caller holds is left alone
    run.finish()
    other.finish()
    reader.close()


def test_heartbeat_refreshes_updated_at(any_db: str) -> None:
    result = run_python(
        """
        import sys, time, tracker
        from tracker import writer
        writer.HEARTBEAT_INTERVAL_S = 0.2
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"a": 1.0})
        run.flush()
        from tracker.db import open_store
        reader = open_store(sys.argv[1])
        deadline = time.monotonic() + 10  # nothing more is logged: only heartbeats write
        while time.monotonic() < deadline:
            (record,) = reader.read_runs()
            if record.updated_at - record.created_at >= 0.5:
                break
            time.sleep(0.05)
        print(record.updated_at - record.created_at)
        reader.close()
        run.finish()
        """,
        any_db,
    )
    assert float(result.stdout) >= 0.5


def test_tracker_stays_headless(any_db: str) -> None:
    result = run_python(
        """
        import sys
        import tracker, tracker.filters, tracker.ranking, tracker.db, tracker.db.sqlite.store, tracker.db.sqlite.schema
        run = tracker.init(db=sys.argv[1], quiet=True)
        run.log({"a": 1.0})
        run.finish()
        banned = [m for m in sys.modules if m.split(".")[0] in ("textual", "plotext", "watchdog", "tui", "rich")]
        print(banned)
        """,
        any_db,
    )
    assert result.stdout.strip() == "[]"
