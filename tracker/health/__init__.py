"""Training-health detectors: incremental, run on the writer thread, stored as events.

Each detector keeps O(1) state per series and turns an episode (a loss spike, a stall, a
full disk ...) into one ``kind="health"`` event when it starts and one with
``detail["resolved"] = True`` when it ends. See ``config.DETECTORS`` for the defaults and
``keys`` for which metric keys are losses, gradient norms and throughputs.
"""

from __future__ import annotations

from .config import DETECTORS, HealthConfig, health_config
from .monitor import HealthMonitor

__all__ = ["DETECTORS", "HealthConfig", "HealthMonitor", "health_config"]
