"""The standing torture test: many writers, readers and outside programs on one file, with chaos.

Real processes on a real file with real signals: several training processes
(``tests/torture_writer.py``) log batches of random sizes and flush at random moments, printing
what each ``flush()`` acknowledged; meanwhile the TUI's reader follows every series, ``ls
--json``, the ``sqlite3`` and ``sqlite-utils`` command lines, Python connections (in this
process and in children) and the TUI's tag-best open and close the file, and a seeded schedule
SIGKILLs writers, SIGSTOPs them (sometimes holding the write lock) and lets them go on, and one
writer's disk fills up (RLIMIT_FSIZE) and comes back. At the end:

- ``PRAGMA integrity_check`` is ok;
- every series holds exactly the points its writer logged, as a prefix of what it logged (no
  gap, no duplicate, no foreign or wrong value), and its summary count matches the points;
- every point acknowledged by ``flush()`` is there; every run whose ``finish()`` returned (or
  that ended through atexit) says ``finished``, with every point it logged;
- ``ls --json`` always exited 0 with valid JSON, and the TUI's reader never skipped, repeated or
  misread a point, nor reported an error.

Every fault kind (SIGKILL, SIGSTOP, each outside program, the full disk) happens in every run:
the schedule owes any kind its draws have not reached by a third of the way in, and a run where
one still never happened fails as a broken test.

``TRACKTUI_TORTURE_SEED`` replays a schedule (the seed is printed at the start and in every
failure); ``TRACKTUI_SOAK_S`` (default 8) is how many seconds the chaos lasts: a long soak is
e.g. ``TRACKTUI_SOAK_S=600``; ``TRACKTUI_TORTURE_SCALE`` (default 1) multiplies that and the
number of writers alive at once (6 at scale 1).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tracker.annotate import tag_exclusively
from tracker.db import Target
from tracker.models import Point

from .helpers import ROOT
from .torture_writer import MAX_KEYS, keys_at, steps_of, value_at

pytestmark = pytest.mark.slow

WRITER_SCRIPT = Path(__file__).resolve().parent / "torture_writer.py"
# Seconds of chaos at scale 1. 8 s reaches every fault kind many times over (a few SIGKILLs, a
# dozen SIGSTOPs, every outside program several times, a full disk); longer only costs CPU that
# the rest of the suite shares, so a long soak is asked for with TRACKTUI_SOAK_S.
DEFAULT_SOAK_S = 8.0
WRITERS = 6  # at scale 1, alive at any time
START_TIMEOUT_S = 90.0
END_TIMEOUT_S = 120.0  # finish() may wait out a full disk
EXTERNAL_TIMEOUT_S = 60.0
SEQ_MASK = (1 << 32) - 1


def soak_seconds() -> float:
    """How long the chaos lasts at scale 1: ``TRACKTUI_SOAK_S``, else DEFAULT_SOAK_S."""
    return float(os.environ.get("TRACKTUI_SOAK_S") or DEFAULT_SOAK_S)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACKTUI_PROJECT": "torture",
        "TRACKTUI_SYSTEM_METRICS": "0",
        "TRACKTUI_CONSOLE": "0",
    }


def _same(got: float | None, want: float) -> bool:
    if math.isnan(want):
        return got is None or math.isnan(got)
    return got == want


@dataclass
class Writer:
    """One training process and what it said on stdout."""

    index: int
    mode: str  # "normal" or "diskfull"
    end: str  # "finish", "atexit" or "abandon"
    proc: subprocess.Popen[str]
    run_id: str | None = None
    acked: int = -1  # the highest step a flush() acknowledged
    acks: int = 0
    nacks: int = 0
    last_step: int | None = None  # from "finished" or "exiting"
    finished: bool = False
    exiting: bool = False
    limited: bool = False
    restored: bool = False
    recovered: bool = False
    stuck: bool = False
    killed: bool = False
    stops: int = 0
    odd: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._said(line.split())
            except (IndexError, ValueError):
                self.odd.append(line.rstrip())
        self.started.set()  # wake a waiter: it died before starting

    def _said(self, words: list[str]) -> None:
        what = words[0]
        if what == "started":
            self.run_id = words[1]
            self.started.set()
        elif what == "ack":
            self.acked = max(self.acked, int(words[2]))
            self.acks += 1
        elif what == "nack":
            self.nacks += 1
        elif what in ("finished", "exiting"):
            self.last_step = int(words[2])
            setattr(self, what, True)
        elif what in ("limited", "restored", "recovered", "stuck"):
            setattr(self, what, True)
        else:
            raise ValueError(what)

    def read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip())

    def warned_full(self) -> bool:
        return any("cannot write" in line for line in self.stderr)

    def describe(self) -> str:
        tail = "\n    ".join(self.stderr[-15:])
        return (
            f"writer w{self.index} ({self.mode}, ends by {self.end}, run {self.run_id}, "
            f"rc {self.proc.returncode}, killed {self.killed}, acked step {self.acked}, "
            f"last step {self.last_step}); stdout oddities {self.odd[-5:]}; stderr:\n    {tail}"
        )


@dataclass
class TuiReaderCheck:
    """The TUI's reader in a thread, following every series and checking each point it gets."""

    db: Path | Target
    problems: list[str]
    stop: threading.Event = field(default_factory=threading.Event)
    polls: int = 0
    points: int = 0
    loads: int = 0
    opened_at: float = field(default_factory=time.monotonic)  # the reader's last (re)open

    def error_status(self, reason: str) -> None:
        """The reader said it cannot read the database: a finding (tests/test_torture_postgres.py
        excuses what a restarted server explains)."""
        self.problems.append(f"the TUI's reader: {reason}")

    def run(self) -> None:
        from tui.reader import DatabaseReader

        reader = DatabaseReader(self.db)
        meaning: dict[int, tuple[int, int]] = {}  # series id -> (writer, key)
        last: dict[int, tuple[int, int]] = {}  # series id -> (seq, step) held
        try:
            while not self.stop.is_set():
                update = reader.poll()
                self.polls += 1
                if update.status is not None and update.status.state == "error":
                    self.error_status(update.status.reason)
                if update.reset:
                    self.opened_at = time.monotonic()
                    last.clear()
                new: list[int] = []
                for run in update.runs:
                    if not run.name.startswith("w"):
                        continue
                    for key, summary in run.metrics.items():
                        if summary.series_id not in meaning:
                            meaning[summary.series_id] = (int(run.name[1:]), int(key[1:]))
                            new.append(summary.series_id)
                reader.follow(new)
                for sid, points in update.points.items():
                    self._check(sid, points, meaning, last)
                for sid, (count, _buckets) in update.loaded.items():
                    self.loads += 1
                    last[sid] = (count, -1)
                self.stop.wait(0.05)
        except Exception as exc:  # a reader that raises is the finding
            self.problems.append(f"the TUI's reader raised {exc!r}")
        finally:
            reader.close()

    def _check(
        self,
        sid: int,
        points: list[Point],
        meaning: dict[int, tuple[int, int]],
        last: dict[int, tuple[int, int]],
    ) -> None:
        if sid not in last or sid not in meaning:
            self.problems.append(f"the TUI's reader got points of series {sid} before loading it")
            return
        writer, key = meaning[sid]
        seq, step = last[sid]
        for point in points:
            self.points += 1
            if point.seq != seq + 1 or point.step <= step:
                self.problems.append(
                    f"the TUI's reader: series {sid} (w{writer} m{key}) went from seq {seq} step"
                    f" {step} to seq {point.seq} step {point.step}"
                )
                return
            if keys_at(writer, point.step) <= key or not _same(
                point.value, value_at(writer, point.step, key)
            ):
                self.problems.append(
                    f"the TUI's reader: series {sid} (w{writer} m{key}) step {point.step}"
                    f" has {point.value!r}, logged {value_at(writer, point.step, key)!r}"
                )
                return
            seq, step = point.seq, point.step
        last[sid] = (seq, step)


class OutsideFailure(Exception):
    """An outside program failed (the message says how)."""


class Torture:
    def __init__(self, db: Path | str, seed: int, scale: float) -> None:
        self.db = db
        self.seed = seed
        self.rng = random.Random(seed)
        self.chaos_s = soak_seconds() * scale
        self.alive_target = max(2, min(32, round(WRITERS * scale)))
        self.max_kills = self.alive_target + 2
        self.writers: list[Writer] = []
        self.problems: list[str] = []
        self.actions: Counter[str] = Counter()
        self.stopped: dict[int, float] = {}  # writer index -> when to SIGCONT
        self.pool = ThreadPoolExecutor(max_workers=2)
        self.pending: list[Future[None]] = []
        self.has_cli = shutil.which("sqlite3") is not None
        self.has_sqlite_utils = importlib.util.find_spec("sqlite_utils") is not None

    # -- writers -------------------------------------------------------------------------------

    def start_writer(self, span: float) -> Writer:
        """A new writer that lives for part of ``span`` seconds; what it does depends only on the
        seed and its index (never on timing), so a seed replays the same writers."""
        index = len(self.writers)
        own = random.Random(f"{self.seed}:{index}")
        seconds = max(2.0, own.uniform(0.4, 1.0) * span)
        mode = self.writer_mode(index, own)
        end = own.choices(("finish", "atexit", "abandon"), (6, 2, 2))[0]
        proc = subprocess.Popen(
            [
                sys.executable,
                str(WRITER_SCRIPT),
                str(self.db),
                str(index),
                str(self.seed),
                mode,
                f"{seconds:.3f}",
                end,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        writer = Writer(index, mode, end, proc)
        for target in (writer.read_stdout, writer.read_stderr):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            writer.threads.append(thread)
        self.writers.append(writer)
        return writer

    def writer_mode(self, index: int, own: random.Random) -> str:
        """ "diskfull" for w1 (every test has one episode) and some later writers."""
        if index == 1 or (index >= self.alive_target and own.random() < 0.15):
            return "diskfull"
        return "normal"

    def alive(self) -> list[Writer]:
        return [w for w in self.writers if w.proc.poll() is None]

    # -- outside programs ----------------------------------------------------------------------

    def _child(self, what: str, argv: list[str], check_json: bool = False) -> None:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=EXTERNAL_TIMEOUT_S, env=_env()
        )
        if result.returncode != 0:
            said = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:])
            raise OutsideFailure(f"{what} exited {result.returncode}: {said[-600:]}")
        if check_json:
            try:
                listed = json.loads(result.stdout)
            except ValueError as exc:
                raise OutsideFailure(
                    f"{what} printed invalid JSON ({exc}): {result.stdout[:500]}"
                ) from None
            if not isinstance(listed, list):
                raise OutsideFailure(f"{what} printed {type(listed).__name__}, not a list")

    def _python_connection(self) -> None:
        conn = sqlite3.connect(self.db)  # read-write, like anyone's script
        try:
            conn.execute("SELECT count(*) FROM points").fetchone()
            conn.execute("SELECT id, status, step FROM runs").fetchall()
            conn.execute("SELECT run_id, key, count FROM series").fetchall()
        finally:
            conn.close()

    def _tag_best(self, pick: float) -> None:
        ids = sorted(w.run_id for w in self.writers if w.run_id)
        if ids:
            tag_exclusively(self.db, "best", ids[int(pick * len(ids))], ids)

    def outside(self, pick: float, detail: float, owed: str | None = None) -> None:
        """One outside program on the file, chosen by the schedule (or the one ``owed``), run on
        the pool."""
        self.pending = [f for f in self.pending if not f.done()]
        if len(self.pending) >= 2:
            self.actions["outside skipped (2 running)"] += 1
            return
        choices = self.outside_choices(detail)
        drawn = choices[int(pick * len(choices))]
        name, action = next((c for c in choices if c[0] == owed), drawn)
        self.actions[name] += 1

        def guarded() -> None:
            began = time.monotonic()
            try:
                action()
            except Exception as exc:  # any failure of an outside program is news
                self.outside_failed(name, exc, began)

        self.pending.append(self.pool.submit(guarded))

    def outside_failed(self, name: str, exc: Exception, began: float) -> None:
        self.problems.append(
            str(exc) if isinstance(exc, OutsideFailure) else f"{name} raised {exc!r}"
        )

    def outside_choices(self, detail: float) -> list[tuple[str, Callable[[], None]]]:
        """The outside programs the schedule picks from: (name, what it runs)."""
        db = str(self.db)
        choices: list[tuple[str, Callable[[], None]]] = [
            ("python connection here", self._python_connection),
            ("tag best", lambda: self._tag_best(detail)),
            (
                "python connection in a child",
                lambda: self._child(
                    "a child's sqlite3 connection",
                    [
                        sys.executable,
                        "-c",
                        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                        " c.execute('SELECT count(*) FROM points').fetchone(); c.close()",
                        db,
                    ],
                ),
            ),
            (
                "ls --json",
                lambda: self._child(
                    "tracktui ls --json",
                    [sys.executable, "-m", "tui.cli", "ls", "--db", db, "--json"],
                    check_json=True,
                ),
            ),
        ]
        if self.has_cli:
            choices.append(
                (
                    "sqlite3 CLI",
                    lambda: self._child(
                        "the sqlite3 command line",
                        [
                            "sqlite3",
                            "-cmd",
                            ".timeout 10000",
                            db,
                            "SELECT count(*) FROM points;"
                            " SELECT status, count(*) FROM runs GROUP BY status;",
                        ],
                    ),
                )
            )
        if self.has_sqlite_utils:
            choices.append(
                (
                    "sqlite-utils",
                    lambda: self._child(
                        "sqlite-utils tables --counts",
                        [sys.executable, "-m", "sqlite_utils", "tables", db, "--counts"],
                    ),
                )
            )
        return choices

    # -- the schedule --------------------------------------------------------------------------

    def release_due(self, everyone: bool = False) -> None:
        now = time.monotonic()
        for index, due in list(self.stopped.items()):
            if everyone or now >= due:
                self.writers[index].proc.send_signal(signal.SIGCONT)
                del self.stopped[index]

    def unreached(self) -> list[str]:
        """The fault kinds (signals, outside programs) that have not happened yet."""
        kinds = ["SIGKILL", "SIGSTOP+SIGCONT"] + [name for name, _ in self.outside_choices(0.0)]
        return [kind for kind in kinds if not self.actions[kind]]

    def chaos(self) -> None:
        """The schedule: every tick draws the same numbers whatever happened, so that a seed
        replays the same sequence of actions (which process each one hits depends on timing).
        From a third of the way in, a tick does the first fault kind not reached yet instead
        of what it drew (its draws are still taken), so even a short run has every kind."""
        start = time.monotonic()
        end = start + self.chaos_s
        while (now := time.monotonic()) < end:
            self.release_due()
            self.tick(now - start)
            left = end - now
            if left > 3.0:
                while len(self.alive()) < self.alive_target:
                    self.start_writer(left)
                    self.actions["writer started"] += 1
            pause, roll, pick, detail = (self.rng.random() for _ in range(4))
            time.sleep(0.02 + 0.23 * pause)
            alive = [w for w in self.alive() if w.started.is_set()]
            unreached = self.unreached() if now - start >= self.chaos_s / 3 else []
            owed = unreached[0] if unreached else None
            if owed is not None:
                roll = {"SIGKILL": 0.0, "SIGSTOP+SIGCONT": 0.1}.get(owed, 0.5)
            if roll < 0.05:
                kills = sum(w.killed for w in self.writers)
                alive = [w for w in alive if w.index != 1]  # the first disk-full one lives
                if alive and kills < self.max_kills:
                    victim = alive[int(pick * len(alive))]
                    victim.proc.send_signal(signal.SIGKILL)
                    victim.killed = True
                    self.stopped.pop(victim.index, None)
                    self.actions["SIGKILL"] += 1
            elif roll < 0.25:
                running = [w for w in alive if w.index not in self.stopped]
                if running:
                    victim = running[int(pick * len(running))]
                    victim.proc.send_signal(signal.SIGSTOP)
                    victim.stops += 1
                    self.stopped[victim.index] = time.monotonic() + 0.2 + 0.8 * detail
                    self.actions["SIGSTOP+SIGCONT"] += 1
            elif roll < 0.65:
                self.outside(pick, detail, owed)
        self.release_due(everyone=True)

    def tick(self, elapsed: float) -> None:
        """Called at each tick of the schedule, ``elapsed`` seconds into it (a subclass adds
        its own chaos here; whatever it draws must come from its own generator)."""

    def wait_for_writers(self) -> None:
        deadline = time.monotonic() + END_TIMEOUT_S
        for writer in self.writers:
            try:
                writer.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                writer.proc.kill()
                writer.proc.wait(timeout=30)
                self.problems.append(f"did not end within {END_TIMEOUT_S:g} s: {writer.describe()}")
                writer.killed = True
            for thread in writer.threads:
                thread.join(timeout=30)

    def shut_down(self) -> None:
        """Whatever happened: no process of ours is left behind, stopped or not."""
        for writer in self.writers:
            if writer.proc.poll() is None:
                writer.proc.send_signal(signal.SIGCONT)
                writer.proc.kill()
                writer.proc.wait(timeout=30)
        self.pool.shutdown(wait=True)


@dataclass
class Stored:
    """What a database holds, read back by a test: runs, series and every point's step."""

    problems: list[str]
    runs: dict[str, tuple[str, str, int]] = field(
        default_factory=dict
    )  # id -> name, status, dropped
    series: dict[int, tuple[str, str, int, int | None]] = field(default_factory=dict)
    """series id -> (run id, key, count, last_step)"""
    steps: dict[int, list[int]] = field(default_factory=dict)  # series id -> steps, in seq order
    total: int = 0
    _broken: set[int] = field(default_factory=set)
    _sid: int = -1
    _current: list[int] = field(default_factory=list)
    _meaning: tuple[int, int] | None = None

    def point(self, sid: int, seq: int, step: int, value: float | None) -> None:
        """The next stored point, in (series, seq) order: seqs count from 1 without a gap, and
        every value is what its writer logged at its step."""
        problems = self.problems
        self.total += 1
        if sid != self._sid:
            self._sid = sid
            self._current = self.steps.setdefault(sid, [])
            self._meaning = None
            if sid not in self.series:
                problems.append(f"points of series {sid}, which is in no series row")
            else:
                run_id, key, _count, _last = self.series[sid]
                name = self.runs.get(run_id, ("?",))[0]
                if name.startswith("w") and key.startswith("m"):
                    self._meaning = (int(name[1:]), int(key[1:]))
                else:
                    problems.append(f"series {sid} of run {run_id} ({name!r}) key {key!r}")
        current, meaning = self._current, self._meaning
        if seq != len(current) + 1 and sid not in self._broken:
            self._broken.add(sid)  # said once per series
            problems.append(f"series {sid}: seq {seq} after {len(current)} points")
        current.append(step)
        if (
            meaning is not None
            and not _same(value, value_at(meaning[0], step, meaning[1]))
            and sid not in self._broken
        ):
            self._broken.add(sid)
            problems.append(
                f"series {sid} (w{meaning[0]} m{meaning[1]}) step {step} holds {value!r},"
                f" logged {value_at(meaning[0], step, meaning[1])!r}"
            )


def _read_file(torture: Torture) -> Stored:
    """The file read back with a plain read-only connection, and its integrity check."""
    stored = Stored(torture.problems)
    conn = sqlite3.connect(f"file:{torture.db}?mode=ro", uri=True)
    try:
        integrity = [row[0] for row in conn.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            torture.problems.append(f"integrity_check: {integrity[:10]}")
        stored.runs = {
            row[0]: (row[1], row[2], row[3])
            for row in conn.execute("SELECT id, name, status, dropped FROM runs")
        }
        stored.series = {
            row[0]: (row[1], row[2], row[3], row[4])
            for row in conn.execute("SELECT id, run_id, key, count, last_step FROM series")
        }
        for point_id, step, value in conn.execute("SELECT id, step, value FROM points ORDER BY id"):
            stored.point(point_id >> 32, point_id & SEQ_MASK, step, value)
    except sqlite3.Error as exc:
        torture.problems.append(f"reading the file back: {exc!r} (after {stored.total} points)")
    finally:
        conn.close()
    return stored


def _check_file(torture: Torture) -> dict[str, int]:
    """The invariants, checked with a plain read-only connection; returns counts for the report."""
    return check_stored(torture, _read_file(torture))


def check_stored(torture: Torture, stored: Stored) -> dict[str, int]:
    """What every writer said against what the database holds; counts for the report."""
    problems = torture.problems
    runs, series, steps, total = stored.runs, stored.series, stored.steps, stored.total
    held: dict[tuple[str, str], list[int]] = {}
    for sid, (run_id, key, count, last_step) in series.items():
        got = steps.get(sid, [])
        held[(run_id, key)] = got
        if count != len(got):
            problems.append(f"series {sid} ({run_id} {key}): count {count}, {len(got)} points")
        if got and last_step != got[-1]:
            problems.append(f"series {sid} ({run_id} {key}): last_step {last_step}, last {got[-1]}")
        name = runs.get(run_id, ("?",))[0]
        if got and name.startswith("w") and key.startswith("m"):
            owner, k = int(name[1:]), int(key[1:])
            logged = steps_of(owner, k, got[-1])
            if got != logged:
                first = next(
                    (i for i, (a, b) in enumerate(zip(got, logged, strict=False)) if a != b),
                    min(len(got), len(logged)),
                )
                problems.append(
                    f"series {sid} (w{owner} {key}) is not what was logged: {len(got)} points,"
                    f" {len(logged)} logged up to step {got[-1]}; first difference at #{first}:"
                    f" {got[first : first + 3]} vs {logged[first : first + 3]}"
                )

    acked_points = lost = 0
    for writer in torture.writers:
        if writer.run_id is None:
            continue
        for k in range(MAX_KEYS):
            acked = steps_of(writer.index, k, writer.acked)
            acked_points += len(acked)
            lost += len(set(acked) - set(held.get((writer.run_id, f"m{k}"), [])))
        run = runs.get(writer.run_id)
        if run is None:
            if writer.acked >= 0 or writer.finished:
                problems.append(f"run missing from the file: {writer.describe()}")
            continue
        if run[0] != f"w{writer.index}":
            problems.append(f"run {writer.run_id} is named {run[0]!r}: {writer.describe()}")
        done = writer.finished or (
            writer.exiting
            and writer.end == "atexit"
            and not writer.killed
            and writer.proc.returncode == 0
        )
        upto = writer.last_step if done and writer.last_step is not None else writer.acked
        for k in range(MAX_KEYS):
            want = steps_of(writer.index, k, upto)
            got = held.get((writer.run_id, f"m{k}"), [])
            if len(got) < len(want) or got[: len(want)] != want:
                what = "logged before finish()" if done else "acknowledged by flush()"
                problems.append(
                    f"m{k}: {len(want)} points {what} (up to step {upto}), the file has"
                    f" {len(got)} of them: {writer.describe()}"
                )
                break
            if done and len(got) != len(want):
                problems.append(f"m{k}: more points than logged: {writer.describe()}")
                break
        if done:
            if run[1] != "finished":
                problems.append(f"status {run[1]!r}, not 'finished': {writer.describe()}")
            if run[2] != 0:
                problems.append(f"dropped {run[2]} points: {writer.describe()}")
        if not writer.killed and writer.proc.returncode != 0:
            problems.append(f"a writer failed: {writer.describe()}")
        if writer.stuck:
            problems.append(f"no flush succeeded after the disk came back: {writer.describe()}")
        if writer.odd:
            problems.append(f"unexpected output: {writer.describe()}")
    if lost:
        problems.insert(0, f"{lost} of {acked_points} points acknowledged by flush() are missing")
    return {
        "acked": acked_points,
        "lost": lost,
        "kept": total,
        "runs": len(runs),
        "series": len(series),
    }


def test_torture(tmp_path: Path) -> None:
    seed = int(os.environ.get("TRACKTUI_TORTURE_SEED") or random.SystemRandom().randrange(2**32))
    scale = float(os.environ.get("TRACKTUI_TORTURE_SCALE") or 1.0)
    print(f"torture: TRACKTUI_TORTURE_SEED={seed} TRACKTUI_TORTURE_SCALE={scale:g}", flush=True)
    began = time.monotonic()
    db = tmp_path / "torture.db"
    torture = Torture(db, seed, scale)
    reader = TuiReaderCheck(db, torture.problems)
    reader_thread = threading.Thread(target=reader.run, daemon=True)
    try:
        # all at once, on a file that does not exist yet
        first = [torture.start_writer(torture.chaos_s) for _ in range(torture.alive_target)]
        for writer in first:
            if not writer.started.wait(START_TIMEOUT_S) or writer.run_id is None:
                writer.proc.kill()
                writer.proc.wait(timeout=30)
                pytest.fail(f"seed={seed}: a writer never started: {writer.describe()}")
        reader_thread.start()
        torture.chaos()
        torture.wait_for_writers()
    finally:
        torture.shut_down()
        reader.stop.set()
        if reader_thread.is_alive():
            reader_thread.join(timeout=60)
    counts = _check_file(torture)
    writers = torture.writers
    limited = [w for w in writers if w.limited]
    report = (
        f"seed={seed} scale={scale:g}: {time.monotonic() - began:.1f} s, {len(writers)} writers"
        f" ({sum(w.killed for w in writers)} killed, {sum(w.stops for w in writers)} stops,"
        f" {len(limited)} disk-full of which {sum(w.warned_full() for w in limited)} warned,"
        f" {sum(w.finished for w in writers)} finished,"
        f" {sum(w.acks for w in writers)} acks / {sum(w.nacks for w in writers)} nacks),"
        f" points acknowledged {counts['acked']} (lost {counts['lost']}),"
        f" kept {counts['kept']}, runs {counts['runs']}, series {counts['series']};"
        f" TUI reader {reader.polls} polls, {reader.loads} loads, {reader.points} points;"
        f" actions {dict(sorted(torture.actions.items()))}"
    )
    print(report, flush=True)
    if not any(w.restored for w in limited):
        torture.problems.append("the test itself: no writer went through a full disk")
    if unreached := torture.unreached():
        torture.problems.append(f"the test itself: never happened: {', '.join(unreached)}")
    if torture.problems:
        unique = list(dict.fromkeys(torture.problems))  # each once, in order
        shown = "\n- ".join(p if len(p) < 2000 else p[:2000] + " ..." for p in unique[:40]) + (
            f"\n- ... {len(unique) - 40} more" if len(unique) > 40 else ""
        )
        pytest.fail(
            f"seed={seed}: {len(torture.problems)} problems (replay with"
            f" TRACKTUI_TORTURE_SEED={seed}):\n- {shown}\n{report}"
        )
