"""Lightning's ``WandbLogger`` (``lightning.pytorch.loggers.WandbLogger``), recording with
tracktui (see :mod:`tracker.integrations.lightning`)."""

from __future__ import annotations

from ..integrations.lightning import WandbLogger

__all__ = ["WandbLogger"]
