"""Cost of the hardware sampler: one sample, and the sampler thread at its default interval.

    python benchmarks/bench_system.py [--seconds 20] [--fake-gpus 0]

Reports the median CPU time (thread time) of one ``SystemSampler.sample()`` over 200 samples,
and the CPU share of one core that a ``SamplerThread`` at 2 s used over ``--seconds`` of wall
time while this process trains nothing. Budget (DESIGN.md): ≤ 0.1% of one core.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracker.system.sampler import SamplerThread, SystemSampler


def one_sample_cost(gpu_source: object, repeats: int = 200) -> tuple[float, float]:
    sampler = SystemSampler(disk_path=tempfile.gettempdir(), gpu_source=gpu_source)  # type: ignore[arg-type]
    sampler.sample()
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.thread_time(), time.perf_counter()
        sampler.sample()
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - w0)
    sampler.close()
    return statistics.median(cpu), statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--fake-gpus", type=int, default=0, help="simulate N GPUs (machines without one)"
    )
    args = parser.parse_args()
    if args.fake_gpus:
        os.environ["TRACKTUI_FAKE_GPUS"] = str(args.fake_gpus)
    workers = [
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(4)
    ]
    try:
        host_cpu, host_wall = one_sample_cost(None)
        auto_cpu, auto_wall = one_sample_cost("auto")
        probe = SystemSampler(gpu_source="auto")
        gpus = f"{len(probe.gpus)} GPU(s)" if probe.gpus else f"no GPU ({probe.gpu_unavailable})"
        probe.close()
        marks: list[tuple[float, float]] = []  # (wall, the sampler thread's CPU) at each sample

        def deliver(values: dict[str, float]) -> None:
            marks.append((time.perf_counter(), time.thread_time()))

        thread = SamplerThread(deliver, interval=2.0, disk_path=tempfile.gettempdir())
        start = time.perf_counter()
        thread.start()
        time.sleep(args.seconds)
        thread.stop()
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    print(f"machine: {os.cpu_count()} cores; training process with 4 child processes; {gpus}")
    print(
        f"one sample, host + process tree only: {host_cpu * 1e6:,.0f} µs CPU ({host_wall * 1e6:,.0f} µs wall)"
    )
    print(
        f"one sample, with GPUs as configured:  {auto_cpu * 1e6:,.0f} µs CPU ({auto_wall * 1e6:,.0f} µs wall)"
    )
    print(
        f"  -> at the default 2 s interval: {100 * auto_cpu / 2.0:.3f}% of one core (budget 0.1%)"
    )
    share = 100 * thread.cpu_seconds / elapsed
    steady = (
        100 * (marks[-1][1] - marks[0][1]) / (marks[-1][0] - marks[0][0])
        if len(marks) > 1
        else float("nan")
    )
    print(f"sampler thread, {elapsed:.0f} s at 2 s: {thread.samples} samples, {thread.cpu_seconds * 1e3:.1f} ms CPU"
          f" = {share:.3f}% of one core with its start-up (psutil import, NVML init); {steady:.3f}% once running")  # fmt: skip


if __name__ == "__main__":
    main()
