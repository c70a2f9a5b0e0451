"""wandb's ``sync_tensorboard=True`` / ``wandb.tensorboard.patch()``: what a script writes with a
TensorBoard ``SummaryWriter`` also goes into the current run.

``patch(get_run)`` wraps methods of ``torch.utils.tensorboard.SummaryWriter`` and, when it can be
imported, ``tensorboardX.SummaryWriter``. Each wrapped method first does exactly what it did (the
event files are written as before, and its errors are the script's), then records the same data
in the run that ``get_run()`` returns (nothing when it returns None):

==================================  ============================================================
``add_scalar(tag, value, step)``    the metric ``tag``
``add_scalars(main, {t: v}, step)`` the metrics ``main/t``
``add_histogram(tag, values, ...)`` a :class:`~tracker.Histogram` (``bins`` when an int, else 64)
``add_image``, ``add_images``       an :class:`~tracker.Image`, the pixels TensorBoard stores
                                    (floats times 255 and clipped, a batch as TensorBoard's grid);
                                    ``add_figure`` goes through ``add_image``
``add_text(tag, text, step)``       a one-column :class:`~tracker.Table` (``text``)
``add_hparams(hparams, metrics)``   hyperparameters not in the config yet join it; the metrics
                                    are logged as scalars
==================================  ============================================================

Other methods (``add_graph``, ``add_embedding``, ``add_pr_curve``, ``add_audio``, ``add_video``,
``add_mesh``, ``add_histogram_raw``, ``add_image_with_boxes``, custom scalars) write their
event files only.

Steps follow wandb: a TensorBoard step belongs to each tag and need not grow, so it is logged as
the metric ``global_step`` beside the values, and ``run.define_metric("*",
step_metric="global_step")`` (when the run has it) makes it the x-axis. Consecutive calls at
the same ``global_step`` build one row, that is one run step, as wandb's rows; a new
``global_step``, or a tag written again, starts the next. The row is logged with
``commit=False`` and stays open until then, so the script's own next ``log()`` and
``watch()``'s histograms land on it too.

Several writers in different log directories (``runs/x/train`` and ``runs/x/val``) prefix their
tags with their directory relative to the directories' common parent (``train/loss``,
``val/loss``), as wandb does; ``patch(root_logdir=...)`` fixes that parent. A writer's prefix is
decided at its first call from the writers open then, and never changes afterwards.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import os
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from .errors import warn_once

# (label, the module to import, what must be installed for it)
_TARGETS = (
    ("torch.utils.tensorboard", "torch.utils.tensorboard", ("torch", "tensorboard")),
    ("tensorboardX", "tensorboardX", ("tensorboardX",)),
)
_METHODS = (
    "add_scalar",
    "add_scalars",
    "add_histogram",
    "add_image",
    "add_images",
    "add_text",
    "add_hparams",
)
STEP_KEY = "global_step"
HISTOGRAM_BINS = 64
_MAX_BINS = 512
_GRID_COLUMNS = 8  # TensorBoard's make_grid

_lock = threading.Lock()
_patched: list[tuple[type, str, Any]] = []  # (class, attribute, what it was)
_sync: _Sync | None = None
_local = threading.local()


def patch(
    get_run: Callable[[], Any], root_logdir: str | os.PathLike[str] | None = None
) -> list[str]:
    """Record what TensorBoard ``SummaryWriter``s write into ``get_run()`` (see the module's
    documentation). Safe to call again: the writers stay patched once, and the latest
    ``get_run``/``root_logdir`` are used. Returns the writers patched
    (``"torch.utils.tensorboard"``, ``"tensorboardX"``); warns once when there is none."""
    global _sync
    root = os.path.abspath(os.fspath(root_logdir)) if root_logdir is not None else None
    with _lock:
        if _sync is None:
            _sync = _Sync(get_run, root)
        else:
            _sync.get_run = get_run
            _sync.root_logdir = root
        done = []
        for label, module_name, needs in _TARGETS:
            writer_class = _writer_class(module_name, needs)
            if writer_class is None:
                continue
            if not any(cls is writer_class for cls, _, _ in _patched):
                _patch_class(writer_class)
            done.append(label)
    if not done:
        warn_once(
            "tensorboard-missing",
            "sync_tensorboard: neither torch.utils.tensorboard (pip install tensorboard) nor "
            "tensorboardX can be imported; nothing written to TensorBoard is recorded",
        )
    return done


def unpatch() -> None:
    """Put the ``SummaryWriter`` methods back as they were; safe to call when not patched."""
    global _sync
    with _lock:
        for cls, name, original in reversed(_patched):
            setattr(cls, name, original)
        _patched.clear()
        _sync = None


def is_patched() -> bool:
    return _sync is not None


def _writer_class(module_name: str, needs: tuple[str, ...]) -> type | None:
    for package in needs:
        try:
            if importlib.util.find_spec(package) is None:
                return None
        except (ImportError, ValueError):
            return None
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # an incompatible install: say so once, patch the others
        warn_once(
            f"tensorboard-import:{module_name}",
            f"sync_tensorboard: cannot import {module_name} ({type(exc).__name__}: {exc}); "
            "its writers are not recorded",
        )
        return None
    writer_class = getattr(module, "SummaryWriter", None)
    return writer_class if isinstance(writer_class, type) else None


def _patch_class(cls: type) -> None:
    init = cls.__dict__.get("__init__")
    if init is not None:
        _patched.append((cls, "__init__", init))
        setattr(cls, "__init__", _wrap_init(init))  # noqa: B010 - a method put back by unpatch
    for name in _METHODS:
        original = cls.__dict__.get(name)
        if original is None or not callable(original):
            continue
        _patched.append((cls, name, original))
        setattr(cls, name, _wrap_method(name, original))


def _wrap_init(original: Any) -> Any:
    @functools.wraps(original)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        sync = _sync
        if sync is not None and not getattr(_local, "depth", 0):
            # writers made inside a patched call (add_hparams's own) are not the script's
            try:
                sync.register(self)
            except Exception:
                pass

    return __init__


def _wrap_method(name: str, original: Any) -> Any:
    signature = inspect.signature(original)
    convert = _CONVERTERS[name]

    @functools.wraps(original)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_local, "depth", 0)
        _local.depth = depth + 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            _local.depth = depth
        sync = _sync
        if sync is not None and depth == 0:  # an inner call of a patched one is not recorded
            sync.record(name, convert, self, signature, args, kwargs)
        return result

    return wrapper


class _Sync:
    """Where patched writers record, and the rows they are building."""

    def __init__(self, get_run: Callable[[], Any], root_logdir: str | None) -> None:
        self.get_run = get_run
        self.root_logdir = root_logdir
        self.lock = threading.Lock()
        self.run: Any = None
        self.row_step: int | None = None  # the run step holding the row being built
        self.row_global_step: int | None = None
        self.row_keys: set[str] = set()
        self.defined: weakref.WeakSet[Any] = weakref.WeakSet()
        self.writers: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.namespaces: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def register(self, writer: Any) -> None:
        logdir = _logdir(writer)
        if logdir is not None:
            with self.lock:
                self.writers[writer] = logdir

    def record(
        self,
        name: str,
        convert: Callable[[Any, Mapping[str, Any]], tuple[dict[str, Any], Any]],
        writer: Any,
        signature: inspect.Signature,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        """Never raises: what cannot be recorded is reported once per cause."""
        try:
            run = self.get_run()
            if run is None:
                return
            bound = signature.bind(writer, *args, **kwargs)
            bound.apply_defaults()
            data, global_step = convert(run, bound.arguments)
            if data:
                self.emit(run, writer, data, global_step)
        except Exception as exc:
            warn_once(
                f"tensorboard-sync:{name}:{type(exc).__name__}",
                f"sync_tensorboard: {name}() was written to TensorBoard but not recorded in the "
                f"run: {type(exc).__name__}: {exc} (reported once)",
            )

    def emit(self, run: Any, writer: Any, data: dict[str, Any], global_step: Any) -> None:
        step_value = _step_value(global_step)
        with self.lock:
            namespace = self._namespace(writer)
            if namespace:
                data = {f"{namespace}/{key}": value for key, value in data.items()}
            if run is not self.run:
                self.run = run
                self.row_step, self.row_global_step, self.row_keys = None, None, set()
            self._define_step_metric(run)
            keys = set(data)
            # The row is left open (commit=False) so that the next call at the same
            # global_step, watch()'s histograms and the script's own next log() join it;
            # run.step (wandb's: where the next log() goes) says whether it still is open.
            open_row = self.row_step is not None and getattr(run, "step", None) == self.row_step
            if open_row and step_value == self.row_global_step and not keys & self.row_keys:
                run.log(data, commit=False)
                self.row_keys |= keys
                return
            if open_row:
                run.log({})  # close it: a new global_step, or a tag written again
            payload = dict(data)
            payload.setdefault(STEP_KEY, step_value)
            run.log(payload, commit=False)
            self.row_step = getattr(run, "step", None)
            self.row_global_step = step_value
            self.row_keys = keys

    def _define_step_metric(self, run: Any) -> None:
        try:
            if run in self.defined:
                return
            self.defined.add(run)
        except TypeError:  # a run that cannot be weakly referenced: define it every time
            pass
        define = getattr(run, "define_metric", None)
        if callable(define):
            try:
                define("*", step_metric=STEP_KEY)
            except Exception as exc:
                warn_once(
                    "tensorboard-define-metric",
                    f"sync_tensorboard: define_metric('*', step_metric={STEP_KEY!r}) failed: "
                    f"{type(exc).__name__}: {exc}",
                )

    def _namespace(self, writer: Any) -> str:
        """The writer's tag prefix, fixed at its first call (the caller holds the lock)."""
        try:
            known = self.namespaces.get(writer)
        except TypeError:  # an unhashable writer: no prefix
            return ""
        if known is not None:
            return known
        logdir = _logdir(writer)
        namespace = ""
        if logdir is not None:
            self.writers[writer] = logdir
            if self.root_logdir is not None:
                namespace = _relative(logdir, self.root_logdir)
            else:
                open_dirs = {d for w, d in list(self.writers.items()) if _is_open(w)}
                open_dirs.add(logdir)
                if len(open_dirs) > 1:
                    namespace = _relative(logdir, os.path.commonpath(sorted(open_dirs)))
        self.namespaces[writer] = namespace
        return namespace


def _logdir(writer: Any) -> str | None:
    for attribute in ("log_dir", "logdir"):  # torch's, tensorboardX's
        value = getattr(writer, attribute, None)
        if isinstance(value, (str, os.PathLike)):
            return os.path.abspath(os.fspath(value))
    return None


def _is_open(writer: Any) -> bool:
    return getattr(writer, "all_writers", True) is not None  # close() sets it to None


def _relative(path: str, root: str) -> str:
    relative = os.path.relpath(path, root)
    if relative == "." or relative == ".." or relative.startswith(".." + os.sep):
        return ""
    return relative.replace(os.sep, "/")


def _step_value(global_step: Any) -> int:
    """TensorBoard's step as an int (0 when None: what the event file holds then)."""
    if global_step is None:
        return 0
    item = getattr(global_step, "item", None)
    if callable(item):  # a tensor or numpy scalar
        global_step = item()
    return int(global_step)


# --- from a method's arguments to what the run logs ---------------------------------------------


def _scalar(run: Any, a: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    return {a["tag"]: a["scalar_value"]}, a["global_step"]


def _scalars(run: Any, a: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    main = a["main_tag"]
    data = {f"{main}/{tag}": value for tag, value in a["tag_scalar_dict"].items()}
    return data, a["global_step"]


def _histogram(run: Any, a: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    from .media import Histogram

    bins = a.get("bins")
    if isinstance(bins, bool) or not isinstance(bins, int) or not 1 <= bins <= _MAX_BINS:
        bins = HISTOGRAM_BINS  # TensorBoard's "tensorflow", numpy's "auto", ...: ours
    return {a["tag"]: Histogram(a["values"], bins=bins)}, a["global_step"]


def _image(run: Any, a: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    from .media import Image

    pixels = tensorboard_pixels(a["img_tensor"], str(a.get("dataformats") or "CHW"))
    return {a["tag"]: Image(pixels, normalize=False)}, a["global_step"]


def _text(run: Any, a: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    from .media import Table

    return {a["tag"]: Table(columns=["text"], rows=[[a["text_string"]]])}, a["global_step"]


def _hparams(run: Any, a: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    hparams = a.get("hparam_dict") or {}
    config = getattr(run, "config", None)
    if isinstance(hparams, Mapping) and config is not None:
        missing = {str(k): _plain(v) for k, v in hparams.items() if str(k) not in config}
        if missing:
            config.update(missing)
    metrics = a.get("metric_dict") or {}
    return dict(metrics), a.get("global_step")


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


_CONVERTERS: dict[str, Callable[[Any, Mapping[str, Any]], tuple[dict[str, Any], Any]]] = {
    "add_scalar": _scalar,
    "add_scalars": _scalars,
    "add_histogram": _histogram,
    "add_image": _image,
    "add_images": _image,
    "add_text": _text,
    "add_hparams": _hparams,
}


def tensorboard_pixels(image: Any, dataformats: str) -> Any:
    """The uint8 pixels TensorBoard stores for ``image`` in ``dataformats`` (``CHW``, ``HWC``,
    ``HW``, ``NCHW``, ...): a batch as a grid of up to 8 columns, floats times 255, clipped.
    Grey stays one channel (TensorBoard repeats it three times)."""
    import numpy as np

    from .media.base import to_numpy

    array = to_numpy(image, "add_image")
    layout = dataformats.upper()
    if len(set(layout)) != len(layout) or array.ndim != len(layout):
        raise ValueError(f"image of shape {array.shape} does not match dataformats {layout!r}")
    if len(layout) == 4:
        array = _grid(array.transpose([layout.index(c) for c in "NHWC"]))
    elif len(layout) == 3:
        array = array.transpose([layout.index(c) for c in "HWC"])
    elif len(layout) == 2:
        array = array.transpose([layout.index(c) for c in "HW"])
    else:
        raise ValueError(f"dataformats {layout!r}: expected 2 to 4 of N, C, H, W")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.dtype == np.uint8:
        return array
    scaled = np.nan_to_num(array.astype(np.float32), nan=0.0) * 255.0
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _grid(batch: Any) -> Any:
    """N×H×W×C images side by side, up to 8 a row (TensorBoard's ``make_grid``, channels last)."""
    import numpy as np

    count, height, width, channels = batch.shape
    columns = max(1, min(count, _GRID_COLUMNS))
    rows = max(1, math.ceil(count / columns))
    canvas = np.zeros((height * rows, width * columns, channels), dtype=batch.dtype)
    for i in range(count):
        y, x = divmod(i, columns)
        canvas[y * height : (y + 1) * height, x * width : (x + 1) * width] = batch[i]
    return canvas
