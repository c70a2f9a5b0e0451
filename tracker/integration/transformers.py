"""The Trainer's ``WandbCallback`` (``transformers.integrations.WandbCallback``), recording
with tracktui: :class:`tracker.integrations.transformers.TrackerCallback` by wandb's name.
``report_to="wandb"`` makes the Trainer import the real wandb: pass ``report_to="none"`` and
``callbacks=[WandbCallback()]``."""

from __future__ import annotations

from ..integrations.transformers import WandbCallback

__all__ = ["WandbCallback"]
