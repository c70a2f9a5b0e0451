"""Small view rules: summary floats shown short, a plot redrawn when its unit changes, and
``?`` listing the keys of the screen it is pressed on."""

from __future__ import annotations

from pathlib import Path

from tui.view.run_text import describe_mapping
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


async def test_question_mark_lists_the_keys_of_the_screen_it_is_pressed_on(tmp_path: Path) -> None:
    import tracker
    from tui.app import TrackTuiApp
    from tui.screens.help import HelpScreen
    from tui.screens.run_detail import RunDetailScreen

    from .tui_helpers import TIMINGS, wait_until

    db = tmp_path / "runs.db"
    run = tracker.init(name="h", db=db, quiet=True, system_metrics=False, console=False)
    run.log({"loss": 1.0})
    run.finish()
    app = TrackTuiApp(db, timings=TIMINGS)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: bool(app.model.runs), what="the run")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "s / S" in [k for k, _ in app.screen.keys], "the runs table's keys"
        await pilot.press("escape", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RunDetailScreen), what="the run")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen) and app.screen.title_text == "a run — keys"
        keys = [k for k, _ in app.screen.keys]
        assert "1 / 2 / 3 / 4 / 5" in keys and "x" in keys and "s / S" not in keys
