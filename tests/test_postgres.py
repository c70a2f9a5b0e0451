"""The PostgreSQL store on a real server: the same records as SQLite for the same logging,
runs from many processes and (simulated) hosts, a restarted server, roles with least
privilege, credentials kept out of output, LISTEN/NOTIFY, and ``tracktui sync``.

Every test gets a fresh database on a throwaway server (``pg_url``, tests/conftest.py); they
skip, saying why, where PostgreSQL's binaries or psycopg are missing.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import tracker
from tracker.db import open_store
from tracker.db.target import mask_url, parse_target
from tracker.errors import DatabaseUnavailable, NotATrackerDatabase

from .helpers import ROOT, run_python, start_python, wait_for

pytestmark = pytest.mark.slow


def _log_same(db: str) -> str:
    run = tracker.init(project="parity", name="same", db=db, config={"lr": 1e-3}, quiet=True)
    for i in range(3000):
        values = {"loss": 1.0 / (i + 1), "acc": i % 97 / 97}
        if i % 500 == 7:
            values["loss"] = math.nan
        if i == 1234:
            values["acc"] = math.inf
        run.log(values, step=i)
    run.summary["best"] = 0.5
    run.finish()
    return run.id


def _view(db: str, run_id: str) -> dict[str, Any]:
    store = open_store(db)
    try:
        (run,) = [r for r in store.read_runs() if r.id == run_id]
        out: dict[str, Any] = {
            "status": run.status,
            "step": run.step,
            "config": run.config,
            "summary": {k: v for k, v in run.summary.items() if k != "_runtime"},
        }
        for key, metric in run.metrics.items():
            points = store.history(metric.series_id)
            out[key] = (
                metric.count,
                metric.min,
                metric.max,
                metric.nonfinite,
                [(p.seq, p.step, repr(p.value)) for p in points],
                [
                    (b.first_step, b.last_step, b.min, b.max, b.count, b.nonfinite)
                    for b in store.history_buckets(metric.series_id, 37)
                ],
                [repr(p.value) for p in store.history(metric.series_id, 2990, limit=5)],
                store.recent_mean(metric.series_id, metric.count, 20),
            )
        return out
    finally:
        store.close()


def test_same_records_as_sqlite(pg_url: str, tmp_path: Path) -> None:
    """One script, logged into both stores: every summary, point, bucket and mean agrees."""
    sqlite_view = _view(str(tmp_path / "runs.db"), _log_same(str(tmp_path / "runs.db")))
    pg_view = _view(pg_url, _log_same(pg_url))
    assert sqlite_view == pg_view
    assert pg_view["loss"][3] == 6 and pg_view["acc"][3] == 1  # NaN and inf counted


def test_read_changes_follows_new_points(pg_url: str) -> None:
    run = tracker.init(project="p", name="live", db=pg_url, quiet=True)
    for i in range(10):
        run.log({"loss": float(i)}, step=i)
    assert run.flush()
    store = open_store(pg_url)
    first = store.read_changes(0)
    (record,) = first.runs
    sid = record.metrics["loss"].series_id
    assert store.read_changes(first.version, {sid: 10}).runs == []  # nothing new: nothing read
    for i in range(10, 15):
        run.log({"loss": float(i)}, step=i)
    assert run.flush()
    later = store.read_changes(first.version, {sid: 10}, previous={record.id: record})
    assert [p.seq for p in later.points[sid]] == [11, 12, 13, 14, 15]
    assert later.runs[0].metrics["loss"].count == 15
    run.finish()
    store.close()


SWEEP_JOB = """
import os, sys, tracker
host, index = sys.argv[1], int(sys.argv[2])
run = tracker.init(project="sweep", name=f"job-{index}", db=os.environ["DB"],
                   config={"lr": 10 ** -index}, quiet=True)
wait_for_go()
for i in range(2000):
    run.log({"loss": 1.0 / (i + 1), "index": index}, step=i)
run.finish()
"""


def test_sixteen_writers_on_four_hosts_lose_nothing(pg_url: str) -> None:
    from .helpers import GO_PRELUDE, start_together

    argvs = [[f"host{n % 4}", str(n)] for n in range(16)]
    children = start_together(GO_PRELUDE + SWEEP_JOB, argvs, env={"DB": pg_url})
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert "locked" not in err and "cannot write" not in err, err
    store = open_store(pg_url)
    runs = store.read_runs()
    assert len(runs) == 16 and {r.status for r in runs} == {"finished"}
    for run in runs:
        loss = run.metrics["loss"]
        assert loss.count == 2000
        assert [p.seq for p in store.history(loss.series_id)] == list(range(1, 2001))
    store.close()


def test_a_restarted_server_loses_nothing_and_log_never_waits(tmp_path: Path) -> None:
    from .pg_cluster import Cluster, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with Cluster() as cluster:
        url = cluster.create_database("restart")
        run = tracker.init(project="p", name="survivor", db=url, quiet=True)
        worst = 0.0
        for i in range(600):
            if i == 200:
                cluster._halt("immediate")  # the server dies under the writer
            if i == 400:
                cluster.start()
            started = time.perf_counter()
            run.log({"loss": float(i)}, step=i)
            worst = max(worst, time.perf_counter() - started)
            time.sleep(0.002)
        assert run.flush(timeout=60)
        run.finish()
        store = open_store(url)
        (record,) = store.read_runs()
        assert record.status == "finished"
        points = store.history(record.metrics["loss"].series_id)
        assert [p.value for p in points] == [float(i) for i in range(600)]
        store.close()
    # log() only appends to a queue, whatever the server does: reconnecting takes seconds,
    # a loaded 2-core machine may still pause any call for a scheduling slice
    assert worst < 0.5


def test_a_run_on_another_host_is_crashed_once_its_heartbeat_is_stale(pg_url: str) -> None:
    child = start_python(
        """
import os, time, tracker
run = tracker.init(project="p", name="far", db=os.environ["DB"], quiet=True)
run.log({"loss": 1.0}, step=0)
run.flush()
print("logged", flush=True)
time.sleep(600)
""",
        env={"DB": pg_url, "TRACKTUI_HOST": "elsewhere"},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "logged"
        store = open_store(pg_url)
        (run,) = store.read_runs()
        assert run.host == "elsewhere" and run.status == "running"  # heartbeat is fresh
        child.send_signal(signal.SIGKILL)
        child.wait()
        later = run.updated_at + 61  # what a viewer sees a minute after the last heartbeat
        (stale,) = store.read_runs(now=later)
        assert stale.status == "crashed"
        store.close()
    finally:
        child.kill()
        child.wait()


def test_foreign_and_missing_databases_are_refused(
    pg_cluster: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    monkeypatch.setenv("TRACKTUI_INIT_TIMEOUT", "1.5")  # an unreachable server is waited for
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(NotATrackerDatabase, match="another application"):
        tracker.init(project="p", db=pg_url, quiet=True)
    fresh = pg_cluster.create_database()
    with pytest.raises(DatabaseUnavailable, match="no database here yet"):
        open_store(fresh)  # a reader never creates the schema
    unreachable = "postgresql://nobody:hunter2@127.0.0.1:1/none"
    with pytest.raises(DatabaseUnavailable) as caught:
        tracker.init(project="p", db=unreachable, quiet=True)
    assert "hunter2" not in str(caught.value) and "nobody:***@" in str(caught.value)
    assert "could not be reached for 1.5 s" in str(caught.value)
    assert "trying again" in capfd.readouterr().err


def test_unknown_schemes_are_refused_and_make_no_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for url in ("mysql://u:pw@host/db", "postgresq://u@host/db", "http://host/runs"):
        with pytest.raises(DatabaseUnavailable, match="cannot store runs at a"):
            tracker.init(project="p", db=url, quiet=True)
        result = subprocess.run(
            [sys.executable, "-m", "tui.cli", "ls", "--db", url],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        assert result.returncode == 1 and "cannot store runs at a" in result.stderr
        assert "pw@" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_passwords_never_shown(pg_url: str) -> None:
    """trust auth ignores the password, so a URL that carries one still connects: init()'s
    line, ls and the TUI's header must all show it masked."""
    secret_url = pg_url.replace("tracktui@", "tracktui:s3cr3t-pw@")
    assert mask_url(secret_url) == pg_url.replace("tracktui@", "tracktui:***@")
    result = run_python(
        """
import os, tracker
run = tracker.init(project="p", name="masked", db=os.environ["DB"])
run.log({"loss": 1.0}, step=0)
run.finish()
""",
        env={"DB": secret_url},
    )
    assert "s3cr3t-pw" not in result.stderr + result.stdout and "tracktui:***@" in result.stderr
    listing = subprocess.run(
        [sys.executable, "-m", "tui.cli", "ls", "--db", secret_url, "--json"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert listing.returncode == 0 and "masked" in listing.stdout
    assert "s3cr3t-pw" not in listing.stdout + listing.stderr
    assert parse_target(secret_url).shown == mask_url(secret_url)


def test_least_privilege_roles_from_the_readme(pg_cluster: Any, pg_url: str) -> None:
    import psycopg

    owner = tracker.init(project="p", name="schema-maker", db=pg_url, quiet=True)
    owner.finish()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        suffix = pg_url.rsplit("/", 1)[1]
        for role in (f"train_{suffix}", f"viewer_{suffix}"):
            conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(
            f"GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO train_{suffix}"
        )
        conn.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO train_{suffix}")
        conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer_{suffix}")
    train_url = pg_url.replace("tracktui@", f"train_{suffix}@")
    viewer_url = pg_url.replace("tracktui@", f"viewer_{suffix}@")
    run = tracker.init(project="p", name="least", db=train_url, quiet=True)
    for i in range(100):
        run.log({"loss": 1.0 / (i + 1)}, step=i)
    run.log({"sample": tracker.Image(__import__("numpy").zeros((4, 4, 3), "uint8"))}, step=99)
    run.alert("check", "text")
    run.finish()
    viewer = open_store(viewer_url)
    runs = {r.name: r for r in viewer.read_runs()}
    assert runs["least"].status == "finished" and runs["least"].metrics["loss"].count == 100
    assert runs["least"].media["sample"]["count"] == 1
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        viewer.begin()
        viewer.rename_run(runs["least"].id, "renamed", 0)
    viewer.rollback()
    viewer.close()


def test_notify_wakes_a_viewer(pg_url: str) -> None:
    run = tracker.init(project="p", name="notify", db=pg_url, quiet=True)
    run.log({"loss": 1.0}, step=0)
    assert run.flush()
    store = open_store(pg_url)
    woken = threading.Event()
    listener = store.listen(woken)
    assert listener is not None
    try:
        wait_for(lambda: listener._thread.is_alive(), what="the LISTEN thread")
        time.sleep(0.5)  # LISTEN registered (no condition to wait on from outside)
        woken.clear()
        run.log({"loss": 2.0}, step=1)
        assert woken.wait(5.0), "no NOTIFY reached the viewer"
    finally:
        listener.stop()
        store.close()
        run.finish()


def test_attached_nodes_record_their_own_hardware(pg_url: str) -> None:
    code = """
import os, sys, tracker
run = tracker.init(project="ddp", name="job", db=os.environ["DB"], id="ddpjob01",
                   system_interval=0.1, system_metrics=True, quiet=True)
for i in range(40):
    run.log({"loss": 1.0 / (i + 1)}, step=i)
    __import__("time").sleep(0.01)
run.finish()
"""
    children = [
        start_python(code, env={"DB": pg_url, "TRACKTUI_HOST": f"gpu-{n}", "GROUP_RANK": str(n)})
        for n in range(3)
    ]
    for child in children:
        _out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    store = open_store(pg_url)
    (run,) = store.read_runs()
    assert run.status == "finished" and run.host == "gpu-0"
    assert run.metrics["loss"].count == 40
    for n in (1, 2):
        assert run.metrics[f"node/gpu-{n}/loss"].count == 40
        assert any(k.startswith(f"sys/node/gpu-{n}/cpu/") for k in run.metrics)
    assert sorted(e.key for e in run.events if e.kind == "node") == ["gpu-1", "gpu-2"]
    store.close()


def _offline_run(db: Path, steps: int, run_id: str | None = None) -> str:
    run = tracker.init(
        project="offline", name="field", db=str(db), id=run_id,
        resume="allow" if run_id else None, quiet=True,
    )  # fmt: skip
    start = run.step
    for i in range(start, start + steps):
        run.log({"loss": 1.0 / (i + 1), "acc": float(i)}, step=i)
    run.log({"sample": tracker.Image(__import__("numpy").full((4, 4, 3), 9, "uint8"))})
    print(f"console line {start}")
    run.finish()
    return run.id


def _sync(source: str, destination: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "sync", source, destination],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


def test_sync_is_idempotent_incremental_and_resumable(pg_url: str, tmp_path: Path) -> None:
    local = tmp_path / "local.db"
    run_id = _offline_run(local, 1000)
    first = _sync(str(local), pg_url)
    assert first.returncode == 0, first.stderr
    assert "copied 2,000 points, 1 media" in first.stdout
    again = _sync(str(local), pg_url)
    assert "1 already up to date; copied 0 points, 0 media, 0 console chunks" in again.stdout
    _offline_run(local, 500, run_id)  # resumed offline: 500 more steps
    later = _sync(str(local), pg_url)
    assert "copied 1,000 points, 1 media" in later.stdout, later.stdout
    assert _view(str(local), run_id) == _view(pg_url, run_id)
    server = open_store(pg_url)
    assert server.row_counts(run_id) == open_store(str(local)).row_counts(run_id)
    server.close()


def test_sync_killed_midway_carries_on(pg_url: str, tmp_path: Path) -> None:
    local = tmp_path / "big.db"
    run = tracker.init(project="offline", name="big", db=str(local), quiet=True)
    total, page = 60_000, 5_000  # twelve transactions: killed after the first (10 ms polls)
    for i in range(total):
        run.log({"loss": float(i)}, step=i)
    run.finish()
    child = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "sync", str(local), pg_url, "--page-points", str(page)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    store = open_store(pg_url, write=True)

    def copied() -> int:
        sid = store.series_id(run.id, "loss")
        return store.read_series(sid, 1)[0] if sid is not None else 0

    wait_for(lambda: copied() >= page, timeout=60, what="a first page on the server")
    child.send_signal(signal.SIGKILL)
    child.wait()
    partial = copied()
    assert partial < total, "the sync finished before it was killed: make the run longer"
    assert partial % page == 0, "a page is copied whole or not at all"
    assert store.read_runs() == []  # a run half copied is not shown (as if it were complete)
    done = _sync(str(local), pg_url)
    assert done.returncode == 0, done.stderr
    assert f"copied {total - partial:,} points" in done.stdout, (partial, done.stdout)
    (record,) = store.read_runs()
    points = store.history(record.metrics["loss"].series_id)
    assert [p.value for p in points] == [float(i) for i in range(total)]
    store.close()


def test_the_tui_follows_a_sweep_on_the_server(pg_url: str) -> None:
    """Jobs in separate processes on separate (simulated) hosts log into one database while the
    TUI, woken by NOTIFY, follows them live."""
    import asyncio

    from tui.app import TrackTuiApp

    from .tui_helpers import TIMINGS, wait_until

    code = """
import os, sys, time, tracker
run = tracker.init(project="sweep", name=sys.argv[1], db=os.environ["DB"], quiet=True)
for i in range(100000):
    run.log({"loss": 1.0 / (i + 1)}, step=i)
    time.sleep(0.01)
"""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", code, f"job-{n}"],
            env={
                **os.environ,
                "DB": pg_url,
                "PYTHONPATH": str(ROOT),
                "TRACKTUI_HOST": f"h{n}",
                "TRACKTUI_SYSTEM_METRICS": "0",
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for n in range(3)
    ]

    async def follow() -> None:
        app = TrackTuiApp(parse_target(pg_url), timings=TIMINGS)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda: len(app.model.runs) == 3, timeout=30)
            steps = {r.id: r.step or 0 for r in app.model.runs.values()}
            await wait_until(
                pilot,
                lambda: all((r.step or 0) > steps[r.id] + 20 for r in app.model.runs.values()),
                timeout=30,
            )
            assert {r.host for r in app.model.runs.values()} == {"h0", "h1", "h2"}
            assert app.model.status.state == "ok"

    try:
        asyncio.run(follow())
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_a_batch_sent_again_after_a_lost_acknowledgement_is_not_doubled(pg_url: str) -> None:
    """The writer retries a batch whose commit went through but whose acknowledgement was lost
    (the connection broke in between), often with newer points after the old ones: what the
    series holds already is not stored twice, and the new points are kept."""
    from tracker.db import transaction

    store = open_store(pg_url, write=True)
    row = {"id": "resend01", "project": "p", "name": "r", "created_at": 1.0, "host": "h",
           "pid": 1, "pid_start": None, "tags": "[]", "config": "{}", "summary": "{}"}  # fmt: skip
    with transaction(store) as version:
        store.insert_run(row, version)
        sid = store.ensure_series("resend01", ["loss"], version)["loss"][0]

    def send(first: int, last: int, fresh_connection: bool = False) -> None:
        nonlocal store
        if fresh_connection:  # the writer reconnects after a failure: nothing cached
            store.close()
            store = open_store(pg_url, write=True)
        steps = list(range(first, last + 1))
        with transaction(store):
            store.insert_points([(sid, first, steps, [float(s) for s in steps], steps)])

    # The writer sends a batch again only on a new connection (it drops the old one after
    # any failure that may have hidden a commit): that connection's first batch is checked.
    send(1, 1)
    send(2, 3)  # appended to the short row
    send(2, 3, fresh_connection=True)  # sent again after a reconnect
    send(2, 5, fresh_connection=True)  # again, longer
    send(1, 200, fresh_connection=True)  # a long chunk that overlaps everything
    send(201, 201)
    send(201, 202, fresh_connection=True)
    points = store.history(sid)
    assert [p.seq for p in points] == list(range(1, 203))
    assert [p.value for p in points] == [float(s) for s in range(1, 203)]
    store.close()


def test_init_waits_for_a_server_that_is_starting(tmp_path: Path) -> None:
    """A sweep launched while the server restarts: init() keeps trying (up to
    $TRACKTUI_INIT_TIMEOUT) instead of failing at once."""
    from .pg_cluster import Cluster, unavailable_reason

    if unavailable_reason():
        pytest.skip(unavailable_reason() or "")
    with Cluster() as cluster:
        url = cluster.create_database("later")
        cluster._halt("fast")
        child = start_python(
            """
import os, tracker
run = tracker.init(project="p", name="patient", db=os.environ["DB"], quiet=True)
run.log({"loss": 1.0}, step=0)
run.finish()
print("done", flush=True)
""",
            env={"DB": url, "TRACKTUI_INIT_TIMEOUT": "60"},
        )
        try:
            assert child.stderr is not None
            said = ""
            while "trying again" not in said:  # the first failed attempt is said once
                line = child.stderr.readline()
                assert line, said
                said += line
            cluster.start()
            out, err = child.communicate(timeout=60)
            assert child.returncode == 0 and "done" in out, err
        finally:
            child.kill()
            child.wait()
        store = open_store(url)
        assert [r.name for r in store.read_runs()] == ["patient"]
        store.close()


def test_a_database_that_comes_back_empty_is_not_written_to_blindly(pg_cluster: Any) -> None:
    """The database is dropped and created again under a live run (a restore, a failover to
    a fresh instance): the writer must not acknowledge points nobody can ever see."""
    import psycopg

    url = pg_cluster.create_database("recreated")
    run = tracker.init(project="p", name="orphan", db=url, quiet=True)
    for i in range(20):
        run.log({"loss": float(i)}, step=i)
    assert run.flush()
    with psycopg.connect(pg_cluster.url(), autocommit=True) as admin:
        admin.execute("DROP DATABASE recreated WITH (FORCE)")
        admin.execute("CREATE DATABASE recreated")
    for i in range(20, 40):
        run.log({"loss": float(i)}, step=i)
    assert not run.flush(timeout=20)
    run.finish()
    pg_cluster.drop_database("recreated")


def test_sync_never_merges_two_runs_that_share_an_id(pg_url: str, tmp_path: Path) -> None:
    for name, value, steps in (("one", 1.0, 100), ("two", 2.0, 200)):
        run = tracker.init(project="p", name=name, db=str(tmp_path / f"{name}.db"),
                           id="collide1", quiet=True)  # fmt: skip
        for i in range(steps):
            run.log({"loss": value}, step=i)
        run.finish()
    assert _sync(str(tmp_path / "one.db"), pg_url).returncode == 0
    second = _sync(str(tmp_path / "two.db"), pg_url)
    assert second.returncode == 1 and "is another run than the destination's" in second.stdout
    assert "1 left out" in second.stdout
    store = open_store(pg_url)
    (run,) = store.read_runs()
    assert run.name == "one" and run.metrics["loss"].count == 100
    assert {p.value for p in store.history(run.metrics["loss"].series_id)} == {1.0}
    store.close()


def test_text_with_nul_is_kept_on_postgresql(pg_url: str) -> None:
    """PostgreSQL's text cannot hold NUL, SQLite's can: a name, an alert and console output
    holding one are stored (NUL shown as U+FFFD) instead of refused."""
    run = tracker.init(project="p", name="nul\x00name", db=pg_url, quiet=True, console=False)
    run.alert("bad\x00title", "text")
    run._queue.append(("console", run._handle, (1, time.time(), "a\x00b\n")))
    run.log({"loss": 1.0}, step=0)
    run.finish()
    store = open_store(pg_url)
    (record,) = store.read_runs()
    assert record.name == "nul\ufffdname" and record.status == "finished"
    assert [e.title for e in record.events if e.kind == "alert"] == ["bad\ufffdtitle"]
    assert [c[3] for c in store.read_console(record.id)] == ["a\ufffdb\n"]
    store.close()


def test_media_console_and_events_of_a_batch_sent_again_are_stored_once(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np
    import psycopg

    from tracker.db.postgres.store import PostgresStore

    committed = PostgresStore.commit
    lose_next = False

    def commit(store: PostgresStore) -> None:
        nonlocal lose_next
        committed(store)
        if lose_next:
            lose_next = False
            raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(PostgresStore, "commit", commit)
    run = tracker.init(project="p", name="once", db=pg_url, quiet=True, console=False)
    run.log({"loss": 1.0}, step=0)
    assert run.flush()
    lose_next = True
    run.log({"sample": tracker.Image(np.zeros((4, 4, 3), "uint8")), "loss": 2.0}, step=1)
    run.alert("spike", "loss went up")
    run._queue.append(("console", run._handle, (1, time.time(), "epoch 1\n")))
    run.flush(timeout=30)
    run.finish()
    store = open_store(pg_url)
    (record,) = store.read_runs()
    assert store.row_counts(record.id) == {"media": 1, "console": 1, "events": 1}
    assert record.metrics["loss"].count == 2
    store.close()


def test_a_server_gone_just_after_connecting_is_a_database_error(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server died between letting a reader in and its first statement: the driver's own
    OperationalError came out of open_store (a torture run caught it once), where callers
    expect DatabaseError (ServerUnreachable: worth retrying)."""
    import psycopg

    from tracker.errors import ServerUnreachable

    real = psycopg.Connection.execute

    def execute(self: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
        if str(query).startswith("SET lock_timeout"):
            raise psycopg.OperationalError("consuming input failed: server closed the connection")
        return real(self, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", execute)
    with pytest.raises(ServerUnreachable, match="server closed the connection"):
        open_store(pg_url)
