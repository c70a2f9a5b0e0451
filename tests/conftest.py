"""Shared fixtures: a fresh database path per test, and a helper to run Python in a child."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracker
from tracker import recorder as run_module
from tracker.current import _pending_config as pending_config
from tracker.errors import reset_warnings

# The environment of the shell running the tests must not choose runs for them.
_RUN_CHOOSING_VARIABLES = (
    "TRACKTUI_RUN_ID", "TRACKTUI_RESUME", "TRACKTUI_MODE",
    "WANDB_RUN_ID", "WANDB_RESUME", "WANDB_MODE", "WANDB_DISABLED",
)  # fmt: skip


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.delenv("TRACKTUI_DB", raising=False)
    monkeypatch.setenv("TRACKTUI_PROJECT", "tests")
    monkeypatch.setenv("TRACKTUI_SYSTEM_METRICS", "0")  # tests that want them turn them on
    for variable in _RUN_CHOOSING_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    reset_warnings()
    monkeypatch.setattr("tracker.process_runs._last_ended", None)  # no run ended before
    yield
    for run in run_module.active_runs():
        run.finish()
    tracker.finish()
    run_module.set_current(None)
    dict.clear(pending_config)


def _cache_bytecode() -> None:
    """Under PYTHONDONTWRITEBYTECODE, every process of a run compiled again whatever source had
    no fresh .pyc: each xdist worker redid pytest's assertion rewriting of every test module (4 s
    of CPU), and each of the suite's hundreds of children (writers, ``tracktui`` commands,
    servers) recompiled the tracker modules edited since their .pyc (13 ms of its 90 ms import).
    The run writes bytecode as Python does by default, into the ``__pycache__`` folders (ignored
    by git), read back by every later process: this one from now on, and every child through
    the environment (the xdist workers are started after this module is imported). No private
    cache folder: one would start empty and compile torch, textual and the rest in every worker
    of a fresh CI machine."""
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None):
        sys.dont_write_bytecode = False


_cache_bytecode()


# The longest tests and xdist groups (pytest --durations on 2 cores), started first: xdist hands
# tests out in this order (--no-loadscope-reorder), so one of these collected late would run
# alone at the end while the other workers sit idle. Only an order: a name here that no longer
# exists costs nothing.
_LONGEST = (
    "tests/test_torture_postgres.py::",
    "tests/test_torture.py::",
    "tests/test_serve_browser.py::",  # with test_report_browser: one worker's group
    "tests/test_report_browser.py::",
    "tests/test_import_mlflow.py::",
    "tests/test_report.py::",
    "tests/test_serve_page.py::",
    "tests/test_import_wandb.py::",
    "tests/test_api.py::test_the_example_notebook_script_finds_the_best_config",
    "tests/test_filter_properties.py::test_evaluation_never_raises",
    "tests/test_compare.py::test_the_whole_sweep_workflow_keyboard_only",
    "tests/test_outside_programs.py::test_the_sqlite_utils_command_line",
    "tests/test_media_hostile.py::test_every_hostile_media_row_is_a_message_in_its_tile",
    "tests/test_framework_lifecycle.py::test_accelerate_main_process_only_records_one_run",
    "tests/test_filter_tui.py::test_a_huge_expression_never_stalls_the_ui",
    "tests/test_postgres.py::test_sync_killed_midway_carries_on",
    "tests/test_concurrency.py::",
    "tests/test_health.py::test_a_throughput_drop_is_caught",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest tests first (in _LONGEST's order), the rest as collected."""

    def rank(item: pytest.Item) -> int:
        return next(
            (i for i, prefix in enumerate(_LONGEST) if item.nodeid.startswith(prefix)),
            len(_LONGEST),
        )

    items.sort(key=rank)  # stable: within a rank, collection order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Where a selected test runs scripts in children of the preloaded interpreter
    (tests/preloaded.py), start it now: it imports the frameworks while the first tests run."""
    if session.config.option.collectonly:
        return
    modules = {getattr(item, "module", None) for item in session.items}
    if any(getattr(module, "run_preloaded", None) or getattr(module, "start_preloaded", None)
           for module in modules):  # fmt: skip
        from .preloaded import start

        start()


# A throwaway PostgreSQL server (tests/pg_cluster.py): one per pytest process (each xdist worker
# starts its own), and a fresh empty database per test. tests.pg_cluster imports psycopg only
# inside its functions, and the fixtures import it only when a test asks for them, so the suite
# runs where psycopg (or PostgreSQL) is missing: these fixtures skip, saying why.
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:
    from .pg_cluster import Cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    from .pg_cluster import Cluster, unavailable_reason

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    cluster = Cluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()  # also registered with atexit; the postmaster dies with this process


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a new empty database on the session's server, dropped after the test."""
    import uuid

    if not pg_cluster.running:  # a test stopped the shared server: start a new one
        pg_cluster.start()
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = pg_cluster.create_database(name)
    yield url
    if pg_cluster.running:
        pg_cluster.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"], ids=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database for a test of the Store interface's guarantees, once per backend: a SQLite
    file's path (nothing started) or a fresh PostgreSQL database's URL (the pg fixtures are asked
    for only here, so a SQLite case never starts a server, and a PostgreSQL case skips saying
    why where the server or psycopg is missing)."""
    if request.param == "sqlite":
        yield str(tmp_path / "runs.db")
        return
    url: str = request.getfixturevalue("pg_url")
    yield url
    # Runs a test left open end here, before pg_url drops their database (_isolated would
    # finish them only after: each finish() would wait out its timeout for a database gone).
    for run in run_module.active_runs():
        run.finish()
    tracker.finish()
