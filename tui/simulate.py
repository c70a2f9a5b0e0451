"""Simulated training runs for ``tracktui demo`` (and deterministic demo databases).

Each run has its own hyperparameters and a seeded random generator: a noisy loss curve shaped
by the learning rate, evaluation every ``eval_every`` steps, gradient-norm spikes, a warmup plus
cosine learning-rate schedule and throughput. Some runs diverge to NaN; one can crash hard.
Run as a module, it is one worker process: ``python -m tui.simulate --db PATH --index N``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass

LEARNING_RATES = (3e-4, 1e-4, 1e-3, 3e-3, 2e-2, 5e-4, 2e-4, 6e-4)


@dataclass(frozen=True)
class RunSpec:
    index: int
    name: str
    config: dict[str, object]
    tags: tuple[str, ...]
    diverges: bool
    crashes: bool


def spec_for(index: int) -> RunSpec:
    rng = random.Random(1000 + index)
    lr = LEARNING_RATES[index % len(LEARNING_RATES)]
    rank = (4, 8, 16, 32)[index % 4]
    config: dict[str, object] = {
        "lr": lr,
        "batch_size": (16, 32, 64)[index % 3],
        "warmup": (0, 100, 200)[index % 3],
        "optimizer": {
            "name": "adamw",
            "betas": [0.9, 0.95],
            "weight_decay": 0.1 if index % 2 else 0.0,
        },
        "lora": {"r": rank, "alpha": 2 * rank},
        "dropout": round(rng.choice((0.0, 0.05, 0.1)), 2),
        "seed": index,
    }
    diverges = lr >= 1e-2
    crashes = index == 3
    tags = ("lora", "sweep") + (("unstable",) if diverges else ())
    return RunSpec(index, f"lora-r{rank}-lr{lr:g}", config, tags, diverges, crashes)


def curves(
    spec: RunSpec, total_steps: int, eval_every: int = 50
) -> Iterator[tuple[int, dict[str, float]]]:
    """Yield ``(step, metrics)`` for a run; deterministic for a given spec."""
    rng = random.Random(spec.index)
    lr = float(spec.config["lr"])  # type: ignore[arg-type]
    warmup = int(spec.config["warmup"])  # type: ignore[call-overload]
    speed = 0.8 + 0.4 * min(lr / 1e-3, 3.0)
    floor = 1.05 + 0.25 * abs(math.log10(lr / 6e-4))
    diverge_at = int(total_steps * 0.45) if spec.diverges else None
    loss = 3.2
    for step in range(total_steps):
        progress = step / max(total_steps - 1, 1)
        scheduled = (
            lr * min(1.0, (step + 1) / max(warmup, 1)) * 0.5 * (1 + math.cos(math.pi * progress))
        )
        target = floor + (3.2 - floor) * math.exp(-speed * 6 * progress)
        loss += 0.15 * (target - loss) + rng.gauss(0, 0.02 + 0.01 * loss)
        grad_norm = 0.4 + 1.6 * math.exp(-4 * progress) + abs(rng.gauss(0, 0.08))
        if rng.random() < 0.01:
            grad_norm *= rng.uniform(4, 12)  # occasional spike
        metrics: dict[str, float] = {
            "train/loss": loss,
            "train/grad_norm": grad_norm,
            "train/lr": scheduled,
            "train/tokens_per_s": 5200 + rng.gauss(0, 150),
        }
        if diverge_at is not None and step >= diverge_at:
            blow = math.exp(min((step - diverge_at) / 8, 700))
            metrics["train/loss"] = loss * blow if step < diverge_at + 40 else math.nan
            metrics["train/grad_norm"] = (
                grad_norm * blow * 10 if step < diverge_at + 35 else math.inf
            )
        if step % eval_every == eval_every - 1:
            metrics["eval/loss"] = metrics["train/loss"] + 0.08 + abs(rng.gauss(0, 0.03))
            metrics["eval/accuracy"] = max(0.0, min(1.0, 1.0 - metrics["eval/loss"] / 4))
        yield step, metrics


def run_worker(db: str, index: int, steps: int, steps_per_second: float) -> None:
    import sys

    import tracker

    from .simulate_media import eval_line, media_for, progress_line

    spec = spec_for(index)
    media_rng = random.Random(500 + index)
    run = tracker.init(
        project="demo", name=spec.name, config=spec.config, tags=list(spec.tags), db=db, quiet=True
    )
    crash_at = int(steps * 0.35) if spec.crashes else None
    delay = 1.0 / steps_per_second if steps_per_second > 0 else 0.0
    best = math.inf
    for step, metrics in curves(spec, steps):
        if crash_at is not None and step == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)  # a hard crash: no finish, no flush
        eval_loss = metrics.get("eval/loss")
        if eval_loss is not None:
            run.log({**metrics, **media_for(step, metrics, media_rng)}, step=step)
            print(f"\n{eval_line(step, metrics)}", flush=True)
        else:
            run.log(metrics, step=step)
        if step % 5 == 0:
            sys.stderr.write(progress_line(step, steps, metrics["train/loss"]))
            sys.stderr.flush()
        if eval_loss is not None and eval_loss < best:
            best = eval_loss
            run.summary["best_eval_loss"] = best
        if delay:
            time.sleep(delay)
    run.finish()


def main() -> None:
    parser = argparse.ArgumentParser(description="one simulated training run")
    parser.add_argument("--db", required=True)
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--steps-per-second", type=float, default=25.0)
    args = parser.parse_args()
    run_worker(args.db, args.index, args.steps, args.steps_per_second)


if __name__ == "__main__":
    main()
