"""A real (small) PyTorch training run on the CPU, logged with tracker, in well under a minute.

    python examples/train_mlp.py [--db PATH] [--steps 600] [--lr 3e-3]

Two interleaved spirals (generated here, nothing downloaded), a 3-layer MLP, AdamW with linear
warmup and cosine decay, gradient clipping; logs training loss, gradient norm (measured before
clipping), learning rate and throughput every step, evaluation loss and accuracy every 50 steps.
Watch it live with ``tracktui`` in another pane.
"""

from __future__ import annotations

import argparse
import math
import time

import torch
from torch import nn

import tracker


def spirals(n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    labels = torch.randint(0, 2, (n,), generator=generator)
    radius = torch.rand(n, generator=generator) * 3 + 0.2
    angle = radius * 2.5 + labels * math.pi
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    return points + 0.08 * torch.randn(n, 2, generator=generator), labels


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default=None)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    train_x, train_y = spirals(8192, generator)
    eval_x, eval_y = spirals(2048, generator)
    model = nn.Sequential(
        nn.Linear(2, args.hidden),
        nn.GELU(),
        nn.Linear(args.hidden, args.hidden),
        nn.GELU(),
        nn.Linear(args.hidden, 2),
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)

    def schedule(step: int) -> float:
        if step < args.warmup:
            return (step + 1) / args.warmup
        progress = (step - args.warmup) / max(1, args.steps - args.warmup)
        return 0.5 * (1 + math.cos(math.pi * progress))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    loss_fn = nn.CrossEntropyLoss()

    with tracker.init(
        project="examples", name=f"spirals-lr{args.lr:g}", config=vars(args), db=args.db
    ) as run:
        run.config["parameters"] = sum(p.numel() for p in model.parameters())
        best = math.inf
        for step in range(args.steps):
            started = time.perf_counter()
            index = torch.randint(0, len(train_x), (args.batch_size,), generator=generator)
            loss = loss_fn(model(train_x[index]), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            elapsed = time.perf_counter() - started
            run.log(
                {
                    "train/loss": loss.detach(),
                    "train/grad_norm": grad_norm,
                    "train/lr": scheduler.get_last_lr()[0],
                    "train/samples_per_s": args.batch_size / elapsed,
                },
                step=step,
            )
            if step % args.eval_every == args.eval_every - 1 or step == args.steps - 1:
                with torch.no_grad():
                    logits = model(eval_x)
                    eval_loss = loss_fn(logits, eval_y).item()
                    accuracy = (logits.argmax(dim=1) == eval_y).float().mean().item()
                run.log({"eval/loss": eval_loss, "eval/accuracy": accuracy}, step=step)
                if eval_loss < best:
                    best = eval_loss
                    run.summary["best_eval_loss"] = best
                    run.summary["best_step"] = step
        run.summary["final_accuracy"] = accuracy
        print(f"done: eval loss {eval_loss:.4f}, accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
