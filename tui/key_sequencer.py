"""Keys read in one burst are handled one after the other, as if typed slowly.

Textual hands each key to the focused widget as soon as it is read, and runs a screen's key
bindings only once the key has bubbled back up to the app. In one burst (``tmux send-keys``,
a paste, typing over a slow SSH link) the keys behind ``e`` were already queued for the table
when ``e`` opened the export dialog: the file name went nowhere. Behind ``/`` they sorted the
table, behind ``enter`` then ``escape`` the run view stayed open, and a ``j`` after an
``escape`` that closed the filter field was typed into the field.

:class:`KeySequencer` hands a key out only once the one before it has been handled: it has been
stopped by a widget, or has come back up to the app (each step followed with a callback queued
behind the key, on the widget it is at). After a screen is opened or closed it also waits for
that screen's first messages (its mount, its focus). A key that goes missing (its widget was
removed) holds the rest for at most :data:`GIVE_UP_S`.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from textual import events
from textual.keys import _character_to_key
from textual.screen import Screen

if TYPE_CHECKING:
    from textual.app import App
    from textual.message_pump import MessagePump

GIVE_UP_S = 0.5  # a key or a screen that never reports back holds the rest no longer
SETTLE_S = 0.25  # the most the next key waits for the screen's widgets to empty their queues


class KeySequencer:
    """The app's keys, one at a time (one per app)."""

    def __init__(self, app: App[Any], dispatch: Callable[[events.Key], Awaitable[None]]) -> None:
        self._app = app
        self._dispatch = dispatch  # Textual's own handling of a key the app has read
        self._waiting: deque[events.Key] = deque()
        self._turn = 0  # the key or screen being waited for
        self._busy = False
        self._settle_until = 0.0
        self.waited = 0  # keys that waited for the one before them, for tests

    async def read(self, event: events.Key) -> None:
        """A key the app has read: handled now, or after those before it."""
        keys = self.split_alt(event)
        first = not self._busy and not self._waiting
        self._waiting.extend(keys)
        self.waited += len(keys) - first
        if first:
            await self._send(self._waiting.popleft())

    def screen_changed(self, screen: Screen[object]) -> None:
        """``screen`` is now on top (opened, or uncovered): the next key waits for it."""
        turn = self._begin()
        # (queued behind the screen's mount and resume: it runs once they are done)
        screen.call_later(self._app.call_later, self._done, turn)

    def _begin(self) -> int:
        self._turn += 1
        self._busy = True
        turn = self._turn
        self._app.set_timer(GIVE_UP_S, lambda: self._done(turn))
        return turn

    async def _send(self, event: events.Key) -> None:
        target: MessagePump = self._app.focused or self._app.screen
        turn = self._begin()
        await self._dispatch(event)  # priority bindings, else forwarded to the target
        if not event.is_forwarded:  # a priority binding took it
            if turn == self._turn:
                self._done(turn)
            return
        self._follow(event, target, turn)

    def _follow(self, event: events.Key, node: MessagePump, turn: int) -> None:
        node.call_later(self._step, event, node, turn)

    def _step(self, event: events.Key, node: MessagePump, turn: int) -> None:
        if turn != self._turn:
            return
        if node is self._app:
            self._done(turn)
        elif isinstance(node, Screen):  # a screen bubbles up to the app
            self._follow(event, self._app, turn)
        elif event._stop_propagation or node._parent is None:  # a widget handled it
            self._done(turn)
        else:
            self._follow(event, node._parent, turn)

    def _done(self, turn: int) -> None:
        if turn != self._turn or not self._busy:
            return
        self._busy = False
        if self._waiting:
            self._settle_until = time.monotonic() + SETTLE_S
            self._app.call_later(self._next)

    def _settled(self) -> bool:
        """Whether the screen on top has handled what its widgets were sent: the message a
        key made (a field's enter: Applied, Submitted) moves focus only once it is handled."""
        screen = self._app.screen
        return all(node._message_queue.empty() for node in (screen, *screen.walk_children()))

    async def _next(self) -> None:
        if self._busy or not self._waiting:
            return
        if not self._settled() and time.monotonic() < self._settle_until:
            self._app.set_timer(0.002, lambda: self._app.call_later(self._next))
            return
        await self._send(self._waiting.popleft())

    @staticmethod
    def split_alt(event: events.Key) -> list[events.Key]:
        """``escape`` then ``j`` in one burst arrive as the bytes of alt+j (ESC j): the two
        keys, as other full-screen programs read them (the viewer binds no alt+ key; an
        alt+ key of something unprintable, alt+backspace in a field, is kept)."""
        text = event.character
        if text is not None and text.startswith("\x1b"):
            text = text[1:]
        if (
            event.key.startswith("alt+")
            and text is not None
            and len(text) == 1
            and text.isprintable()
        ):
            return [events.Key("escape", "\x1b"), events.Key(_character_to_key(text), text)]
        return [event]
