"""``wandb.integration.keras``'s callbacks, recording with tracktui (see
:mod:`tracker.integrations.keras`)."""

from __future__ import annotations

from ..integrations.keras import (
    WandbCallback,
    WandbEvalCallback,
    WandbMetricsLogger,
    WandbModelCheckpoint,
)

__all__ = ["WandbCallback", "WandbEvalCallback", "WandbMetricsLogger", "WandbModelCheckpoint"]
