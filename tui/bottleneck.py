"""What the run view's bottleneck pane (``6``) plots and diagnoses: throughput (a logged
tokens/samples-per-second metric, else steps per second worked out from the run's own steps and
times), GPU utilisation and memory, CPU, disk and network, all against time. It reads only the
series the model already follows (the reader thread loads them, as for any plot). No widgets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tracker.models import RunRecord

from .diagnosis import Series, Signals
from .metrics import main_metrics
from .series import SeriesBuffer, Span

THROUGHPUT_LEAVES = (
    "tokens_per_s", "tokens_per_sec", "tokens_per_second", "tok_per_s", "tokens/s",
    "samples_per_s", "samples_per_sec", "samples_per_second", "throughput",
    "it_per_s", "steps_per_s",
)  # fmt: skip
RATE_POINTS = 300  # a derived rate is taken over about this many stretches of the run
RATE = "steps/s (from step and time)"


@dataclass(frozen=True, slots=True)
class Panel:
    title: str
    unit: str
    keys: tuple[str, ...]  # series plotted (RATE: derived from ``source``)
    source: str | None = None  # the metric whose steps and times give the rate


def throughput_key(run: RunRecord) -> str | None:
    for key in run.metrics:
        if not key.startswith("sys/") and key.rsplit("/", 1)[-1].lower() in THROUGHPUT_LEAVES:
            return key
    return None


def _gpus(run: RunRecord) -> list[str]:
    return sorted({k.split("/")[2] for k in run.metrics if k.startswith("sys/gpu/")})


def _present(run: RunRecord, *keys: str) -> tuple[str, ...]:
    return tuple(k for k in keys if k in run.metrics)


def _memory_key(run: RunRecord, gpu: str) -> str | None:
    for key in (f"sys/gpu/{gpu}/mem_util", f"sys/gpu/{gpu}/mem_used"):
        if key in run.metrics:
            return key
    return None


def panels(run: RunRecord) -> list[Panel]:
    """The plots of the pane, in order; those without data left out."""
    out: list[Panel] = []
    logged = throughput_key(run)
    if logged is not None:
        out.append(Panel(f"throughput: {logged}", "/s", (logged,)))
    else:
        source = next((k for k in main_metrics(run, 1) if not k.startswith("sys/")), None)
        if source is not None:
            out.append(Panel("throughput: steps/s", "/s", (RATE,), source))
    gpus = _gpus(run)
    util = tuple(f"sys/gpu/{g}/util" for g in gpus if f"sys/gpu/{g}/util" in run.metrics)
    if util:
        out.append(Panel("GPU utilisation", "%", util))
    memory = tuple(key for g in gpus if (key := _memory_key(run, g)) is not None)
    if memory:
        out.append(Panel("GPU memory", "%" if memory[0].endswith("util") else "B", memory))
    for title, unit, keys in (
        ("CPU: the run's process (% of one core), the host", "%", ("sys/proc/cpu", "sys/cpu/util")),
        ("disk read / write", "B/s", ("sys/disk/read_bps", "sys/disk/write_bps")),
        ("network received / sent", "B/s", ("sys/net/recv_bps", "sys/net/sent_bps")),
    ):
        found = _present(run, *keys)
        if found:
            out.append(Panel(title, unit, found))
    return out


def rate_buffer(source: SeriesBuffer) -> SeriesBuffer:
    """Steps per second over time, from a series' steps and times (each value the rate over a
    stretch of about 1/:data:`RATE_POINTS` of the points held)."""
    spans = source.spans
    stride = max(1, len(spans) // RATE_POINTS)
    out: list[Span] = []
    for index in range(stride, len(spans), stride):
        before, here = spans[index - stride], spans[index]
        seconds = here.last_t - before.last_t
        if seconds <= 0:
            continue
        rate = (here.last_step - before.last_step) / seconds
        out.append(
            Span(here.last_step, here.last_step, here.last_t, here.last_t, rate, rate, rate, 1, 0)
        )
    buffer = SeriesBuffer()
    buffer.load(out, source.seq, len(out))
    return buffer


def points(buffer: SeriesBuffer | None) -> list[tuple[float, float]]:
    """(seconds, mean) of each span with a finite value."""
    if buffer is None:
        return []
    return [(s.last_t, m) for s in buffer.spans if (m := s.mean) is not None]


def follow_keys(run: RunRecord) -> list[str]:
    """Every series the pane needs: its plots', the rate's source, the first evaluation loss."""
    keys: list[str] = []
    for panel in panels(run):
        keys += [k for k in panel.keys if k != RATE]
        if panel.source is not None:
            keys.append(panel.source)
    evals = [k for k in run.metrics if k.startswith(("eval/", "val/", "validation/"))]
    keys += evals[:1]
    return list(dict.fromkeys(keys))


def signals(
    run: RunRecord, series: Mapping[int, SeriesBuffer], rate: SeriesBuffer | None
) -> Signals:
    """The diagnosis' inputs from the buffers held (missing ones count as no data)."""

    def of(key: str) -> SeriesBuffer | None:
        summary = run.metrics.get(key)
        return series.get(summary.series_id) if summary is not None else None

    logged = throughput_key(run)
    throughput: Series = points(of(logged)) if logged is not None else points(rate)
    unit = f"{logged.rsplit('/', 1)[-1]}" if logged is not None else "steps/s"
    source = next((k for k in main_metrics(run, 1) if not k.startswith("sys/")), None)
    held = of(source) if source is not None else None
    steps = [(s.last_t, float(s.last_step)) for s in held.spans] if held is not None else []
    gpus = _gpus(run)
    gpu_util: Series | None = None
    gpu_mem: Series | None = None
    if gpus:
        gpu = gpus[0]
        gpu_util = points(of(f"sys/gpu/{gpu}/util"))
        if f"sys/gpu/{gpu}/mem_util" in run.metrics:
            gpu_mem = points(of(f"sys/gpu/{gpu}/mem_util"))
        else:
            total = run.metrics.get(f"sys/gpu/{gpu}/mem_total")
            size = total.last if total is not None else None
            if size:
                used = points(of(f"sys/gpu/{gpu}/mem_used"))
                gpu_mem = [(t, 100 * v / size) for t, v in used]
    evals = [k for k in run.metrics if k.startswith(("eval/", "val/", "validation/"))]
    eval_times = [t for t, _ in points(of(evals[0]))] if evals else []
    return Signals(
        throughput=throughput,
        throughput_unit=unit,
        steps=steps,
        gpu_util=gpu_util,
        gpu_mem=gpu_mem,
        proc_cpu=points(of("sys/proc/cpu")),
        evals=eval_times,
        stall=_last_stall(run),
    )


def _last_stall(run: RunRecord) -> tuple[int | None, float, bool] | None:
    """The run's last stall from its health events: (step, seconds, still stalled)."""
    for event in reversed(run.events):
        if event.kind == "health" and event.detail.get("detector") == "stalled":
            resolved = bool(event.detail.get("resolved"))
            seconds = event.detail.get("stalled_s" if resolved else "seconds")
            step = event.detail.get("step", event.step)
            return (
                step if isinstance(step, int) else None,
                float(seconds) if isinstance(seconds, (int, float)) else 0.0,
                not resolved,
            )
    return None
