"""``tracktui import tensorboard LOGDIR``: TensorBoard event files read with TensorBoard's own
reader (``RawEventFileLoader`` and the ``data_compat``/``dataclass_compat`` layers that its
``EventFileLoader`` applies), never a parser of our own.

Every directory under LOGDIR that holds event files is one run, named by its path relative to
LOGDIR. Its id is ``tb-`` + a hash of what the event files themselves say: the oldest one's name
(``events.out.tfevents.<time>.<host>.<pid>.<n>``) and its first event's wall time. So the same
files are the same run however they are reached: LOGDIR or one of its subfolders, a symlink, the
folder moved or copied; the run keeps the project and name it was first imported with. (Ids
made by the first importer, from the path, are not recognised: it shipped in no release.) Its
event files are read oldest first (their names start with the time they were created, then
the host, the process and a count, compared as numbers), so a writer that was restarted
appends. What
is kept: scalars with their steps and wall times, images (their PNG bytes as stored) and
histograms as media, and the hparams plugin's hyperparameters as the run's config. A record
that cannot be read (a file cut short, a damaged record) ends that file: what came before it is
imported and the rest is reported.

``add_hparams`` (torch's ``SummaryWriter`` and tensorboardX's) writes into a subfolder of the
run's folder named by the time (``run1/1733000000.123/``): the hparams plugin's summaries and
one scalar per metric. Such a folder (hparams session data, no media, no more points per tag
than sessions; its event files under 1 MiB) is part of its parent's run, not a run: its
hyperparameters become the parent's config and its metrics (``hparam/accuracy``) the parent's
summary, and the id stays the parent's. With several such folders the one written latest (by
its first wall time) wins on a key they share. Not merged: a parent that holds hparams data of
its own (TensorBoard's HParams layout, an experiment folder over one session per subfolder), and
a parent without event files, where the folder is its own run, named after the parent when it
is the parent's only folder and its name is a time (add_hparams' default).
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..media.base import MAX_MEDIA_BYTES, Encoded
from ..media.histogram import MAX_BINS
from ..natural import natural_key
from . import ImportSourceError, MissingReader, RunSource
from .target import READ_TICK, SourceRun, Tick, clean_key, clean_name

EVENT_MARK = "tfevents"
HPARAMS_MAX_BYTES = 1 << 20  # an add_hparams folder is a few hundred bytes; larger is a run
_TIME_NAME = re.compile(r"[0-9]+(\.[0-9]+)?")  # add_hparams' default folder: str(time.time())
_FLOAT_TYPES = {1: "float_val", 2: "double_val", 19: "half_val"}  # DT_FLOAT, DT_DOUBLE, DT_HALF


def _module(name: str) -> Any:
    """A module of TensorBoard's (it has no type information: taken as Any)."""
    return importlib.import_module(name)


def run_id(files: list[Path]) -> str:
    """The id of the run whose event files (oldest first) are ``files``: from the oldest
    one's name and first event, never from the path it was found by."""
    first = files[0]
    wall = ""
    try:
        loader = _module("tensorboard.backend.event_processing.event_file_loader")
        event_pb2 = _module("tensorboard.compat.proto.event_pb2")
        for record in loader.RawEventFileLoader(str(first)).Load():
            wall = repr(float(event_pb2.Event.FromString(record).wall_time))
            break
    except Exception:  # an unreadable first event: the name alone (read_run reports it)
        wall = ""
    key = f"{first.name}\0{wall}".encode("utf-8", "surrogateescape")
    return "tb-" + hashlib.sha256(key).hexdigest()[:16]


def event_order(name: str) -> tuple[tuple[int, int | str], ...]:
    """An event file's place among its folder's: by the numbers in its name taken as numbers
    (``…tfevents.<seconds>.<host>.<pid>.<count>``). By characters, a process's tenth file of a
    second (``.10``) came before its ninth (``.9``): it was taken as the oldest, and the run's
    id (made from the oldest) changed, so new points made a second run."""
    return natural_key(name)


def run_dirs(logdir: str) -> list[tuple[str, list[Path]]]:
    """``(relative path, event files oldest first)`` of every run under ``logdir``."""
    found = []
    for folder, subdirs, files in os.walk(logdir):
        subdirs.sort()
        events = sorted(
            (f for f in files if EVENT_MARK in f and not f.endswith(".tmp")), key=event_order
        )
        if events:
            relative = os.path.relpath(folder, logdir)
            found.append((relative, [Path(folder) / f for f in events]))
    return found


def read_logdir(logdir: str, project: str | None = None, on_read: Tick = None) -> RunSource:
    """The runs of a TensorBoard log directory; :class:`ImportSourceError` when there are
    none to read."""
    try:
        _module("tensorboard.backend.event_processing.event_file_loader")
    except ImportError:
        raise MissingReader("tensorboard", "tensorboard") from None
    path = Path(logdir)
    if not path.exists():
        raise ImportSourceError(f"{logdir}: no such directory")
    if not path.is_dir():
        raise ImportSourceError(f"{logdir}: not a directory (give the TensorBoard log directory)")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ImportSourceError(f"{logdir}: permission denied")
    runs = run_dirs(logdir)
    if not runs:
        raise ImportSourceError(
            f"{logdir}: no TensorBoard event files (events.out.tfevents.*) in it or below it"
        )
    base = clean_name(path.resolve().name, "tensorboard")
    return _runs(runs, project or base, base, on_read)


def _runs(runs: list[tuple[str, list[Path]]], project: str, base: str, on_read: Tick) -> RunSource:
    folders = dict(runs)
    children: dict[str, list[str]] = {}
    for relative in folders:
        if relative != ".":
            children.setdefault(os.path.dirname(relative) or ".", []).append(relative)
    merged: set[str] = set()
    names: dict[str, str] = {}  # a lone add_hparams folder under a folder without event files
    for parent, kids in children.items():
        lone = len(kids) == 1 and _TIME_NAME.fullmatch(os.path.basename(kids[0])) is not None
        if parent not in folders and lone and _hparams_folder(folders[kids[0]]):
            names[kids[0]] = parent
    for relative, files in runs:
        if relative in merged:
            continue
        shown = names.get(relative, relative)
        name = base if shown == "." else shown
        try:
            run, seen = _read(files, project, name, on_read)
            if not seen:  # a parent with hparams data of its own is an experiment: left alone
                parts = []
                for kid in children.get(relative, []):
                    part = _hparams_folder(folders[kid])
                    if part is not None:
                        parts.append((part.created_at, kid, part))
                        merged.add(kid)
                for _start, kid, part in sorted(parts, key=lambda p: (p[0], p[1])):
                    _attach(run, kid, part)
            yield run
        except (OSError, ValueError) as exc:
            yield ImportSourceError(f"run {name}: cannot be read: {exc}")


def _hparams_folder(files: list[Path]) -> SourceRun | None:
    """The folder's content if it is one ``add_hparams`` call's (or several's) output."""
    try:
        if sum(f.stat().st_size for f in files) > HPARAMS_MAX_BYTES:
            return None
        part, seen = _read(files, "-", "-", None)
    except (OSError, ValueError):
        return None  # read as a run of its own, which reports why
    sessions = seen.get("session", 0)
    if not sessions or part.media or any(len(s.values) > sessions for s in part.series.values()):
        return None
    return part


def _attach(run: SourceRun, folder: str, part: SourceRun) -> None:
    """An add_hparams folder's hyperparameters and metrics into its parent's run."""
    run.config.update(part.config)
    for key, series in part.series.items():
        latest = max(range(len(series.values)), key=lambda i: (series.walls[i], i))
        run.summary[key] = _shortest(series.values[latest])
    run.problems.extend(f"{os.path.basename(folder)}: {p}" for p in part.problems)


def _shortest(value: float) -> float:
    """A float32 scalar (``add_scalar``'s) as the decimal it was logged as: 0.8, not
    0.800000011920929; a value float32 cannot hold exactly is kept as it is."""
    import numpy as np

    with np.errstate(over="ignore"):  # a double past float32's range: inf, never equal
        single = np.float32(value)
    return float(str(single)) if float(single) == value else value


def read_run(files: list[Path], project: str, name: str, on_read: Tick = None) -> SourceRun:
    """One run: every event file of one directory, in order."""
    return _read(files, project, name, on_read)[0]


def _read(
    files: list[Path], project: str, name: str, on_read: Tick
) -> tuple[SourceRun, dict[str, int]]:
    """The run and how many of each hparams summary (``session``, ``experiment``, ``end``)
    its files hold."""
    run = SourceRun(
        id=run_id(files),
        name=clean_name(name, "tensorboard"),
        project=clean_name(project, "tensorboard"),
        created_at=0.0,
        tags=["tensorboard"],
        content_id=True,
    )
    first: float | None = None
    initial: dict[str, Any] = {}  # tag -> its first SummaryMetadata (dataclass_compat's state)
    left_out: dict[str, int] = {}
    seen: dict[str, int] = {}
    for file in files:
        for event in _events(file, initial, run, on_read):
            if first is None or event.wall_time < first:
                first = event.wall_time
            for value in event.summary.value:
                _value(run, event, value, initial, left_out, seen)
    if first is None:
        raise ValueError("; ".join(run.problems) or "no events in its event files")
    run.created_at = first
    if left_out:
        kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(left_out.items()))
        run.problems.append(f"left out (not imported): {kinds}")
    return run, seen


def _events(file: Path, initial: dict[str, Any], run: SourceRun, on_read: Tick) -> Iterator[Any]:
    """The file's events through TensorBoard's compat layers; reports what is unreadable."""
    event_file_loader = _module("tensorboard.backend.event_processing.event_file_loader")
    event_pb2 = _module("tensorboard.compat.proto.event_pb2")
    migrate_event = _module("tensorboard.data_compat").migrate_event
    migrate_dataclass = _module("tensorboard.dataclass_compat").migrate_event

    size = file.stat().st_size
    consumed = 0
    loader = event_file_loader.RawEventFileLoader(str(file))
    for count, record in enumerate(loader.Load(), 1):
        consumed += len(record) + 16  # length (8), its CRC (4), the data, its CRC (4)
        if on_read is not None and count % READ_TICK == 0:
            on_read(READ_TICK)
        try:
            event = event_pb2.Event.FromString(record)
        except Exception as exc:  # protobuf's DecodeError: a record whose CRC happened to pass
            run.problems.append(f"{file.name}: a damaged event left out ({type(exc).__name__})")
            continue
        values = event.summary.value
        if values and all(v.HasField("simple_value") for v in values):
            # data_compat turns each simple_value into a scalars-plugin tensor holding the same
            # float (half the reading time of a scalar log): taken as it is instead
            yield event
        else:
            yield from migrate_dataclass(migrate_event(event), initial)
    if consumed < size:
        run.problems.append(
            f"{file.name}: its last {size - consumed:,} bytes are unreadable (cut short or "
            "damaged); the events before them were imported"
        )


def _value(
    run: SourceRun,
    event: Any,
    value: Any,
    initial: dict[str, Any],
    left_out: dict[str, int],
    seen: dict[str, int],
) -> None:
    tag = value.tag
    if value.HasField("simple_value"):
        run.point(tag, int(event.step), float(value.simple_value), float(event.wall_time))
        return
    metadata = value.metadata if value.HasField("metadata") else initial.get(tag)
    plugin = metadata.plugin_data.plugin_name if metadata is not None else ""
    if plugin == "scalars" and value.HasField("tensor"):
        run.point(tag, int(event.step), _scalar(value.tensor), float(event.wall_time))
    elif plugin == "images" and value.HasField("tensor"):
        _images(run, event, tag, value.tensor)
    elif plugin == "histograms" and value.HasField("tensor"):
        encoded = _histogram(value.tensor)
        if encoded is not None:
            run.media.append((clean_key(tag), int(event.step), float(event.wall_time), encoded))
    elif plugin == "hparams":
        kind = _hparams(run, metadata)
        seen[kind] = seen.get(kind, 0) + 1
    else:
        kind = plugin or value.WhichOneof("value") or "empty"
        left_out[kind] = left_out.get(kind, 0) + 1


def _scalar(tensor: Any) -> float:
    field = _FLOAT_TYPES.get(tensor.dtype)
    if field is not None and not tensor.tensor_content:
        values = getattr(tensor, field)
        if len(values) == 1:
            return float(values[0])  # the common case, without building an array
    make_ndarray = _module("tensorboard.util.tensor_util").make_ndarray
    return float(make_ndarray(tensor).item())


def _images(run: SourceRun, event: Any, tag: str, tensor: Any) -> None:
    """The images plugin's string tensor: width, height, then one encoded image each."""
    encoded = list(tensor.string_val)[2:]
    for index, data in enumerate(encoded):
        key = tag if len(encoded) == 1 else f"{tag}/{index}"
        item = _image(bytes(data))
        if item is None:
            run.problems.append(f"{tag} at step {event.step}: an image that cannot be read")
            continue
        run.media.append((clean_key(key), int(event.step), float(event.wall_time), item))


def _image(data: bytes) -> Encoded | None:
    from PIL import Image as PILImage

    if len(data) > MAX_MEDIA_BYTES:
        return None
    try:
        with PILImage.open(io.BytesIO(data)) as opened:
            width, height = opened.size
            file_format = (opened.format or "").lower()
            if file_format not in ("png", "jpeg"):  # kept as PNG, the viewer reads PNG/JPEG
                from ..media.image import Image

                opened.load()
                return Image(opened.copy()).encode()
    except (OSError, SyntaxError, ValueError):
        return None
    return Encoded("image", {"width": width, "height": height, "format": file_format}, data)


def _histogram(tensor: Any) -> Encoded | None:
    """The histograms plugin's k×3 tensor (left edge, right edge, count) as a histogram."""
    make_ndarray = _module("tensorboard.util.tensor_util").make_ndarray
    array = make_ndarray(tensor)
    if array.ndim != 2 or array.shape[1] != 3 or array.shape[0] == 0:
        return None
    buckets = [(float(a), float(b), float(c)) for a, b, c in array.tolist()]
    edges, counts = [buckets[0][0]], []
    for _left, right, count in buckets:
        if right > edges[-1]:
            edges.append(right)
            counts.append(count)
        elif counts:  # a bucket of no width (all values equal) joins the one before
            counts[-1] += count
        else:
            edges.append(edges[-1] + 1.0)
            counts.append(count)
    while len(counts) > MAX_BINS:  # merge neighbours until the tracker takes it
        counts = [sum(counts[i : i + 2]) for i in range(0, len(counts), 2)]
        edges = edges[::2] + ([edges[-1]] if len(edges) % 2 == 0 else [])
    if not all(v - v == 0.0 for v in edges + counts):
        return None
    from ..media.base import json_bytes

    total = sum(counts)
    meta = {"bins": len(counts), "total": total, "min": edges[0], "max": edges[-1]}
    return Encoded("histogram", meta, json_bytes({"counts": counts, "edges": edges}))


def _hparams(run: SourceRun, metadata: Any) -> str:
    """Which hparams summary it is (``session``: a session's hyperparameters, into the run's
    config); ``unreadable`` for damaged plugin data."""
    plugin_data_pb2 = _module("tensorboard.plugins.hparams.plugin_data_pb2")

    try:
        data = plugin_data_pb2.HParamsPluginData.FromString(metadata.plugin_data.content)
    except Exception:  # protobuf's DecodeError
        run.problems.append("hparams: plugin data that cannot be read")
        return "unreadable"
    if not data.HasField("session_start_info"):
        return "end" if data.HasField("session_end_info") else "experiment"
    for name, proto in sorted(data.session_start_info.hparams.items()):
        kind = proto.WhichOneof("kind")
        if kind in ("number_value", "string_value", "bool_value"):
            value = getattr(proto, kind)
            if kind == "number_value" and float(value).is_integer() and abs(value) < 2**53:
                value = int(value)
            run.config[name] = value
    return "session"
