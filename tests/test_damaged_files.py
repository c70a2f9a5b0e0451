"""Damaged, unreadable and random files: every reader says what is wrong, in one line naming
the file, and the TUI says so and keeps watching.

- corrupt pages: the ``runs`` or ``series`` table's page overwritten with garbage or zeros, or
  its cell count cut (SQLite then reads the page without an error and silently loses rows):
  ``ls``, ``ls --json`` and ``best`` exit 1 with ``<path>: damaged database (...)``;
- JSON in ``runs`` that does not parse, has the wrong type or is nested 100,000 deep;
- permissions, in a child that drops root (root ignores permission bits): a folder that
  cannot be entered makes ``ls``/``best`` print one line, ``init()`` raise a
  ``DatabaseUnavailable`` naming the path, and the TUI show it until the folder opens again;
- a fuzz run over fixed seeds: flipped bytes, truncations, zeroed and garbage pages, random
  files, another application's SQLite file; each read ends within a bounded time either with
  plausible runs or with a tracker ``DatabaseError`` naming the file.

Every damaged file is written with plain file I/O while no connection to it is open in this
process (the database is built by a child process).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tracker.db.sqlite.store import SqliteStore
from tracker.errors import DatabaseError
from tracker.models import RunRecord
from tui.app import TrackTuiApp
from tui.cli import main
from tui.demo_db import NOW
from tui.screens.run_detail import RunDetailScreen
from tui.widgets.runs_table import RunsTable

from .helpers import ROOT, run_python
from .tui_helpers import TIMINGS, wait_until

T = TypeVar("T")

RUN_NAMES = ("alpha", "beta", "gamma")
CASE_TIMEOUT_S = 5.0

BUILD = """
import sqlite3, sys, tracker
db = sys.argv[1]
for index, name in enumerate(("alpha", "beta", "gamma")):
    run = tracker.init(name=name, db=db, quiet=True, config={"lr": 0.1 * (index + 1)}, tags=["t"])
    for step in range(200):
        run.log({"loss": 1.0 / (step + 1) + index, "acc": step / 200}, step=step)
    if name == "gamma":
        run.flush()  # so that "special" is the last series created: the highest rowid
        for step in range(200, 210):
            run.log({"special": float(step)}, step=step)
    run.finish()
conn = sqlite3.connect(db)
conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
conn.close()
"""


@dataclass(frozen=True)
class Sample:
    """A valid database's bytes and where its tables live."""

    data: bytes
    page_size: int
    roots: dict[str, int]  # table or index name -> root page number


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    path = tmp_path_factory.mktemp("sample") / "runs.db"
    run_python(BUILD, str(path))  # no tracker connection to it ever lives in this process
    conn = sqlite3.connect(path)
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    roots = {
        str(name): int(page)
        for name, page in conn.execute("SELECT name, rootpage FROM sqlite_master WHERE rootpage")
    }
    last_key = conn.execute("SELECT key FROM series ORDER BY id DESC LIMIT 1").fetchone()[0]
    conn.close()
    assert last_key == "special"
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return Sample(path.read_bytes(), page_size, roots)


def page_slice(sample: Sample, page: int) -> slice:
    start = (page - 1) * sample.page_size
    return slice(start, start + sample.page_size)


def damage(sample: Sample, how: str) -> bytes:
    """The sample database with one of its small tables damaged."""
    data = bytearray(sample.data)
    if how == "runs-garbage":
        data[page_slice(sample, sample.roots["runs"])] = random.Random(7).randbytes(
            sample.page_size
        )
    elif how == "series-zeroed":
        data[page_slice(sample, sample.roots["series"])] = bytes(sample.page_size)
    elif how == "series-cut":
        # A table leaf's header: type (13) at 0, cell count at 3..4. One cell fewer hides the
        # row with the highest rowid, gamma's "special", and SQLite reads on without a word.
        start = page_slice(sample, sample.roots["series"]).start
        assert data[start] == 13, "the series table should fit one leaf page"
        cells = int.from_bytes(data[start + 3 : start + 5], "big")
        data[start + 3 : start + 5] = (cells - 1).to_bytes(2, "big")
    else:
        raise AssertionError(how)
    return bytes(data)


def write_file(path: Path, data: bytes) -> Path:
    """Put ``data`` at ``path`` through a temporary file and a rename (the path gets a new
    inode, and a connection still open on the old file is never disturbed)."""
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def assert_one_line_naming(err: str, path: Path, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tracktui: {path}: "), err
    for word in words:
        assert word in lines[0], err
    assert "Traceback" not in err


# --- corrupt pages ----------------------------------------------------------------------------


DAMAGES = ("runs-garbage", "series-zeroed", "series-cut")
COMMANDS = (("ls",), ("ls", "--json"), ("best", "--metric", "special"))


def test_a_cut_page_really_loses_rows_silently(sample: Sample, tmp_path: Path) -> None:
    """The premise of the structure check: SQLite itself reads the cut page without an error."""
    path = write_file(tmp_path / "runs.db", damage(sample, "series-cut"))
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    keys = [row[0] for row in conn.execute("SELECT key, count FROM series")]  # the table
    conn.close()
    assert "special" not in keys and len(keys) == 6


@pytest.mark.parametrize("how", DAMAGES)
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_ls_and_best_name_the_damage(
    sample: Sample, tmp_path: Path, how: str, command: tuple[str, ...]
) -> None:
    path = write_file(tmp_path / "runs.db", damage(sample, how))
    code, out, err = cli("--db", str(path), *command)
    assert code == 1
    assert out == ""
    assert_one_line_naming(err, path, "damaged database (")


def test_the_real_command_exits_1_without_a_traceback(sample: Sample, tmp_path: Path) -> None:
    path = write_file(tmp_path / "runs.db", damage(sample, "runs-garbage"))
    result = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--db", str(path), "ls"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 1 and result.stdout == ""
    assert_one_line_naming(result.stderr, path, "damaged database (")


def test_the_store_names_the_file_too(sample: Sample, tmp_path: Path) -> None:
    path = write_file(tmp_path / "runs.db", damage(sample, "series-cut"))
    with pytest.raises(DatabaseError, match="damaged database") as info:
        SqliteStore.for_reading(path)
    assert str(path) in str(info.value)


def test_a_damaged_history_is_named_by_the_store(sample: Sample, tmp_path: Path) -> None:
    """Points are read later than the check at opening (the TUI's plots): the store's read
    functions name the file and the damage themselves."""
    data = bytearray(sample.data)
    data[page_slice(sample, sample.roots["points"])] = random.Random(3).randbytes(sample.page_size)
    path = write_file(tmp_path / "runs.db", bytes(data))
    st = SqliteStore.for_reading(path)  # runs and series are intact
    try:
        (gamma,) = [run for run in st.read_runs() if run.name == "gamma"]
        with pytest.raises(DatabaseError, match="damaged database") as info:
            st.read_series(gamma.metrics["loss"].series_id, 100)
    finally:
        st.close()
    assert str(info.value).startswith(f"{path.resolve()}: ")


def test_hostile_json_in_runs_is_read_as_defaults(sample: Sample, tmp_path: Path) -> None:
    path = write_file(tmp_path / "runs.db", sample.data)
    deep = 100_000
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(
            "UPDATE runs SET config = ?, tags = ?, summary = ? WHERE name = 'alpha'",
            ('{"a":' * deep + "1" + "}" * deep, "[" * deep + "]" * deep, "{not json"),
        )
        conn.execute(
            "UPDATE runs SET config = '[1, 2]', tags = '{\"x\": 1}', summary = ? WHERE name = 'beta'",
            ('{"a":' * 100 + "1" + "}" * 100,),  # parses, but deeper than tracktui ever writes
        )
    conn.close()
    reader = SqliteStore.for_reading(path)
    runs = {run.name: run for run in reader.read_runs()}
    reader.close()
    assert runs["alpha"].config == {} and runs["alpha"].tags == [] and runs["alpha"].summary == {}
    assert runs["beta"].config == {} and runs["beta"].tags == [] and runs["beta"].summary == {}
    assert runs["gamma"].config == {"lr": pytest.approx(0.3)}
    for command in (
        ("ls",),
        ("ls", "--json"),
        ("best", "--metric", "loss"),
        ("ls", "--sort", "cfg.lr"),
    ):
        code, out, err = cli("--db", str(path), *command)
        assert code == 0 and out and "Traceback" not in err, (command, err)
    assert len(json.loads(cli("--db", str(path), "ls", "--json")[1])) == 3


# --- the TUI ----------------------------------------------------------------------------------


def make_app(path: Path) -> TrackTuiApp:
    return TrackTuiApp(path, clock=lambda: NOW, timings=TIMINGS)


def rows(app: TrackTuiApp) -> int:
    return app.screen.query_one(RunsTable).row_count


def message(app: TrackTuiApp) -> str:
    return str(app.screen.query_one("#message").render())


@pytest.mark.parametrize("how", ["runs-garbage", "series-cut"])
async def test_the_tui_shows_the_damage_and_keeps_watching(
    sample: Sample, tmp_path: Path, how: str
) -> None:
    path = write_file(tmp_path / "runs.db", sample.data)
    app = make_app(path)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, lambda: rows(app) == 3, what="three runs")
        write_file(path, damage(sample, how))  # replaced under the open app
        await wait_until(pilot, lambda: "damaged database" in message(app), what="the damage")
        assert str(path) in message(app)
        assert not app.screen.query_one("#message").has_class("hidden")
        assert app.is_running
        write_file(path, sample.data)  # a good file again: picked up by itself
        await wait_until(pilot, lambda: app.model.status.state == "ok", what="recovery")
        # the table kept its rows meanwhile: what shows the recovery is the message going away
        await wait_until(
            pilot,
            lambda: rows(app) == 3 and app.screen.query_one("#message").has_class("hidden"),
            what="the runs again, without the message",
        )


async def test_the_tui_survives_hostile_json(sample: Sample, tmp_path: Path) -> None:
    path = write_file(tmp_path / "runs.db", sample.data)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE runs SET config = ?", ("[" * 100_000 + "]" * 100_000,))
    conn.close()
    app = make_app(path)
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: rows(app) == 3, what="three runs")
        await pilot.press("enter")  # the run's detail shows its (default) config
        await wait_until(
            pilot,
            lambda: (
                isinstance(app.screen, RunDetailScreen)
                and "config" in str(app.screen.query_one("#detail-config-text").render())
            ),
            what="the run's config pane",
        )
        assert app.is_running


# --- permissions (a child without root's rights) ----------------------------------------------

CHILD_PRELUDE = """
import asyncio, contextlib, io, json, os, sys
from pathlib import Path
import tracker, tui.cli
from tracker.errors import DatabaseError, DatabaseUnavailable
from tui.app import TrackTuiApp
from tests.tui_helpers import TIMINGS
good, locked = Path(sys.argv[1]), Path(sys.argv[2])

def quiet_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = tui.cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()

def shown(app):
    return str(app.screen.query_one("#message").render())

async def wait(pilot, condition, what):
    for _ in range(300):
        if condition():
            return
        await pilot.pause(0.05)
    raise SystemExit(f"timed out waiting for {what}")

async def warm_up_tui():
    for path in (good, good.with_name("missing.db")):
        app = TrackTuiApp(path, timings=TIMINGS)
        async with app.run_test(size=(160, 30)) as pilot:
            await wait(
                pilot,
                lambda: app.model.status.state in ("ok", "missing") and app.frames > 0,
                "warm-up: the runs or the message drawn",
            )
            await pilot.pause()

# Whatever this child uses is imported (and lazily imported modules loaded) while it may
# still read the interpreter's files: root's home is often closed to other users.
for argv in (["ls"], ["ls", "--json"], ["best", "--metric", "loss"]):
    quiet_cli("--db", str(good), *argv)
try:
    tracker.init(db=good / "not-a-folder" / "runs.db", quiet=True)
except DatabaseError:
    pass
"""

DROP_ROOT = """
if os.geteuid() == 0:
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
assert os.geteuid() != 0
"""

PERMISSION_CLI = """
results = {}
for name, db in (("inside", locked / "runs.db"), ("below", locked / "sub" / "runs.db")):
    for argv in (["ls"], ["ls", "--json"], ["best", "--metric", "loss"]):
        try:
            results[f"{name} {' '.join(argv)}"] = quiet_cli("--db", str(db), *argv)
        except BaseException as exc:
            results[f"{name} {' '.join(argv)}"] = [-1, "", f"{type(exc).__name__}: {exc}"]
    try:
        tracker.init(db=db, quiet=True)
        results[f"{name} init"] = ["no error", ""]
    except DatabaseUnavailable as exc:
        results[f"{name} init"] = ["DatabaseUnavailable", str(exc)]
    except BaseException as exc:
        results[f"{name} init"] = [type(exc).__name__, str(exc)]
print(json.dumps(results))
"""

PERMISSION_TUI = """
async def watch():
    app = TrackTuiApp(locked / "runs.db", timings=TIMINGS)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait(pilot, lambda: "permission denied" in shown(app), "the permission message")
        seen, running = shown(app), app.is_running
        os.chmod(locked, 0o755)  # this user owns the folder: it opens it again
        await wait(pilot, lambda: app.model.status.state == "ok", "the runs")
        return {"message": seen, "running": running, "recovered": app.is_running}

print(json.dumps(asyncio.run(watch())))
"""


@pytest.fixture
def locked_folder(sample: Sample) -> Iterator[tuple[Path, Path]]:
    """A good database and a folder holding another one that cannot be entered, in a place
    the unprivileged child can reach (pytest's own temporary folders are private to root)."""
    if not hasattr(os, "geteuid"):
        pytest.skip("POSIX permissions only")
    base = Path(tempfile.mkdtemp(prefix="tracktui-perm-"))
    try:
        base.chmod(0o755)
        good = write_file(base / "good.db", sample.data)
        locked = base / "locked"
        locked.mkdir()
        write_file(locked / "runs.db", sample.data)
        (locked / "runs.db").chmod(0o644)
        if os.geteuid() == 0:
            os.chown(locked, 65534, 65534)
            os.chown(locked / "runs.db", 65534, 65534)
        locked.chmod(0)
        yield good, locked
    finally:
        with contextlib.suppress(OSError):
            locked.chmod(stat.S_IRWXU)
        shutil.rmtree(base, ignore_errors=True)


def run_unprivileged(code: str, good: Path, locked: Path) -> Any:
    result = run_python(code, str(good), str(locked), timeout=90, check=False)
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip("this environment does not let root drop its rights")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_folder_that_cannot_be_entered(locked_folder: tuple[Path, Path]) -> None:
    good, locked = locked_folder
    results = run_unprivileged(CHILD_PRELUDE + DROP_ROOT + PERMISSION_CLI, good, locked)
    for name, db in (("inside", locked / "runs.db"), ("below", locked / "sub" / "runs.db")):
        for argv in ("ls", "ls --json", "best --metric loss"):
            code, out, err = results[f"{name} {argv}"]
            assert code == 1 and out == "", (argv, err)
            assert_one_line_naming(
                err, db, "permission denied", f"folder {locked} cannot be entered"
            )
        kind, text = results[f"{name} init"]
        assert kind == "DatabaseUnavailable", text
        assert text.startswith(f"{db}: ") and "ermission denied" in text, text


def test_the_tui_shows_a_permission_problem_and_recovers(
    locked_folder: tuple[Path, Path],
) -> None:
    good, locked = locked_folder
    code = CHILD_PRELUDE + "asyncio.run(warm_up_tui())\n" + DROP_ROOT + PERMISSION_TUI
    result = run_unprivileged(code, good, locked)
    assert str(locked / "runs.db") in result["message"]
    assert f"folder {locked} cannot be entered" in result["message"]
    assert result["running"] and result["recovered"]


# --- fuzz -------------------------------------------------------------------------------------

KINDS = ("flip", "header", "truncate", "zero-page", "garbage-page", "garbage-file")
SEEDS = range(48)


def mutate(sample: Sample, seed: int) -> tuple[str, bytes]:
    """One damaged variant of the sample, fully determined by ``seed``."""
    rng = random.Random(seed)
    kind = KINDS[seed % len(KINDS)]
    data = bytearray(sample.data)
    pages = len(data) // sample.page_size
    small_tables = [1, *sample.roots.values()]
    if kind == "flip":
        for _ in range(rng.randint(1, 64)):
            page = rng.choice(small_tables) if rng.random() < 0.7 else rng.randint(1, pages)
            offset = page_slice(sample, page).start + rng.randrange(sample.page_size)
            data[offset] = rng.randrange(256)
    elif kind == "header":
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(100)] = rng.randrange(256)
    elif kind == "truncate":
        del data[rng.randrange(len(data)) :]
    elif kind == "zero-page":
        data[page_slice(sample, rng.randint(1, pages))] = bytes(sample.page_size)
    elif kind == "garbage-page":
        page = rng.choice(small_tables)
        data[page_slice(sample, page)] = rng.randbytes(sample.page_size)
    else:
        size = rng.choice((1, 15, 100, 512, 4096, 16384, 70_000))
        head = b"SQLite format 3\x00" if rng.random() < 0.5 else b""
        data = bytearray(head + rng.randbytes(size))
    return kind, bytes(data)


def another_app(path: Path) -> Path:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("PRAGMA application_id = 1234")
        conn.execute("CREATE TABLE runs (id, name)")
        conn.execute("CREATE TABLE series (x)")
        conn.execute("INSERT INTO runs VALUES (1, 'theirs')")
    conn.close()
    return path


def within(seconds: float, what: str, action: Callable[[], T]) -> T:
    """``action()`` on a thread; fail if it takes longer than ``seconds``; its exception, if
    any, is raised here."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(("value", action()))
        except BaseException as exc:  # handed to the test thread
            outcome.append(("error", exc))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise AssertionError(f"{what}: no answer within {seconds} s")
    kind, value = outcome[0]
    if kind == "error":
        raise value
    return value  # type: ignore[no-any-return]


def read_store(path: Path) -> list[RunRecord] | DatabaseError:
    try:
        st = SqliteStore.for_reading(path)
    except DatabaseError as exc:
        return exc
    try:
        return st.read_runs()
    except DatabaseError as exc:
        return exc
    finally:
        st.close()


def check_readers(path: Path, label: str) -> None:
    outcome = within(CASE_TIMEOUT_S, f"{label}: store", lambda: read_store(path))
    if isinstance(outcome, DatabaseError):
        text = str(outcome)
        assert "\n" not in text and text.startswith(f"{path}: "), f"{label}: {text}"
    else:
        assert len(outcome) <= len(RUN_NAMES), label
        for run in outcome:
            assert isinstance(run, RunRecord) and isinstance(run.id, str), label
            assert isinstance(run.config, dict) and isinstance(run.tags, list), label
    for argv in (("ls", "--json"), ("best", "--metric", "loss")):
        code, out, err = within(
            CASE_TIMEOUT_S, f"{label}: {argv}", lambda argv=argv: cli("--db", str(path), *argv)
        )
        if code == 0:
            if argv[0] == "ls":
                assert isinstance(json.loads(out), list), label
            else:
                assert out.strip(), label
        else:
            assert code == 1 and out == "", f"{label}: {code} {out!r}"
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("tracktui: "), f"{label}: {err}"
            assert f"{path}: " in lines[0] or "no run has a finite value" in lines[0], label


@pytest.mark.parametrize("seed", SEEDS)
def test_fuzzed_files_get_an_answer_or_a_clear_error(
    sample: Sample, tmp_path: Path, seed: int
) -> None:
    kind, data = mutate(sample, seed)
    path = write_file(tmp_path / f"case-{seed}.db", data)
    check_readers(path, f"seed {seed} ({kind}, {len(data)} bytes)")


def test_another_applications_sqlite_file(tmp_path: Path) -> None:
    path = another_app(tmp_path / "theirs.db")
    check_readers(path, "another application's file")
    code, _out, err = cli("--db", str(path), "ls")
    assert code == 1 and "another application" in err


def test_the_intact_sample_reads_back(sample: Sample, tmp_path: Path) -> None:
    """The control: the untouched sample gives every run, so the fuzz starts from a good file."""
    path = write_file(tmp_path / "runs.db", sample.data)
    outcome = read_store(path)
    assert not isinstance(outcome, DatabaseError), outcome
    assert sorted(run.name for run in outcome) == sorted(RUN_NAMES)
    assert "special" in {key for run in outcome for key in run.metrics}
