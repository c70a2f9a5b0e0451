"""The order a run's plots come in (tui.metrics.order_keys) and the natural order of names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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
