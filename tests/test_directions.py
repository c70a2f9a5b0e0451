"""Which way a metric is better: guessed from the words of its name (throughput, mfu and
accuracy up; losses, errors and durations down; epoch, lr and step counters neither), and
define_metric's goal winning over the name. The best-run picker (``b``) and the compare view's
best values use the same directions."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.table import Table
from textual.widgets import Static

import tracker
from tracker.db.sqlite.store import SqliteStore
from tracker.metric_defs import MetricDef
from tracker.models import RunRecord
from tracker.ranking import (
    best_run,
    best_stat,
    guessed_direction,
    has_better_direction,
    is_clock,
    metric_direction,
    name_parts,
)
from tui.app import TrackTuiApp
from tui.screens.compare import CompareScreen
from tui.screens.pick_best import PickBestScreen
from tui.screens.runs import RunsScreen
from tui.widgets.runs_table import RunsTable

from .tui_helpers import wait_until

HIGHER = [
    "train/samples_per_second", "eval_samples_per_second", "train_steps_per_second",
    "throughput/tokens_per_sec", "tokens_per_second", "tokensPerSec", "it/s", "steps/s",
    "train/tokens_per_s", "throughput", "perf/mfu", "mfu", "val_acc", "valAcc", "valacc",
    "eval/accuracy", "eval/accuracy_top1", "top5", "f1", "eval/f1_macro", "auc", "roc_auc",
    "bleu", "bleu4", "rouge1", "rougeL", "reward", "episode_return", "score", "iou", "miou",
    "precision", "recall", "mAP", "bbox/AP50", "success_rate", "r2",
]  # fmt: skip
LOWER = [
    "loss", "train/loss", "eval/loss", "val_loss", "evalLoss", "trainloss", "error",
    "error_rate", "top1_error", "perplexity", "eval/ppl", "wer", "cer", "latency",
    "latency_ms", "runtime", "train_runtime", "time", "epoch_time", "duration", "s/it",
    "train/elapsed_s", "perf/walltime", "perf/latency_ms", "throughput/latency_ms",
    "sys/latency_ms", "time/step_ms", "timing/forward_ms", "time/time_elapsed",
    "sec_per_step", "time_per_step", "reward_loss", "accuracy_loss", "grad_norm",
]  # fmt: skip
NEITHER = [
    "epoch", "train/epoch", "lr", "train/lr", "learning_rate", "step", "global_step",
    "train/global_step", "iter", "train/samples", "tokens", "total_flos", "weight_decay",
]  # fmt: skip


@pytest.mark.parametrize("key", HIGHER)
def test_higher_is_better(key: str) -> None:
    assert guessed_direction(key) == "max"
    assert metric_direction(key) == "max" and has_better_direction(key)


@pytest.mark.parametrize("key", LOWER)
def test_lower_is_better(key: str) -> None:
    assert guessed_direction(key) == "min"
    assert metric_direction(key) == "min" and has_better_direction(key)


@pytest.mark.parametrize("key", NEITHER)
def test_counters_and_schedules_are_better_neither_way(key: str) -> None:
    """Nothing is the best epoch or lr: never guessed ``min`` (a run's first value); ranked
    by their ``max`` (how far a run got, its peak lr) if a user asks for it."""
    assert guessed_direction(key) is None
    assert metric_direction(key) == "max" and not has_better_direction(key)


def test_name_parts_split_on_separators_and_camel_case() -> None:
    assert name_parts("train/samples_per_second") == ["train", "samples", "per", "second"]
    assert name_parts("eval/accuracyTop1") == ["eval", "accuracy", "top1"]
    assert name_parts("perf-mfu.avg value") == ["perf", "mfu", "avg", "value"]
    assert name_parts("HTTPLatency") == ["http", "latency"]


SEPARATORS = st.sampled_from(["/", "_", "-", ".", " "])
WORDS = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", max_size=12
)


@st.composite
def keys_with_part(draw: st.DrawFn, part: str) -> str:
    before = draw(st.lists(WORDS, max_size=3))
    after = draw(st.lists(WORDS, max_size=3))
    words = [*before, part, *after]
    key = words[0]
    for word in words[1:]:
        key += draw(SEPARATORS) + word
    return key


@given(keys_with_part("loss"))
def test_any_key_with_loss_as_a_part_is_min(key: str) -> None:
    assert guessed_direction(key) == "min", key
    assert metric_direction(key) == "min"


PLAIN_WORDS = st.sampled_from(["train", "eval", "perf", "gpu0", "avg", "Global", "x", ""])
COUNTS = st.sampled_from(["samples", "tokens", "steps", "it", "images", "Tokens", "seqs"])
PER_SECOND = st.sampled_from(["_per_second", "_per_sec", "/s", "/sec", "PerSecond", "-per-s"])


@given(st.lists(PLAIN_WORDS, max_size=3), COUNTS, PER_SECOND, SEPARATORS)
def test_a_count_per_unit_of_time_is_max(
    prefix: list[str], count: str, per: str, separator: str
) -> None:
    key = separator.join([*prefix, count]) + per
    assert guessed_direction(key) == "max", key


def _record(defs: list[MetricDef]) -> RunRecord:
    return RunRecord(
        id="r1", name="r1", project="p", status="finished", stored_status="finished",
        created_at=0.0, updated_at=0.0, finished_at=0.0, host="h", pid=1, pid_start=None,
        step=None, tags=[], config={}, summary={}, exit_code=0, error=None, dropped=0,
        version=1, metric_defs=defs,
    )  # fmt: skip


NAMED = st.one_of(
    keys_with_part("loss"), keys_with_part("samples_per_second"), keys_with_part("epoch")
)


@given(NAMED, st.sampled_from(["min", "max"]), st.booleans())
def test_a_defined_goal_wins_over_the_name(key: str, goal: str, as_summary: bool) -> None:
    """define_metric(key, goal=...) or summary="min"/"max" decides, whatever the name says."""
    definition = MetricDef(key, summary=(goal,)) if as_summary else MetricDef(key, goal=goal)
    runs = [_record([definition])]
    assert metric_direction(key, runs) == goal
    assert has_better_direction(key, runs)


def _run(db: Path, name: str, values: list[dict[str, float]], goal: str | None = None) -> None:
    run = tracker.init(name=name, db=db, quiet=True, system_metrics=False, console=False)
    if goal is not None:
        run.define_metric("train/samples_per_second", goal=goal)
    for step, logged in enumerate(values):
        run.log(logged, step=step)
    run.finish()


@pytest.mark.parametrize(
    "key",
    [
        "runtime", "_runtime", "train/elapsed_s", "walltime", "uptime", "time/time_elapsed",
        "total_time", "time/total_s", "wall_time", "_timestamp", "train/train_runtime",
    ],
)  # fmt: skip
def test_a_clock_is_named_by_its_last_value(key: str) -> None:
    assert is_clock(key) and best_stat(key, "min") == "last"


@pytest.mark.parametrize(
    "key",
    [
        "epoch_time", "latency_ms", "s/it", "time_per_step", "sec_per_step", "time", "loss",
        "perf/latency_ms", "perf/step_time", "elapsed_per_step", "total_flos",
    ],
)  # fmt: skip
def test_a_time_per_unit_of_work_is_not_a_clock(key: str) -> None:
    assert not is_clock(key) and best_stat(key, "min") == "min"


def test_a_clock_logged_every_step_ranks_runs_by_their_total(tmp_path: Path) -> None:
    """A cumulative ``runtime`` starts near 0 in every run: by its min the first run to log
    would win with about 0; by its last, the run that finished in less time wins."""
    db = tmp_path / "runs.db"
    _run(db, "slow", [{"runtime": 0.001 + 10.0 * step} for step in range(6)])
    _run(db, "quick", [{"runtime": 0.002 + 4.0 * step} for step in range(6)])
    best = best_run(_read(db), "runtime")
    assert best is not None and best.run.name == "quick" and best.value == pytest.approx(20.002)


def _read(db: Path) -> list[RunRecord]:
    reader = SqliteStore.for_reading(db)
    try:
        return reader.read_runs()
    finally:
        reader.close()


def _history(
    throughput: float, accuracy: float, epochs: int, runtime: float
) -> list[dict[str, float]]:
    return [
        {
            "train/loss": 2.0 / (step + 1),
            "train/samples_per_second": throughput * (0.5 if step == 0 else 1.0),
            "perf/mfu": throughput / 1000,
            "eval/accuracy_top1": accuracy * (step + 1) / 5,
            "epoch": float(min(step, epochs)),
            "train_runtime": runtime,
        }
        for step in range(5)
    ]


@pytest.fixture
def runs_db(tmp_path: Path) -> Path:
    db = tmp_path / "runs.db"
    _run(db, "slow", _history(throughput=100.0, accuracy=0.6, epochs=4, runtime=50.0))
    _run(db, "fast", _history(throughput=300.0, accuracy=0.8, epochs=2, runtime=20.0))
    return db


def test_best_run_by_throughput_is_the_fastest_and_a_goal_still_wins(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    _run(db, "slow", _history(100.0, 0.6, 4, 50.0))
    _run(db, "fast", _history(300.0, 0.8, 2, 20.0))
    runs = _read(db)
    best = best_run(runs, "train/samples_per_second")
    assert best is not None and best.run.name == "fast" and best.mode == "max"
    assert best.value == 300.0
    _run(db, "defined", _history(200.0, 0.7, 3, 30.0), goal="minimize")
    runs = _read(db)
    assert metric_direction("train/samples_per_second", runs) == "min"
    assert has_better_direction("train/samples_per_second", runs)
    best = best_run(runs, "train/samples_per_second")
    assert best is not None and best.mode == "min" and best.run.name == "slow"


async def test_the_picker_offers_the_directions_users_expect(runs_db: Path) -> None:
    app = TrackTuiApp(runs_db, poll_interval=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_until(pilot, lambda: runs.query_one(RunsTable).row_count == 2, what="rows")
        await pilot.press("b")
        picker = app.screen
        assert isinstance(picker, PickBestScreen)
        assert picker.modes["train/samples_per_second"] == "max"
        assert picker.modes["perf/mfu"] == "max"
        assert picker.modes["eval/accuracy_top1"] == "max"
        assert picker.modes["train/loss"] == "min"
        assert picker.modes["train_runtime"] == "min"
        assert picker._label("train_runtime").plain.endswith("last, min")  # its total, lowest
        assert picker.modes["epoch"] == "max"  # not min: its first value is no one's best
        for _ in range(picker.metrics.index("train/samples_per_second")):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_until(pilot, lambda: runs.best is not None, what="the best run")
        assert runs.best is not None
        assert runs.best.run.name == "fast" and runs.best.value == 300.0


def _summary_rows(screen: CompareScreen) -> dict[str, list[tuple[str, str]]]:
    """The compare summary's rows: key cell -> [(value, style)] per run."""
    table = screen.query_one("#compare-summary", Static).content
    assert isinstance(table, Table)
    columns = [list(column.cells) for column in table.columns]
    rows: dict[str, list[tuple[str, str]]] = {}
    for index, key in enumerate(columns[0]):
        cells = [column[index] for column in columns[1:]]
        rows[str(getattr(key, "plain", key))] = [
            (str(getattr(c, "plain", c)), str(getattr(c, "style", ""))) for c in cells
        ]
    return rows


async def test_compare_best_values_use_the_same_directions(runs_db: Path) -> None:
    app = TrackTuiApp(runs_db, poll_interval=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        await wait_until(pilot, lambda: runs.query_one(RunsTable).row_count == 2, what="rows")
        await pilot.press("space", "space", "c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        await wait_until(pilot, lambda: bool(_summary_rows(screen)), what="the summary")
        rows = _summary_rows(screen)
        names = [run.name for run in screen.runs]
        fast, slow = names.index("fast"), names.index("slow")

        throughput = rows["train/samples_per_second max"]
        assert throughput[fast] == ("300", "bold green") and throughput[slow][0] == "100"
        assert throughput[slow][1] != "bold green"
        accuracy = rows["eval/accuracy_top1 max"]
        assert accuracy[fast][1] == "bold green" and accuracy[slow][1] != "bold green"
        mfu = rows["perf/mfu max"]
        assert mfu[fast] == ("0.3", "bold green")
        runtime = rows["train_runtime last"]  # a clock: its total, lower is better
        assert runtime[fast] == ("20", "bold green") and runtime[slow][1] != "bold green"
        loss = rows["train/loss min"]
        assert loss[fast][1] == "bold green" or loss[slow][1] == "bold green"
        epoch = rows["epoch max"]  # how far each got: no run wins by epochs
        assert epoch[fast][0] == "2" and epoch[slow][0] == "4"
        assert all(style != "bold green" for _, style in epoch)


@pytest.mark.parametrize("spike_at", [0, 25, 49])
def test_a_trend_cell_spans_the_whole_history(tmp_path: Path, spike_at: int) -> None:
    """The trend's 12 cells showed the last 12 of its 24 buckets: a spike in the first half of
    the run was not in it (found by an outside tester)."""
    from tracker.db import open_store
    from tui.columns import TableContext, column_for
    from tui.messages import RunExtras
    from tui.reader import TREND_BUCKETS

    db = tmp_path / "runs.db"
    with tracker.init(name="r", db=db, quiet=True, system_metrics=False) as run:
        for step in range(50):
            run.log({"loss": 100.0 if step == spike_at else 1.0}, step=step)
    store = open_store(db)
    try:
        record = store.read_run(run.id)
        assert record is not None
        summary = record.metrics["loss"]
        trend = tuple(b.mean for b in store.history_buckets(summary.series_id, TREND_BUCKETS))
    finally:
        store.close()
    ctx = TableContext(now=0.0, extras={run.id: RunExtras("loss", trend)})
    cell = column_for("trend:loss").cell(record, ctx).plain
    assert len(cell) == 12 and cell.count("█") == 1, cell
    assert abs(cell.index("█") - spike_at * 12 // 50) <= 1, cell
