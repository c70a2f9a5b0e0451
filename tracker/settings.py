"""What the environment decides about a run: the ``$TRACKTUI_*`` switches and waits."""

from __future__ import annotations

import os
from pathlib import Path

FLUSH_INTERVAL_S = 0.1  # a run's writer commits what was logged this often (viewers pace on it)
FINISH_STALL_S = 30.0  # $TRACKTUI_FINISH_TIMEOUT: finish() gives up this long after the last write
INIT_TIMEOUT_S = 120.0  # $TRACKTUI_INIT_TIMEOUT: how long init() waits out other writers
_OFF = ("0", "false", "no", "off")


def _seconds(variable: str, default: float) -> float:
    try:
        return max(0.1, float(os.environ.get(variable, default)))
    except ValueError:
        return default


def finish_timeout() -> float:
    """How long ``finish()`` waits past the last successful write for the buffer to drain."""
    return _seconds("TRACKTUI_FINISH_TIMEOUT", FINISH_STALL_S)


def init_timeout() -> float:
    """How long ``init()`` waits for a database other processes keep locked (seconds)."""
    return _seconds("TRACKTUI_INIT_TIMEOUT", INIT_TIMEOUT_S)


def system_metrics_wanted(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    return os.environ.get("TRACKTUI_SYSTEM_METRICS", "1").strip().lower() not in _OFF


def health_off_by_env() -> bool:
    """``$TRACKTUI_HEALTH=0`` switches every training-health detector off."""
    return os.environ.get("TRACKTUI_HEALTH", "1").strip().lower() in _OFF


def default_project() -> str:
    return os.environ.get("TRACKTUI_PROJECT") or Path.cwd().name or "default"


RESUME_CHOICES = ("allow", "must", "never", "auto")


def run_id_from_env() -> str | None:
    """A run id the launcher chose (``$TRACKTUI_RUN_ID``, or wandb's ``$WANDB_RUN_ID``)."""
    return os.environ.get("TRACKTUI_RUN_ID") or os.environ.get("WANDB_RUN_ID") or None


_NODE_RANK_VARIABLES = ("TRACKTUI_NODE_RANK", "GROUP_RANK", "NODE_RANK", "SLURM_NODEID")


def attach_wanted(choice: bool | None, run_id_given: bool) -> bool:
    """Whether this process joins a run another node started (a distributed job's other
    nodes): ``init(attach=True)``, ``$TRACKTUI_ATTACH=1``, or a run id from the launcher on
    a node whose rank (torchrun's ``$GROUP_RANK``, ``$NODE_RANK``, SLURM's
    ``$SLURM_NODEID``) is not 0."""
    if choice is not None:
        return bool(choice)
    text = os.environ.get("TRACKTUI_ATTACH", "").strip().lower()
    if text:
        return text not in _OFF
    if not run_id_given:
        return False
    for variable in _NODE_RANK_VARIABLES:
        value = os.environ.get(variable, "").strip()
        if value.isdigit():
            return int(value) > 0
    return False


def node_label(host: str) -> str:
    """How an attached process names itself in keys: its host, and its local rank when that
    is not 0 (two processes must never write one series)."""
    local = os.environ.get("LOCAL_RANK", "").strip()
    label = host if not local or local == "0" else f"{host}-rank{local}"
    return label.replace("/", "_")


def resume_choice(choice: object) -> str | None:
    """``init(resume=...)`` as one of :data:`RESUME_CHOICES`, or None for a new run.

    ``True`` means ``"auto"`` and ``False`` ``None``, as in wandb; when the argument is not
    given, ``$TRACKTUI_RESUME`` (or ``$WANDB_RESUME``) decides."""
    if choice is None:
        choice = os.environ.get("TRACKTUI_RESUME") or os.environ.get("WANDB_RESUME") or None
        if isinstance(choice, str) and choice.strip().lower() in ("true", "1", "yes"):
            choice = True
        elif isinstance(choice, str) and choice.strip().lower() in _OFF:
            choice = None
    if choice is None or choice is False:
        return None
    if choice is True:
        return "auto"
    if isinstance(choice, str) and choice.strip().lower() in RESUME_CHOICES:
        return choice.strip().lower()
    raise ValueError(f"resume must be one of {', '.join(RESUME_CHOICES)}, True or False")


def disabled_by_env(mode: object) -> bool:
    """wandb's ``mode="disabled"`` (or ``$WANDB_MODE=disabled``, ``$WANDB_DISABLED=true``):
    the script runs and nothing is recorded."""
    if mode is None:
        mode = os.environ.get("TRACKTUI_MODE") or os.environ.get("WANDB_MODE")
        if os.environ.get("WANDB_DISABLED", "").strip().lower() in ("true", "1", "yes"):
            return True
    return isinstance(mode, str) and mode.strip().lower() in ("disabled", "dryrun_disabled")
