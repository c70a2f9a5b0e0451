"""Pieces of bench_viewer_cpu.py: the writer processes (tracker or wandb), CPU time of process
trees from /proc, a viewer in a private tmux server, the 1,000-run database, the wandb venv."""

from __future__ import annotations

import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NO_NETWORK = {
    "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true", "WANDB_ERROR_REPORTING": "false", "WANDB_ANONYMOUS": "never",
    "DO_NOT_TRACK": "1",
}  # fmt: skip
# no status line (the pane is the whole 120x36), a terminal type both viewers know
TMUX_CONF = "set -g status off\nset -g default-terminal tmux-256color\nset -g history-limit 100\n"

# argv: tool dest first count rate max_steps limit_s control. Logs `count` runs round-robin at
# `rate` steps/s each, 4 metrics a step, until max_steps, limit_s or the file control.stop;
# control.ready once every run is started; control.json at the end (steps, elapsed, and the
# wall time of each log() call of its first run).
WRITER = """
import json, math, os, sys, time
tool, dest, first, count, rate, max_steps, limit, control = sys.argv[1:9]
first, count, rate, max_steps, limit = int(first), int(count), float(rate), int(max_steps), float(limit)
if tool == "tracktui":
    import tracker
    def start(i):
        return tracker.init(project="bench", name=f"run-{i}", config={"lr": 1e-4 * (i + 1), "index": i},
                            db=dest, reinit="create_new", quiet=True)
else:
    import wandb
    flush = os.environ.get("BENCH_WANDB_FLUSH")
    settings = wandb.Settings(x_transaction_log_flush_interval=float(flush)) if flush else None
    def start(i):
        return wandb.init(project="bench", name=f"run-{i}", config={"lr": 1e-4 * (i + 1), "index": i},
                          dir=dest, reinit="create_new", mode="offline", settings=settings)
runs = [start(first + k) for k in range(count)]
open(control + ".ready", "w").close()
times, step, t0 = [], 0, time.monotonic()
while step < max_steps and time.monotonic() - t0 < limit and not os.path.exists(control + ".stop"):
    for k, run in enumerate(runs):
        loss = 3.0 * math.exp(-step / (400 + 10 * k)) + 0.01 * math.sin(step)
        if k == 0:
            times.append(time.time())
        run.log({"train/loss": loss, "eval/loss": loss + 0.1, "train/grad_norm": 1 + 0.1 * math.cos(step),
                 "train/lr": 1e-4 * min(1.0, step / 100)}, step=step)
    step += 1
    delay = t0 + step / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
elapsed = time.monotonic() - t0
for run in runs:
    run.finish()
with open(control + ".json", "w") as out:
    json.dump({"steps": step, "elapsed": elapsed, "times": times}, out)
"""

Writers = list[tuple[subprocess.Popen[bytes], Path]]


def parse_workload(text: str) -> dict[str, Any]:
    """``RxS``: R runs logging S steps/s each; ``idle`` / ``idleR``: R (6) finished runs."""
    if text.startswith("idle"):
        runs = int(text[4:] or 6)
        return {"key": text, "runs": runs, "rate": 25.0, "live": False,
                "label": f"idle ({runs} finished runs)"}  # fmt: skip
    runs_text, rate_text = text.split("x")
    runs, rate = int(runs_text), float(rate_text)
    label = f"{runs} run{'s' if runs > 1 else ''} × {rate:g} steps/s"
    return {"key": text, "runs": runs, "rate": rate, "live": True, "label": label}


def start_writers(python: str, env: dict[str, str], tool: str, runs: int, rate: float,
                  dest: Path, folder: Path, per_writer: int, max_steps: int, limit: float) -> Writers:  # fmt: skip
    """ceil(runs / per_writer) writer processes, runs shared evenly; returns once all logged."""
    procs = max(1, math.ceil(runs / per_writer))
    sizes = [runs // procs + (1 if i < runs % procs else 0) for i in range(procs)]
    writers: Writers = []
    first = 0
    for i, size in enumerate(sizes):
        control = folder / f"writer{i}"
        with open(folder / f"writer{i}.log", "wb") as log:
            cmd = [python, "-c", WRITER, tool, str(dest), str(first), str(size), str(rate),
                   str(max_steps), str(limit), str(control)]  # fmt: skip
            proc = subprocess.Popen(cmd, env=env, cwd=folder, stdout=log, stderr=subprocess.STDOUT)
        writers.append((proc, control))
        first += size
    deadline = time.time() + 180
    while not all(Path(f"{c}.ready").exists() for _, c in writers):
        if time.time() > deadline or any(p.poll() is not None for p, _ in writers):
            stop_writers(writers)
            raise RuntimeError(f"{tool} writers did not start: {tail(folder)}")
        time.sleep(0.05)
    return writers


def tail(folder: Path) -> str:
    return " | ".join(
        p.read_text(errors="replace")[-600:] for p in sorted(folder.glob("writer*.log"))
    )


def stop_writers(writers: Writers, touch: bool = True) -> list[dict[str, Any]]:
    """Ask the writers to finish (``touch``) or let them end by themselves; their reports."""
    for _, control in writers if touch else []:
        Path(f"{control}.stop").touch()
    reports = []
    for proc, control in writers:
        try:
            proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        report = Path(f"{control}.json")
        reports.append(json.loads(report.read_text()) if report.exists() else {})
    return reports


ProcTable = dict[int, tuple[int, int, int]]


def proc_table() -> ProcTable:
    """pid -> (ppid, own utime+stime, reaped children's cutime+cstime), in clock ticks."""
    table = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            table[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]),
                                 int(fields[13]) + int(fields[14]))  # fmt: skip
    return table


def descendants(table: ProcTable, roots: list[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def tree_ticks(table: ProcTable, roots: list[int]) -> int:
    """CPU ticks of ``roots`` and their descendants: live ones, and reaped ones through their
    parents' cutime+cstime."""
    return sum(table[pid][1] + table[pid][2] for pid in descendants(table, roots))


class Tmux:
    """A viewer in a detached 120x36 session of its own tmux server (private socket)."""

    def __init__(self, socket: str, command: list[str], env: dict[str, str], conf: Path) -> None:
        self.base = ["tmux", "-L", socket, "-f", str(conf)]
        self.started = time.perf_counter()
        subprocess.run([*self.base, "new-session", "-d", "-s", "v", "-x", "120", "-y", "36",
                        shlex.join(command)], env=env, check=True)  # fmt: skip
        server, pane = self.tmux("display", "-p", "-t", "v", "#{pid} #{pane_pid}").split()
        self.server, self.pane = int(server), int(pane)
        self.pids: set[int] = {self.pane}

    def tmux(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "v")

    def alive(self) -> bool:
        return self.tmux("list-panes", "-t", "v", "-F", "#{pane_dead}").strip() == "0"

    def remember(self, table: ProcTable) -> None:
        """Note the viewer's processes, so that close() can make sure they are gone."""
        self.pids |= descendants(table, [self.pane])

    def close(self) -> None:
        self.tmux("kill-server")  # SIGHUP to the viewer
        deadline = time.time() + 5
        while time.time() < deadline and any(Path(f"/proc/{p}").exists() for p in self.pids):
            time.sleep(0.05)
        for pid in self.pids:  # this viewer's own processes, by pid
            try:
                os.kill(pid, 9)
            except OSError:
                pass


def generate(path: Path, runs: int, points_per_run: int) -> None:
    """bench_tui.py's database of finished runs (same file, same cache)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_tui import generate as shared

    shared(path, runs, points_per_run)


def wandb_python(venvs: Path, install: bool) -> tuple[str | None, str]:
    """The python of ``venvs``/venv-wandb (installed from PyPI on first use, as bench_peers.py
    does) and wandb's version, or (None, why LEET cannot be measured)."""
    venv = venvs / "venv-wandb"
    python = venv / "bin" / "python"
    if not python.exists():
        if not install:
            return None, f"no {venv} (--no-install)"
        venvs.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", "wandb"],
                              capture_output=True, text=True)  # fmt: skip
        if done.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            return None, f"pip install wandb failed: {done.stderr.strip().splitlines()[-1:]}"
    version = subprocess.run([str(python), "-c", "import wandb; print(wandb.__version__)"],
                             capture_output=True, text=True)  # fmt: skip
    leet = subprocess.run([str(venv / "bin" / "wandb"), "leet", "--help"], capture_output=True,
                          text=True, env={**os.environ, **NO_NETWORK})  # fmt: skip
    if version.returncode != 0 or leet.returncode != 0:
        return None, f"wandb {version.stdout.strip() or '?'} has no working `wandb leet` (>= 0.28)"
    return str(python), version.stdout.strip()
