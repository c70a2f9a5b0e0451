"""Process-level hooks: flush at exit and on SIGTERM/SIGINT, exit status, and fork safety.

Installed once, at the first ``init()``. Each hook chains to what was there before it, so the
training script's own handlers still run.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

_installed = False
_lock = threading.Lock()
_exit_code: int | None = None
_exception: str | None = None
_finish_all: Callable[[str, int | None, str | None], None] | None = None
_flush_all: Callable[[], None] | None = None
_after_fork: Callable[[], None] | None = None
_owner_pid = os.getpid()


def install(
    finish_all: Callable[[str, int | None, str | None], None],
    flush_all: Callable[[], None],
    after_fork_in_child: Callable[[], None],
) -> None:
    global _installed, _finish_all, _flush_all, _after_fork, _owner_pid
    with _lock:
        _finish_all, _flush_all, _after_fork = finish_all, flush_all, after_fork_in_child
        if _installed:
            return
        _installed = True
        _owner_pid = os.getpid()
    atexit.register(_at_exit)
    _wrap_excepthook()
    _wrap_sys_exit()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            _chain_signal(signum)
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_in_child)


def _in_child() -> None:
    if _after_fork is not None:
        _after_fork()


def exit_outcome() -> tuple[str, int | None, str | None]:
    """``(status, exit_code, error)`` for runs still open when the process ends."""
    if _exception is not None:
        return "failed", _exit_code if _exit_code is not None else 1, _exception
    if _exit_code not in (None, 0):
        return "failed", _exit_code, f"exit code {_exit_code}"
    return "finished", 0 if _exit_code is None else _exit_code, None


def _at_exit() -> None:
    if os.getpid() != _owner_pid or _finish_all is None:
        return
    status, code, error = exit_outcome()
    _finish_all(status, code, error)


def _wrap_excepthook() -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        global _exception
        if not issubclass(kind, SystemExit):
            _exception = "".join(traceback.format_exception_only(kind, value)).strip()[:2000]
        previous(kind, value, tb)

    sys.excepthook = hook


def _wrap_sys_exit() -> None:
    previous = sys.exit

    def exit(status: Any = None) -> Any:
        global _exit_code
        if status is None:
            _exit_code = 0
        elif isinstance(status, int):
            _exit_code = status
        else:
            _exit_code = 1  # sys.exit("message") exits with 1
        return previous(status)

    sys.exit = exit


def _chain_signal(signum: int) -> None:
    try:
        previous = signal.getsignal(signum)
    except (ValueError, OSError):
        return

    def handler(num: int, frame: FrameType | None) -> None:
        if os.getpid() == _owner_pid:
            if num == signal.SIGTERM and _finish_all is not None:
                _finish_all("failed", 128 + num, "killed by SIGTERM")
            elif _flush_all is not None:
                _flush_all()
        if callable(previous):
            previous(num, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(num, signal.SIG_DFL)
            os.kill(os.getpid(), num)

    try:
        signal.signal(signum, handler)
    except (ValueError, OSError):
        pass
