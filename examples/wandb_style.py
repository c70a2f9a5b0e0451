"""A script written for wandb, running unchanged on tracktui: only the import differs.

python examples/wandb_style.py
"""

from __future__ import annotations

import argparse
import math
import random

import tracker as wandb  # was: import wandb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    wandb.init(
        project="examples",
        entity="my-team",
        name="wandb-style",
        config=args,
        group="sweep-1",
        mode="offline",
        db=args.db,
    )
    wandb.config.update({"optimizer": "adamw"})
    step = 0
    for epoch in range(wandb.config.epochs):
        for _ in range(100):
            loss = math.exp(-step / 120) + random.random() * 0.05
            wandb.log({"train/loss": loss, "epoch": epoch})
            step += 1
        wandb.log({"eval/loss": loss + 0.1}, commit=False)
        wandb.log({"eval/accuracy": 1 - loss / 2})
    wandb.run.summary["final_loss"] = loss
    wandb.finish()


if __name__ == "__main__":
    main()
