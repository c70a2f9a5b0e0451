"""A text field whose keys act in the order they were typed.

Textual's Input inserts a typed character as the key arrives, but runs its bindings (ctrl+u,
backspace, the arrows, enter) only once the key has bubbled up to the app, after the keys
behind it. In one burst (keys sent by a script, typed over a slow link, a terminal without
bracketed paste) ``ctrl+u`` then a file name cleared the name just typed, and the export wrote
``runs.csv``; ``abc``, backspace, ``d`` gave ``abc``. Here the field's own bindings run as
their key arrives.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.binding import Binding
from textual.widgets import Input


class TextField(Input):
    def __init__(self, *args: Any, submit: str | None = None, **kwargs: Any) -> None:
        """``submit``: what enter does, for the footer (Input's own enter is not shown)."""
        super().__init__(*args, **kwargs)
        if submit is not None:  # a list of its own: a copied BindingsMap shares its lists
            self._bindings.key_to_bindings["enter"] = [Binding("enter", "submit", submit)]

    async def _on_key(self, event: events.Key) -> None:
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
            return
        await super()._on_key(event)
