"""Choose the metric (and direction) that decides the best run. ``m`` flips min/max; the
direction starts as the runs define it (``define_metric(goal=...)``), else as the name says."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tracker.ranking import best_stat, metric_direction

from ..sanitize import safe_text
from ..widgets.footer import KeyFooter


class PickBestScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [
        Binding("escape", "cancel", "cancel"),
        Binding("m", "flip", "min/max"),
        Binding("n", "none", "no best"),
    ]

    def __init__(
        self,
        metrics: list[str],
        current: tuple[str, str] | None,
        direction: Callable[[str], str] = metric_direction,
    ) -> None:
        super().__init__(classes="modal")
        self.metrics = metrics
        self.modes = {key: direction(key) for key in metrics}
        if current is not None and current[0] in self.modes:
            self.modes[current[0]] = current[1]

    def _label(self, key: str) -> Text:
        mode = self.modes[key]
        stat = best_stat(key, mode)
        shown = mode if stat == mode else f"{stat}, {mode}"  # a clock: its last value, lowest
        return Text.assemble((safe_text(key, 50), "bold"), f"   {shown}", style="")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                Text(
                    "Best run by which metric?  enter picks · m flips min/max · n clears",
                    style="bold",
                )
            )
            yield OptionList(
                *(Option(self._label(k), id=k) for k in self.metrics), id="best-metrics"
            )
        yield KeyFooter()  # this dialog's keys, over the screen's below

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        key = str(event.option.id)
        self.dismiss((key, self.modes[key]))

    def action_flip(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None:
            return
        key = self.metrics[index]
        self.modes[key] = "max" if self.modes[key] == "min" else "min"
        options.replace_option_prompt_at_index(index, self._label(key))

    def action_none(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
