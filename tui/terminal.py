"""Which stream the UI draws on. Textual draws on ``sys.__stderr__``, so ``tracktui 2>err.log``
would send the whole screen into the file: when stderr is not a terminal but stdout is, the UI
draws on stdout instead, and what is written to stderr still goes where the user sent it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False


@contextmanager
def ui_terminal() -> Iterator[None]:
    """Run an app inside this to draw on the terminal whichever of stderr/stdout is one."""
    stderr, stdout = sys.__stderr__, sys.__stdout__
    swap = not _is_terminal(stderr) and _is_terminal(stdout)
    if swap:
        sys.__stderr__ = stdout  # type: ignore[misc]
    try:
        yield
    finally:
        if swap:
            sys.__stderr__ = stderr  # type: ignore[misc]
