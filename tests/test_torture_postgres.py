"""The torture test on PostgreSQL: many writers, readers and outside programs on one database,
with chaos, and a server that is restarted under them.

tests/test_torture.py's machinery on a server of its own (a private ``Cluster``: this test
stops it): several training processes (``tests/torture_writer.py``, given the database's URL)
log batches of random sizes and flush at random moments, printing what each ``flush()``
acknowledged; meanwhile a reader follows every series through ``Store.read_changes`` (keeping
its cursor across reconnections), the TUI's reader follows them too, and ``ls --json``,
``psql -c`` (where it is on PATH), psycopg connections (in this process, in a long read
transaction, and in children) and the TUI's tag-best read and write; a seeded schedule SIGKILLs
writers, SIGSTOPs them and lets them go on, and restarts the server (immediate shutdown, a
seeded pause, start) at least twice. At the end:

- every series holds exactly a prefix of what its writer logged (no gap, no duplicate, no
  foreign or wrong value), its summary count and last step match its points, and its chunks
  tile it (each starts where the one before ended; the arrays are as long as the range says);
- every point acknowledged by ``flush()`` is there; every run whose ``finish()`` returned (or
  that ended through atexit) is finished, with every point it logged;
- ``ls --json`` always exited 0 with valid JSON, and neither reader skipped, repeated or
  misread a point. A reader's or an outside program's failure counts unless a restart
  explains it (one happened while it ran, or since the connection that failed was opened).

Every fault kind (SIGKILL, SIGSTOP, each outside program, two restarts) happens in every run.
``TRACKTUI_TORTURE_SEED`` replays a schedule (the seed is printed at the start and in every
failure); ``TRACKTUI_SOAK_S`` (default 8) is how many seconds the chaos lasts (a long soak:
e.g. ``TRACKTUI_SOAK_S=600``); ``TRACKTUI_TORTURE_SCALE`` (default 1) multiplies that, the
writers alive at once and the restarts.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tracker.annotate import tag_exclusively
from tracker.db import Store, open_store, parse_target
from tracker.errors import DatabaseError
from tracker.models import Point

from .helpers import in_transaction
from .test_torture import (
    START_TIMEOUT_S,
    Stored,
    Torture,
    TuiReaderCheck,
    _same,
    check_stored,
)
from .torture_writer import keys_at, value_at

if TYPE_CHECKING:
    from .pg_cluster import Cluster

pytestmark = pytest.mark.slow

DOWN_S = (0.0, 1.0)  # how long the server stays down at a restart (seeded, uniform)
POINTS_QUERY = "SELECT count(*), coalesce(sum(last_seq - first_seq + 1), 0) FROM points"


class ServerTorture(Torture):
    """test_torture's schedule, writers and checks, on a server this test restarts."""

    def __init__(self, cluster: Cluster, url: str, seed: int, scale: float) -> None:
        super().__init__(url, seed, scale)
        self.url = url
        self.cluster = cluster
        self.has_psql = shutil.which("psql") is not None
        self.outages: list[list[float]] = []  # [stopped at, ready again at (inf while down)]
        self.excused: Counter[str] = Counter()  # failures a restart explains
        own = random.Random(f"{seed}:server")  # the restarts' own draws: the schedule's stay
        restarts = max(2, round(3 * scale))
        slot = (self.chaos_s - 3.0) / restarts  # the last one well before the writers end
        self.restarts = [(slot * (i + own.uniform(0.15, 0.85)), own.uniform(*DOWN_S)) for i in range(restarts)]  # fmt: skip

    def writer_mode(self, index: int, own: random.Random) -> str:
        return "normal"  # a server's disk is not this process's to fill

    # -- the server ----------------------------------------------------------------------------

    def tick(self, elapsed: float) -> None:
        if self.restarts and elapsed >= self.restarts[0][0]:
            _at, down = self.restarts.pop(0)
            self.restart(down)

    def restart(self, down: float) -> None:
        """Immediate shutdown (the server's processes die at once; the next start runs crash
        recovery), ``down`` seconds without a server, then start it on the same data and port."""
        outage = [time.monotonic(), math.inf]
        self.outages.append(outage)
        self.cluster._halt("immediate")
        time.sleep(down)
        self.cluster.start()
        outage[1] = time.monotonic()
        self.actions["server restart"] += 1

    def outage_between(self, start: float, end: float) -> bool:
        """Whether the server was down (or restarting) at some moment from ``start`` to ``end``."""
        return any(stopped <= end and ready >= start for stopped, ready in self.outages)

    def excuse(self, what: str, began: float, problem: str) -> None:
        """A failure: explained by a restart since ``began``, or a finding."""
        if self.outage_between(began, time.monotonic()):
            self.excused[what] += 1
        else:
            self.problems.append(problem)

    # -- outside programs ----------------------------------------------------------------------

    def outside_failed(self, name: str, exc: Exception, began: float) -> None:
        self.excuse(name, began, f"{name} (no restart meanwhile) raised {exc!r}")

    def _connection_here(self, hold: float) -> None:
        """Anyone's script: a read-write connection, and a read transaction held open a while
        (MVCC: it must hold up no writer)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(POINTS_QUERY).fetchone()
            conn.execute("SELECT id, status, step FROM runs").fetchall()
            conn.execute("SELECT run_id, key, count FROM series").fetchall()
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                conn.execute(POINTS_QUERY).fetchone()
                time.sleep(hold)
                conn.execute("SELECT max(version) FROM series").fetchone()

    def _tag_best(self, pick: float) -> None:
        ids = sorted(w.run_id for w in self.writers if w.run_id)
        if ids:
            tag_exclusively(parse_target(self.url), "best", ids[int(pick * len(ids))], ids)

    def outside_choices(self, detail: float) -> list[tuple[str, Callable[[], None]]]:
        url = self.url
        choices: list[tuple[str, Callable[[], None]]] = [
            ("psycopg connection here", lambda: self._connection_here(0.5 * detail)),
            ("tag best", lambda: self._tag_best(detail)),
            (
                "psycopg connection in a child",
                lambda: self._child(
                    "a child's psycopg connection",
                    [
                        sys.executable,
                        "-c",
                        "import psycopg, sys; c = psycopg.connect(sys.argv[1], connect_timeout=10);"
                        f" c.execute({POINTS_QUERY!r}).fetchone(); c.close()",
                        url,
                    ],
                ),
            ),
            (
                "ls --json",
                lambda: self._child(
                    "tracktui ls --json",
                    [sys.executable, "-m", "tui.cli", "ls", "--db", url, "--json"],
                    check_json=True,
                ),
            ),
        ]
        if self.has_psql:
            choices.append(
                (
                    "psql -c",
                    lambda: self._child(
                        "psql -c",
                        [
                            "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url,
                            "-c", POINTS_QUERY,
                            "-c", "SELECT status, count(*) FROM runs GROUP BY status",
                        ],
                    ),
                )
            )  # fmt: skip
        return choices


def _connection_lost(store: Store) -> bool:
    """Whether the store's psycopg connection is broken (its transaction status is then UNKNOWN,
    which :func:`in_transaction` cannot tell from an open transaction)."""
    import psycopg

    conn: Any = store.conn  # type: ignore[attr-defined]  # not part of the Store interface
    return bool(conn.info.transaction_status == psycopg.pq.TransactionStatus.UNKNOWN)


@dataclass
class DeltaFollower:
    """A reader in a thread that follows every series through ``read_changes`` and checks each
    point it gets. Its cursor (the version and the last seq of each series) survives lost
    connections: after a restart it asks the new connection for what changed since then."""

    torture: ServerTorture
    stop: threading.Event = field(default_factory=threading.Event)
    polls: int = 0
    points: int = 0
    opens: int = 0
    version: int = 0
    held: dict[int, tuple[int, int]] = field(default_factory=dict)  # series -> (seq, step) held
    meaning: dict[int, tuple[int, int]] = field(default_factory=dict)  # series -> (writer, key)

    def problem(self, text: str) -> None:
        self.torture.problems.append(f"the read_changes reader: {text}")

    def run(self) -> None:
        store: Store | None = None
        opened = time.monotonic()
        try:
            while not self.stop.is_set():
                try:
                    if store is None:
                        opened = time.monotonic()
                        store = open_store(self.torture.url)
                        self.opens += 1
                    self.poll(store)
                except DatabaseError as exc:
                    self.torture.excuse(
                        "the read_changes reader", opened, f"the read_changes reader: {exc}"
                    )
                    if store is not None:
                        store.close()
                    store = None
                self.stop.wait(0.05)
        except Exception as exc:  # a reader that raises anything else is the finding
            self.problem(f"raised {exc!r}")
        finally:
            if store is not None:
                store.close()

    def poll(self, store: Store) -> None:
        follow = {sid: seq for sid, (seq, _step) in self.held.items()}
        began = time.monotonic()
        changes = store.read_changes(self.version, follow)
        self.polls += 1
        if in_transaction(store):
            text = "the read_changes reader: a read transaction was left open"
            if _connection_lost(store):  # the server went away under it: no transaction at all
                self.torture.excuse("the read_changes reader", began, text)
            else:
                self.torture.problems.append(text)
        for sid, points in changes.points.items():
            self.check(sid, points)
        for run in changes.runs:
            if not run.name.startswith("w"):
                continue
            for key, summary in run.metrics.items():
                sid = summary.series_id
                if sid in self.held:
                    continue
                points = self._history(store, sid)  # a new series: its history so far, once
                self.meaning[sid] = (int(run.name[1:]), int(key[1:]))
                self.held[sid] = (0, -1)
                self.check(sid, points)
        self.version = changes.version

    @staticmethod
    def _history(store: Store, sid: int) -> list[Point]:
        try:
            return store.history(sid)
        except Exception as exc:
            if isinstance(exc, store.errors()):  # history() is a primitive: the driver's own
                raise DatabaseError(store.target.shown, f"history: {exc}") from None
            raise

    def check(self, sid: int, points: list[Point]) -> None:
        if sid not in self.held or sid not in self.meaning:
            self.problem(f"got points of series {sid} before reading its history")
            return
        writer, key = self.meaning[sid]
        seq, step = self.held[sid]
        for point in points:
            self.points += 1
            if point.seq != seq + 1 or point.step <= step:
                self.problem(
                    f"series {sid} (w{writer} m{key}) went from seq {seq} step {step} to seq"
                    f" {point.seq} step {point.step}"
                )
                break
            if keys_at(writer, point.step) <= key or not _same(
                point.value, value_at(writer, point.step, key)
            ):
                self.problem(
                    f"series {sid} (w{writer} m{key}) step {point.step} has {point.value!r},"
                    f" logged {value_at(writer, point.step, key)!r}"
                )
                break
            seq, step = point.seq, point.step
        self.held[sid] = (seq, step)


@dataclass
class ServerTuiReaderCheck(TuiReaderCheck):
    """The TUI's reader; it may say it cannot read while the server restarts, never otherwise."""

    torture: Any = None

    def error_status(self, reason: str) -> None:
        self.torture.excuse("the TUI's reader", self.opened_at, f"the TUI's reader: {reason}")


def _read_server(torture: ServerTorture) -> Stored:
    """The database read back through the Store interface, and its chunks checked raw."""
    import psycopg

    stored = Stored(torture.problems)
    store = open_store(torture.url)
    try:
        runs = store.read_runs()
        stored.runs = {r.id: (r.name, r.stored_status, r.dropped) for r in runs}
        stored.series = {
            m.series_id: (r.id, key, m.count, m.last_step)
            for r in runs
            for key, m in r.metrics.items()
        }
        for sid in sorted(stored.series):
            for point in store.history(sid):
                stored.point(sid, point.seq, point.step, point.value)
    finally:
        store.close()
    ends: dict[int, int] = {}
    with psycopg.connect(torture.url) as conn:
        for sid, first, last, *lengths in conn.execute(
            "SELECT series_id, first_seq, last_seq, cardinality(steps), cardinality(vals),"
            " cardinality(ts) FROM points ORDER BY series_id, first_seq"
        ):
            if first != ends.get(sid, 0) + 1 or set(lengths) != {last - first + 1}:
                torture.problems.append(
                    f"series {sid}: a chunk of seqs {first}-{last} with arrays of {lengths}"
                    f" after seq {ends.get(sid, 0)}"
                )
            ends[sid] = max(last, ends.get(sid, 0))
    for sid, (_run, key, count, _last) in stored.series.items():
        if ends.get(sid, 0) != count:
            torture.problems.append(f"series {sid} ({key}): count {count}, chunks end at {ends.get(sid, 0)}")  # fmt: skip
    return stored


def test_torture_postgres(tmp_path: Path) -> None:
    from .pg_cluster import Cluster, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    seed = int(os.environ.get("TRACKTUI_TORTURE_SEED") or random.SystemRandom().randrange(2**32))
    scale = float(os.environ.get("TRACKTUI_TORTURE_SCALE") or 1.0)
    print(f"torture: TRACKTUI_TORTURE_SEED={seed} TRACKTUI_TORTURE_SCALE={scale:g}", flush=True)
    began = time.monotonic()
    with Cluster() as cluster:  # its own: this test stops it
        url = cluster.create_database("torture")
        torture = ServerTorture(cluster, url, seed, scale)
        follower = DeltaFollower(torture)
        tui = ServerTuiReaderCheck(parse_target(url), torture.problems, torture=torture)
        threads = [
            threading.Thread(target=follower.run, daemon=True),
            threading.Thread(target=tui.run, daemon=True),
        ]
        try:
            # all at once, on a database nothing has written to yet
            first = [torture.start_writer(torture.chaos_s) for _ in range(torture.alive_target)]
            for writer in first:
                if not writer.started.wait(START_TIMEOUT_S) or writer.run_id is None:
                    writer.proc.kill()
                    writer.proc.wait(timeout=30)
                    pytest.fail(f"seed={seed}: a writer never started: {writer.describe()}")
            for thread in threads:
                thread.start()
            torture.chaos()
            torture.wait_for_writers()
        finally:
            torture.shut_down()
            follower.stop.set()
            tui.stop.set()
            for thread in threads:
                if thread.is_alive():
                    thread.join(timeout=60)
        if not cluster.running:
            cluster.start()
        counts = check_stored(torture, _read_server(torture))
        log_tail = cluster._log_tail(limit=1500)
    writers = torture.writers
    report = (
        f"seed={seed} scale={scale:g}: {time.monotonic() - began:.1f} s, {len(writers)} writers"
        f" ({sum(w.killed for w in writers)} killed, {sum(w.stops for w in writers)} stops,"
        f" {sum(w.finished for w in writers)} finished,"
        f" {sum(w.acks for w in writers)} acks / {sum(w.nacks for w in writers)} nacks),"
        f" {torture.actions['server restart']} server restarts"
        f" (down {[round(b - a, 2) for a, b in torture.outages]} s),"
        f" points acknowledged {counts['acked']} (lost {counts['lost']}),"
        f" kept {counts['kept']}, runs {counts['runs']}, series {counts['series']};"
        f" read_changes reader {follower.polls} polls, {follower.opens} connections,"
        f" {follower.points} points; TUI reader {tui.polls} polls, {tui.loads} loads,"
        f" {tui.points} points; failures a restart explains {dict(sorted(torture.excused.items()))};"
        f" actions {dict(sorted(torture.actions.items()))}"
    )
    print(report, flush=True)
    if torture.actions["server restart"] < 2:
        torture.problems.append("the test itself: the server was not restarted twice")
    if unreached := torture.unreached():
        torture.problems.append(f"the test itself: never happened: {', '.join(unreached)}")
    if not any(w.acks for w in writers) or follower.points == 0 or tui.points == 0:
        torture.problems.append("the test itself: nothing was acknowledged or followed")
    if torture.problems:
        unique = list(dict.fromkeys(torture.problems))  # each once, in order
        shown = "\n- ".join(p if len(p) < 2000 else p[:2000] + " ..." for p in unique[:40]) + (
            f"\n- ... {len(unique) - 40} more" if len(unique) > 40 else ""
        )
        pytest.fail(
            f"seed={seed}: {len(torture.problems)} problems (replay with"
            f" TRACKTUI_TORTURE_SEED={seed}):\n- {shown}\n{report}\nserver log:\n{log_tail}"
        )
