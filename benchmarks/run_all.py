"""Every benchmark in one command: the figures of the README's performance section.

    python benchmarks/run_all.py [--quick]

Runs, in order: bench_tracker.py (the write path against raw sqlite3), bench_peers.py (MLflow,
Trackio and wandb offline side by side; installs them into /tmp/tracktui-peers on first use),
bench_system.py (the hardware sampler's cost), bench_tui.py (first paint, redraw, idle cost,
live latency on generated databases) and bench_media.py (console capture, media logging). About 15 minutes in full, 4 with --quick.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    args = parser.parse_args()
    quick = args.quick
    steps = [
        ["bench_tracker.py", *(["--quick"] if quick else ["--reps", "5"])],
        [
            "bench_peers.py",
            *(["--steps", "2000", "--reps", "1", "--read-points", "20000"] if quick else []),
        ],
        ["bench_system.py", "--seconds", "10" if quick else "20"],
        ["bench_tui.py", *(["--sizes", "10,100", "--reps", "1"] if quick else [])],
        ["bench_media.py", *(["--reps", "1", "--images", "50"] if quick else [])],
    ]
    for script, *options in steps:
        print(f"\n## {script} {' '.join(options)}\n", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *options], check=False)


if __name__ == "__main__":
    main()
