"""The PostgreSQL backend against SQLite (and MLflow's PostgreSQL store), on one throwaway server.

    python benchmarks/bench_postgres.py            # full run (~5 min here), prints a Markdown table
    python benchmarks/bench_postgres.py --quick    # ~1.5 min smoke version (writes /tmp/postgres_result_quick.json)
    python benchmarks/bench_postgres.py --json out.json   # default: benchmarks/postgres_result.json

One server (``tests/pg_cluster.py``'s ``Cluster``) is started by this script and shares the machine
with every writer and reader it measures (on a 2-core machine the server, the writers and the
readers compete for the same cores: the figures are for that, not for a server of its own). By
default its data folder is on disk (``/tmp``) with ``fsync = on`` (the throwaway cluster's
test-speed ``fsync = off`` is switched back on), ``synchronous_commit`` at its default (on),
``max_wal_size = 1GB``; ``--pg-in-memory`` keeps the test cluster's own settings (``/dev/shm``
where it has room, fsync off). SQLite files are on the same disk. System metrics are off
(``TRACKTUI_SYSTEM_METRICS=0``): their sampler thread is not part of what is measured.

Measured (medians over ``--reps`` fresh processes and fresh databases where it says so):

1. ingest: points/s from 1 writer process and in total from 16 (``--writers``); each process
   calls ``tracker.init()``, logs its steps x 4 metrics as fast as it can, ``finish()``; points/s =
   all points / (first ``log()`` of any writer .. last ``finish()`` returned, i.e. durable). Each
   process builds its payload dicts before a common start, so the loop times ``log()`` only.
   The same workload into a SQLite file is the baseline. Client and server CPU seconds are
   recorded (the server's from /proc: the postmaster and its backends).
2. ``log()`` cost: µs per call, the median of 1,000-call chunk timings of the 1-writer rounds.
3. time to durable: a run logs a step every 5-15 ms (random); a thread in the same process polls a
   second store (its own connection) with ``history()`` every 1 ms; p50/p95 from ``log()`` to the
   point being visible there.
4. bytes per point: ``pg_total_relation_size`` of points + series after 1M points logged by one
   process as fast as it can (big chunks), and after paced writes of 1 and 10 steps per batch
   (what a slow training loop produces: one chunk row per batch per series); SQLite: the file
   (+ WAL, after a checkpoint) / points.
5. log -> reader through LISTEN/NOTIFY: the same paced run; a reader thread waits on the event
   that ``store.listen()`` sets, then ``read_changes(version, follow={sid: seq})``; p50/p95 from
   ``log()`` to seen.
6. first read of a viewer over 1,000 runs / 10M points (4 metrics x 2,500 steps per run), built
   through the store's own write path (``write_batch``, ``--build-procs`` processes, batches of
   ``--build-batch`` steps): ``open_store(url)`` + ``read_runs()`` + ``series_id`` +
   ``history_buckets(sid, 640)`` of one run's ``train/loss``, in fresh processes; the same data in
   a SQLite file is the baseline.
7. MLflow (``pip install mlflow psycopg2-binary``; not a project dependency) with its PostgreSQL
   backend store (a separate database on the same server): ``mlflow.log_metrics`` of 4 metrics
   per step, one process, then 4 in parallel, each time-boxed (``--mlflow-seconds``).

Load averages (``os.getloadavg``) are sampled every second and reported per section.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULT = Path(__file__).resolve().parent / "postgres_result.json"
QUICK_RESULT = "/tmp/postgres_result_quick.json"  # a smoke run does not replace the real figures
KEYS = ("train/loss", "train/acc", "lr", "grad_norm")
CHUNK = 1000  # log() calls timed together; the median chunk gives the typical call
BUDGET = {
    "pg_points_per_s_1": 200_000,
    "pg_points_per_s_many": 200_000,
    "vs_mlflow": 500,
    "first_read_s": 1.5,
}


# --- children ----------------------------------------------------------------------------------
# Every measured process is this file run with --child KIND PARAMS (fresh interpreter, no warm
# caches, no threads left over); it prints one JSON line as its last line.


def _ready_then_start() -> None:
    """Tell the parent this process is set up, then wait for the common start instant."""
    print("ready", flush=True)
    start_at = float(sys.stdin.readline())
    time.sleep(max(0.0, start_at - time.time()))


def _payloads(steps: int, seed: int) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [
        {
            "train/loss": rng.random(),
            "train/acc": rng.random(),
            "lr": 1e-3,
            "grad_norm": rng.random(),
        }
        for _ in range(steps)
    ]


def child_ingest(p: dict[str, Any]) -> dict[str, Any]:
    import tracker

    steps = int(p["steps"])
    data = _payloads(steps, int(p["index"]))
    _ready_then_start()  # every writer's init() at one instant
    began = time.time()
    run = tracker.init(
        project="bench", name=f"w{p['index']}", db=p["db"], quiet=True, console=False
    )
    inited = time.time()
    _ready_then_start()  # every writer's first log() at one instant, once all are set up
    cpu0 = time.process_time()
    first_log = time.time()
    log = run.log
    clock = time.perf_counter
    chunks = []
    t1 = clock()
    for start in range(0, steps, CHUNK):
        end = min(start + CHUNK, steps)
        c0 = clock()
        for step in range(start, end):
            log(data[step], step=step)
        chunks.append((clock() - c0) / (end - start))
    t2 = clock()
    logged = time.time()
    run.finish()
    done = time.time()
    return {
        "init_s": inited - began,
        "cpu_s": time.process_time() - cpu0,  # this process, both threads, first log() .. done
        "first_log": first_log,
        "logged": logged,
        "done": done,
        "us_per_log": statistics.median(chunks) * 1e6,
        "us_per_log_mean": (t2 - t1) / steps * 1e6,
        "finish_s": done - logged,
    }


def child_latency(p: dict[str, Any]) -> dict[str, Any]:
    """A run logging a step every 5-15 ms; a reader thread on a second connection sees them."""
    import tracker
    from tracker.db import open_store

    db, mode, seconds = p["db"], p["mode"], float(p["seconds"])
    rng = random.Random(1)
    payload = {"train/loss": 0.5, "train/acc": 0.5, "lr": 1e-3, "grad_norm": 1.0}
    run = tracker.init(project="bench", name=f"latency-{mode}", db=db, quiet=True, console=False)
    step = 0
    run.log(payload, step=step)
    run.flush()
    reader = open_store(db)
    sid = reader.series_id(run.id, "train/loss")
    assert sid is not None
    sent: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()
    wake = threading.Event()
    listener = None
    notices = 0
    if mode == "listen":
        listener = reader.listen(wake)
        assert listener is not None, "this store has no listen()"
        deadline = time.monotonic() + 10
        while not wake.is_set():  # until the listener's LISTEN is in place
            if time.monotonic() > deadline:
                raise RuntimeError("no NOTIFY arrived within 10 s")
            step += 1
            run.log(payload, step=step)
            run.flush()
            wake.wait(0.3)
    held = len(reader.history(sid))
    version = reader.current_version()
    first_measured = step + 1
    wake.clear()

    def poll() -> None:
        after = held
        while not stop.is_set():
            points = reader.history(sid, after)
            now = time.monotonic()
            for point in points:
                seen.setdefault(point.step, now)
            if points:
                after = points[-1].seq
            time.sleep(0.001)

    def listen() -> None:
        nonlocal version, notices
        after = held
        while not stop.is_set():
            if not wake.wait(0.2):
                continue
            wake.clear()
            notices += 1
            changes = reader.read_changes(version, follow={sid: after})
            now = time.monotonic()
            version = changes.version
            points = changes.points.get(sid, [])
            for point in points:
                seen.setdefault(point.step, now)
            if points:
                after = points[-1].seq

    thread = threading.Thread(target=poll if mode == "poll" else listen, daemon=True)
    thread.start()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        step += 1
        sent[step] = time.monotonic()
        run.log(payload, step=step)
        time.sleep(rng.uniform(0.005, 0.015))
    run.flush()
    wait_until = time.monotonic() + 2.0
    while time.monotonic() < wait_until and step not in seen:
        time.sleep(0.01)
    stop.set()
    thread.join(2)
    if listener is not None:
        listener.stop()
    run.finish()
    latencies = sorted(
        (seen[s] - sent[s]) * 1000 for s in sent if s in seen and s >= first_measured
    )
    return {
        "n": len(latencies),
        "missing": len(sent) - len(latencies),
        "p50_ms": _quantile(latencies, 0.5),
        "p95_ms": _quantile(latencies, 0.95),
        "max_ms": latencies[-1] if latencies else math.nan,
        "reads": notices,
    }


def _run_row(run_id: str, created: float, index: int) -> dict[str, Any]:
    return {
        "id": run_id,
        "project": "bench",
        "name": f"run-{index:05d}",
        "created_at": created,
        "host": "bench-host",
        "pid": 1000 + index,
        "pid_start": None,
        "tags": json.dumps(["bench"] if index % 3 else ["bench", "baseline"]),
        "config": json.dumps(
            {
                "lr": 1e-3 * (1 + index % 7),
                "batch_size": 32 << (index % 4),
                "model": f"net-{index % 5}",
                "seed": index,
            }
        ),
        "summary": "{}",
    }


def write_runs(
    db: str, first: int, count: int, steps: int, batch_steps: int, base: float = 1.7e9
) -> int:
    """Write ``count`` finished runs of ``steps`` steps x 4 metrics through ``write_batch``,
    ``batch_steps`` steps per transaction (one chunk row per batch per series); points written."""
    from tracker.batch import RunHandle, write_batch
    from tracker.db import open_store, parse_target

    store = open_store(db, write=True)
    target = parse_target(db)
    written = 0
    try:
        for index in range(first, first + count):
            run_id = f"bench{index:06d}"
            created = base + index * 60.0
            version = store.begin()
            store.insert_run(_run_row(run_id, created, index), version)
            store.commit()
            handle = RunHandle(run_id, target, created, {}, {})
            rng = random.Random(index)
            decay = 300.0 + 50 * (index % 11)
            for start in range(0, steps, batch_steps):
                end = min(start + batch_steps, steps)
                records: list[tuple[Any, ...]] = [
                    (handle, s, created + s * 0.5, {
                        "train/loss": 0.2 + 2.0 * math.exp(-s / decay) + 0.05 * rng.random(),
                        "train/acc": 1.0 - math.exp(-s / decay), "lr": 1e-3, "grad_norm": rng.random(),
                    })
                    for s in range(start, end)
                ]  # fmt: skip
                if end == steps:
                    records.append(("finish", handle, ("finished", 0, None)))
                for apply in write_batch(store, records, now=created + end * 0.5):
                    apply()
                written += (end - start) * len(KEYS)
    finally:
        store.close()
    return written


def child_build(p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    points = write_runs(p["db"], p["first"], p["count"], p["steps"], p["batch"])
    return {"points": points, "seconds": time.perf_counter() - t0}


def child_first_read(p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    from tracker.db import open_store

    t1 = time.perf_counter()
    if str(p["db"]).startswith("postgresql:"):
        import psycopg  # noqa: F401  (open_store imports it: counted apart, and in the total)
    else:
        import sqlite3 as _sqlite3  # noqa: F401
    t_driver = time.perf_counter()
    store = open_store(p["db"])
    t2 = time.perf_counter()
    runs = store.read_runs()
    t3 = time.perf_counter()
    newest = runs[0]
    sid = store.series_id(newest.id, "train/loss")
    assert sid is not None
    buckets = store.history_buckets(sid, 640)
    t4 = time.perf_counter()
    store.close()
    w0 = time.perf_counter()  # the same again in a warm process: what a refresh costs
    again = open_store(p["db"])
    again.read_runs()
    again.history_buckets(sid, 640)
    again.close()
    warm = time.perf_counter() - w0
    return {
        "import_s": t1 - t0,
        "driver_import_s": t_driver - t1,
        "open_s": t2 - t_driver,
        "warm_read_s": warm,
        "read_runs_s": t3 - t2,
        "buckets_s": t4 - t3,
        "first_read_s": t4 - t1,
        "runs": len(runs),
        "series": sum(len(r.metrics) for r in runs),
        "points": sum(m.count for r in runs for m in r.metrics.values()),
        "buckets": len(buckets),
    }


def child_mlflow_setup(p: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    import mlflow

    mlflow.set_tracking_uri(p["uri"])
    mlflow.set_experiment("bench")  # creates the tables (alembic migrations) and the experiment
    return {"setup_s": time.perf_counter() - t0, "version": mlflow.__version__}


def child_mlflow(p: dict[str, Any]) -> dict[str, Any]:
    import mlflow

    mlflow.set_tracking_uri(p["uri"])
    mlflow.set_experiment("bench")
    data = _payloads(100_000, int(p["index"]))
    seconds = float(p["seconds"])
    _ready_then_start()
    began = time.time()
    steps = 0
    with mlflow.start_run(run_name=f"m{p['index']}"):
        first_log = time.time()
        while time.time() - first_log < seconds:
            mlflow.log_metrics(data[steps % len(data)], step=steps)
            steps += 1
    done = time.time()
    return {"init_s": first_log - began, "first_log": first_log, "done": done, "steps": steps}


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "ingest": child_ingest,
    "latency": child_latency,
    "build": child_build,
    "first_read": child_first_read,
    "mlflow_setup": child_mlflow_setup,
    "mlflow": child_mlflow,
}


# --- the parent's helpers ----------------------------------------------------------------------


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    position = q * (len(sorted_values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TRACKTUI_SYSTEM_METRICS": "0",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        "GIT_PYTHON_REFRESH": "quiet",
    }


def _spawn(kind: str, params: dict[str, Any], stdin: bool = False) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", kind, json.dumps(params)],
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=tempfile.gettempdir(),  # MLflow would make ./mlruns, tracktui ./.tracktui files
    )


def _result(child: subprocess.Popen[str], timeout: float = 900) -> dict[str, Any]:
    out, err = child.communicate(timeout=timeout)
    lines = [line for line in out.strip().splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise RuntimeError(f"child failed ({child.returncode}):\n{err.strip()[-3000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    if err.strip():
        result["stderr"] = err.strip()[-2000:]
    return result


def run_child(kind: str, params: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    return _result(_spawn(kind, params), timeout)


def run_together(
    kind: str,
    params: list[dict[str, Any]],
    barriers: int = 1,
    at_last_start: Callable[[], None] | None = None,
) -> list[dict[str, Any]]:
    """Start the children; ``barriers`` times, wait until each says it is ready, then give them
    one start instant (``at_last_start`` runs just before the last one is given)."""
    children = [_spawn(kind, p, stdin=True) for p in params]
    try:
        for barrier in range(barriers):
            for child in children:
                assert child.stdout is not None
                while (line := child.stdout.readline()).strip() != "ready":
                    if not line:  # it exited before it was ready
                        err = child.stderr.read() if child.stderr else ""
                        raise RuntimeError(f"child exited before it was ready:\n{err[-3000:]}")
            last = barrier == barriers - 1
            if last and at_last_start is not None:
                at_last_start()
            start_at = f"{time.time() + 0.2}\n"
            for child in children:
                assert child.stdin is not None
                child.stdin.write(start_at)
                child.stdin.flush()
                if last:
                    child.stdin.close()
                    child.stdin = None  # communicate() must not flush it
        return [_result(child) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def _clock_ticks() -> int:
    return int(os.sysconf("SC_CLK_TCK"))


def server_cpu_s(pid: int | None) -> float:
    """CPU seconds of the postmaster, its exited (reaped) backends and its live children."""
    if pid is None:
        return math.nan
    import psutil

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = sum(int(fields[i]) for i in (11, 12, 13, 14)) / _clock_ticks()
        for child in psutil.Process(pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                times = child.cpu_times()
                total += times.user + times.system
    except (OSError, psutil.Error):
        return math.nan
    return total


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class WaitSampler:
    """What the writers' server backends are doing, every 20 ms (``pg_stat_activity``):
    ``state:wait_event_type:wait_event``; ``idle:Client:ClientRead`` is a backend waiting for
    its client between transactions, ``active:Lock:transactionid``/``tuple`` one waiting for
    another writer's row lock (the one-row ``state`` table), ``active:IO:WALSync`` a commit's
    fsync, ``active:CPU:-`` the server computing."""

    QUERY = (
        "SELECT state, coalesce(wait_event_type, 'CPU'), coalesce(wait_event, '-')"
        " FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
    )

    def __init__(self, cluster: Any, dbname: str, interval: float = 0.02) -> None:
        self.conn = cluster.connect(dbname)
        self.interval = interval
        self.counts: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for state, kind, event in self.conn.execute(self.QUERY).fetchall():
                what = f"{state}:{kind}:{event}"
                self.counts[what] = self.counts.get(what, 0) + 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.conn.close()


class LoadSampler:
    """``os.getloadavg()`` every second, labelled with the section running."""

    def __init__(self) -> None:
        self.section = "start"
        self.samples: list[tuple[float, str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), self.section, os.getloadavg()[0]))
            self._stop.wait(1.0)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def summary(self) -> dict[str, Any]:
        sections: dict[str, list[float]] = {}
        for _, section, load in self.samples:
            sections.setdefault(section, []).append(load)
        every = [load for _, _, load in self.samples]
        return {
            "load1_min": min(every, default=math.nan),
            "load1_median": statistics.median(every) if every else math.nan,
            "load1_max": max(every, default=math.nan),
            "per_section_load1_max": {s: max(v) for s, v in sections.items()},
            "per_section_load1_median": {s: statistics.median(v) for s, v in sections.items()},
        }


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.cluster: Any = None
        self.load = LoadSampler()
        self.results: dict[str, Any] = {}
        self.errors: list[dict[str, str]] = []
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
        self._databases = 0

    # -- databases -------------------------------------------------------------------------
    def pg_database(self, label: str) -> tuple[str, str]:
        self._databases += 1
        name = f"b{self._databases:03d}_{label}"
        return name, self.cluster.create_database(name)

    def pg_points(self, name: str) -> tuple[int, int, int]:
        """(points, chunk rows, finished runs) of a database."""
        with self.cluster.connect(name) as conn:
            points, chunks = conn.execute(
                "SELECT coalesce(sum(last_seq - first_seq + 1), 0), count(*) FROM points"
            ).fetchone()
            finished = conn.execute(
                "SELECT count(*) FROM runs WHERE status = 'finished'"
            ).fetchone()[0]
        return int(points), int(chunks), int(finished)

    def pg_bytes(self, name: str) -> dict[str, int]:
        with self.cluster.connect(name) as conn:
            row = conn.execute(
                "SELECT pg_total_relation_size('points'), pg_relation_size('points'),"
                " pg_total_relation_size('series'), pg_database_size(current_database())"
            ).fetchone()
        return {"points_total": row[0], "points_heap": row[1], "series_total": row[2],
                "database": row[3]}  # fmt: skip

    def sqlite_file(self, label: str) -> str:
        self._databases += 1
        folder = self.workdir / f"s{self._databases:03d}_{label}"
        folder.mkdir()
        return str(folder / "runs.db")

    @staticmethod
    def sqlite_points(path: str) -> tuple[int, int, int]:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            points = conn.execute("SELECT count(*) FROM points").fetchone()[0]
            finished = conn.execute(
                "SELECT count(*) FROM runs WHERE status = 'finished'"
            ).fetchone()[0]
        finally:
            conn.close()
        return int(points), int(points), int(finished)

    @staticmethod
    def sqlite_bytes(path: str) -> int:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        return sum(
            os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}")
        )

    def drop(self, name: str) -> None:
        with contextlib.suppress(Exception):
            self.cluster.drop_database(name)

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        self.load.section = name
        t0 = time.perf_counter()
        print(f"-- {name} ...", file=sys.stderr, flush=True)
        try:
            yield
        except Exception:
            text = traceback.format_exc()
            self.errors.append({"section": name, "traceback": text})
            print(f"   {name} FAILED:\n{text}", file=sys.stderr, flush=True)
        finally:
            elapsed = time.perf_counter() - t0
            self.results.setdefault("section_seconds", {})[name] = round(elapsed, 1)
            print(
                f"   {name}: {elapsed:.1f} s, load {os.getloadavg()[0]:.2f}",
                file=sys.stderr,
                flush=True,
            )

    # -- 1, 2, 4: ingest --------------------------------------------------------------------
    def ingest_round(
        self, backend: str, writers: int, steps: int, keep: bool = False
    ) -> dict[str, Any]:
        if backend == "postgresql":
            name, db = self.pg_database(f"ingest{writers}")
        else:
            name = db = self.sqlite_file(f"ingest{writers}")
        sampler = WaitSampler(self.cluster, name) if backend == "postgresql" else None
        server0 = [math.nan]

        def go() -> None:  # every writer is set up: the measured part starts
            server0[0] = server_cpu_s(self.cluster.pid)
            if sampler is not None:
                sampler.start()

        results = run_together(
            "ingest",
            [{"db": db, "index": i, "steps": steps} for i in range(writers)],
            barriers=2,
            at_last_start=go,
        )
        server1 = server_cpu_s(self.cluster.pid)
        if sampler is not None:
            sampler.stop()
        if backend == "postgresql":
            points, chunks, finished = self.pg_points(name)
        else:
            points, chunks, finished = self.sqlite_points(db)
        wall = max(r["done"] for r in results) - min(r["first_log"] for r in results)
        expected = writers * steps * len(KEYS)
        out: dict[str, Any] = {
            "points": expected,
            "wall_s": wall,
            "points_per_s": expected / wall,
            "init_max_s": max(r["init_s"] for r in results),
            "finish_max_s": max(r["finish_s"] for r in results),
            "us_per_log": statistics.median(r["us_per_log"] for r in results),
            "us_per_log_mean": statistics.median(r["us_per_log_mean"] for r in results),
            "client_cpu_s": sum(r["cpu_s"] for r in results),
            "server_cpu_s": (server1 - server0[0]) if backend == "postgresql" else 0.0,
            "stored_points": points,
            "chunk_rows": chunks,
            "all_kept": points == expected and finished == writers,
            "load1_after": os.getloadavg()[0],
        }
        if sampler is not None:
            out["server_waits"] = sampler.counts
        stderr = [r["stderr"] for r in results if "stderr" in r]
        if stderr:
            out["stderr"] = stderr[:2]
        if keep:
            out["db"] = name if backend == "postgresql" else db
        elif backend == "postgresql":
            self.drop(name)
        return out

    def ingest(self) -> None:
        a = self.args
        rounds: dict[str, list[dict[str, Any]]] = {}
        for rep in range(a.reps):
            for writers in a.writers:
                steps = a.steps if writers == 1 else a.steps_many
                for backend in ("postgresql", "sqlite"):  # interleaved: noise hits both alike
                    r = self.ingest_round(backend, writers, steps)
                    rounds.setdefault(f"{backend}/{writers}", []).append(r)
                    print(f"   rep {rep + 1} {backend} x{writers}: {r['points_per_s']:,.0f} points/s,"
                          f" log() {r['us_per_log']:.2f} µs, kept {r['all_kept']}", file=sys.stderr, flush=True)  # fmt: skip
        summary: dict[str, Any] = {}
        for label, runs in rounds.items():
            summary[label] = {
                key: statistics.median(r[key] for r in runs)
                for key in ("points", "wall_s", "points_per_s", "init_max_s", "finish_max_s",
                            "us_per_log", "us_per_log_mean", "client_cpu_s", "server_cpu_s",
                            "chunk_rows")
            }  # fmt: skip
            summary[label]["all_kept"] = all(r["all_kept"] for r in runs)
            waits: dict[str, int] = {}
            for r in runs:
                for what, n in r.get("server_waits", {}).items():
                    waits[what] = waits.get(what, 0) + n
            if waits:
                total = sum(waits.values())
                summary[label]["server_backends_by_state"] = {
                    what: round(n / total, 3)
                    for what, n in sorted(waits.items(), key=lambda item: -item[1])
                }
            summary[label]["rounds_points_per_s"] = [round(r["points_per_s"]) for r in runs]
            summary[label]["rounds_load1_after"] = [round(r["load1_after"], 2) for r in runs]
            problems = [s for r in runs for s in r.get("stderr", [])]
            if problems:
                summary[label]["stderr"] = problems[:2]
        self.results["ingest"] = summary

    def bytes_per_point(self) -> None:
        a = self.args
        out: dict[str, Any] = {}
        pg = self.ingest_round("postgresql", 1, a.size_steps, keep=True)
        sizes = self.pg_bytes(pg["db"])
        points = pg["stored_points"]
        out["postgresql_fast"] = {
            "points": points,
            "chunk_rows": pg["chunk_rows"],
            "points_per_chunk": points / max(1, pg["chunk_rows"]),
            "bytes_per_point": (sizes["points_total"] + sizes["series_total"]) / points,
            "points_only_bytes_per_point": sizes["points_total"] / points,
            "points_per_s": pg["points_per_s"],
            **sizes,
        }
        self.drop(pg["db"])
        lite = self.ingest_round("sqlite", 1, a.size_steps, keep=True)
        size = self.sqlite_bytes(lite["db"])
        out["sqlite_fast"] = {
            "points": lite["stored_points"],
            "bytes_per_point": size / lite["stored_points"],
            "file_bytes": size,
            "points_per_s": lite["points_per_s"],
        }
        os.unlink(lite["db"])
        for steps_per_batch, total_steps in a.paced:
            name, url = self.pg_database(f"paced{steps_per_batch}")
            t0 = time.perf_counter()
            write_runs(url, 0, 1, total_steps, steps_per_batch)
            seconds = time.perf_counter() - t0
            points, chunks, _ = self.pg_points(name)
            sizes = self.pg_bytes(name)
            out[f"postgresql_paced_{steps_per_batch}"] = {
                "points": points,
                "chunk_rows": chunks,
                "points_per_chunk": points / max(1, chunks),
                "bytes_per_point": (sizes["points_total"] + sizes["series_total"]) / points,
                "points_only_bytes_per_point": sizes["points_total"] / points,
                "transactions_per_s": total_steps / steps_per_batch / seconds,
                **sizes,
            }
            self.drop(name)
        self.results["bytes_per_point"] = out

    # -- 3, 5: latency -----------------------------------------------------------------------
    def latency(self) -> None:
        a = self.args
        out: dict[str, Any] = {}
        name, url = self.pg_database("latency_poll")
        out["postgresql_poll"] = run_child(
            "latency", {"db": url, "mode": "poll", "seconds": a.latency_seconds}
        )
        self.drop(name)
        path = self.sqlite_file("latency")
        out["sqlite_poll"] = run_child(
            "latency", {"db": path, "mode": "poll", "seconds": a.latency_seconds}
        )
        name, url = self.pg_database("latency_listen")
        out["postgresql_listen"] = run_child(
            "latency", {"db": url, "mode": "listen", "seconds": a.latency_seconds}
        )
        self.drop(name)
        self.results["latency"] = out

    # -- 6: first read -----------------------------------------------------------------------
    def build(self, db: str, procs: int) -> dict[str, Any]:
        a = self.args
        per = [a.read_runs // procs + (1 if i < a.read_runs % procs else 0) for i in range(procs)]
        firsts = [sum(per[:i]) for i in range(procs)]
        server0 = server_cpu_s(self.cluster.pid)
        t0 = time.perf_counter()
        children = [
            _spawn(
                "build",
                {"db": db, "first": f, "count": n, "steps": a.read_steps, "batch": a.build_batch},
            )
            for f, n in zip(firsts, per, strict=True)
            if n
        ]
        built = [_result(child, timeout=1800) for child in children]
        seconds = time.perf_counter() - t0
        points = sum(r["points"] for r in built)
        return {"points": points, "seconds": seconds, "points_per_s": points / seconds,
                "procs": len(children), "server_cpu_s": server_cpu_s(self.cluster.pid) - server0}  # fmt: skip

    def first_read(self) -> None:
        a = self.args
        out: dict[str, Any] = {"runs": a.read_runs, "steps_per_run": a.read_steps,
                               "points": a.read_runs * a.read_steps * len(KEYS),
                               "batch_steps": a.build_batch}  # fmt: skip
        name, url = self.pg_database("first_read")
        out["postgresql_build"] = self.build(url, a.build_procs)
        with self.cluster.connect(name) as conn:
            conn.execute("VACUUM ANALYZE")  # what autovacuum does soon after a bulk load
        out["postgresql_bytes"] = self.pg_bytes(name)
        reads = [run_child("first_read", {"db": url}) for _ in range(a.read_reps)]
        out["postgresql"] = _medians(reads)
        out["postgresql_rounds_s"] = [round(r["first_read_s"], 3) for r in reads]
        self.drop(name)
        if a.sqlite_first_read:
            path = self.sqlite_file("first_read")
            out["sqlite_build"] = self.build(path, 1)  # one writer: SQLite takes one at a time
            reads = [run_child("first_read", {"db": path}) for _ in range(a.read_reps)]
            out["sqlite"] = _medians(reads)
            out["sqlite_rounds_s"] = [round(r["first_read_s"], 3) for r in reads]
            os.unlink(path)
        self.results["first_read"] = out

    # -- 7: MLflow ---------------------------------------------------------------------------
    def mlflow(self) -> None:
        a = self.args
        out: dict[str, Any] = {"seconds_per_case": a.mlflow_seconds}
        try:
            import mlflow  # noqa: F401
        except ImportError as exc:
            raise RuntimeError(
                "mlflow is not installed: pip install mlflow psycopg2-binary"
            ) from exc
        name, url = self.pg_database("mlflow")
        out["setup"] = run_child("mlflow_setup", {"uri": url})
        for processes in a.mlflow_procs:
            # tracktui with as many writer processes, just before and just after: the ratio's two
            # sides see the same load on this shared machine
            steps = a.steps if processes == 1 else a.steps_many
            ours = [self.ingest_round("postgresql", processes, steps)]
            server0, client0 = server_cpu_s(self.cluster.pid), children_cpu_s()
            results = run_together(
                "mlflow",
                [{"uri": url, "index": i, "seconds": a.mlflow_seconds} for i in range(processes)],
            )
            wall = max(r["done"] for r in results) - min(r["first_log"] for r in results)
            points = sum(r["steps"] for r in results) * len(KEYS)
            case = {
                "points": points,
                "wall_s": wall,
                "points_per_s": points / wall,
                "client_cpu_s_whole_processes": children_cpu_s() - client0,
                "server_cpu_s": server_cpu_s(self.cluster.pid) - server0,
            }
            ours.append(self.ingest_round("postgresql", processes, steps))
            tracktui = statistics.mean(r["points_per_s"] for r in ours)
            case["tracktui_steps_per_writer"] = steps
            case["tracktui_points_per_s"] = tracktui
            case["tracktui_rounds_points_per_s"] = [round(r["points_per_s"]) for r in ours]
            case["tracktui_all_kept"] = all(r["all_kept"] for r in ours)
            case["ratio"] = tracktui / case["points_per_s"]
            out[str(processes)] = case
            stderr = [r["stderr"] for r in results if "stderr" in r]
            if stderr:
                out[str(processes)]["stderr"] = stderr[:1]
            print(
                f"   mlflow x{processes}: {points / wall:,.0f} points/s; tracktui"
                f" {tracktui:,.0f}: {case['ratio']:,.0f}x",
                file=sys.stderr,
                flush=True,
            )
        with self.cluster.connect(name) as conn:
            out["stored_points"] = conn.execute("SELECT count(*) FROM metrics").fetchone()[0]
        self.drop(name)
        self.results["mlflow"] = out

    # -- all ---------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from tests.pg_cluster import Cluster

        a = self.args
        load_before = os.getloadavg()
        settings = {} if a.pg_in_memory else {"fsync": "on", "max_wal_size": "'1GB'"}
        if not a.pg_in_memory:
            os.environ.setdefault("TRACKTUI_PG_TMPDIR", "/tmp")
        self.cluster = Cluster(settings=settings)
        self.load.start()
        self.cluster.start()
        try:
            with self.cluster.connect() as conn:
                server_version = conn.execute("SHOW server_version").fetchone()[0]
                shown = {s: conn.execute(f"SHOW {s}").fetchone()[0]
                         for s in ("fsync", "synchronous_commit", "shared_buffers", "max_wal_size")}  # fmt: skip
            self.results["server"] = {"version": server_version, "folder": str(self.cluster.folder),
                                      "settings": shown}  # fmt: skip
            steps = {
                "ingest": self.ingest,
                "bytes_per_point": self.bytes_per_point,
                "latency": self.latency,
                "first_read": self.first_read,
                "mlflow": self.mlflow,
            }
            for name, step in steps.items():
                if name in a.only:
                    with self.section(name):
                        step()
        finally:
            self.load.stop()
            self.cluster.stop()
            import shutil

            shutil.rmtree(self.workdir, ignore_errors=True)
        self.results["load"] = {
            "before": load_before,
            "after": os.getloadavg(),
            **self.load.summary(),
        }
        self.results["errors"] = self.errors
        return self.results


def _medians(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0] if key != "stderr"}


# --- report ------------------------------------------------------------------------------------


def _get(results: dict[str, Any], *path: str) -> Any:
    node: Any = results
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _fmt(value: Any, spec: str, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:{spec}}{unit}"


def _many_verdict(many: Any, one: Any) -> str:
    """Many writers' total: at least the budget, and no less than one writer's (within 5%,
    less than the rounds' own spread here, it says so rather than yes or no)."""
    if many is None or one is None:
        return "–"
    if many < BUDGET["pg_points_per_s_many"] or many < 0.95 * one:
        return "**NO**"
    return "yes" if many >= one else f"≈ ({many / one:.3f}x, within noise)"


def _verdict(value: Any, budget: float, higher_is_better: bool = True) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    ok = value >= budget if higher_is_better else value <= budget
    return "yes" if ok else "**NO**"


def _ratio(x: Any, y: Any) -> float | None:
    return None if x is None or y is None or not y else float(x) / float(y)


def _pair(results: dict[str, Any], kind: str, spec: str = ".0f") -> str:
    """``p50 / p95`` ms of a latency measurement."""
    node = _get(results, "latency", kind) or {}
    return f"{_fmt(node.get('p50_ms'), spec)} / {_fmt(node.get('p95_ms'), spec)}"


def report(r: dict[str, Any], args: argparse.Namespace) -> str:
    many = max(args.writers)

    def ing(backend: str, writers: int, key: str) -> Any:
        return _get(r, "ingest", f"{backend}/{writers}", key)

    def size(kind: str, key: str = "bytes_per_point") -> Any:
        return _get(r, "bytes_per_point", kind, key)

    def read(backend: str, key: str) -> Any:
        return _get(r, "first_read", backend, key)

    pg1, pgn = ing("postgresql", 1, "points_per_s"), ing("postgresql", many, "points_per_s")
    sq1, sqn = ing("sqlite", 1, "points_per_s"), ing("sqlite", many, "points_per_s")
    log_pg, log_sq = ing("postgresql", 1, "us_per_log"), ing("sqlite", 1, "us_per_log")
    mean_pg, mean_sq = ing("postgresql", 1, "us_per_log_mean"), ing("sqlite", 1, "us_per_log_mean")
    fr = r.get("first_read", {})
    pg_read, sq_read = read("postgresql", "first_read_s"), read("sqlite", "first_read_s")
    load = r.get("load", {})
    server = r.get("server", {})
    settings = server.get("settings", {})
    lines = [
        f"PostgreSQL {server.get('version', '?')} (fsync={settings.get('fsync')}, "
        f"synchronous_commit={settings.get('synchronous_commit')}, shared_buffers="
        f"{settings.get('shared_buffers')}, data on {'/dev/shm' if args.pg_in_memory else 'disk'}) "
        f"started by this script on the same {os.cpu_count()}-core machine as every writer and "
        f"reader; {r.get('machine', '')}; TRACKTUI_SYSTEM_METRICS=0; medians of {args.reps} rounds. "
        f"Load average (1 min) before {load.get('before', [math.nan])[0]:.2f}, during "
        f"{load.get('load1_min', math.nan):.2f}–{load.get('load1_max', math.nan):.2f} "
        f"(median {load.get('load1_median', math.nan):.2f}).",
        "",
        "| what | PostgreSQL | SQLite (baseline) | ratio PG/SQLite | budget | met |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| 1. ingest, 1 writer ({args.steps:,} steps x 4), points/s | {_fmt(pg1, ',.0f')} "
        f"| {_fmt(sq1, ',.0f')} | {_fmt(_ratio(pg1, sq1), '.2f')} | ≥ 200,000 "
        f"| {_verdict(pg1, BUDGET['pg_points_per_s_1'])} |",
        f"| 1. ingest, {many} writers ({args.steps_many:,} steps x 4 each), total points/s "
        f"| {_fmt(pgn, ',.0f')} | {_fmt(sqn, ',.0f')} | {_fmt(_ratio(pgn, sqn), '.2f')} "
        f"| ≥ 200,000 and ≥ 1 writer's ({_fmt(_ratio(pgn, pg1), '.3f')}x) | {_many_verdict(pgn, pg1)} |",
        f"| 1. … slowest of {many} concurrent init(), s | {_fmt(ing('postgresql', many, 'init_max_s'), '.2f')} "
        f"| {_fmt(ing('sqlite', many, 'init_max_s'), '.2f')} | – | – | – |",
        f"| 2. log() µs per call (median of 1,000-call chunks, 1 writer) | {_fmt(log_pg, '.2f')} "
        f"| {_fmt(log_sq, '.2f')} | {_fmt(_ratio(log_pg, log_sq), '.2f')} | same as SQLite "
        f"| {_verdict(_ratio(log_pg, log_sq), 1.15, False)} |",
        f"| 2. log() µs per call, mean over the loop (the writer thread competing for the GIL) "
        f"| {_fmt(mean_pg, '.2f')} | {_fmt(mean_sq, '.2f')} | {_fmt(_ratio(mean_pg, mean_sq), '.2f')} | – | – |",
        f"| 3. time to durable (log → visible to a 2nd connection, polled every 1 ms), p50 / p95 ms "
        f"| {_pair(r, 'postgresql_poll')} | {_pair(r, 'sqlite_poll')} | – | – | – |",
        f"| 4. bytes per point (points + series; points alone), 1M points from one fast writer "
        f"({_fmt(size('postgresql_fast', 'points_per_chunk'), ',.0f')} points/chunk) "
        f"| {_fmt(size('postgresql_fast'), '.1f')} ({_fmt(size('postgresql_fast', 'points_only_bytes_per_point'), '.1f')}) "
        f"| {_fmt(size('sqlite_fast'), '.1f')} | {_fmt(_ratio(size('postgresql_fast'), size('sqlite_fast')), '.2f')} | – | – |",
    ]
    for steps_per_batch, steps in args.paced:
        kind = f"postgresql_paced_{steps_per_batch}"
        lines.append(
            f"| 4. … paced: {steps_per_batch} step(s) per commit, {steps * len(KEYS):,} points "
            f"({steps_per_batch} point(s) per chunk) | {_fmt(size(kind), '.1f')} "
            f"({_fmt(size(kind, 'points_only_bytes_per_point'), '.1f')}) | {_fmt(size('sqlite_fast'), '.1f')} "
            f"| {_fmt(_ratio(size(kind), size('sqlite_fast')), '.2f')} | – | – |"
        )
    lines += [
        f"| 5. log → reader via LISTEN/NOTIFY + read_changes, p50 / p95 ms "
        f"| {_pair(r, 'postgresql_listen')} | (no NOTIFY) | – | – | – |",
        f"| 6. first read, {fr.get('runs', 0):,} runs / {fr.get('points', 0) / 1e6:.1f} M points: "
        f"open_store + read_runs + history_buckets(640), s | {_fmt(pg_read, '.3f')} | {_fmt(sq_read, '.3f')} "
        f"| {_fmt(_ratio(pg_read, sq_read), '.2f')} | ≤ 1.5 | {_verdict(pg_read, BUDGET['first_read_s'], False)} |",
    ]
    for key, what in (
        ("driver_import_s", "import psycopg / sqlite3"),
        ("open_s", "connect + schema check"),
        ("read_runs_s", "read_runs()"),
        ("buckets_s", "series_id + history_buckets(640)"),
        ("warm_read_s", "all again in the same process (warm)"),
    ):
        lines.append(
            f"| 6. … {what}, s | {_fmt(read('postgresql', key), '.3f')} | {_fmt(read('sqlite', key), '.3f')} | – | – | – |"
        )
    lines += [
        "",
        "| MLflow, PostgreSQL backend store (same server) | MLflow points/s | tracktui PostgreSQL, as many writers, rounds just before and after | ratio | budget | met |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for processes in args.mlflow_procs:
        case = _get(r, "mlflow", str(processes)) or {}
        rounds = case.get("tracktui_rounds_points_per_s", [])
        lines.append(
            f"| {processes} process(es), log_metrics(4 metrics, step), {args.mlflow_seconds:g} s "
            f"| {_fmt(case.get('points_per_s'), ',.0f')} | {_fmt(case.get('tracktui_points_per_s'), ',.0f')} "
            f"({', '.join(f'{x:,}' for x in rounds)}) | {_fmt(case.get('ratio'), ',.0f')}x | ≥ 500x "
            f"| {_verdict(case.get('ratio'), BUDGET['vs_mlflow'])} |"
        )
    notes = []
    for writers in args.writers:
        cpu, srv = (
            ing("postgresql", writers, "client_cpu_s"),
            ing("postgresql", writers, "server_cpu_s"),
        )
        wall, points = ing("postgresql", writers, "wall_s"), ing("postgresql", writers, "points")
        if wall:
            notes.append(
                f"PostgreSQL ingest x{writers}: wall {wall:.2f} s; writers' CPU {cpu:.2f} s "
                f"({cpu / points * 1e6:.2f} µs/point), server CPU {srv:.2f} s "
                f"({srv / points * 1e6:.2f} µs/point); server backends: "
                + ", ".join(
                    f"{what} {share:.0%}"
                    for what, share in list(
                        (ing("postgresql", writers, "server_backends_by_state") or {}).items()
                    )[:5]
                )
            )
    build = fr.get("postgresql_build")
    if build:
        notes.append(
            f"First-read data built in {build['seconds']:.0f} s ({build['points_per_s']:,.0f} "
            f"points/s, {build['procs']} processes through write_batch, {fr.get('batch_steps')} "
            f"steps per batch)"
        )
    if r.get("errors"):
        notes.append(
            f"{len(r['errors'])} section(s) FAILED: " + ", ".join(e["section"] for e in r["errors"])
        )
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines)


def _pairs(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        batch, _, total = part.partition(":")
        out.append((int(batch), int(total)))
    return out


def main() -> None:
    if len(sys.argv) >= 2 and sys.argv[1] == "--child":
        result = CHILDREN[sys.argv[2]](json.loads(sys.argv[3]))
        print(json.dumps(result), flush=True)
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="~1 minute smoke version")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--writers", default="1,16", help="writer process counts")
    parser.add_argument(
        "--steps", type=int, default=100_000, help="log() calls of the 1-writer rounds"
    )
    parser.add_argument(
        "--steps-many", type=int, default=25_000, help="log() calls per writer of the others"
    )
    parser.add_argument(
        "--size-steps", type=int, default=250_000, help="steps of the bytes-per-point run (x 4)"
    )
    parser.add_argument(
        "--paced", default="1:2000,10:10000", help="STEPS_PER_BATCH:STEPS,... paced size runs"
    )
    parser.add_argument("--latency-seconds", type=float, default=10.0)
    parser.add_argument("--read-runs", type=int, default=1000)
    parser.add_argument("--read-steps", type=int, default=2500, help="steps (x 4 metrics) per run")
    parser.add_argument("--read-reps", type=int, default=5)
    parser.add_argument("--build-procs", type=int, default=4)
    parser.add_argument("--build-batch", type=int, default=1250, help="steps per write_batch")
    parser.add_argument("--no-sqlite-first-read", dest="sqlite_first_read", action="store_false")
    parser.add_argument("--mlflow-seconds", type=float, default=20.0)
    parser.add_argument("--mlflow-procs", default="1,4")
    parser.add_argument(
        "--pg-in-memory",
        action="store_true",
        help="the test cluster's settings (fsync off, /dev/shm)",
    )
    parser.add_argument("--only", default="ingest,bytes_per_point,latency,first_read,mlflow")
    parser.add_argument("--json", help=f"default: {RESULT.name} here ({QUICK_RESULT} with --quick)")
    parser.add_argument(
        "--table-from", metavar="JSON", help="print (and store) the table of a result file again"
    )
    args = parser.parse_args()
    if args.table_from:
        stored = json.loads(Path(args.table_from).read_text())
        stored["table"] = report(stored, argparse.Namespace(**stored["args"]))
        Path(args.table_from).write_text(json.dumps(stored, indent=2, default=str) + "\n")
        print(stored["table"])
        return
    if args.quick:
        args.reps, args.steps, args.steps_many, args.size_steps = 1, 20_000, 5_000, 25_000
        args.paced, args.latency_seconds = "1:500,10:2000", 3.0
        args.read_runs, args.read_steps, args.read_reps = 100, 2500, 2
        args.mlflow_seconds = 4.0
    args.json = args.json or (QUICK_RESULT if args.quick else str(RESULT))
    args.writers = [int(w) for w in args.writers.split(",")]
    args.mlflow_procs = [int(p) for p in args.mlflow_procs.split(",")]
    args.paced = _pairs(args.paced)
    args.only = set(args.only.split(","))
    sys.path.insert(0, str(ROOT))
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"SQLite {sqlite3.sqlite_version}")  # fmt: skip
    t0 = time.perf_counter()
    bench = Bench(args)
    results = bench.run()
    results["machine"] = machine
    results["seconds"] = time.perf_counter() - t0
    results["args"] = {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(args).items()}
    results["budget"] = BUDGET
    table = report(results, args)
    results["table"] = table
    Path(args.json).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table)
    for error in results["errors"]:
        print(f"\n{error['section']} failed:\n{error['traceback']}")
    print(f"\n({results['seconds']:.0f} s in all; figures in {args.json})")


if __name__ == "__main__":
    main()
