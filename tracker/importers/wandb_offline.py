"""``tracktui import wandb RUN_DIR``: wandb's offline run folders (``wandb/offline-run-*``, or
online ones never synced), read from their ``run-<id>.wandb`` transaction logs.

Each record is decoded by wandb's own protobuf class (``wandb.proto.wandb_internal_pb2.Record``).
wandb 0.31 no longer ships a Python reader of the file itself (its ``DataStore`` moved into the
Go core), so the framing around the records, LevelDB's log format (32 KiB blocks of
CRC-checked chunks after a 7-byte ``:W&B`` header), is read by :func:`records` here. A damaged
chunk ends its block: the records after it in the next blocks are still read, and the damage
is reported.

What is kept: the run's id (wandb's), name, project, tags, host, start time; its config and
summary (the records, then ``files/config.yaml`` and ``files/wandb-summary.json`` where present;
the summary without wandb's media descriptors, the ``_type`` dicts);
every numeric history value with its ``_step`` and ``_timestamp``; histograms and image files as
media; the console (output records, else ``files/output.log``). The exit record says finished
or failed (a failed run's error: its exit code, and the exception that ended it where the
console shows a traceback); a run without one crashed.

A run resumed with its id (``wandb.init(id=..., resume="allow")`` after a preemption) leaves
one folder per process: the folders of one id are one run, their records taken in the order
the parts started, so the later part's history follows, its config and summary update, and
its exit (or none) says how the run ended. A part with no readable record (a process killed
before wandb flushed: a 7-byte header alone) is skipped and said so, never a run of its own.
The files beside the log are :mod:`.wandb_files`'.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..media.base import Encoded
from . import ImportSourceError, MissingReader, RunSource
from .target import READ_TICK, SourceRun, Tick, clean_key, clean_name
from .wandb_files import histogram, image_file, read_files

BLOCK = 32 * 1024
HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_STDERR, _STDOUT = 0, 1  # wandb's OutputRawRecord.OutputType
_CONSOLE_STREAM = {_STDOUT: 1, _STDERR: 2}  # -> tracker.console's STDOUT, STDERR


def records(data: bytes, problems: list[str]) -> Iterator[bytes]:
    """The records of a ``.wandb`` file's bytes, each one whole; damage goes to ``problems``."""
    if not data.startswith(HEADER[:4]):
        raise ValueError("not a wandb transaction log (no :W&B header)")
    # None: no record begun. A record may begin with an empty chunk (where a block has just a
    # header's 7 bytes left); read as "nothing begun", the record it began was lost.
    pending: bytes | None = None
    pos, damaged = len(HEADER), 0
    while pos + 7 <= len(data):
        room = BLOCK - pos % BLOCK
        if room < 7:  # a block's tail too short for a header is padding
            pos += room
            continue
        checksum, length, kind = struct.unpack_from("<IHB", data, pos)
        body = data[pos + 7 : pos + 7 + length]
        if kind == 0 and length == 0:  # zero padding up to the block's end
            pos += room
            continue
        if len(body) < length and length <= room - 7:  # the file ends inside this chunk
            break
        expected = zlib.crc32(body, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF
        if length > room - 7 or expected != checksum or kind > LAST:
            damaged += 1
            pending = None
            pos += room  # the rest of this block cannot be trusted; the next one starts clean
            continue
        pos += 7 + length
        if kind == FULL:
            yield body
        elif kind == FIRST:
            pending = body
        elif pending is None:  # the rest of a record whose start was damaged
            continue
        elif kind == MIDDLE:
            pending += body
        else:
            yield pending + body
            pending = None
    if damaged:
        problems.append(f"{damaged:,} damaged block(s) of the .wandb file skipped")
    if pos < len(data) or pending is not None:
        problems.append("the .wandb file ends inside a record (cut short); the rest was read")


def run_files(source: str) -> list[Path]:
    """The ``.wandb`` files of a run folder, a ``wandb/`` folder of them, or one file."""
    path = Path(source)
    if path.is_file():
        return [path]
    found = sorted(path.glob("*.wandb")) or sorted(path.glob("*/*.wandb"))
    unique: dict[Path, Path] = {}
    for file in found:  # latest-run is a link to one of the others
        unique.setdefault(file.resolve(), file)
    return sorted(unique.values(), key=lambda p: p.resolve().parent.name)


def read_wandb(source: str, project: str | None = None, on_read: Tick = None) -> RunSource:
    try:
        from wandb.proto import wandb_internal_pb2  # noqa: F401
    except ImportError:
        raise MissingReader("wandb", "wandb") from None
    path = Path(source)
    if not path.exists():
        raise ImportSourceError(f"{source}: no such file or directory")
    files = run_files(source)
    if not files:
        raise ImportSourceError(
            f"{source}: no wandb run (run-*.wandb) in it or in its folders; give a "
            "wandb/offline-run-* folder or the wandb/ folder that holds them"
        )
    return _runs(files, project, on_read)


def _runs(files: list[Path], project: str | None, on_read: Tick) -> RunSource:
    parts: dict[str, list[Path]] = {}
    for file in files:  # a resumed run: one folder per process, each with the run's id
        parts.setdefault(file.stem.removeprefix("run-"), []).append(file)
    for group in parts.values():
        try:
            run = read_parts(group, project, on_read)
        except (OSError, ValueError) as exc:
            yield ImportSourceError(f"{group[0]}: cannot be read: {exc}")
            continue
        if run is None:
            yield ImportSourceError(
                f"{group[0]}: skipped: no readable records (its process was killed before "
                "wandb wrote any)"
            )
        else:
            yield run


def read_run(file: Path, project: str | None = None, on_read: Tick = None) -> SourceRun:
    """One wandb run from its ``.wandb`` file and the ``files/`` folder beside it."""
    run = read_parts([file], project, on_read)
    if run is None:
        raise ValueError("no readable records (its process was killed before wandb wrote any)")
    return run


def read_parts(
    files: list[Path], project: str | None = None, on_read: Tick = None
) -> SourceRun | None:
    """One wandb run from the ``.wandb`` files of its parts (a run resumed with its id writes
    one folder per process), merged in the order they started: the later part's history
    follows, its config and summary update the earlier ones', its exit says how the run
    ended. A part without a readable record is skipped (and said so); None when all are."""
    from wandb.proto import wandb_internal_pb2 as pb

    problems: list[str] = []
    parsed: list[tuple[float, str, Path, list[Any]]] = []
    for file in files:
        found: list[Any] = []
        for count, raw in enumerate(records(file.read_bytes(), problems), 1):
            if on_read is not None and count % READ_TICK == 0:
                on_read(READ_TICK)
            record = pb.Record()  # type: ignore[attr-defined]
            try:
                record.ParseFromString(raw)
            except Exception:  # protobuf's DecodeError
                problems.append("a record that cannot be decoded was left out")
                continue
            found.append(record)
        if not any(r.WhichOneof("record_type") in ("run", "history") for r in found):
            problems.append(f"{file.parent.name}: skipped: no readable records")
            continue
        parsed.append((_started(found), file.parent.name, file, found))
    if not parsed:
        return None
    parsed.sort(key=lambda part: part[:2])  # wandb names folders by the second they started
    fallback_id = files[0].stem.removeprefix("run-")
    run = SourceRun(id=fallback_id, name=fallback_id, project="wandb", created_at=0.0)
    state = _State(run)
    for _start, _folder, file, found in parsed:
        state.part(file.parent / "files")
        for record in found:
            state.take(record)
    state.done(project)
    run.starts = [part[0] for part in parsed if part[0] != math.inf]
    if len(parsed) > 1:
        run.problems.append(f"{len(parsed)} resumed parts merged")
    run.problems.extend(problems)
    return run


def _started(found: list[Any]) -> float:
    """A part's start: its run record's start time, else its first history row's wall time."""
    for record in found:
        if record.WhichOneof("record_type") == "run" and record.run.HasField("start_time"):
            start = record.run.start_time
            return float(start.seconds + start.nanos / 1e9)
    return math.inf


class _State:
    """A run built up record by record, part after part."""

    def __init__(self, run: SourceRun) -> None:
        self.run = run
        self.files: list[Path] = []
        self.step = 0
        self.last_wall = 0.0
        self.exit: Any = None
        self.start: float | None = None  # the first part's
        self.part_start: float | None = None  # this part's
        self.left_out: dict[str, int] = {}

    def part(self, files: Path) -> None:
        """The next part begins: its own exit (or none) says how the run ended."""
        self.files.append(files)
        self.exit = None
        self.part_start = None

    def take(self, record: Any) -> None:
        kind = record.WhichOneof("record_type")
        if kind == "run":
            self._run(record.run)
        elif kind == "history":
            self._history(record.history)
        elif kind == "config":
            _apply(self.run.config, record.config.update, record.config.remove)
        elif kind == "summary":
            _apply(self.run.summary, record.summary.update, record.summary.remove)
        elif kind == "output_raw" or kind == "output":
            out = getattr(record, kind)
            wall = out.timestamp.seconds + out.timestamp.nanos / 1e9
            stream = _CONSOLE_STREAM.get(out.output_type, 1)
            self.run.console.append((stream, wall, out.line))
        elif kind == "exit":
            self.exit = record.exit

    def _run(self, info: Any) -> None:
        run = self.run
        run.id = info.run_id or run.id
        run.name = clean_name(info.display_name or info.run_id, run.id)
        run.project = clean_name(info.project, "wandb")
        run.host = info.host
        run.tags = [str(t) for t in info.tags]
        if info.HasField("start_time"):
            start = info.start_time.seconds + info.start_time.nanos / 1e9
            self.part_start = start
            self.start = start if self.start is None else min(self.start, start)
        _apply(run.config, info.config.update, [])
        _apply(run.summary, info.summary.update, [])
        if info.run_group:
            run.config.setdefault("_wandb_group", info.run_group)

    def _history(self, history: Any) -> None:
        row: dict[str, Any] = {}
        for item in history.item:
            path = list(item.nested_key) or [item.key]
            which = item.WhichOneof("value")
            try:
                value = getattr(item, which) if which else json.loads(item.value_json)
            except ValueError:
                continue
            if which == "json":
                value = json.loads(value)
            _nest(row, path, value)
        step = row.pop("_step", None)
        wall = row.pop("_timestamp", None)
        row.pop("_runtime", None)
        if isinstance(step, (int, float)):
            self.step = int(step)
        if isinstance(wall, (int, float)):
            self.last_wall = float(wall)
        self._values(row, "")

    def _values(self, row: dict[str, Any], prefix: str) -> None:
        for key, value in row.items():
            name = f"{prefix}{key}"
            if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
                self.left_out["text or lists"] = self.left_out.get("text or lists", 0) + 1
            elif isinstance(value, dict):
                kind = value.get("_type")
                if kind is None:
                    self._values(value, name + "/")
                else:
                    self._media(name, str(kind), value)
            else:
                self.run.point(name, self.step, float(value), self.last_wall)

    def _media(self, key: str, kind: str, value: dict[str, Any]) -> None:
        item: Encoded | None = None
        if kind == "histogram":
            item = histogram(value)
        elif kind == "image-file":
            item = image_file(self.files[-1], value)
        if item is None:
            self.left_out[kind] = self.left_out.get(kind, 0) + 1
            return
        self.run.media.append((clean_key(key), self.step, self.last_wall, item))

    def done(self, project: str | None) -> None:
        run = self.run
        for files in self.files:  # a later part's files update the earlier ones'
            read_files(run, files)
        run.config.pop("_wandb", None)
        for key in [k for k in run.summary if k.startswith("_")]:
            del run.summary[key]
        _drop_media(run.summary)
        if project:
            run.project = clean_name(project, "wandb")
        walls = [s.walls[0] for s in run.series.values() if s.walls]
        run.created_at = self.start if self.start is not None else min(walls, default=0.0)
        if self.exit is None:
            run.status = "crashed"
            run.error = "the wandb run has no exit record (its process died, or still runs)"
        else:
            run.exit_code = int(self.exit.exit_code)
            run.status = "finished" if run.exit_code == 0 else "failed"
            if run.exit_code != 0:
                run.error = _failure(run)
            if self.exit.runtime:
                began = self.part_start if self.part_start is not None else run.created_at
                run.finished_at = began + float(self.exit.runtime)
        if self.left_out:
            kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(self.left_out.items()))
            run.problems.append(f"left out (not imported): {kinds}")


def _failure(run: SourceRun) -> str:
    """Why a run that exited non-zero failed: its exit code and, where it died of an exception
    wandb caught, the traceback's last line (``RuntimeError: boom``) from its stderr."""
    reason = f"exit code {run.exit_code}"
    text = "".join(chunk for stream, _wall, chunk in run.console[-200:] if stream == 2)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    mark = "Traceback (most recent call last):"
    if mark in lines and lines[-1] != mark:
        reason += f": {lines[-1][:300]}"
    return reason


def _drop_media(summary: dict[str, Any]) -> None:
    """Leave out wandb's media descriptors (a histogram's bins and values, an image's path and
    sha256, a table's file: dicts with a ``_type``), nested ones too: they describe media,
    imported as media where the tracker has the kind, not values to sort or filter runs by."""
    for key, value in list(summary.items()):
        if isinstance(value, dict):
            if "_type" in value:
                del summary[key]
            elif value:
                _drop_media(value)
                if not value:  # held only media
                    del summary[key]


def _nest(target: dict[str, Any], path: list[str], value: Any) -> None:
    for part in path[:-1]:
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[path[-1]] = value


def _apply(target: dict[str, Any], updates: Any, removes: Any) -> None:
    """wandb's config/summary update records: JSON values at keys or nested key paths."""
    for item in updates:
        try:
            value = json.loads(item.value_json)
        except ValueError:
            continue
        path = list(item.nested_key) or [item.key]
        if path[0] == "_wandb":
            continue
        _nest(target, path, value)
    for item in removes:
        path = list(item.nested_key) or [item.key]
        holder: Any = target
        for part in path[:-1]:
            holder = holder.get(part) if isinstance(holder, dict) else None
        if isinstance(holder, dict):
            holder.pop(path[-1], None)
