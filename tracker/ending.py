"""The end of a run: wait for its buffer to be written, then say exactly what was not.

``finish()`` (and the exit of the process) waits as long as commits keep succeeding, and up
to ``timeout`` seconds past the last one that did. What is still buffered then is given up,
counted and reported in one line, and the run's end gets one more try so that ``ls`` shows it
finished with its losses counted.
"""

from __future__ import annotations

from .batch import RunHandle
from .errors import warn_once
from .sanitize import short_name
from .writer import Writer

QUIET_DRAIN_S = 10.0  # finish() says it is still writing only after this long
LAST_TRY_S = 5.0  # the run's end alone, after the rest was given up


def drain_before_end(
    writer: Writer, handle: RunHandle, name: str, where: str, timeout: float
) -> None:
    """Wait for ``handle``'s records to be written, then report what was not (if anything)."""
    try:
        quiet = min(QUIET_DRAIN_S, timeout)
        if writer.flush(quiet, handle, stall=quiet):
            _report_losses(handle, name, where)
            return
        if not writer.hopeless(handle):
            warn_once(
                f"draining:{handle.run_id}",
                f"run {short_name(name)}: still writing what is buffered to {where} "
                f"(up to {timeout:g} s after the last successful write; Ctrl-C stops waiting)",
            )
            # The quiet wait counts: while commits fail, finish() returns about ``timeout``
            # after it was called (plus the end's last try); while they succeed, it waits on.
            if writer.flush(max(0.0, timeout - quiet), handle, stall=timeout):
                _report_losses(handle, name, where)
                return
        last_try = not writer.hopeless(handle)
    except KeyboardInterrupt:
        last_try = False  # the user stops waiting: say what is left, then let them go
    left_out, cause = writer.give_up(handle)
    ended = last_try and writer.flush(min(LAST_TRY_S, timeout), handle)
    where = f"{where}" + (f" ({cause})" if cause else "")
    outcome = (
        "the run is marked finished with those losses counted"
        if ended
        else "its end could not be recorded either, so it will show as crashed"
    )
    warn_once(
        f"unwritten:{handle.run_id}",
        f"run {short_name(name)}: not written to {where}: {left_out.describe()}; {outcome}",
    )


def _report_losses(handle: RunHandle, name: str, where: str) -> None:
    """Everything was written but what had been left out on the way: say how much."""
    if not handle.dropped and not handle.refused:
        return
    causes = []
    if handle.refused:
        causes.append(f"{handle.refused:,} records the database refused")
    if handle.dropped:
        causes.append(f"{handle.dropped:,} points in all (see the warnings above)")
    warn_once(
        f"losses:{handle.run_id}",
        f"run {short_name(name)}: written to {where} except {' and '.join(causes)}",
    )
