"""How often the viewer reads and redraws: one frozen value the app and its reader share.

The defaults are the product's; tests pass faster ones (nothing waits on a fixed clock there),
and benchmarks pass others to measure what a setting costs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timings:
    poll_s: float = 1.0  # the guarantee: a change no file event reported is read this late
    frame_s: float = 0.2  # data-driven reads and redraws at most this often (keys: at once)
    # A plot whose only change is new points is drawn again at most this often (the table's
    # numbers keep frame_s, so what was logged shows within a frame): the plots were half of a
    # live frame's cost, and a curve's tip is read at a glance (btop and nvitop redraw
    # everything every 1-2 s). Measured at 6 runs x 25 steps/s: 0.5 s cost 9% more CPU.
    plot_frame_s: float = 1.0
    # While runs stream, the viewer's CPU (every thread) kept near this share of one core: a
    # frame that costs more than frame_s * cpu_share (fifty live runs: 9 ms) stretches the
    # next frames (at most to max_frame_s); keys are read and drawn at once regardless.
    cpu_share: float = 0.03
    max_frame_s: float = 1.0
    extras_start_s: float = 1.5  # trends wait this long after opening: the first screen first
    extras_every_s: float = 5.0  # a live run's trend and smoothed values, recomputed
    extras_max_wait_s: float = 0.5  # extras go out at least this often while updates stream
    status_every_s: float = 2.0  # live runs' processes rechecked (a SIGKILL writes nothing)
    stream_quiet_s: float = 2.0  # the file unchanged this long: back to waiting for events


DEFAULT = Timings()
# Tests: no deliberate delays, but a 20 ms frame (with none the reader re-reads a streaming
# file without pause: 53,000 reads in 3 s, a core kept busy and every key press waiting).
FAST = Timings(poll_s=0.2, frame_s=0.02, plot_frame_s=0.0, cpu_share=1.0, extras_start_s=0.0,
               extras_max_wait_s=0.0, status_every_s=0.2, stream_quiet_s=0.5)  # fmt: skip
