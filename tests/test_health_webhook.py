"""Health events reach an opt-in webhook end to end: a real run whose loss turns NaN, a real
local HTTP receiver, the JSON a Slack-style endpoint accepts."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import tracker

from .helpers import wait_for
from .test_notify import Server


@pytest.mark.parametrize("chosen_by", ["init", "env"])
def test_a_nonfinite_loss_is_posted_to_the_webhook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chosen_by: str
) -> None:
    server = Server()
    try:
        health: dict[str, object] = {}
        if chosen_by == "init":
            health["webhook"] = server.url
        else:
            monkeypatch.setenv("TRACKTUI_WEBHOOK", server.url)
        run = tracker.init(project="p", name="diverges", db=str(tmp_path / "runs.db"),
                           health=health, quiet=True)  # fmt: skip
        for step in range(100):
            run.log({"train/loss": 2.0 - step / 100}, step=step)
        run.log({"train/loss": math.nan}, step=100)
        assert run.flush()
        wait_for(lambda: server.bodies, timeout=15, what="the webhook's POST")
        body = server.bodies[0]
        assert "diverges" in body["text"] and "step 100" in body["text"]
        event = body["event"]
        assert event["kind"] == "health" and event["detail"]["detector"] == "nonfinite"
        assert event["run_name"] == "diverges" and event["project"] == "p"
        assert event["step"] == 100 and event["key"] == "train/loss"
        run.finish()
    finally:
        server.stop()


def test_a_webhook_that_is_not_a_url_is_refused_at_init(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="http:// or https:// URL"):
        tracker.init(db=str(tmp_path / "runs.db"), health={"webhook": "hooks.example"})


def test_a_scripts_alert_is_posted_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = Server()
    try:
        monkeypatch.setenv("TRACKTUI_WEBHOOK", server.url)
        run = tracker.init(project="p", name="alerts", db=str(tmp_path / "runs.db"),
                           health=False, quiet=True)  # fmt: skip
        run.log({"acc": 0.1}, step=3)
        run.alert("accuracy stuck", "0.1 for 3 steps", level="WARN")
        wait_for(lambda: server.bodies, timeout=15, what="the webhook's POST")
        event = server.bodies[0]["event"]
        assert event["kind"] == "alert" and event["title"] == "accuracy stuck"
        assert event["level"] == "WARN" and event["run_name"] == "alerts"
        run.finish()
    finally:
        server.stop()
