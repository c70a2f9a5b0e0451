"""tracktui's tracker side by side with MLflow (SQLite), Trackio and wandb (offline), same
workload, same machine, same run; each peer in its own virtual environment.

    python benchmarks/bench_peers.py [--venvs /tmp/tracktui-peers] [--steps 10000] [--reps 3]

Peers are installed from PyPI into ``--venvs`` on first use (``--no-install`` skips a missing
one). Reported, medians of ``--reps`` fresh processes, interleaved round-robin:
- µs per log() call with 4 metrics, points/s (loop + finish), time to durable (init + loop + finish);
- bytes on disk per point;
- read-back: a fresh process loads a 100,000-point history through the tool's own read path;
- live latency: a separate reader process polling every 5 ms sees each logged value (100 steps/s).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(__file__).resolve().parent / "peers" / "harness.py"
ENV = {
    "tracker": {"TRACKTUI_SYSTEM_METRICS": "0"},
    "mlflow": {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"},
    "trackio": {
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    },
    "wandb": {"WANDB_MODE": "offline", "WANDB_SILENT": "true"},
}


def python_for(tool: str, venvs: Path, install: bool) -> str | None:
    if tool == "tracker":
        return sys.executable
    python = venvs / f"venv-{tool}" / "bin" / "python"
    if not python.exists():
        if not install:
            return None
        subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", tool], capture_output=True, text=True
        )
        if done.returncode != 0:
            print(
                f"{tool}: does not install here ({done.stderr.strip().splitlines()[-1:]})",
                file=sys.stderr,
            )
            shutil.rmtree(python.parent.parent, ignore_errors=True)
            return None
    return str(python)


def harness(
    python: str, tool: str, mode: str, n: int, folder: Path, timeout: float = 900
) -> dict[str, Any]:
    env = {**os.environ, **ENV[tool], "PYTHONPATH": str(ROOT)}
    if tool == "trackio":
        env["TRACKIO_DIR"] = str(folder)
    done = subprocess.run(
        [python, str(HARNESS), tool, mode, str(n), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=folder.parent,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{tool} {mode}: {done.stderr.strip()[-800:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--venvs", default="/tmp/tracktui-peers")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--read-points", type=int, default=100_000)
    parser.add_argument("--tools", default="tracker,trackio,wandb,mlflow")
    parser.add_argument("--no-install", action="store_true")
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    venvs = Path(args.venvs)
    venvs.mkdir(parents=True, exist_ok=True)
    pythons = {t: python_for(t, venvs, not args.no_install) for t in args.tools.split(",")}
    tools = [t for t, p in pythons.items() if p]
    writes: dict[str, list[dict[str, float]]] = {t: [] for t in tools}
    reads: dict[str, list[float]] = {t: [] for t in tools}
    lives: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch)
        for rep in range(args.reps):
            for tool in tools:
                writes[tool].append(
                    harness(pythons[tool], tool, "write", args.steps, base / f"{tool}-w{rep}")
                )  # type: ignore[arg-type]
        for tool in tools:
            folder = base / f"{tool}-history"
            if tool == "wandb":
                continue  # wandb 0.31 has no local read API for offline runs
            harness(pythons[tool], tool, "history", args.read_points, folder)  # type: ignore[arg-type]
            for _ in range(args.reps):
                reads[tool].append(
                    harness(pythons[tool], tool, "read", args.read_points, folder)["read_s"]
                )  # type: ignore[arg-type]
            lives[tool] = harness(pythons[tool], tool, "live", 300, base / f"{tool}-live")[
                "latencies"
            ]  # type: ignore[arg-type]
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(
        f"N = {args.steps:,} log calls x 4 metrics, median of {args.reps} fresh processes per tool; read-back of {args.read_points:,} points; {machine}\n"
    )
    print(
        "| tool | µs per log() | vs tracker | points/s | time to durable | bytes/point | read-back | live p50 · p95 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    base_us = (
        statistics.median(w["us_per_log"] for w in writes["tracker"])
        if "tracker" in writes
        else None
    )
    for tool in tools:
        w = {k: statistics.median(r[k] for r in writes[tool]) for k in writes[tool][0]}
        ratio = f"{w['us_per_log'] / base_us:.1f}×" if base_us else "-"
        read = f"{statistics.median(reads[tool]):.3f} s" if reads.get(tool) else "n/a"
        live = lives.get(tool) or []
        if not live and tool == "wandb":
            live = []
        live_text = (
            f"{statistics.median(live) * 1000:.0f} · {statistics.quantiles(live, n=20)[-1] * 1000:.0f} ms"
            if len(live) > 2
            else "n/a"
        )
        print(
            f"| {tool} | {w['us_per_log']:.1f} | {ratio} | {w['points_per_s']:,.0f} | {w['durable_s']:.2f} s | {w['bytes_per_point']:.0f} | {read} | {live_text} |"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"writes": writes, "reads": reads, "lives": lives}, indent=2)
        )


if __name__ == "__main__":
    main()
