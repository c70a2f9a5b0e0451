"""What the simulated runs show besides scalars: deterministic media that improve as the
simulated loss falls (a classifier's decision map, generated text beside its reference, a
gradient histogram, a confusion matrix) and the console lines a training script prints."""

from __future__ import annotations

import math
import random
from typing import Any

import tracker

CLASSES = ("cat", "dog", "bird", "fish")
PROMPTS = (
    ("Translate to French: good morning", "bonjour à tous et bonne journée"),
    ("Summarise: the loss fell steadily", "the loss went down"),
    ("Complete: the quick brown fox", "jumps over the lazy dog"),
    ("Q: 2 + 2 = ?", "A: 4"),
)
NOISE = ("the", "of", "##ing", "<unk>", "and", "zzz", "lorem", "ipsum", "[bold]", "∑")


def quality(loss: float) -> float:
    """0 (untrained) to 1 (perfect) from a simulated eval loss."""
    if not math.isfinite(loss):
        return 0.0
    return max(0.0, min(1.0, (3.3 - loss) / 2.4))


def decision_map(step: int, score: float, size: int = 48) -> Any:
    """A two-class spiral as the model sees it: blurry early, sharp once trained."""
    import numpy as np

    axis = np.linspace(-1.0, 1.0, size)
    x, y = np.meshgrid(axis, axis)
    radius, angle = np.hypot(x, y), np.arctan2(y, x)
    field = np.sin(3.0 * angle + 9.0 * radius - 0.02 * step)
    sharp = 1.0 / (1.0 + np.exp(-field * (1.0 + 12.0 * score)))
    blue, orange = np.array([40, 90, 200]), np.array([250, 150, 40])
    pixels = sharp[..., None] * orange + (1.0 - sharp[..., None]) * blue
    return pixels.astype(np.uint8)


def generation(reference: str, score: float, rng: random.Random) -> str:
    words = reference.split()
    return " ".join(w if rng.random() < 0.15 + 0.85 * score else rng.choice(NOISE) for w in words)


def confusion(score: float, rng: random.Random, samples: int = 200) -> tuple[list[int], list[int]]:
    truth = [rng.randrange(len(CLASSES)) for _ in range(samples)]
    predicted = [
        t if rng.random() < 0.25 + 0.7 * score else rng.randrange(len(CLASSES)) for t in truth
    ]
    return truth, predicted


def gradients(step: int, grad_norm: float, rng: random.Random, count: int = 2000) -> Any:
    import numpy as np

    generator = np.random.default_rng(rng.randrange(2**32))
    scale = min(grad_norm, 1e6) / 40.0 if math.isfinite(grad_norm) else 1.0
    values = generator.standard_t(4, count) * scale
    if not math.isfinite(grad_norm):
        values[: count // 10] = np.nan
    return values


def media_for(
    step: int, metrics: dict[str, float], rng: random.Random
) -> dict[str, tracker.Image | tracker.Table | tracker.Histogram | tracker.ConfusionMatrix]:
    """The media an evaluation step logs (call it at steps that have ``eval/loss``)."""
    score = quality(metrics.get("eval/loss", math.inf))
    rows = [[prompt, generation(ref, score, rng), ref] for prompt, ref in PROMPTS]
    truth, predicted = confusion(score, rng)
    return {
        "eval/decision_map": tracker.Image(
            decision_map(step, score), caption=f"step {step}: predicted class per input"
        ),
        "eval/generations": tracker.Table(columns=["prompt", "output", "reference"], rows=rows),
        "eval/confusion": tracker.ConfusionMatrix(truth, predicted, labels=list(CLASSES)),
        "grads/layer1": tracker.Histogram(
            gradients(step, metrics.get("train/grad_norm", 1.0), rng)
        ),
    }


def progress_line(step: int, total: int, loss: float) -> str:
    """A tqdm-style bar, redrawn in place with a carriage return."""
    done = int(30 * (step + 1) / total)
    return f"\rtrain {step + 1:>5}/{total} |{'█' * done}{' ' * (30 - done)}| loss {loss:.4f}"


def eval_line(step: int, metrics: dict[str, float]) -> str:
    loss = metrics.get("eval/loss", math.nan)
    accuracy = metrics.get("eval/accuracy", math.nan)
    return f"step {step:>5} | eval/loss {loss:.4f} | eval/accuracy {accuracy:.3f}"
