"""Console capture: the run's stdout and stderr, recorded without changing what the user sees.

:class:`ConsoleTee` replaces ``sys.stdout``/``sys.stderr`` with a wrapper that writes to the
original stream first, then appends ``("console", handle, (stream, time, text))`` to the writer's
queue: no lock, no I/O. Logging handlers that already hold the original stream (a
``logging.basicConfig()`` before ``init()``, library loggers) are pointed at the wrapper too.
Everything else (``isatty``, ``fileno``, ``encoding``...) is the original's, so tqdm, colours
and terminal detection behave as before. Output written straight to file descriptors 1/2
(C extensions, subprocesses) is not captured.

:func:`collapse_carriage_returns` keeps only the last state of a progress bar redrawn with
``\\r`` within one written batch, so a tqdm bar costs a line per flush rather than per update.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from typing import Any, TextIO

STDOUT, STDERR = 1, 2


class ConsoleTee:
    """A text stream that writes through to ``original`` and copies the text to a queue."""

    def __init__(self, original: TextIO, stream: int, queue: deque[Any], handle: Any) -> None:
        self._original = original
        self._stream = stream
        self._queue = queue
        self.handle: Any = handle  # None once the run ended: then only a pass-through

    def write(self, text: str) -> int:
        written = self._original.write(text)
        handle = self.handle
        if handle is not None and text:
            try:
                self._queue.append(("console", handle, (self._stream, time.time(), str(text))))
            except Exception:  # never let capture break the user's print()
                pass
        return written

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._original.flush()

    @property
    def original(self) -> TextIO:
        return self._original

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


class ConsoleCapture:
    """Installs the tees for one run and removes them at ``stop()`` (or turns them inert)."""

    def __init__(self, queue: deque[Any], handle: Any) -> None:
        self._tees: list[tuple[str, ConsoleTee]] = []
        self._handlers: list[tuple[logging.StreamHandler[Any], TextIO]] = []
        for name, stream in (("stdout", STDOUT), ("stderr", STDERR)):
            current = getattr(sys, name)
            if current is None:
                continue
            tee = ConsoleTee(current, stream, queue, handle)
            setattr(sys, name, tee)
            self._tees.append((name, tee))
            self._repoint_handlers(current, tee)

    def _repoint_handlers(self, original: TextIO, tee: ConsoleTee) -> None:
        loggers: list[Any] = [logging.getLogger()]
        loggers += [
            logger
            for logger in list(logging.Logger.manager.loggerDict.values())
            if isinstance(logger, logging.Logger)
        ]
        for logger in loggers:
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler and handler.stream is original:
                    handler.setStream(tee)
                    self._handlers.append((handler, original))

    def stop(self) -> None:
        for name, tee in self._tees:
            tee.handle = None
            if getattr(sys, name) is tee:
                setattr(sys, name, tee.original)
        for handler, original in self._handlers:
            if isinstance(handler.stream, ConsoleTee):
                handler.setStream(original)
        self._tees.clear()
        self._handlers.clear()


def collapse_carriage_returns(text: str) -> str:
    """Drop progress-bar states that a later ``\\r`` overwrote within ``text``.

    A leading ``\\r`` is kept (it overwrites a line written before), and so is the last state.
    """
    if "\r" not in text:
        return text
    lines = text.split("\n")
    out = []
    for line in lines:
        if "\r" in line:
            head, _, tail = line.rpartition("\r")
            tail_is_blank = not tail
            if tail_is_blank:  # "50%\r" then a newline: the bar's last state is what was shown
                head, _, tail = head.rpartition("\r")
            line = "\r" + tail + ("\r" if tail_is_blank else "")
        out.append(line)
    return "\n".join(out)


def console_wanted(choice: bool | None) -> bool:
    if choice is not None:
        return choice
    return os.environ.get("TRACKTUI_CONSOLE", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )
