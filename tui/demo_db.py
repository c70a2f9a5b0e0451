"""A deterministic demo database (fixed ids, times and values) for snapshot tests and the
screenshots in the README. It is written through the tracker's own write path (``write_batch``),
only with chosen timestamps instead of the clock's.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from tracker.batch import RunHandle, write_batch
from tracker.db import open_store, parse_target
from tracker.jsonable import dumps
from tracker.status import this_host

from .simulate import curves, spec_for
from .simulate_media import eval_line, media_for, progress_line

NOW = 1_795_000_000.0  # the fixed "now" of every snapshot
GIB = 1024**3
DEAD_PID = 4_194_000  # above the usual pid_max: never a live process


def _system(step: int, index: int) -> dict[str, float]:
    wave = 0.5 + 0.5 * math.sin(step / 40 + index)
    values = {
        "sys/cpu/util": 35 + 30 * wave,
        "sys/mem/used": (6 + 2 * wave) * GIB,
        "sys/mem/util": 25 + 8 * wave,
        "sys/proc/rss": (2.5 + 0.5 * wave) * GIB,
        "sys/proc/cpu": 95 + 40 * wave,
        "sys/gpu/0/util": 80 + 18 * wave,
        "sys/gpu/0/mem_used": (40 + 20 * wave) * GIB,
        "sys/gpu/0/temp": 60 + 15 * wave,
        "sys/gpu/0/power": 450 + 200 * wave,
    }
    if step == 0:
        values |= {
            "sys/mem/total": 32 * GIB,
            "sys/gpu/0/mem_total": 80 * GIB,
            "sys/gpu/0/power_limit": 700.0,
        }
    return values


def build_demo_database(path: Path, runs: int = 6, steps: int = 400, now: float = NOW) -> list[str]:
    """Write ``runs`` simulated runs; return their ids, oldest first. Statuses: finished,
    failed (the diverging one), crashed (index 3) and running (the newest)."""
    store = open_store(path, write=True)
    target = parse_target(path)
    ids = []
    try:
        for index in range(runs):
            spec = spec_for(index)
            run_id = f"demo{index:04d}"
            created = now - (runs - index) * 900.0
            live = index == runs - 1
            crashed = spec.crashes
            version = store.begin()
            store.insert_run(
                {
                    "id": run_id, "project": "demo", "name": spec.name, "created_at": created,
                    "host": this_host() if live or crashed else "gpu-node-1",
                    "pid": 1 if live else DEAD_PID if crashed else 1000 + index,
                    "pid_start": None, "tags": dumps(list(spec.tags)), "config": dumps(spec.config),
                    "summary": "{}",
                },
                version,
            )  # fmt: skip
            store.commit()
            handle = RunHandle(run_id, target, created, dict(spec.config), {})
            length = int(steps * 0.35) if crashed else steps
            records: list[tuple[object, ...]] = []
            best = math.inf
            flagged: set[str] = set()
            media_rng = random.Random(500 + index)
            for step, metrics in curves(spec, length):
                at = created + step * 1.5
                records.append((handle, step, at, metrics))
                if "eval/loss" in metrics:
                    records.append(
                        ("media", handle, (step, at, media_for(step, metrics, media_rng)))
                    )
                    records.append(("console", handle, (1, at, f"\n{eval_line(step, metrics)}\n")))
                if step % 5 == 0:
                    bar = progress_line(step, length, metrics["train/loss"])
                    records.append(("console", handle, (2, at, bar)))
                if step % 10 == 0:
                    records.append((handle, step, created + step * 1.5, _system(step, index)))
                records += _health_events(handle, step, at, metrics, flagged, spec.crashes)
                loss = metrics.get("eval/loss")
                if loss is not None and loss < best:
                    best = loss
            handle.summary["best_eval_loss"] = best
            records.append(("json", handle, "summary"))
            if not live and not crashed:
                failed = spec.diverges
                outcome = (
                    ("failed", 1, "ValueError: loss is NaN") if failed else ("finished", 0, None)
                )
                records.append(("finish", handle, outcome))
            write_batch(store, records, now=created + length * 1.5)
            ids.append(run_id)
    finally:
        store.close()
    return ids


def _health_events(
    handle: RunHandle,
    step: int,
    at: float,
    metrics: dict[str, float],
    flagged: set[str],
    crashes: bool,
) -> list[tuple[object, ...]]:
    """A few health events, as the tracker's detectors would write them, so the screenshots show
    the health column and the markers: the diverging run's spike and NaN, the crashing run's
    GPU underuse (an episode that ends)."""
    out: list[tuple[object, ...]] = []
    loss = metrics.get("train/loss")

    def add(level: str, title: str, **detail: object) -> None:
        out.append(("event", handle, (at, step, "health", "train/loss", level, title, detail)))

    if loss is not None and not math.isfinite(loss) and "nonfinite" not in flagged:
        flagged.add("nonfinite")
        add("ERROR", f"train/loss is {loss} at step {step}", detector="nonfinite")
    elif loss is not None and loss > 4.0 and step > 50 and "loss_spike" not in flagged:
        flagged.add("loss_spike")
        add("WARN", f"loss spike: {loss:.2f}", detector="loss_spike")
    if crashes and step in (60, 100):
        detail: dict[str, object] = {"detector": "gpu_underused"}
        title = "GPU 0 busy 12% for 2 min"
        if step == 100:
            detail["resolved"] = True
            title = "GPU 0 busy again (91%)"
        out.append(("event", handle, (at, step, "health", "sys/gpu/0/util", "WARN", title, detail)))
    return out


def build_resumed_database(path: Path, now: float = NOW) -> str:
    """One nanoGPT-like run for the README: it logs its own ``iter`` (defined as the step
    metric of every metric), was killed at iteration 3,000, requeued and resumed, and is
    training again: its plots run against ``iter`` with the resume marked."""
    store = open_store(path, write=True)
    target = parse_target(path)
    run_id, created = "nano0001", now - 3600.0
    try:
        version = store.begin()
        store.insert_run(
            {
                "id": run_id, "project": "nanogpt", "name": "gpt2-124m-owt", "created_at": created,
                "host": this_host(), "pid": 1, "pid_start": None, "tags": "[]",
                "config": dumps({"n_layer": 12, "n_head": 12, "learning_rate": 6e-4}),
                "summary": "{}",
            },
            version,
        )  # fmt: skip
        store.commit()
        defs = [{"name": "*", "step_metric": "iter", "step_sync": True}]
        handle = RunHandle(run_id, target, created, {}, {}, metric_defs=defs)
        records: list[tuple[object, ...]] = [("json", handle, "metric_defs")]
        rng = random.Random(7)
        resume_at, calls = 120, 200
        for call in range(calls):
            it = call * 25
            at = created + call * 12.0 + (900.0 if call > resume_at else 0.0)  # 15 min down
            loss = 3.0 + 7.8 * math.exp(-it / 1400) + rng.gauss(0, 0.04)
            if call == resume_at + 1:
                loss += 0.35  # the restart from the last checkpoint shows in the loss
            values = {"iter": float(it), "train/loss": loss, "lr": 6e-4 * min(1.0, it / 500)}
            if call % 10 == 0:
                values["val/loss"] = loss + 0.06 + abs(rng.gauss(0, 0.02))
            records.append((handle, call, at, values))
        write_batch(store, records, now=created + calls * 12.0 + 900.0)
        version = store.begin()
        detail = {"previous_status": "crashed", "previous_host": this_host(),
                  "previous_pid": DEAD_PID, "exit_code": None, "error": None}  # fmt: skip
        store.insert_events(
            [(run_id, created + resume_at * 12.0 + 900.0, resume_at, "resumed", None, None,
              f"resumed after crashed at step {resume_at}", dumps(detail))],
            version,
        )  # fmt: skip
        store.commit()
    finally:
        store.close()
    return run_id
