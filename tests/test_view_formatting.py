"""Small view rules: summary floats shown short, and a plot redrawn when its unit changes."""

from __future__ import annotations

from tui.screens.run_detail import describe_mapping
from tui.widgets.plot import MetricPlot


def test_summary_floats_are_shown_with_six_significant_digits() -> None:
    values = {"loss": 1.6893371863328577, "lr": 6e-4, "n": 3, "wd": 0.0}
    text = describe_mapping("summary", values).plain
    assert "loss = 1.68934" in text and "lr = 0.0006" in text and "n = 3" in text
    assert "wd = 0.0" in text
    assert "1.6893371863328577" not in text


def test_a_plot_title_or_unit_change_is_a_new_render() -> None:
    plot = MetricPlot("train/loss", "nats")
    first = plot._key()
    plot.unit = "bits"
    assert plot._key() != first
    plot.title = "eval/loss"
    assert plot._key() != first
