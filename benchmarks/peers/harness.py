"""One measurement of one tracker, run inside that tracker's own virtual environment.

    python harness.py TOOL write N DIR      -> JSON: us_per_log, loop_s, finish_s, durable_s, bytes
    python harness.py TOOL history N DIR    -> writes an N-point "loss" history (setup for read)
    python harness.py TOOL read N DIR       -> JSON: read_s (a fresh process loads the history)
    python harness.py TOOL live N DIR       -> JSON: latencies of a reader process, in seconds

TOOL is tracker, mlflow, trackio or wandb. Only the standard library and the tool are imported,
so the same file runs in every environment. The workload: N steps x 4 metrics (loss, eval_loss,
grad_norm, lr) of precomputed floats; `live` logs 100 steps/s with `lr` = the step number, and a
separate reader process notes when it first sees each step (every step, not only the newest).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

KEYS = ("loss", "eval_loss", "grad_norm", "lr")


def payloads(n: int) -> list[dict[str, float]]:
    rng = random.Random(0)
    return [{key: rng.random() for key in KEYS} for _ in range(n)]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


class Tool:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def start(self) -> None: ...
    def log(self, data: dict[str, float], step: int) -> None: ...
    def finish(self) -> None: ...
    def history(self, n: int) -> None:
        self.start()
        for step, data in enumerate(payloads(n)):
            self.log(data, step)
        self.finish()

    def read(self) -> int: ...
    def latest(self) -> float | None: ...  # the newest "lr" (= step) a reader sees, for live


class TrackerTool(Tool):
    def start(self) -> None:
        import tracker

        self.run = tracker.init(
            project="bench",
            name="bench",
            db=self.folder / "runs.db",
            quiet=True,
            system_metrics=False,
        )
        self.log_call = self.run.log

    def log(self, data: dict[str, float], step: int) -> None:
        self.log_call(data, step=step)

    def finish(self) -> None:
        self.run.finish()

    def _reader(self) -> Any:
        from tracker.db.sqlite.store import SqliteStore

        return SqliteStore.for_reading(self.folder / "runs.db")

    def read(self) -> int:
        store = self._reader()
        try:
            (run,) = store.read_runs()
            return len(store.history(run.metrics["loss"].series_id))
        finally:
            store.close()

    def latest(self) -> float | None:
        if not hasattr(self, "store"):
            if not (self.folder / "runs.db").exists():
                return None
            try:
                self.store = self._reader()
            except Exception:
                return None
        runs = self.store.read_runs()
        if not runs or "lr" not in runs[0].metrics:
            return None
        return runs[0].metrics["lr"].last


class MlflowTool(Tool):
    def start(self) -> None:
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{self.folder / 'mlflow.db'}")
        mlflow.set_experiment("bench")
        self.mlflow = mlflow
        self.run = mlflow.start_run(run_name="bench")

    def log(self, data: dict[str, float], step: int) -> None:
        self.mlflow.log_metrics(data, step=step)

    def finish(self) -> None:
        self.mlflow.end_run()

    def history(self, n: int) -> None:
        import mlflow
        from mlflow.entities import Metric
        from mlflow.tracking import MlflowClient

        mlflow.set_tracking_uri(f"sqlite:///{self.folder / 'mlflow.db'}")
        mlflow.set_experiment("bench")
        run = mlflow.start_run(run_name="bench")
        client = MlflowClient()
        now = int(time.time() * 1000)
        batch = [Metric("loss", v["loss"], now, step) for step, v in enumerate(payloads(n))]
        for start in range(0, n, 1000):
            client.log_batch(run.info.run_id, metrics=batch[start : start + 1000])
        mlflow.end_run()

    def read(self) -> int:
        import mlflow
        from mlflow.tracking import MlflowClient

        mlflow.set_tracking_uri(f"sqlite:///{self.folder / 'mlflow.db'}")
        client = MlflowClient()
        (run,) = client.search_runs([client.get_experiment_by_name("bench").experiment_id])
        return len(client.get_metric_history(run.info.run_id, "loss"))

    def latest(self) -> float | None:
        import mlflow
        from mlflow.tracking import MlflowClient

        if not (self.folder / "mlflow.db").exists():
            return None
        try:
            if not hasattr(self, "run_id"):  # set only once the run exists
                mlflow.set_tracking_uri(f"sqlite:///{self.folder / 'mlflow.db'}")
                client = MlflowClient()
                experiment = client.get_experiment_by_name("bench")
                self.run_id = client.search_runs([experiment.experiment_id])[0].info.run_id
                self.client = client
            return self.client.get_run(self.run_id).data.metrics.get("lr")
        except Exception:
            return None


class TrackioTool(Tool):
    def start(self) -> None:
        import trackio

        self.trackio = trackio
        trackio.init(project="bench", name="bench", auto_log_gpu=False, embed=False)

    def log(self, data: dict[str, float], step: int) -> None:
        self.trackio.log(data, step=step)

    def finish(self) -> None:
        self.trackio.finish()

    def read(self) -> int:
        from trackio.sqlite_storage import SQLiteStorage

        return len(SQLiteStorage.get_metric_values("bench", "bench", "loss"))

    def latest(self) -> float | None:
        import sqlite3

        databases = list(self.folder.rglob("*.db"))
        if not databases:
            return None
        try:
            conn = sqlite3.connect(f"file:{databases[0]}?mode=ro", uri=True)
            row = conn.execute("SELECT metrics FROM metrics ORDER BY step DESC LIMIT 1").fetchone()
            conn.close()
        except sqlite3.Error:
            return None
        return None if row is None else json.loads(row[0]).get("lr")


class WandbTool(Tool):
    def start(self) -> None:
        import wandb

        self.wandb = wandb
        self.run = wandb.init(project="bench", mode="offline", dir=str(self.folder))

    def log(self, data: dict[str, float], step: int) -> None:
        self.run.log(data, step=step)

    def finish(self) -> None:
        self.run.finish()


TOOLS = {"tracker": TrackerTool, "mlflow": MlflowTool, "trackio": TrackioTool, "wandb": WandbTool}


def write(tool: Tool, n: int) -> dict[str, float]:
    data = payloads(n)
    t0 = time.perf_counter()
    tool.start()
    t1 = time.perf_counter()
    log = tool.log
    for step, values in enumerate(data):
        log(values, step)
    t2 = time.perf_counter()
    tool.finish()
    t3 = time.perf_counter()
    return {
        "us_per_log": (t2 - t1) / n * 1e6,
        "loop_s": t2 - t1,
        "finish_s": t3 - t2,
        "durable_s": t3 - t0,
        "points_per_s": n * len(KEYS) / (t3 - t1),
        "bytes_per_point": folder_bytes(tool.folder) / (n * len(KEYS)),
    }


def live(tool_name: str, tool: Tool, n: int) -> dict[str, Any]:
    reader = subprocess.Popen(
        [sys.executable, __file__, tool_name, "watch", str(n), str(tool.folder)],
        stdout=subprocess.PIPE, text=True, env=os.environ,
    )  # fmt: skip
    time.sleep(1.0)
    tool.start()
    logged = []
    for step in range(n):
        logged.append(time.time())
        tool.log({"loss": 1.0, "eval_loss": 1.0, "grad_norm": 1.0, "lr": float(step)}, step)
        time.sleep(0.01)
    time.sleep(1.5)
    tool.finish()
    out, _ = reader.communicate(timeout=60)
    seen = {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}
    return {
        "latencies": sorted(seen[s] - logged[s] for s in range(n) if s in seen),
        "missed": n - len(seen),
    }


def watch(tool: Tool, n: int) -> dict[str, float]:
    """Poll every 5 ms; each step is seen when the newest step read is at or past it."""
    seen: dict[int, float] = {}
    newest = -1
    deadline = time.time() + n * 0.01 + 10
    while time.time() < deadline and newest < n - 1:
        value = tool.latest()
        now = time.time()
        if value is not None and int(value) > newest:
            for step in range(newest + 1, int(value) + 1):
                seen[step] = now
            newest = int(value)
        time.sleep(0.005)
    return seen  # type: ignore[return-value]


def main() -> None:
    name, mode, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    folder.mkdir(parents=True, exist_ok=True)
    tool = TOOLS[name](folder)
    if mode == "write":
        result: dict[str, Any] = write(tool, n)
    elif mode == "history":
        tool.history(n)
        result = {"ok": True}
    elif mode == "read":
        t0 = time.perf_counter()
        count = tool.read()
        result = {"read_s": time.perf_counter() - t0, "points": count}
    elif mode == "live":
        result = live(name, tool, n)
    else:
        result = watch(tool, n)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
