"""The order a run's plots come in (tui.metrics.order_keys) and the natural order of names."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

import tracker
from tracker.natural import natural_key
from tui.metrics import order_keys


def test_numbered_metrics_and_sections_come_in_natural_order() -> None:
    """``k0, k1, k10, k2`` read as if a plot were missing; layer 10 came before layer 2."""
    keys = ["k10", "k2", "k1", "k0", "layer10/grad", "layer2/grad", "train/loss", "sys/cpu"]
    ordered = order_keys(keys)
    assert ordered[0] == "train/loss" and ordered[-1] == "sys/cpu"
    assert ordered.index("layer2/grad") < ordered.index("layer10/grad")
    assert [k for k in ordered if k.startswith("k")] == ["k0", "k1", "k2", "k10"]


def test_natural_order_compares_numbers_as_numbers() -> None:
    assert sorted(["img10", "img9", "img", "img09x"], key=natural_key) == [
        "img", "img9", "img09x", "img10",
    ]  # fmt: skip


@given(st.lists(st.text(alphabet="ab01239/._", max_size=8), max_size=12))
def test_natural_order_sorts_any_names_without_error_and_keeps_them(names: list[str]) -> None:
    ordered = sorted(names, key=natural_key)
    assert sorted(ordered) == sorted(names)
    keys = [natural_key(n) for n in ordered]
    assert keys == sorted(keys)


def test_one_run_of_many_metrics_does_not_choose_the_table_s_columns(tmp_path: Path) -> None:
    """Ten runs log loss and eval/loss, the newest 300 layer metrics besides: its
    layer0/grad_norm took eval/loss's column, and at 80 columns the step went for it."""
    from tracker.db.sqlite.store import SqliteStore
    from tui.column_choice import default_columns, shared_main_metrics

    db = tmp_path / "mixed.db"
    for index in range(10):
        with tracker.init(name=f"r{index}", db=db, quiet=True, system_metrics=False) as run:
            run.log({"loss": 1.0, "eval/loss": 2.0, "acc": 0.5}, step=0)
    with tracker.init(name="wide", db=db, quiet=True, system_metrics=False) as run:
        run.log({"loss": 1.0, **{f"layer{i}/grad_norm": 0.1 for i in range(300)}}, step=0)
    store = SqliteStore.for_reading(db)
    runs = store.read_changes(0).runs
    store.close()
    runs.sort(key=lambda r: -r.created_at)  # newest first, as the table is
    assert shared_main_metrics(runs) == ["loss", "eval/loss", "acc"]
    assert "step" in default_columns(runs, [], 80)
