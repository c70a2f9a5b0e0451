"""wandb's ``watch()``: histograms of a torch model's gradients and weights while it trains.

``watch(run, model, log="gradients", log_freq=1000)`` hooks the model the way wandb does, so that
``import tracker as wandb`` scripts record the same keys at the same moments:

- weights (``log="parameters"`` or ``"all"``): a forward hook on each watched model counts its
  forward calls (evaluation passes included) and, on every ``log_freq``-th, logs a histogram of
  every parameter under ``parameters/<name>``;
- gradients (``log="gradients"``, the default, or ``"all"``): a hook on each parameter that
  requires grad at ``watch()`` time counts the gradients computed for it and, on every
  ``log_freq``-th, logs a histogram of that gradient under ``gradients/<name>``. The count is the
  parameter's own: one that a forward pass did not use is not counted for it.

Histograms have 64 bins between the finite minimum and maximum (wandb's), are computed on the
tensor's device, and are logged with ``commit=False``: they land on the step the training loop
logs next. NaN/inf values are left out of the bins and counted; a sparse gradient's implicit
zeros are counted in the bin holding zero. The second and later models watched in a process get
wandb's prefix (``gradients/graph_1fc.weight``), or ``graph_<idx>`` from ``idx=``.

Between logging steps a hook costs one counter check. A hook never raises into the training
loop: a failure is reported once and that model is no longer watched. ``unwatch`` removes every
hook. torch is imported only when ``watch`` is called.

The module is ``watching``, not ``watch``: a submodule named like the package's ``tracker.watch``
function would take its place as an attribute of the package once imported (and ``from . import
watch`` would find the function, not the module).
"""

from __future__ import annotations

import math
import threading
import weakref
from typing import Any

from .errors import warn_once
from .media import Histogram

LOG_CHOICES = ("gradients", "parameters", "all", None)
NUM_BINS = 64  # wandb's

_lock = threading.Lock()
_watches: list[_Watch] = []
_watch_index = 0  # wandb's global index: it names the second and later models watched


def watch(
    run: Any,
    models: Any,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> list[Any]:
    """Log histograms of ``models``' gradients and/or weights into ``run`` every ``log_freq``
    batches (see the module's documentation). ``models`` is a ``torch.nn.Module`` or a list or
    tuple of them; a model already watched is left as it is. ``criterion`` and ``log_graph``
    (wandb's model graph) are accepted; the graph is not recorded. Returns ``[]`` (wandb returns
    its graphs). Raises ``ValueError`` for an unknown ``log`` and ``TypeError`` for a model that
    is not a ``torch.nn.Module`` or a ``log_freq`` that is not a number, before hooking anything.
    """
    global _watch_index

    if log not in LOG_CHOICES:
        raise ValueError("watch(): log must be one of 'gradients', 'parameters', 'all' or None")
    if isinstance(log_freq, bool) or not isinstance(log_freq, (int, float)):
        raise TypeError(f"watch(): log_freq must be a number of batches, not {log_freq!r}")
    if isinstance(log_freq, float) and not math.isfinite(log_freq):
        raise ValueError(f"watch(): log_freq must be finite, not {log_freq!r}")
    freq = max(1, math.ceil(log_freq))  # wandb logs every batch for 0 or less
    if idx is not None and (isinstance(idx, bool) or not isinstance(idx, int)):
        raise TypeError(f"watch(): idx must be an int, not {idx!r}")
    model_list = list(models) if isinstance(models, (list, tuple)) else [models]

    import torch

    for model in model_list:
        if not isinstance(model, torch.nn.Module):
            raise TypeError(
                f"watch(): expected a torch.nn.Module, not {type(model).__module__}."
                f"{type(model).__name__}"
            )
    if log_graph:
        warn_once(
            "watch-graph",
            "watch(log_graph=True): the model's graph is not recorded by tracktui; "
            "its gradients and parameters are",
        )
    if log is None:  # nothing to hook; the models still take their numbers, as in wandb
        with _lock:
            _watch_index += len(model_list)
        return []
    with _lock:
        _prune()
        start = _watch_index if idx is None else idx
        position = 0
        for model in model_list:
            existing = _find(model)
            if existing is not None and existing.run is run:
                warn_once(
                    f"watch-twice:{id(model)}",
                    f"watch(): {type(model).__name__} is already watched; the first watch() "
                    "stays (call unwatch() first to change it)",
                )
                continue
            if existing is not None:  # watched for an earlier run: it moves to this one
                existing.stop()
                _watches.remove(existing)
            number = start + position
            position += 1
            _watch_index += 1
            entry = _Watch(
                run,
                model,
                prefix=f"graph_{number}" if number > 0 else "",
                freq=freq,
                parameters=log in ("parameters", "all"),
                gradients=log in ("gradients", "all"),
            )
            _watches.append(entry)
    return []


def unwatch(run: Any = None, models: Any = None) -> None:
    """Remove the hooks ``watch`` put on ``models`` (a model or a list or tuple of them), or on
    every model watched for ``run`` when ``models`` is None (every model at all when ``run`` is
    None too). A model that is not watched is reported once."""
    with _lock:
        _prune()
        if models is None:
            chosen = [w for w in _watches if run is None or w.run is run]
        else:
            chosen = []
            for model in models if isinstance(models, (list, tuple)) else [models]:
                entry = _find(model)
                if entry is None or (run is not None and entry.run is not run):
                    warn_once(
                        f"unwatch:{id(model)}",
                        f"unwatch(): {type(model).__name__} is not watched; nothing to remove",
                    )
                    continue
                chosen.append(entry)
        for entry in chosen:
            entry.stop()
            _watches.remove(entry)


def watched(run: Any = None) -> list[Any]:
    """The models being watched (for ``run``, or for any run), in the order they were."""
    with _lock:
        _prune()
        models = [w.model() for w in _watches if run is None or w.run is run]
    return [m for m in models if m is not None]


def _find(model: Any) -> _Watch | None:
    for entry in _watches:
        if entry.model() is model:
            return entry
    return None


def _prune() -> None:
    """Forget models that were garbage collected (their hooks went with them)."""
    _watches[:] = [w for w in _watches if w.model() is not None and w.active]


class _Watch:
    """One watched model: its hooks, their counters, and the run they log into."""

    def __init__(
        self,
        run: Any,
        model: Any,
        *,
        prefix: str,
        freq: int,
        parameters: bool,
        gradients: bool,
    ) -> None:
        self.run = run
        self.model = weakref.ref(model)
        self.name = type(model).__name__
        self.freq = freq
        self.active = True
        self.handles: list[Any] = []
        self._forwards = 0
        self._parameter_prefix = f"parameters/{prefix}"
        try:
            if parameters:
                self.handles.append(model.register_forward_hook(self._after_forward))
            if gradients:
                for name, parameter in model.named_parameters():
                    if parameter.requires_grad:
                        hook = self._gradient_hook(f"gradients/{prefix}{name}")
                        self.handles.append(parameter.register_hook(hook))
        except Exception:
            self.stop()
            raise

    def _after_forward(self, module: Any, inputs: Any, output: Any) -> None:
        if not self.active:
            return
        self._forwards += 1
        if self._forwards < self.freq:
            return
        self._forwards = 0
        try:
            prefix = self._parameter_prefix
            for name, parameter in module.named_parameters():
                self._log(prefix + name, parameter)
        except Exception as exc:
            self._failed(exc)

    def _gradient_hook(self, key: str) -> Any:
        count = 0
        freq = self.freq

        def after_gradient(grad: Any) -> None:
            nonlocal count
            if not self.active:
                return
            count += 1
            if count < freq:
                return
            count = 0
            try:
                self._log(key, grad)
            except Exception as exc:
                self._failed(exc)

        return after_gradient

    def _log(self, key: str, tensor: Any) -> None:
        histogram = tensor_histogram(tensor)
        if histogram is not None:
            self.run.log({key: histogram}, commit=False)

    def _failed(self, exc: BaseException) -> None:
        warn_once(
            f"watch-failed:{id(self)}",
            f"watch(): stopped watching {self.name} after an error in its hook: "
            f"{type(exc).__name__}: {exc}",
        )
        self.stop()

    def stop(self) -> None:
        self.active = False  # a hook already running or queued does nothing from now on
        handles, self.handles = self.handles, []
        for handle in handles:
            try:
                handle.remove()
            except Exception:  # a model torn down already: nothing left to remove
                pass


def tensor_histogram(tensor: Any, bins: int = NUM_BINS) -> Histogram | None:
    """A :class:`Histogram` of a tensor's values, binned on its own device (a few numbers come
    back to the host, not the tensor): ``bins`` equal bins from the finite minimum to the
    maximum, NaN/inf counted apart, a sparse tensor's implicit zeros in the bin holding zero.
    None for an empty tensor."""
    import torch

    with torch.no_grad():
        values = tensor.detach()
        implicit_zeros = 0
        if values.is_sparse:
            values = values.coalesce()
            stored = values.values()
            implicit_zeros = values.numel() - stored.numel()
            values = stored
        elif values.layout != torch.strided:  # CSR and other compressed layouts
            values = values.to_dense()
        flat = values.reshape(-1)
        if flat.is_complex():
            flat = flat.abs()
        if flat.dtype not in (torch.float32, torch.float64):
            flat = flat.float()
        if flat.numel() + implicit_zeros == 0:
            return None
        nonfinite = 0
        low = high = 0.0
        if flat.numel():
            low, high = _range(flat)
            if not (math.isfinite(low) and math.isfinite(high)):  # a NaN or inf among them
                finite = flat[torch.isfinite(flat)]
                nonfinite = flat.numel() - finite.numel()
                flat = finite
                if flat.numel():
                    low, high = _range(flat)
        finite_count = flat.numel()
        count = finite_count + implicit_zeros
        if count == 0:
            histogram = Histogram([])  # nothing to bin: the NaN/inf count is what shows
            histogram.nonfinite = nonfinite
            return histogram
        mean_value = std_value = 0.0
        if finite_count:
            mean_value, std_value = _mean_std(flat, copy_ok=flat.device.type == "cpu")
        if implicit_zeros:
            # the zeros join the statistics and the range (wandb widens it to include zero)
            second = (std_value**2 + mean_value**2) * finite_count / count
            mean_value = mean_value * finite_count / count
            std_value = math.sqrt(max(0.0, second - mean_value**2))
            low, high = min(low, 0.0), max(high, 0.0)
        stats = {"min": low, "max": high, "mean": mean_value, "std": std_value}
        if low == high:
            pad = 0.5 * max(1.0, abs(low))
            low, high = low - pad, high + pad
        if high - low > 1e30 and flat.dtype != torch.float64:
            flat = flat.double()  # float32 arithmetic would overflow across such a range
        try:
            counted = flat.histc(bins=bins, min=low, max=high) if finite_count else None
        except RuntimeError:  # a device or dtype without histc: bin on the CPU
            counted = flat.cpu().double().histc(bins=bins, min=low, max=high)
        counts = counted.tolist() if counted is not None else [0.0] * bins
        if implicit_zeros:
            width = (high - low) / bins
            index = min(bins - 1, max(0, int((0.0 - low) / width)))
            counts[index] += implicit_zeros
    edges = [low + (high - low) * i / bins for i in range(bins)] + [high]
    histogram = Histogram(counts=counts, edges=edges)
    histogram.stats = stats
    histogram.nonfinite = nonfinite
    return histogram


def _range(flat: Any) -> tuple[float, float]:
    """The smallest and largest value (NaN when there is one), in one trip to the host."""
    import torch

    low, high = torch.stack(list(torch.aminmax(flat))).tolist()
    return float(low), float(high)


def _mean_std(flat: Any, copy_ok: bool) -> tuple[float, float]:
    """Mean and (population) standard deviation of a 1-D float tensor, in one trip to the host:
    on the CPU through a centred copy (a dot product is several times faster than
    ``var_mean`` there), elsewhere without copying a tensor that may be large."""
    import torch

    if copy_ok:
        mean = flat.mean()
        centered = flat - mean
        var = torch.dot(centered, centered) / flat.numel()
    else:
        var, mean = torch.var_mean(flat, correction=0)
    mean_value, var_value = torch.stack([mean, var]).tolist()
    return float(mean_value), math.sqrt(max(0.0, float(var_value)))
