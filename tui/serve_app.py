"""One browser session's app under ``tracktui serve``: the TUI on Textual's web driver, told
which server started it, and ended for good when that server goes (even by SIGKILL) or when
asked (SIGINT, SIGTERM). The server side (listening, sessions, the page) is :mod:`tui.serve`.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from .cli import _db_path
from .serve import PARENT_POLL_S, QUIT_GRACE_S, SERVE_ENV


class Stopper:
    """Ends one app for good: asks it to exit, and exits the process hard if it has not within
    :data:`QUIT_GRACE_S` (once its server is gone, writes to the dead pipes fail inside
    Textual's shutdown and can leave the process running, still polling the database)."""

    def __init__(self) -> None:
        self.loop: Any = None  # the app's event loop, once it runs
        self.exit_app: Any = None
        self._once = threading.Lock()

    def stop(self) -> None:
        """From any thread; the first call counts."""
        if not self._once.acquire(blocking=False):
            return
        deadline = threading.Timer(QUIT_GRACE_S, os._exit, (1,))
        deadline.daemon = True
        deadline.start()
        if self.loop is None:
            os._exit(1)  # not running yet: nothing to shut down
        self.loop.call_soon_threadsafe(self.exit_app)


def follow_server(server_pid: int, stopper: Stopper) -> None:
    """Stop this app when its server dies, even by SIGKILL: on Linux the kernel sends SIGTERM
    (``PR_SET_PDEATHSIG``); everywhere a thread sees the parent change (re-parented to init)."""
    if server_pid <= 0:
        return
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != server_pid:  # it died before prctl took hold
        stopper.stop()
        return

    def watch() -> None:
        import time

        while os.getppid() == server_pid:
            time.sleep(PARENT_POLL_S)  # a poll: no portable event for a parent's death
        stopper.stop()

    threading.Thread(target=watch, name="tracktui-server-watch", daemon=True).start()


def app_main(argv: Sequence[str] | None = None) -> int:
    """One browser session's app (``python -m tui.serve_app --refresh S --server-pid P -- DB...``):
    the TUI on Textual's web driver, which textual-serve chose through ``$TEXTUAL_DRIVER``.
    There is no terminal here, so :func:`tui.terminal.ui_terminal` is not used."""
    import asyncio
    from dataclasses import replace

    from tracker.errors import DatabaseError

    from .app import TrackTuiApp
    from .sanitize import safe_text
    from .timings import DEFAULT

    parser = argparse.ArgumentParser(prog="python -m tui.serve_app")
    parser.add_argument("--refresh", type=float, default=DEFAULT.frame_s)
    parser.add_argument("--server-pid", type=int, default=0)
    parser.add_argument("--allow-writes", action="store_true")
    parser.add_argument("databases", nargs="*")
    options = parser.parse_args(argv)
    # The screens ask this (runs: t tags only with "writes"); set here, never inherited.
    os.environ[SERVE_ENV] = "writes" if options.allow_writes else "read-only"
    stopper = Stopper()

    class ServedApp(TrackTuiApp):
        def on_mount(self) -> None:
            # After the web driver's own handlers (start_application_mode runs before mount),
            # which only ask the app to exit: ours also set the hard deadline.
            stopper.loop, stopper.exit_app = asyncio.get_running_loop(), self.exit
            for number in (signal.SIGINT, signal.SIGTERM):
                stopper.loop.add_signal_handler(number, stopper.stop)

    follow_server(options.server_pid, stopper)
    try:
        target = _db_path(argparse.Namespace(databases=options.databases, db=None))
        ServedApp(target, timings=replace(DEFAULT, frame_s=options.refresh), own_process=True).run()
    except DatabaseError as exc:
        print(f"tracktui: {safe_text(exc)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(app_main())
