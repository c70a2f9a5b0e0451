"""A real (small) PyTorch training run on the CPU, logged with tracker, in well under a minute.

    python examples/train_mlp.py [--db PATH] [--steps 600] [--lr 3e-3]

Two interleaved spirals (generated here, nothing downloaded), a 3-layer MLP, AdamW with linear
warmup and cosine decay, gradient clipping; logs training loss, gradient norm (measured before
clipping), learning rate and throughput every step; every 50 steps the evaluation loss and
accuracy, and what the model predicts: its decision map as an image, a confusion matrix, a table
of sample predictions, and histograms of the first layer's weights and gradients. Its console
output is recorded too. Watch it live with ``tracktui`` in another pane (``3``: media).
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


def decision_map(model: nn.Module, size: int = 64) -> torch.Tensor:
    """The model's probability of the second spiral over the input plane, as an RGB image."""
    axis = torch.linspace(-3.5, 3.5, size)
    grid = torch.stack(torch.meshgrid(axis, -axis, indexing="xy"), dim=-1).reshape(-1, 2)
    with torch.no_grad():
        probability = model(grid).softmax(dim=1)[:, 1].reshape(size, size, 1)
    blue, orange = torch.tensor([40.0, 90.0, 200.0]), torch.tensor([250.0, 150.0, 40.0])
    return (probability * orange + (1 - probability) * blue).to(torch.uint8)


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
                predicted = logits.argmax(dim=1)
                confidence = logits.softmax(dim=1).max(dim=1).values
                samples = [
                    [f"({x:.2f}, {y:.2f})", ("A", "B")[int(t)], ("A", "B")[int(p)], float(c)]
                    for (x, y), t, p, c in zip(
                        eval_x[:8].tolist(), eval_y[:8], predicted[:8], confidence[:8], strict=True
                    )
                ]
                run.log(
                    {
                        "eval/loss": eval_loss,
                        "eval/accuracy": accuracy,
                        "eval/decision_map": tracker.Image(
                            decision_map(model), caption=f"step {step}: P(spiral B)"
                        ),
                        "eval/confusion": tracker.ConfusionMatrix(
                            eval_y, predicted, labels=["spiral A", "spiral B"]
                        ),
                        "eval/samples": tracker.Table(
                            columns=["input", "label", "predicted", "confidence"], rows=samples
                        ),
                        "weights/layer1": tracker.Histogram(model[0].weight.detach()),
                        "grads/layer1": tracker.Histogram(model[0].weight.grad),
                    },
                    step=step,
                )
                print(f"step {step:>4}  eval loss {eval_loss:.4f}  accuracy {accuracy:.3f}")
                if eval_loss < best:
                    best = eval_loss
                    run.summary["best_eval_loss"] = best
                    run.summary["best_step"] = step
        run.summary["final_accuracy"] = accuracy
        print(f"done: eval loss {eval_loss:.4f}, accuracy {accuracy:.3f}")


if __name__ == "__main__":
    main()
