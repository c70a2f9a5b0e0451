"""A plain Accelerate training loop with tracker's Accelerate tracker: the usual
``init_trackers`` / ``log`` / ``end_training`` calls, nothing else changes.

    python examples/accelerate_loop.py [--db PATH] [--epochs 3]
    torchrun --nproc_per_node 2 examples/accelerate_loop.py   # two processes, one run

A small MLP learns to sum its inputs on the CPU; each step's loss and learning rate and each
epoch's evaluation go to one run, written by the main process only.
"""

from __future__ import annotations

import argparse

import torch
from accelerate import Accelerator
from torch import nn

from tracker.integrations.accelerate import AccelerateTracker


def data(size: int, seed: int) -> torch.utils.data.TensorDataset:
    x = torch.randn(size, 4, generator=torch.Generator().manual_seed(seed))
    return torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    args = parser.parse_args()

    accelerator = Accelerator(cpu=True, log_with=AccelerateTracker(run_name="accelerate-mlp"))
    accelerator.init_trackers(
        "examples",
        config={"lr": args.lr, "epochs": args.epochs, "processes": accelerator.num_processes},
        init_kwargs={"tracktui": {"db": args.db, "tags": ["accelerate"]}},
    )
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    train = torch.utils.data.DataLoader(data(512, 0), batch_size=32, shuffle=True)
    evaluation = torch.utils.data.DataLoader(data(128, 1), batch_size=64)
    model, optimizer, train, evaluation = accelerator.prepare(model, optimizer, train, evaluation)

    step = 0
    for epoch in range(args.epochs):
        model.train()
        for x, y in train:
            loss = nn.functional.mse_loss(model(x), y)
            accelerator.backward(loss)
            optimizer.step()
            optimizer.zero_grad()
            accelerator.log({"train/loss": loss.item(), "train/epoch": epoch}, step=step)
            step += 1
        model.eval()
        losses = []
        with torch.no_grad():
            for x, y in evaluation:
                batch_loss = nn.functional.mse_loss(model(x), y).reshape(1)
                losses.append(accelerator.gather_for_metrics(batch_loss))
        accelerator.log({"eval": {"loss": torch.cat(losses).mean().item()}}, step=step - 1)
    accelerator.end_training()


if __name__ == "__main__":
    main()
