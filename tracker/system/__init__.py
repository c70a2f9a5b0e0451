"""Hardware metrics: host, process tree, cgroup limits and NVIDIA GPUs, sampled off the loop.

Everything here is pure sampling (no SQL). :class:`~tracker.system.sampler.SystemSampler`
combines the sources into one ``{key: value}`` dict under ``sys/``; the run's
:class:`~tracker.system.sampler.SamplerThread` logs it through the same writer as metrics.
"""

from .keys import MetricInfo, describe
from .sampler import SamplerThread, SystemSampler

__all__ = ["MetricInfo", "SamplerThread", "SystemSampler", "describe"]
