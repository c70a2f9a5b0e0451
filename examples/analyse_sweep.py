"""Notebook-style: pull a sweep into a DataFrame with ``tracker.Api`` and find the best config.

    python examples/analyse_sweep.py [--db PATH] [--lrs 1e-3 3e-3 1e-2] [--steps 300]

When the database holds no finished runs of the ``examples`` project, a small real sweep of
``examples/train_mlp.py`` runs first (one process per learning rate, all logging into the one
file at once, as a sweep does). Then, cell by cell: the summary table (one row per run:
``config.*``, ``summary.*``, ``metrics.*``), grouped by learning rate, the best config, and
the best run's curves as a DataFrame. Needs pandas: ``pip install 'tracktui[analysis]'``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import tracker

HERE = Path(__file__).resolve().parent
PROJECT = "examples"


def run_sweep(db: str, lrs: list[float], steps: int, eval_every: int) -> None:
    """One train_mlp.py process per learning rate, concurrently, into one database."""
    script = str(HERE / "train_mlp.py")
    common = ["--db", db, "--steps", str(steps), "--eval-every", str(eval_every)]
    jobs = [
        subprocess.Popen(
            [sys.executable, script, *common, "--lr", f"{lr:g}"], stdout=subprocess.DEVNULL
        )
        for lr in lrs
    ]
    failed = [lr for lr, job in zip(lrs, jobs, strict=True) if job.wait() != 0]
    if failed:
        raise SystemExit(f"the sweep's runs with lr {failed} failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=".tracktui/sweep.db")
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--eval-every", type=int, default=50)
    args = parser.parse_args()

    # %% the sweep: reuse what the database holds, else run one
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    if not Path(args.db).exists() or not tracker.Api(args.db).runs(PROJECT, "status=finished"):
        print(f"running a sweep of {len(args.lrs)} learning rates into {args.db} ...")
        run_sweep(args.db, args.lrs, args.steps, args.eval_every)

    # %% one row per run: its config, summary and metrics (the last value, and the minimum)
    api = tracker.Api(args.db)
    table = api.summary_table(project=PROJECT, filter="status=finished", stats=("last", "min"))
    shown = ["name", "config.lr", "metrics.eval/loss", "metrics.eval/loss.min",
             "metrics.eval/accuracy", "duration_s"]  # fmt: skip
    print(table[shown].sort_values("metrics.eval/loss.min").to_string(index=False))

    # %% group by the swept hyperparameter: the best config by its best evaluation loss
    by_lr = table.groupby("config.lr")["metrics.eval/loss.min"].agg(["min", "mean", "count"])
    print(by_lr)
    best_lr = float(by_lr["min"].idxmin())
    best = api.runs(PROJECT, f"status=finished cfg.lr={best_lr!r}", sort="metrics.eval/loss.min")[0]

    # %% the best run's curves, one row per step (NaN where eval/loss was not logged)
    history = best.history(keys=["train/loss", "eval/loss"])
    evaluated = history.dropna(subset=["eval/loss"])
    print(evaluated.tail().to_string(index=False))
    print(
        f"best config: lr={best_lr:g} (run {best.name}, {best.id}): eval/loss "
        f"{best.metrics['eval/loss'].min:.4f} at best, {len(history)} steps"
    )


if __name__ == "__main__":
    main()
