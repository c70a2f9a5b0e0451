"""The key footer: Textual's, letting go of the keys it no longer shows.

Textual's Footer composes its keys again on every screen change and binds each new key to the
footer's ``compact`` setting with a watcher; watchers are pruned only when ``compact`` changes,
which it never does here. So every key ever shown stayed alive, with its styles and rendered
strips: opening and closing a screen cost 2.5 MB that was never given back (an outside tester
saw 89 MB become 377 MB in two minutes of moving between screens).

Each new key also starts ``compact`` (its own default) and is then bound to the footer's
(``False``): two class changes, each restyling the key at once, were 120 ms of CPU a run view
opened. A key here starts with the footer's value, so neither changes anything.

And the footer composes its keys again on every change of any screen's bindings (a focus
moved, a screen resumed: eleven times a run view opened and closed, 5 ms each), whether or not
the keys it shows changed; here it does so only when they did.

A key the focused widget would take as typing (a filter field) is not shown: Textual leaves
out such keys only where it knows their character, and it knows none for ``/``, so the filter
field's footer offered "/ filter", which typed a slash.
"""

from __future__ import annotations

import string
from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.keys import _character_to_key
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

WIDE_PALETTE = 13  # cells of the wide footer's '▏^p palette' and the gap before it
TYPED = {_character_to_key(c): c for c in string.printable if c.isprintable()}  # key -> char


class KeyFooter(Footer):
    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._shown: tuple[object, ...] | None = None  # what the keys on show were made from

    def on_resize(self) -> None:
        # The keys change in place: composed again, the footer was blank for a moment (a
        # resize test saw it so under load).
        narrow = _cut_when_wide(list(self.query(FooterKey)), self.size.width)
        if narrow == self.compact:
            return
        self.compact = narrow
        for key in self.query(FooterKey):
            self._fit_key(key)

    def _fit_key(self, key: FooterKey) -> None:
        if key.has_class("-command-palette"):
            key.display = not self.compact
        else:
            key.compact = self.compact

    def _typed(self, key: str) -> bool:
        """Whether the focused widget takes ``key`` as typing, not as this binding."""
        focused = self.screen.focused
        char = TYPED.get(key)
        return focused is not None and char is not None and focused.check_consume_key(key, char)

    def _keys_signature(self) -> tuple[object, ...]:
        """Everything :meth:`Footer.compose` reads to make the keys."""
        app = self.app
        return (
            self.compact,
            type(self.screen.focused),
            self.show_command_palette and app.ENABLE_COMMAND_PALETTE,
            tuple(
                (
                    key,
                    b.action,
                    b.description,
                    b.group,
                    b.tooltip,
                    app.get_key_display(b),
                    enabled,
                    tooltip,
                )
                for key, (_, b, enabled, tooltip) in self.screen.active_bindings.items()
                if (b.show or key == app.COMMAND_PALETTE_BINDING) and not self._typed(key)
            ),
        )

    def compose(self) -> ComposeResult:
        made = [
            widget
            for widget in super().compose()
            if not (isinstance(widget, FooterKey) and self._typed(widget.key))
        ]
        keys = [widget for widget in made if isinstance(widget, FooterKey)]
        width = self.size.width or self.app.size.width
        self.set_reactive(Footer.compact, _cut_when_wide(keys, width))
        self.set_class(self.compact, "-compact")
        for widget in made:
            # (the palette's key is not bound to the footer's setting: it stays compact)
            if isinstance(widget, FooterKey) and not widget.has_class("-command-palette"):
                widget.set_reactive(FooterKey.compact, self.compact)
                widget.set_class(self.compact, "-compact", update=False)
            elif isinstance(widget, FooterKey):
                widget.display = not self.compact
            yield widget

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        shown = self._keys_signature() if self._bindings_ready else None
        if shown is not None and shown == self._shown:
            return
        await super().recompose()
        # After composing: composing chooses compact or not, which the signature holds.
        self._shown = self._keys_signature() if shown is not None else None
        watchers = getattr(self, "__watchers", None)  # where Textual keeps a node's watchers
        if isinstance(watchers, dict):
            for entries in watchers.values():
                entries[:] = [
                    (node, callback)
                    for node, callback in entries
                    if not isinstance(node, Widget) or node.is_attached
                ]


def _cut_when_wide(keys: list[FooterKey], width: int) -> bool:
    """Whether ``keys`` shown wide would be cut at ``width``: then they are compact (one space
    between keys, not two and padding) and '^p palette' makes room (ctrl+p still opens it).
    At 80 columns the runs table lost export, columns, quit and help; at 120 its last key was
    cut mid-word."""
    shown = [key for key in keys if not key.has_class("-command-palette")]
    wide = WIDE_PALETTE + sum(cell_len(f"{k.key_display}{k.description}") + 3 for k in shown)
    return wide > width
