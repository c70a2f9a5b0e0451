"""Which logged keys the detectors read: losses, gradient norms, throughput and ``sys/`` keys.

Default rule (case-insensitive, keys under ``sys/`` never count):
- a loss is a key whose last ``/`` part is ``loss`` or ends in ``_loss`` (``loss``,
  ``train/loss``, ``eval/loss``, ``val_loss``, ``train/val_loss``);
- a gradient norm is a key whose last part is ``grad_norm``, ``gradient_norm`` or ends in
  ``_grad_norm``, or that ends in ``grad/norm``;
- a throughput is a key holding ``samples_per_second``, ``samples_per_sec``,
  ``tokens_per_second`` or ``tokens_per_sec``, or whose last part is ``throughput``.
``health={"loss_keys": [...], "grad_keys": [...], "throughput_keys": [...]}`` replaces a rule
with fnmatch patterns (``"*/nll"``), matched case-insensitively against the whole key.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

LOSS, GRAD, THROUGHPUT = "loss", "grad", "throughput"
GPU_UTIL, GPU_RUN_MEM, GPU_MEM_UTIL, GPU_MEM_USED, GPU_MEM_TOTAL = (
    "gpu_util", "gpu_run_mem", "gpu_mem_util", "gpu_mem_used", "gpu_mem_total",
)  # fmt: skip
LEVEL_UTIL, LEVEL_USED, LEVEL_TOTAL = "level_util", "level_used", "level_total"

_GPU = re.compile(r"^sys/gpu/(\d+)/(util|run_mem|mem_util|mem_used|mem_total)$")
_GPU_KINDS = {
    "util": GPU_UTIL, "run_mem": GPU_RUN_MEM, "mem_util": GPU_MEM_UTIL,
    "mem_used": GPU_MEM_USED, "mem_total": GPU_MEM_TOTAL,
}  # fmt: skip
# resource -> (detector, the key's role)
_LEVELS = {
    "sys/mem/util": ("host", LEVEL_UTIL),
    "sys/mem/used": ("host", LEVEL_USED),
    "sys/mem/total": ("host", LEVEL_TOTAL),
    "sys/cgroup/mem/util": ("container", LEVEL_UTIL),
    "sys/cgroup/mem/used": ("container", LEVEL_USED),
    "sys/cgroup/mem/limit": ("container", LEVEL_TOTAL),
    "sys/disk/util": ("disk", LEVEL_UTIL),
    "sys/disk/used": ("disk", LEVEL_USED),
    "sys/disk/total": ("disk", LEVEL_TOTAL),
}
_THROUGHPUT_PARTS = ("samples_per_second", "samples_per_sec", "tokens_per_second", "tokens_per_sec")

Role = tuple[str, str]  # (kind, resource: a GPU index, "host", "container", "disk" or "")


def classify(
    key: str,
    loss_keys: tuple[str, ...] | None = None,
    grad_keys: tuple[str, ...] | None = None,
    throughput_keys: tuple[str, ...] | None = None,
) -> Role | None:
    """What a detector makes of ``key``, or None when no detector reads it."""
    lower = key.lower()
    if lower.startswith("sys/"):
        match = _GPU.match(lower)
        if match is not None:
            return _GPU_KINDS[match.group(2)], match.group(1)
        level = _LEVELS.get(lower)
        return (level[1], level[0]) if level is not None else None
    if _matches(lower, loss_keys, is_loss):
        return LOSS, ""
    if _matches(lower, grad_keys, is_grad_norm):
        return GRAD, ""
    if _matches(lower, throughput_keys, is_throughput):
        return THROUGHPUT, ""
    return None


def _matches(lower: str, patterns: tuple[str, ...] | None, rule: object) -> bool:
    if patterns is None:
        return bool(rule(lower))  # type: ignore[operator]
    return any(fnmatchcase(lower, pattern) for pattern in patterns)


def is_loss(lower: str) -> bool:
    last = lower.rsplit("/", 1)[-1]
    return last == "loss" or last.endswith("_loss")


def is_grad_norm(lower: str) -> bool:
    last = lower.rsplit("/", 1)[-1]
    return (
        last in ("grad_norm", "gradient_norm")
        or last.endswith("_grad_norm")
        or lower == "grad/norm"
        or lower.endswith("/grad/norm")
    )


def is_throughput(lower: str) -> bool:
    return lower.rsplit("/", 1)[-1] == "throughput" or any(p in lower for p in _THROUGHPUT_PARTS)
