"""``tracktui import wandb``: runs made by a real ``wandb.init(mode="offline")`` in a child
process (nothing written to $HOME), imported from one run folder or the ``wandb/`` folder,
twice (nothing doubled), cut short (crashed, what is readable kept), and shown in the TUI."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import sys
import textwrap
import zlib
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracker.db import open_store
from tracker.importers.wandb_offline import HEADER, _drop_media, records

from .import_helpers import offline_wandb_env, run_import, runs_of
from .tui_helpers import TIMINGS, screen_lines, wait_until

# One xdist worker runs this module (--dist loadgroup): the offline wandb runs: logged once.
pytestmark = pytest.mark.xdist_group("wandb-runs")

SCRIPT = textwrap.dedent(
    """
    import math, sys
    import numpy as np
    import wandb

    run = wandb.init(mode="offline", project="wb-proj", name="good [bold]ü",
                     config={"lr": 0.001, "opt": {"name": "adam"}}, tags=["baseline"])
    for step in range(12):
        weird = math.nan if step == 3 else math.inf if step == 4 else float(step)
        wandb.log({"train/loss": 1.0 / (step + 1), "weird": weird, "eval": {"acc": step / 10}},
                  step=step)
    wandb.log({"hist": wandb.Histogram([1, 2, 2, 3, 9])}, step=12)
    wandb.log({"img": wandb.Image(np.zeros((8, 6, 3), dtype=np.uint8), caption="<b>c</b>")},
              step=13)
    print("hello from stdout \\x1b[31mred")
    run.summary["best"] = 0.05
    run.finish()

    bad = wandb.init(mode="offline", project="wb-proj", name="bad")
    bad.log({"loss": 3.0})
    bad.finish(exit_code=2)
    """
)


@pytest.fixture(scope="module")
def wandb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wandb_runs")
    env = offline_wandb_env(root)
    (root / "script.py").write_text(SCRIPT)
    subprocess.run(
        [sys.executable, str(root / "script.py")], cwd=root, env=env, check=True, timeout=120
    )
    return root / "wandb"


def good_folder(wandb_dir: Path) -> Path:
    """The script's first run's folder: the one that logged the most. (Folder names sort by
    the second a run started, then by its random id: both runs may start in one second.)"""
    found = [p for p in wandb_dir.glob("offline-run-*") if not p.is_symlink()]
    return max(found, key=lambda p: next(p.glob("*.wandb")).stat().st_size)


def test_wandb_folder_imports_config_summary_history_media_console(
    wandb_dir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("wandb", str(wandb_dir), "--db", str(db_path)) == 0
    out = capsys.readouterr().out
    assert "2 run(s): 2 imported" in out and "\x1b" not in out
    store = open_store(db_path)
    try:
        runs = {run.name: run for run in store.read_runs()}
        assert set(runs) == {"good [bold]ü", "bad"}  # latest-run is not a third run
        good, bad = runs["good [bold]ü"], runs["bad"]
        assert good.id == good_folder(wandb_dir).name.rsplit("-", 1)[1]  # wandb's run id
        assert good.project == "wb-proj" and good.status == "finished" and good.exit_code == 0
        assert bad.status == "failed" and bad.exit_code == 2
        assert good.config == {"lr": 0.001, "opt": {"name": "adam"}}
        assert good.summary["best"] == 0.05 and good.tags == ["baseline"]
        # wandb's media descriptors (bins, values, sha256, path) are media, not summary values
        assert "hist" not in good.summary and "img" not in good.summary
        assert good.summary["eval"] == {"acc": pytest.approx(1.1)}  # nested values kept
        assert good.metrics["train/loss"].count == 12 and good.metrics["eval/acc"].count == 12
        weird = good.metrics["weird"]
        assert weird.count == 12 and weird.nonfinite == 2
        points = store.history(weird.series_id)
        assert math.isnan(points[3].value) and points[4].value == math.inf
        assert [p.step for p in points] == list(range(12))
        assert 0 <= points[0].t < 60  # wandb's _timestamp, against the run's start time
        assert good.media["hist"]["kind"] == "histogram"
        assert good.media["img"]["kind"] == "image" and good.media["img"]["step"] == 13
        console = "".join(chunk[3] for chunk in store.read_console(good.id))
        assert "hello from stdout" in console
    finally:
        store.close()
    before = {run.id: (run.metrics["train/loss" if "train/loss" in run.metrics else "loss"].count)
              for run in runs_of(db_path)}  # fmt: skip
    assert run_import("wandb", str(wandb_dir), "--db", str(db_path)) == 0
    assert "0 imported or updated, 2 already up to date" in capsys.readouterr().out
    after = {run.id: (run.metrics["train/loss" if "train/loss" in run.metrics else "loss"].count)
             for run in runs_of(db_path)}  # fmt: skip
    assert after == before


def test_summary_leaves_out_media_descriptors_and_keeps_values() -> None:
    summary: dict[str, Any] = {
        "best": 0.05,
        "name": "[bold]x",
        "hist": {"_type": "histogram", "bins": [0.0] * 65, "values": [1] * 64},
        "eval": {"acc": 0.9, "img": {"_type": "image-file", "sha256": "ab", "path": "m/i.png"}},
        "only": {"table": {"_type": "table-file", "path": "t.json"}},
        "empty": {},
    }
    _drop_media(summary)
    assert summary == {"best": 0.05, "name": "[bold]x", "eval": {"acc": 0.9}, "empty": {}}


def test_one_run_folder_and_a_cut_short_file(
    wandb_dir: Path, tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(good_folder(wandb_dir), copy)
    log = next(copy.glob("*.wandb"))
    data = log.read_bytes()
    log.write_bytes(data[: len(data) // 2])  # the exit record and the later history are gone
    # the files wandb writes beside the log when it syncs (offline runs lack them)
    (copy / "files" / "config.yaml").write_text("lr:\n  value: 0.5\nextra:\n  value: 5\n")
    (copy / "files" / "wandb-summary.json").write_text('{"from_file": 1, "_runtime": 3}')
    assert run_import("wandb", str(copy), "--db", str(db_path), "--project", "mine") == 0
    err = capsys.readouterr().err
    assert "cut short" in err
    (run,) = runs_of(db_path)
    assert run.project == "mine"
    assert run.status == "failed" and run.error is not None and run.error.startswith("crashed")
    assert 0 < run.metrics["train/loss"].count < 12
    assert run.config["extra"] == 5 and run.config["lr"] == 0.001  # the log's config first
    assert run.summary["from_file"] == 1 and "_runtime" not in run.summary


def test_missing_and_runless_sources_are_clear_errors(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("wandb", str(tmp_path / "nope"), "--db", str(db_path)) == 1
    assert "no such file or directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert run_import("wandb", str(tmp_path / "empty"), "--db", str(db_path)) == 1
    assert "no wandb run" in capsys.readouterr().err
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "run-x.wandb").write_bytes(b"not a wandb file")
    assert run_import("wandb", str(junk), "--db", str(db_path)) == 1
    assert "no :W&B header" in capsys.readouterr().err


async def test_imported_wandb_run_shows_in_the_tui(
    wandb_dir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.app import TrackTuiApp

    assert run_import("wandb", str(wandb_dir), "--db", str(db_path)) == 0
    app = TrackTuiApp(db_path, timings=TIMINGS)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) == 2, what="imported runs")
        # the name's markup is shown as text, never applied
        await wait_until(
            pilot, lambda: any("[bold]ü" in line for line in screen_lines(app)), what="name"
        )


@given(st.binary(max_size=2000), st.integers(min_value=0, max_value=300))
def test_damaged_bytes_never_break_the_reader(tail: bytes, cut: int) -> None:
    record = b"x" * 100
    body = struct.pack("<IHB", 0, len(record), 1) + record  # a wrong CRC
    problems: list[str] = []
    got = list(records(HEADER + body[:cut] + tail, problems))
    assert all(isinstance(r, bytes) for r in got)
    assert record not in got  # a chunk whose CRC fails is never taken


def _log_file(bodies: list[bytes]) -> bytes:
    """A ``.wandb`` file of these records, chunked as LevelDB's log writer (which wandb uses)
    chunks them: a block's tail under a header's 7 bytes is zeros; one of exactly 7 takes a
    header, and a record begun there begins with an empty chunk."""
    out = bytearray(HEADER)
    for body in bodies:
        left, first = body, True
        while True:
            room = 32 * 1024 - len(out) % (32 * 1024)
            if room < 7:
                out += bytes(room)
                continue
            piece, left = left[: room - 7], left[room - 7 :]
            kind = (1 if not left else 2) if first else (4 if not left else 3)
            crc = zlib.crc32(piece, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF
            out += struct.pack("<IHB", crc, len(piece), kind) + piece
            first = False
            if not left:
                break
    return bytes(out)


# The first record leaves the block 7 bytes: the second begins with an empty chunk (the step
# an outside tester's 20,000-step run lost at 12,761; the import said nothing)
@example(sizes=[32 * 1024 - 3 * 7, 100, 5])
@settings(max_examples=60)
@given(st.lists(st.integers(0, 70_000), max_size=6))
def test_every_record_is_read_whole_wherever_the_blocks_cut_it(sizes: list[int]) -> None:
    bodies = [bytes([index % 251 + 1]) * size for index, size in enumerate(sizes)]
    problems: list[str] = []
    assert list(records(_log_file(bodies), problems)) == bodies
    assert problems == []


RESUMED = textwrap.dedent(
    """
    import sys, time
    import wandb

    def next_second():  # wandb names a run's folder by the second it started
        start = int(time.time())
        while int(time.time()) == start:
            time.sleep(0.01)

    part = wandb.init(mode="offline", project="resumed-proj", id="resumeme", name="resumed",
                      resume="allow", config={"lr": 0.1, "phase": 1})
    for step in range(40):
        wandb.log({"loss": 1.0 / (step + 1)}, step=step)
    print("first part says hi")
    part.finish(exit_code=1)  # preempted
    next_second()
    part = wandb.init(mode="offline", project="resumed-proj", id="resumeme", name="resumed",
                      resume="allow", config={"lr": 0.1})
    part.config.update({"phase": 2}, allow_val_change=True)
    for step in range(30, 80):  # from the checkpoint at step 30
        wandb.log({"loss": 0.5 / (step + 1)}, step=step)
    print("second part says hi")
    part.summary["best"] = 0.001
    part.finish()
    next_second()
    wandb.init(mode="offline", project="resumed-proj", name="boom")
    wandb.log({"loss": 1.0})
    raise RuntimeError("boom <b>")
    """
)


@pytest.fixture(scope="module")
def resumed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wandb_resumed")
    env = offline_wandb_env(root)
    (root / "script.py").write_text(RESUMED)
    done = subprocess.run(
        [sys.executable, str(root / "script.py")], cwd=root, env=env, timeout=120,
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 1 and "boom" in done.stderr  # the last run raises, on purpose
    return root / "wandb"


def resumed_parts(wandb_dir: Path) -> list[Path]:
    return sorted(p for p in wandb_dir.glob("offline-run-*-resumeme") if not p.is_symlink())


def test_resumed_run_parts_merge_into_one_run_in_time_order(
    resumed_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    resumed_dir = shutil.copytree(resumed_dir, tmp_path / "wandb", symlinks=True)
    first, second = resumed_parts(resumed_dir)
    # a process killed before wandb flushed anything leaves a header alone (7 bytes)
    empty = resumed_dir / "offline-run-20000101_000000-resumeme"
    empty.mkdir()
    (empty / "run-resumeme.wandb").write_bytes(HEADER)
    db = tmp_path / "one.db"
    assert run_import("wandb", str(resumed_dir), "--db", str(db)) == 0
    captured = capsys.readouterr()
    assert "skipped: no readable records" in captured.err
    runs = {run.name: run for run in runs_of(db)}
    assert set(runs) == {"resumed", "boom"}  # the empty part is no run of its own
    run = runs["resumed"]
    assert run.id == "resumeme" and run.project == "resumed-proj"
    assert run.status == "finished" and run.exit_code == 0 and run.error is None
    assert run.step == 79 and run.created_at > 1e9  # the first part's start, never 1970
    assert run.config == {"lr": 0.1, "phase": 2} and run.summary["best"] == 0.001
    assert run.metrics["loss"].count == 90  # steps 30..39 logged by both parts
    assert run.metrics["loss"].last == pytest.approx(0.5 / 80)
    with closing(open_store(db)) as store:
        points = store.history(run.metrics["loss"].series_id)
    assert {p.step for p in points} == set(range(80))
    assert run_import("wandb", str(resumed_dir), "--db", str(db)) == 0
    assert "2 already up to date" in capsys.readouterr().out

    # the first part imported alone (still preempted), the resumed one later: only it is added
    later = tmp_path / "later.db"
    assert run_import("wandb", str(first), "--db", str(later)) == 0
    (alone,) = runs_of(later)
    assert alone.status == "failed" and alone.step == 39 and alone.error == "exit code 1"
    capsys.readouterr()
    assert run_import("wandb", str(resumed_dir), "--db", str(later)) == 0
    assert "resumed (resumeme): 50 points" in capsys.readouterr().out
    merged = {r.name: r for r in runs_of(later)}["resumed"]
    assert merged.status == "finished" and merged.step == 79
    assert merged.metrics["loss"].count == 90 and merged.created_at == alone.created_at

    # the other way round: the resumed part first, the earlier one later
    reverse = tmp_path / "reverse.db"
    assert run_import("wandb", str(second), "--db", str(reverse)) == 0
    assert run_import("wandb", str(resumed_dir), "--db", str(reverse)) == 0
    assert run_import("wandb", str(resumed_dir), "--db", str(reverse)) == 0
    assert "2 already up to date" in capsys.readouterr().out
    back = {r.name: r for r in runs_of(reverse)}["resumed"]
    assert back.status == "finished" and back.metrics["loss"].count == 90
    with closing(open_store(db)) as one, closing(open_store(reverse)) as other:
        texts = sorted(chunk[3] for chunk in one.read_console(run.id))
        assert sorted(chunk[3] for chunk in other.read_console(run.id)) == texts
    joined = "".join(texts)
    assert "first part says hi" in joined and "second part says hi" in joined


def test_a_folder_without_records_alone_is_skipped_with_a_message(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "offline-run-20000101_000000-killed"
    folder.mkdir()
    (folder / "run-killed.wandb").write_bytes(HEADER)
    assert run_import("wandb", str(folder), "--db", str(db_path)) == 1
    assert "skipped: no readable records" in capsys.readouterr().err
    assert not db_path.exists() or runs_of(db_path) == []


def test_a_run_that_raised_says_why_it_failed(resumed_dir: Path, db_path: Path) -> None:
    (boom,) = [p for p in resumed_dir.glob("offline-run-*") if p not in resumed_parts(resumed_dir)
               and not p.is_symlink()]  # fmt: skip
    assert run_import("wandb", str(boom), "--db", str(db_path)) == 0
    (run,) = runs_of(db_path)
    assert run.status == "failed" and run.exit_code == 1
    assert run.error == "exit code 1: RuntimeError: boom <b>"
