"""What an outside tester found the detectors doing wrong, kept fixed: fp16 loss scaling at
the start of a run, recoveries that paged, and a legitimate jump that blinded the spike
detector for the rest of the run."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from pathlib import Path

import tracker
from tracker.db import open_store

from .helpers import ROOT


def _health(db: Path) -> list[tuple[str | None, str, int | None, bool]]:
    store = open_store(db)
    try:
        (run,) = store.read_runs()
        return [
            (e.level, e.detail.get("detector", ""), e.step, bool(e.detail.get("resolved")))
            for e in run.events
            if e.kind == "health"
        ]
    finally:
        store.close()


def test_fp16_loss_scaling_at_the_start_raises_nothing(tmp_path: Path) -> None:
    """GradScaler lowers its scale from 65536 for the first steps: inf gradient norms, finite
    loss, several in a row. That is normal, not an alert."""
    db = tmp_path / "runs.db"
    run = tracker.init(name="fp16", db=str(db), quiet=True)
    rng = random.Random(1)
    for step in range(400):
        norm = math.inf if step < 8 or step % 97 == 0 else 1.0 + rng.random() * 0.2
        run.log({"train/loss": 2.0 - step / 400 + rng.random() * 0.05,
                 "train/grad_norm": norm}, step=step)  # fmt: skip
    run.finish()
    assert _health(db) == []


def test_a_recovery_is_info_and_does_not_fail_a_cron_check(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    run = tracker.init(name="nan-then-fine", db=str(db), quiet=True)
    for step in range(120):
        run.log({"train/loss": math.nan if step == 60 else 1.0 + step * 1e-3}, step=step)
    run.finish()
    events = _health(db)
    assert ("ERROR", "nonfinite", 60, False) in events
    assert [e for e in events if e[3]] == [("INFO", "nonfinite", 80, True)]  # 20 finite points
    since_the_recovery = subprocess.run(
        [sys.executable, "-m", "tui.cli", "alerts", "--db", str(db), "--level", "info",
         "--fail-on", "error", "--json"],
        capture_output=True, text=True, env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )  # fmt: skip
    assert since_the_recovery.returncode == 3  # the NaN itself still fails the check
    listed = __import__("json").loads(since_the_recovery.stdout)
    assert [e["level"] for e in listed] == ["ERROR", "INFO"]


def test_a_new_level_settles_and_a_later_divergence_is_still_caught(tmp_path: Path) -> None:
    """A curriculum step multiplies the loss by 5 at step 300 (expected), and the run really
    diverges at step 1,000: the first settles as the series' new level, the second alerts."""
    db = tmp_path / "runs.db"
    run = tracker.init(name="phases", db=str(db), quiet=True)
    rng = random.Random(2)
    for step in range(1200):
        level = 0.5 if step < 300 else 2.5 if step < 1000 else 125.0
        run.log({"train/loss": level * (1 + 0.05 * rng.random())}, step=step)
    run.finish()
    spikes = [e for e in _health(db) if e[1] == "loss_spike"]
    assert spikes[0][:3] == ("WARN", "loss_spike", 301) and not spikes[0][3]
    settled = [e for e in spikes if e[3]]
    assert settled and settled[0][2] is not None and 300 < settled[0][2] < 400
    assert any(e[2] is not None and 1000 <= e[2] <= 1003 and not e[3] for e in spikes), spikes


def test_settings_that_could_never_fire_or_never_stop_are_refused(tmp_path: Path) -> None:
    import pytest

    for health in (
        {"throughput_drop": {"factor": 2}},
        {"gpu_memory": {"percent": 150}},
        {"loss_spike": {"points": 0}},
        {"stalled": {"warmup_steps": 2.5}},
        {"stalled": {"min_seconds": 0}},
        {"loss_spike": None},
        {"loss_spike": {"factor": 0.5}},
    ):
        with pytest.raises(ValueError, match=r"health\["):
            tracker.init(db=str(tmp_path / "runs.db"), health=health, quiet=True)
