"""The base of the screens that show data: they draw what changed when a frame says so.

The app posts :class:`~tui.messages.DataChanged` to every screen once a frame and
:class:`~tui.messages.OptionsChanged` when the plot options change; a screen implements
:meth:`LiveScreen.data_changed` and :meth:`LiveScreen.options_changed`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, cast

from textual.css.query import NoMatches
from textual.screen import Screen

from tracker.db.target import Target

from .compositor import BandedCompositor
from .messages import Changed, DataChanged, OptionsChanged
from .model import RunsModel
from .widgets.plot import PlotOptions


class Viewer(Protocol):
    """What screens read of the app (attributes down): they import neither the app nor each
    other."""

    db: Target
    model: RunsModel
    options: PlotOptions
    clock: Callable[[], float]

    def wake_reader(self) -> None: ...


class LiveScreen(Screen[None]):
    def __init__(
        self, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        # A live frame dirties rows far apart (the table's, a plot's tip): render those rows.
        self._compositor = BandedCompositor()

    @property
    def tapp(self) -> Viewer:
        return cast(Viewer, self.app)

    def data_changed(self, changed: Changed) -> None:
        """Draw what ``changed`` names (the model holds the data)."""

    def options_changed(self) -> None:
        """Draw the plots again with the app's new plot options."""

    _behind: Changed | None = None  # what changed while another screen was on top

    def on_data_changed(self, message: DataChanged) -> None:
        if self.app.screen is not self:
            # Under another screen: drawing here would repaint the whole screen above it
            # (Textual composes the screens below), so catch up when this one is back on top.
            behind = self._behind
            self._behind = message.changed if behind is None else behind.merged(message.changed)
            return
        self._draw(message.changed)

    def on_screen_resume(self) -> None:
        behind, self._behind = self._behind, None
        if behind is not None:
            self._draw(behind)

    def _draw(self, changed: Changed) -> None:
        try:
            self.data_changed(changed)
        except NoMatches:
            pass  # the app is closing and this screen's widgets are already gone

    def on_options_changed(self, message: OptionsChanged) -> None:
        try:
            self.options_changed()
        except NoMatches:
            pass
