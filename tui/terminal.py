"""Which stream the UI draws on. Textual draws on ``sys.__stderr__``, so ``tracktui 2>err.log``
would send the whole screen into the file: when stderr is not a terminal but stdout is, the UI
draws on stdout instead, and what is written to stderr still goes where the user sent it. With
both redirected (``>out 2>err``) it draws on the controlling terminal, ``/dev/tty``; with no
terminal at all it refuses (:class:`NoTerminal`) rather than write screens into a file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


class NoTerminal(RuntimeError):
    """Neither stderr nor stdout is a terminal, and there is no controlling terminal."""


def _controlling_terminal() -> TextIO | None:
    try:
        tty = open("/dev/tty", "w")  # noqa: SIM115  # closed when the app ends
    except OSError:
        return None
    if not _is_terminal(tty):
        tty.close()
        return None
    return tty


@contextmanager
def ui_terminal() -> Iterator[None]:
    """Run an app inside this to draw on the terminal whichever of stderr/stdout is one."""
    stderr, stdout = sys.__stderr__, sys.__stdout__
    opened: TextIO | None = None
    target: TextIO | None = None
    if not _is_terminal(stderr):
        if _is_terminal(stdout):
            target = stdout
        else:
            target = opened = _controlling_terminal()
            if opened is None:
                raise NoTerminal(
                    "tracktui needs a terminal to draw on: stdout and stderr are redirected and "
                    "there is no controlling terminal (for text output: tracktui ls)"
                )
    if target is not None:
        sys.__stderr__ = target  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        if target is not None:
            sys.__stderr__ = stderr  # type: ignore[misc]
        if opened is not None:
            opened.close()
