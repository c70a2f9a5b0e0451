"""Reading a report's data through the Store interface: the chosen runs, their metrics
downsampled, their hardware series, their latest media and their health events.

Nothing here writes SQL or opens files: every read is a :class:`~tracker.db.base.Store`
method, so a SQLite file, several of them and a PostgreSQL database give the same report.
What is too large to embed is left out with a note that says so, never silently.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import replace

from tracker.db.base import Store
from tracker.media.decoded import (
    ChartData,
    ConfusionData,
    HistogramData,
    MediaItem,
    TableData,
    parse_meta,
)
from tracker.models import RunEvent, RunRecord
from tracker.natural import natural_key

from .downsample import bucket_budget, read_downsampled
from .media_budget import fit_media
from .model import MediaEntry, Picture, Provenance, Report, Series

# The default charts: a training loss, an evaluation loss and a gradient norm (the first key
# of each group that a chosen run logged), as a colleague expects to see first.
DEFAULT_GROUPS: tuple[tuple[str, ...], ...] = (
    ("train/loss", "loss", "train_loss"),
    ("eval/loss", "val/loss", "validation/loss", "eval_loss", "val_loss"),
    ("train/grad_norm", "grad_norm", "train/gradient_norm"),
)
MAX_DEFAULT_CHARTS = 6
_TRAIN_WORDS = frozenset(("train", "training", "epoch", "batch", "step"))
_EVAL_WORDS = frozenset(("eval", "evaluation", "val", "valid", "validation", "test"))
_GRAD_NORMS = frozenset(("gradnorm", "gradientnorm", "gradsnorm", "gradientsnorm"))


def default_group(key: str) -> int | None:
    """Which default chart group a key falls in, by its words whatever the separators:
    0 a training loss (``loss``, ``train_loss``, ``epoch/loss``), 1 an evaluation loss
    (``val_loss``, ``validation/loss``, ``test/loss``), 2 a gradient norm (``grad-norm``,
    ``gradnorm``, ``train/gradient_norm``); None for anything else."""
    words = re.findall(r"[a-z]+", key.lower())
    if not words or key.startswith("sys/"):
        return None
    kept = set(words)
    if "loss" in kept and kept <= _TRAIN_WORDS | _EVAL_WORDS | {"loss"}:
        return 1 if kept & _EVAL_WORDS else 0
    if "".join(w for w in words if w not in ("train", "training")) in _GRAD_NORMS:
        return 2
    return None


HARDWARE_KEYS = ("sys/cpu/util", "sys/mem/util", "sys/proc/rss")
GPU_KEYS = ("util", "mem_used", "power")
MAX_GPUS_SHOWN = 8
SPARK_BUCKETS = 60
MEDIA_RUNS = 12  # runs whose media are embedded (the first in the table's order)
MEDIA_KEYS_PER_RUN = 8
MEDIA_BYTES = 5_000_000  # images in all, as embedded (base64): a report fits in an e-mail
EMBED_AS_IS_BYTES = 512 * 1024  # a stored PNG/JPEG this small is embedded unchanged
PICTURE_SIDE = 1024
_FAMILY = re.compile(r"\d+")  # img/3 and img/12: one family of keys


def default_metrics(runs: Sequence[RunRecord]) -> list[str]:
    """The keys of the default groups that the runs logged (``eval/loss`` and ``val/loss``
    both, when runs of two scripts are compared); failing all, the runs' first non-hardware
    metrics (their plotting order), at most three."""
    present: set[str] = set()
    for run in runs:
        present.update(run.metrics)

    def order(key: str) -> tuple[int, int, tuple[object, ...]]:
        group = default_group(key)
        assert group is not None
        known = DEFAULT_GROUPS[group]
        return group, known.index(key) if key in known else len(known), natural_key(key)

    chosen = sorted((key for key in present if default_group(key) is not None), key=order)
    if chosen:
        return chosen[:MAX_DEFAULT_CHARTS]
    from ..metrics import main_metrics

    for run in runs:
        for key in main_metrics(run, 3):
            if key not in chosen:
                chosen.append(key)
    return chosen[:3]


def hardware_keys(run: RunRecord) -> list[str]:
    """The ``sys/`` series a run's hardware card draws: CPU, RAM, the run's memory, and each
    GPU's utilisation, memory and power."""
    keys = [key for key in HARDWARE_KEYS if key in run.metrics]
    gpus = sorted(
        {int(parts[2]) for parts in (k.split("/") for k in run.metrics) if _is_gpu(parts)}
    )
    for index in gpus[:MAX_GPUS_SHOWN]:
        keys += [k for k in (f"sys/gpu/{index}/{leaf}" for leaf in GPU_KEYS) if k in run.metrics]
    return keys


def _is_gpu(parts: list[str]) -> bool:
    return len(parts) == 4 and parts[:2] == ["sys", "gpu"] and parts[2].isdigit()


def gather(
    store: Store,
    runs: Sequence[RunRecord],
    metrics: Sequence[str],
    provenance: Provenance,
    title: str,
    media_bytes: int | None = MEDIA_BYTES,
) -> Report:
    """Read everything the report shows of ``runs`` (already chosen and ordered); images
    fit in ``media_bytes`` as embedded (None: no media at all, ``--no-media``)."""
    notes: list[str] = []
    buckets = bucket_budget(len(runs))
    series: dict[tuple[str, str], Series] = {}
    hardware: dict[tuple[str, str], Series] = {}
    for run in runs:
        for key in metrics:
            found = read_downsampled(store, run, key, buckets, follow_step_metric=True)
            if found is not None:
                series[(run.id, key)] = found
        for key in hardware_keys(run):
            found = read_downsampled(store, run, key, SPARK_BUCKETS)
            if found is not None:
                hardware[(run.id, key)] = found
    media: list[MediaEntry] = []
    if media_bytes is None:
        if any(run.media for run in runs):
            notes.append("media left out (--no-media)")
    elif store.has_media:
        media = fit_media(_read_media(store, runs, notes), media_bytes, notes)
    events = tuple(health_events(runs))
    return Report(
        title=title,
        runs=tuple(runs),
        metrics=tuple(metrics),
        series=series,
        hardware=hardware,
        media=tuple(media),
        events=events,
        provenance=provenance,
        notes=tuple(notes),
    )


def health_events(runs: Sequence[RunRecord]) -> list[tuple[RunRecord, RunEvent]]:
    """The runs' health events and alerts, oldest first (ties by run, then as written): what
    ``tracktui alerts`` lists (the report sits below the command layer, so not its import)."""
    chosen = [(run, e) for run in runs for e in run.events if e.kind in ("health", "alert")]
    chosen.sort(key=lambda pair: (pair[1].t, pair[0].id, pair[1].id))
    return chosen


def _read_media(store: Store, runs: Sequence[RunRecord], notes: list[str]) -> list[MediaEntry]:
    with_media = [run for run in runs if run.media]
    if len(with_media) > MEDIA_RUNS:
        notes.append(
            f"media of the first {MEDIA_RUNS} runs with media are shown "
            f"({len(with_media) - MEDIA_RUNS} more runs logged media)"
        )
    entries: list[MediaEntry] = []
    for run in with_media[:MEDIA_RUNS]:
        latest: dict[str, MediaItem] = {}
        counts: dict[str, int] = {}
        for row in store.read_media_index(run.id):
            item = MediaItem(row[0], run.id, row[1], row[2], row[3], row[4], parse_meta(row[5]))
            counts[item.key] = counts.get(item.key, 0) + 1
            held = latest.get(item.key)
            if held is None or (item.step, item.id) >= (held.step, held.id):
                latest[item.key] = item
        keys = choose_media_keys(latest, MEDIA_KEYS_PER_RUN)
        if len(keys) < len(latest):
            left = sorted(set(latest) - set(keys), key=natural_key)
            named = ", ".join(left[:12]) + (f" and {len(left) - 12} more" if len(left) > 12 else "")
            notes.append(
                f"run {run.id}: {len(keys)} of its {len(latest)} media keys are shown "
                "(one of each kind and of each family of keys first, then the newest); "
                f"left out: {named}"
            )
        chosen = [latest[key] for key in keys]
        data = store.read_media_data([item.id for item in chosen])
        for item in chosen:
            entries.append(_entry(item, counts[item.key], data.get(item.id)))
    return entries


def choose_media_keys(latest: dict[str, MediaItem], limit: int) -> list[str]:
    """At most ``limit`` of a run's media keys, the most useful first: the newest key of each
    kind (an image, a table, a chart...), then the newest of each family (``img/0`` ...
    ``img/29`` are one), then the rest newest first (by the step and id of their latest item);
    shown in natural key order. A big image is downscaled, never left out for its size."""
    newest = sorted(latest, key=lambda k: (latest[k].step, latest[k].id), reverse=True)
    chosen: dict[str, None] = {}
    kinds: set[str] = set()
    families: set[str] = set()
    for key in newest:
        if latest[key].kind not in kinds:
            kinds.add(latest[key].kind)
            families.add(_FAMILY.sub("#", key))
            chosen[key] = None
    for key in newest:
        family = _FAMILY.sub("#", key)
        if family not in families:
            families.add(family)
            chosen.setdefault(key, None)
    chosen.update(dict.fromkeys(newest))
    return sorted(list(chosen)[:limit], key=natural_key)


def _entry(item: MediaItem, count: int, data: bytes | None) -> MediaEntry:
    from ..media_decode import Unreadable, decode_for_display

    base = MediaEntry(item.run_id, item.key, item.step, item.kind, item.caption, count)
    if data is None:
        return replace(base, problem="its data is missing from the database")
    decoded = decode_for_display(item.kind, bytes(data))
    if isinstance(decoded, Unreadable):
        return replace(base, problem=decoded.reason)
    if isinstance(decoded, TableData):
        return replace(base, table=decoded)
    if isinstance(decoded, ChartData):
        return replace(base, chart=decoded)
    if isinstance(decoded, HistogramData):
        return replace(base, histogram=decoded)
    if isinstance(decoded, ConfusionData):
        return replace(base, confusion=decoded)
    return replace(base, picture=_picture(decoded, bytes(data)))


def _picture(image: object, original: bytes) -> Picture:
    """The image to embed: the stored bytes when small (already validated by decoding them),
    else a copy cut to :data:`PICTURE_SIDE` and encoded again."""
    from PIL import Image as PILImage

    assert isinstance(image, PILImage.Image)
    width, height = image.size
    jpeg = original.startswith(b"\xff\xd8\xff")
    if len(original) <= EMBED_AS_IS_BYTES and max(width, height) <= PICTURE_SIDE:
        return Picture("image/jpeg" if jpeg else "image/png", original, width, height)
    copy = image.copy()
    copy.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
    out = io.BytesIO()
    if jpeg and copy.mode == "RGB":
        copy.save(out, format="JPEG", quality=85)
    else:
        copy.save(out, format="PNG", optimize=True)
    return Picture("image/jpeg" if jpeg else "image/png", out.getvalue(), *copy.size)
