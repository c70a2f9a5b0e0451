"""``tracktui alerts`` against real databases written by real runs, as a real process."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import tracker
from tui.alerts_cli import parse_since

from .helpers import run_python

HOSTILE_NAME = "[bold]evil[/] \x1b]0;HACKED\x07\u202egnp.exe"
HOSTILE_TITLE = "loss spike \x1b[2J\x1b]52;c;ZWNobyBoaQ==\x07 [red]x[/red] \u2066rtl\u2069"
JSON_FIELDS = {
    "run_id", "run_name", "project", "kind", "level", "time", "step", "key", "title", "detail",
}  # fmt: skip


def health(run: Any, step: int, level: str, title: str, detail: dict[str, Any], t: float) -> None:
    """A health event written the way the detectors write one: a control record of the run."""
    payload = (t, step, "health", "train/loss", level, title, detail)
    run._queue.append(("event", run._handle, payload))
    run.flush()


def write_runs(db: str) -> None:
    now = time.time()
    quiet = tracker.init(project="llm", name="quiet-run", db=db, quiet=True)
    quiet.log({"train/loss": 1.0}, step=1)
    quiet.finish()

    first = tracker.init(project="llm", name="lr-3e-4", tags=["sweep"], db=db, quiet=True)
    first.log({"train/loss": 2.0}, step=10)
    health(first, 10, "WARN", "old stall: no step for 600 s", {"detector": "stalled"}, now - 7200)
    first.alert("checkpoint saved", "epoch 1", level="INFO")
    health(
        first, 12, "WARN", "loss spike: 9.1 vs median 2.0",
        {"detector": "loss_spike", "ratio": float("inf"), "z": float("nan")}, now - 60,
    )  # fmt: skip
    health(
        first,
        20,
        "WARN",
        "loss back to normal",
        {"detector": "loss_spike", "resolved": True},
        now - 30,
    )
    first.finish()

    second = tracker.init(project="vision", name=HOSTILE_NAME, db=db, quiet=True)
    second.log({"train/loss": 1.0}, step=3)
    health(second, 3, "ERROR", HOSTILE_TITLE, {"detector": "nonfinite"}, now - 10)
    second.alert("disk almost full", "97%", level="WARN")
    second.finish()


def alerts(db: str, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    result = run_python(
        "from tui.cli import main; raise SystemExit(main())",
        "alerts", "--db", db, *args, check=False,
    )  # fmt: skip
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    return result


def alerts_json(db: str, *args: str, code: int = 0) -> list[dict[str, Any]]:
    return json.loads(alerts(db, "--json", *args, code=code).stdout)  # type: ignore[no-any-return]


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "runs.db")
    write_runs(path)
    return path


def _no_raw_controls(text: str) -> None:
    for bad in ("\x1b", "\x07", "\u202e", "\u2066", "\u2069", "\x9b"):
        assert bad not in text


def test_human_output_lists_oldest_first_aligned_with_a_count(db: str) -> None:
    result = alerts(db)
    lines = result.stdout.rstrip("\n").split("\n")
    assert lines[0].split() == ["TIME", "LEVEL", "KIND", "RUN", "STEP", "TITLE"]
    body = lines[1:-1]
    assert len(body) == 6
    assert "old stall" in body[0] and "loss spike: 9.1" in body[1] and "(resolved)" in body[2]
    assert "ERROR" in body[3] and "checkpoint saved: epoch 1" in body[4]
    assert "disk almost full: 97%" in body[5]  # the scripts' alerts: their time is now
    assert "quiet-run" not in result.stdout
    title_column = lines[0].index("TITLE")
    assert all(line[title_column - 2 : title_column] == "  " for line in body)  # aligned
    assert lines[-1] == "6 events (1 error, 4 warn, 1 info)"
    _no_raw_controls(result.stdout + result.stderr)


def test_json_has_the_contract_fields(db: str) -> None:
    events = alerts_json(db)
    assert [e["kind"] for e in events] == ["health", "health", "health", "health", "alert", "alert"]
    for event in events:
        assert set(event) == JSON_FIELDS
        assert event["time"].endswith("+00:00")
    spike = events[1]
    assert spike["run_name"] == "lr-3e-4" and spike["project"] == "llm"
    assert spike["level"] == "WARN" and spike["step"] == 12 and spike["key"] == "train/loss"
    assert spike["detail"] == {"detector": "loss_spike", "ratio": "Infinity", "z": "NaN"}
    assert events[2]["detail"]["resolved"] is True
    assert events[4]["detail"] == {"text": "epoch 1"} and events[4]["level"] == "INFO"
    assert events[3]["run_name"] == HOSTILE_NAME and events[3]["title"] == HOSTILE_TITLE


def test_hostile_names_and_titles_are_sanitized(db: str) -> None:
    result = alerts(db, "--level", "error")
    out = result.stdout
    _no_raw_controls(out)
    assert "[bold]evil[/] \\x1b]0;HACKED\\x07" in out  # the name, cut to fit its column
    assert "\\x1b[2J\\x1b]52;c;" in out and "[red]x[/red]" in out and "\\u2066rtl\\u2069" in out
    raw = alerts(db, "--json").stdout
    _no_raw_controls(raw)  # JSON spells them as \\u escapes
    assert "\\u001b]0;HACKED" in raw


def test_since_level_project_filter(db: str) -> None:
    assert len(alerts_json(db, "--since", "1h")) == 5
    assert len(alerts_json(db, "--since", "3h")) == 6
    assert len(alerts_json(db, "--since", "45s")) == 4
    assert [e["title"] for e in alerts_json(db, "--level", "error")] == [HOSTILE_TITLE]
    assert {e["level"] for e in alerts_json(db, "--level", "warn")} == {"WARN", "ERROR"}
    assert {e["project"] for e in alerts_json(db, "--project", "vision")} == {"vision"}
    assert {e["run_name"] for e in alerts_json(db, "--filter", "tag=sweep")} == {"lr-3e-4"}
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 3600)) + "Z"
    assert len(alerts_json(db, "--since", iso)) == 5
    bad = alerts(db, "--since", "yesterday", code=2)
    assert "--since" in bad.stderr
    assert "bad expression" in alerts(db, "--filter", "cfg.lr<", code=2).stderr


def test_fail_on_exit_codes(db: str, tmp_path: Path) -> None:
    alerts(db, "--fail-on", "warn", code=3)
    alerts(db, "--fail-on", "error", "--json", code=3)
    alerts(db, "--fail-on", "error", "--project", "llm", code=0)  # WARN only there
    alerts(db, "--fail-on", "warn", "--filter", "name=quiet-run", code=0)  # nothing listed
    empty = alerts(str(tmp_path / "none.db"), "--fail-on", "warn")
    assert "no events" in empty.stderr and empty.stdout == ""
    assert alerts_json(str(tmp_path / "none.db")) == []


def test_all_adds_resumes_and_several_databases(db: str, tmp_path: Path) -> None:
    other = str(tmp_path / "other.db")
    run = tracker.init(project="llm", name="crashy", id="crashy1", db=other, quiet=True)
    run.alert("first life", level="ERROR")
    run.finish()
    again = tracker.init(project="llm", id="crashy1", resume="allow", db=other, quiet=True)
    again.finish()
    assert [e["kind"] for e in alerts_json(other)] == ["alert"]
    assert [e["kind"] for e in alerts_json(other, "--all")] == ["alert", "resumed"]
    both = alerts_json(db, "--db", other)
    assert len(both) == 7 and {e["run_name"] for e in both} >= {"crashy", "lr-3e-4"}


def test_parse_since() -> None:
    assert parse_since("90s", now=1000.0) == 910.0
    assert parse_since("30m", now=10_000.0) == 8200.0
    assert parse_since("1h30m", now=10_000.0) == 10_000.0 - 5400
    assert parse_since("2d", now=200_000.0) == 200_000.0 - 172_800
    assert parse_since("1970-01-01T00:01:00+00:00") == 60.0


def test_both_backends(any_db: str) -> None:
    write_runs(any_db)
    events = alerts_json(any_db)
    assert len(events) == 6 and events[1]["detail"]["z"] == "NaN"
    assert len(alerts_json(any_db, "--since", "1h", "--level", "error")) == 1
    alerts(any_db, "--fail-on", "error", code=3)
    _no_raw_controls(alerts(any_db).stdout)
