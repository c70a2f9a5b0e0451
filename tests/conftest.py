"""Shared fixtures: a fresh database path per test, and a helper to run Python in a child."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import tracker
from tracker import recorder as run_module
from tracker.errors import reset_warnings


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("TRACKTUI_DB", raising=False)
    monkeypatch.setenv("TRACKTUI_PROJECT", "tests")
    monkeypatch.setenv("TRACKTUI_SYSTEM_METRICS", "0")  # tests that want them turn them on
    reset_warnings()
    yield
    for run in list(run_module._active_runs):
        run.finish()
    tracker.finish()
