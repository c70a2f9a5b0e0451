"""``tracktui import tensorboard``: event files written by torch's SummaryWriter and by
tensorboardX, imported once, again (nothing doubled), after more logging (only the new points),
cut short (what is readable), and shown by the store's reads and the TUI."""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tracker.db import open_store
from tracker.importers.target import Series, SourceRun, clean_key, write_run
from tracker.importers.tensorboard import run_id
from tracker.media.decoded import decode_histogram
from tracker.values import check_key
from tui.cli import main

from .import_helpers import run_import, runs_of
from .tui_helpers import TIMINGS, screen_lines, wait_until

T0 = time.time() - 1000.0  # wall times a writer is given, before the files were made
HOSTILE_TAG = "acc/[bold]ü<script>x</script>"


def tb_id(folder: Path) -> str:
    """The id the importer gives the run of ``folder``'s event files."""
    from tracker.importers.tensorboard import event_order

    return run_id(sorted(folder.glob("events.out.tfevents.*"), key=lambda p: event_order(p.name)))


def write_torch(logdir: Path, steps: range, hparams: bool = True) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(logdir))
    for step in steps:
        writer.add_scalar("train/loss", 1.0 / (step + 1), step)
        value = math.nan if step == 3 else math.inf if step == 4 else step * 0.1
        writer.add_scalar(HOSTILE_TAG, value, step)
        writer.add_scalar("eval/tensor_style", step * 2.0, step, new_style=True)
    if steps.start == 0:
        writer.add_image("samples", np.zeros((3, 8, 6), dtype=np.float32), 2)
        writer.add_histogram("weights", np.arange(100, dtype=np.float64), 2)
        writer.add_text("notes", "text is not imported", 2)
    writer.close()
    if hparams:
        with SummaryWriter(str(logdir)) as hp_writer:
            hp_writer.add_hparams({"lr": 0.01, "opt": "adam"}, {"hp/acc": 0.9})


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    import tensorboardX

    root = tmp_path / "logs"
    write_torch(root / "torch_run", range(10))
    writer = tensorboardX.SummaryWriter(str(root / "tbx_run"))
    for step in range(5):
        writer.add_scalar("eval/loss", 2.0 - step * 0.1, step)
        writer.add_scalar("eval/timed", step, step, walltime=T0 + step)
    writer.close()
    return root


def counts(db: Path) -> dict[str, dict[str, int]]:
    store = open_store(db)
    try:
        return {
            run.id: {
                **{key: m.count for key, m in run.metrics.items()},
                **store.row_counts(run.id),
            }
            for run in store.read_runs()
        }
    finally:
        store.close()


def test_import_keeps_scalars_media_hparams_and_twice_adds_nothing(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    out = capsys.readouterr()
    assert "torch_run (tb-" in out.out and ": 30 points, 2 media" in out.out
    assert "left out (not imported): 1 text" in out.err
    store = open_store(db_path)
    try:
        runs = {run.name: run for run in store.read_runs()}
        assert {"torch_run", "tbx_run"} <= set(runs)
        torch_run = runs["torch_run"]
        assert torch_run.id == tb_id(logdir / "torch_run")
        assert torch_run.project == "logs" and torch_run.status == "finished"
        assert torch_run.metrics["train/loss"].count == 10
        hostile = torch_run.metrics[HOSTILE_TAG]  # markup and unicode kept as data
        assert hostile.count == 10 and hostile.nonfinite == 2
        assert set(torch_run.media) == {"samples", "weights"}
        assert torch_run.media["samples"]["kind"] == "image"
        assert torch_run.media["weights"]["kind"] == "histogram"
        index = store.read_media_index(torch_run.id)
        data = store.read_media_data([row[0] for row in index])
        histogram = next(decode_histogram(data[r[0]]) for r in index if r[4] == "histogram")
        assert sum(histogram.counts) == 100 and histogram.edges[0] == 0.0
        image = next(r for r in index if r[4] == "image")
        assert data[image[0]].startswith(b"\x89PNG") and '"width":6' in image[5]
        assert set(runs) == {"torch_run", "tbx_run"}  # add_hparams' subfolder is torch_run's
        assert torch_run.config == {"lr": 0.01, "opt": "adam"}
        assert torch_run.summary == {"hp/acc": 0.9}
        points = store.history(torch_run.metrics[HOSTILE_TAG].series_id)
        assert math.isnan(points[3].value) and points[4].value == math.inf
        assert [p.step for p in points] == list(range(10))
        # wall times are the event files', not the import's: within the writing seconds
        assert 0 <= points[-1].t < 30 and torch_run.created_at < store.read_runs()[0].updated_at
        count, buckets = store.read_series(torch_run.metrics["train/loss"].series_id, 4)
        assert count == 10 and buckets and buckets[0].max == 1.0
        assert runs["tbx_run"].metrics["eval/loss"].count == 5
        tensor_style = torch_run.metrics["eval/tensor_style"]  # through data_compat
        assert tensor_style.count == 10 and tensor_style.last == 18.0
        tbx = runs["tbx_run"]  # the wall times given to the writer, to the millisecond
        assert tbx.created_at == pytest.approx(T0, abs=1e-3)
        timed = store.history(tbx.metrics["eval/timed"].series_id)
        assert [p.t for p in timed] == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0], abs=1e-3)
    finally:
        store.close()
    before = counts(db_path)
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    again = capsys.readouterr().out
    assert again.count("up to date") >= 3 and "0 imported or updated" in again
    assert counts(db_path) == before


def test_more_logging_imports_only_the_new_points(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    write_torch(logdir / "torch_run", range(10, 15), hparams=False)
    capsys.readouterr()
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    assert "torch_run (tb-" in capsys.readouterr().out
    store = open_store(db_path)
    try:
        run = store.read_run(tb_id(logdir / "torch_run"))
        assert run is not None
        points = store.history(run.metrics["train/loss"].series_id)
        assert [p.step for p in points] == list(range(15))  # once each, in order
        assert run.step == 14 and store.row_counts(run.id)["media"] == 2
    finally:
        store.close()


def relog(logdir: Path, steps: range, old_step: int, value: float) -> None:
    """A writer restarted from a checkpoint: new steps, then an old step logged again."""
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(logdir)) as writer:
        for step in steps:
            writer.add_scalar("train/loss", 0.001 * step, step)
        writer.add_scalar("train/loss", value, old_step)


def test_last_is_the_value_at_the_highest_step_after_a_restart(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = logdir / "torch_run"
    relog(run_dir, range(10, 12), 3, 42.0)  # in the files before the first import
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0

    def loss() -> tuple[int, float | None, int | None, list[tuple[int, float]]]:
        with closing(open_store(db_path)) as store:
            run = store.read_run(tb_id(logdir / "torch_run"))
            assert run is not None
            summary = run.metrics["train/loss"]
            points = [(p.step, p.value) for p in store.history(summary.series_id)]
            return summary.count, summary.last, summary.last_step, points

    count, last, last_step, points = loss()
    assert (count, last_step) == (13, 11) and last == pytest.approx(0.011)
    assert [step for step, _ in points] == [*range(4), 3, *range(4, 12)]  # step order
    assert points[4] == (3, 42.0)  # the re-logged step after the first: history() reads it
    # logged after the import: higher steps, and one more old step (lands after the stored)
    relog(run_dir, range(200, 260), 10, 7.0)
    capsys.readouterr()
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    assert ": 61 points" in capsys.readouterr().out
    count, last, last_step, points = loss()
    assert (count, last_step) == (74, 259) and last == pytest.approx(0.259)
    assert points[13:] == [(10, 7.0), *((s, pytest.approx(0.001 * s)) for s in range(200, 260))]
    before = counts(db_path)
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    assert "0 imported or updated" in capsys.readouterr().out and counts(db_path) == before
    relog(run_dir, range(0), 5, -1.0)  # only a lower step: last stays at step 259
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    count, last, last_step, points = loss()
    assert (count, last_step, points[-1]) == (75, 259, (5, -1.0)) and last == pytest.approx(0.259)


POINTS = st.lists(
    st.tuples(
        st.integers(0, 6),
        st.integers(0, 4),
        st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.5, 1.0])),
    ),
    max_size=25,
)


class Interrupted(Exception):
    """An import stopped halfway (a killed process, a full disk)."""


@given(first=POINTS, more=POINTS, page_size=st.integers(1, 5), cut=st.integers(0, 30))
@settings(max_examples=40, deadline=None)
# a point re-logged at a step and time that tie: the source's last of them is the series' last
@example(first=[(1, 0, 1.0)], more=[(0, 0, 0.0), (1, 0, 0.0), (1, 0, 1.0)], page_size=1, cut=0)
def test_write_run_keeps_each_point_once_and_last_at_the_highest_step(
    first: list[tuple[int, int, float]],
    more: list[tuple[int, int, float]],
    page_size: int,
    cut: int,
) -> None:
    """Import a source (stopped after ``cut`` pages of ``page_size`` points), then the source
    grown by points at any steps: every point stored once, the summary's last the point at
    the highest (step, wall time), a third import adds nothing."""
    from tracker.importers import target

    def source(points: list[tuple[int, int, float]]) -> SourceRun:
        run = SourceRun(id="r", name="r", project="p", created_at=1000.0)
        run.series["k"] = Series()  # the key as given, even when no point is logged
        for step, wall, value in points:
            run.point("k", step, value, 1000.0 + wall)
        return run

    def expected_last(points: list[tuple[int, int, float]]) -> tuple[int, float] | None:
        best = None
        for step, wall, value in points:
            if best is None or (step, wall) >= best[:2]:
                best = (step, wall, value)
        return None if best is None else (best[0], best[2])

    def key(step: int, value: float) -> tuple[int, str]:
        return step, repr(value + 0.0)  # SQLite stores -0.0 as 0.0 (+ 0.0 makes -0.0 0.0)

    with (
        tempfile.TemporaryDirectory() as folder,
        closing(open_store(Path(folder) / "t.db", write=True)) as store,
    ):
        page = target.PAGE_POINTS
        target.PAGE_POINTS = page_size
        pages = iter(range(cut))

        def stop_after_cut(points: int) -> None:
            if next(pages, None) is None:
                raise Interrupted

        try:
            write_run(store, source(first), stop_after_cut)
        except Interrupted:
            pass
        finally:
            target.PAGE_POINTS = page
        everything = first + more
        write_run(store, source(everything))
        assert write_run(store, source(everything)).up_to_date
        run = store.read_run("r")
        assert run is not None
        summary = run.metrics["k"]
        stored = store.history(summary.series_id)
        assert sorted(key(p.step, p.value) for p in stored) == sorted(
            key(step, value) for step, _, value in everything
        )
        assert summary.count == len(everything)
        want = expected_last(everything)
        if want is None:
            assert summary.last is None
        else:
            assert summary.last_step == want[0]
            got = float("nan") if summary.last is None else summary.last
            assert repr(got + 0.0) == repr(want[1] + 0.0)


def test_cut_short_event_file_imports_what_is_readable(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = logdir / "torch_run"
    main = sorted(run_dir.glob("events.out.tfevents.*"))[0]
    data = main.read_bytes()
    main.write_bytes(data[: len(data) - 37])  # into the last records
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    err = capsys.readouterr().err
    assert "bytes are unreadable" in err and main.name in err
    store = open_store(db_path)
    try:
        run = store.read_run(tb_id(logdir / "torch_run"))
        assert run is not None and 0 < run.metrics["train/loss"].count <= 10
    finally:
        store.close()


def test_missing_empty_and_eventless_sources_are_clear_errors(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("tensorboard", str(tmp_path / "nope"), "--db", str(db_path)) == 1
    assert "no such directory" in capsys.readouterr().err
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    (empty / "sub" / "notes.txt").write_text("x")
    assert run_import("tensorboard", str(empty), "--db", str(db_path)) == 1
    assert "no TensorBoard event files" in capsys.readouterr().err
    assert not db_path.exists()  # nothing created for a source with nothing in it


def test_a_damaged_run_does_not_cost_the_others(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = logdir / "broken"
    broken.mkdir()
    (broken / "events.out.tfevents.1.host").write_bytes(b"\xff" * 200)
    shutil.copytree(logdir / "tbx_run", logdir / "tbx_copy")
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 1  # one run failed
    out = capsys.readouterr()
    assert "run broken: cannot be read" in out.err and "bytes are unreadable" in out.err
    assert "tbx_copy" in out.out and "1 run(s) failed" in out.out
    names = {run.name for run in runs_of(db_path)}
    assert "torch_run" in names and len(names & {"tbx_run", "tbx_copy"}) == 1  # one run's files
    assert "imported before by another path" in out.err


def test_the_same_event_files_are_one_run_by_any_path(
    logdir: Path, tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    before = counts(db_path)
    link = tmp_path / "link"
    link.symlink_to(logdir, target_is_directory=True)
    moved = tmp_path / "moved" / "logs_moved"
    capsys.readouterr()
    # a subfolder alone (lightning_logs/version_3), through a symlink, with a trailing slash
    for source in (logdir / "torch_run", link, f"{logdir}/", moved):
        if source == moved:
            moved.parent.mkdir()
            logdir.rename(moved)
        assert run_import("tensorboard", str(source), "--db", str(db_path)) == 0
        assert "0 imported or updated" in capsys.readouterr().out, source
    assert counts(db_path) == before
    runs = {run.name: run for run in runs_of(db_path)}
    assert set(runs) >= {"torch_run", "tbx_run"} and len(runs) == len(before)
    assert {run.project for run in runs.values()} == {"logs"}  # kept where first imported
    # and more logging later, reached by the subfolder, adds just the new points
    write_torch(moved / "torch_run", range(10, 12), hparams=False)
    assert run_import("tensorboard", str(moved / "torch_run"), "--db", str(db_path)) == 0
    assert "torch_run (tb-" in capsys.readouterr().out
    after = {run.name: run for run in runs_of(db_path)}["torch_run"]
    assert after.metrics["train/loss"].count == 12 and after.project == "logs"
    assert after.id == tb_id(moved / "torch_run") == runs["torch_run"].id


async def test_imported_run_shows_in_the_tui(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tui.app import TrackTuiApp

    assert run_import("tensorboard", str(logdir), "--db", str(db_path)) == 0
    app = TrackTuiApp(db_path, timings=TIMINGS)
    async with app.run_test(size=(140, 36)) as pilot:
        await wait_until(pilot, lambda: len(app.model.runs) >= 2, what="imported runs")
        await wait_until(
            pilot, lambda: any("torch_run" in line for line in screen_lines(app)), what="row"
        )
        assert any("tbx_run" in line for line in screen_lines(app))


def test_the_tracktui_command_runs_it(
    logdir: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "tensorboard", str(logdir), "--db", str(db_path)]) == 0
    assert "torch_run" in capsys.readouterr().out


@given(st.text(max_size=400))
def test_any_tag_becomes_a_key_the_tracker_takes(tag: str) -> None:
    key = clean_key(tag)
    assert check_key(key) == key
    if (
        tag
        and len(tag) <= 256
        and tag.isprintable()
        and tag.encode("utf-8", "ignore") == (tag.encode("utf-8", "surrogatepass"))
    ):
        assert key == tag  # printable text is kept as it is


def test_event_files_are_ordered_by_the_numbers_in_their_names() -> None:
    """A process's tenth event file of a second sorted before its ninth by characters: taken
    as the oldest, it changed the run's id, and more logging became a second run (a clean
    CI run caught it when the test process had made nine writers before)."""
    from tracker.importers.tensorboard import event_order

    names = [
        "events.out.tfevents.1700000000.host.4242.10",
        "events.out.tfevents.1700000000.host.4242.9",
        "events.out.tfevents.999999999.host.4242.11",
        "events.out.tfevents.1700000001.host.777.0",
    ]
    assert sorted(names, key=event_order) == [names[2], names[1], names[0], names[3]]
