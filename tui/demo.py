"""``tracktui demo``: start simulated runs in background processes and open the TUI on them.

The simulations stop when the TUI exits (or, with ``--no-tui``, when they end or on Ctrl-C).
On a machine without an NVIDIA GPU the runs report simulated GPUs, named as such.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tracker.paths import make_private_dirs

from .sanitize import safe_text
from .terminal import ui_terminal


def _worker_env() -> dict[str, str]:
    env = dict(os.environ)
    if "TRACKTUI_FAKE_GPUS" not in env:
        from tracker.system.gpu import GpuUnavailable, NvmlGpuSource

        source = NvmlGpuSource()
        try:
            source.open()
            source.close()
        except GpuUnavailable:
            env["TRACKTUI_FAKE_GPUS"] = "1"
    env.setdefault("TRACKTUI_SYSTEM_METRICS", "1")
    return env


def start_workers(
    db: Path, runs: int, steps: int, steps_per_second: float
) -> list[subprocess.Popen[bytes]]:
    workers = []
    env = _worker_env()
    for index in range(runs):
        command = [
            sys.executable, "-m", "tui.simulate", "--db", str(db), "--index", str(index),
            "--steps", str(steps), "--steps-per-second", str(steps_per_second),
        ]  # fmt: skip
        workers.append(
            subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
            )
        )
        time.sleep(0.05)  # distinct creation times keep "newest first" stable
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.terminate()
    deadline = time.monotonic() + 5
    for worker in workers:
        try:
            worker.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()


def run_demo(
    db: Path, runs: int, duration: float, steps_per_second: float, tui: bool = True
) -> int:
    from .cli import load_runs
    from .listing import choose_metrics, render_table

    make_private_dirs(db.parent)
    steps = max(10, int(duration * steps_per_second))
    print(f"tracktui demo: {runs} simulated runs logging into {safe_text(db)}", file=sys.stderr)
    workers = start_workers(db, runs, steps, steps_per_second)
    if tui:
        from .app import TrackTuiApp

        try:
            with ui_terminal():
                TrackTuiApp(db, own_process=True).run()
        finally:
            stop_workers(workers)
        return 0
    clear = "\x1b[H\x1b[2J" if sys.stdout.isatty() else ""
    try:
        while True:
            time.sleep(1.0)
            listed = load_runs(db)
            table = render_table(listed, choose_metrics(listed))
            print(f"{clear}tracktui demo — {safe_text(db)} (Ctrl-C stops)\n{table}\n", flush=True)
            if all(worker.poll() is not None for worker in workers):
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop_workers(workers)
    print(f"the runs stay in {safe_text(db)}: tracktui ls --db {safe_text(db)}", file=sys.stderr)
    return 0
