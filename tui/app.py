"""The tracktui app: wiring only. A reader thread turns database changes into messages; the
model applies them on the UI thread; screens draw from the model. Plot options live here.

Attributes go down (screens read ``app.model`` and ``app.options``), messages come up
(``DataUpdated`` from the reader thread). No SQL, psutil or NVML runs on the UI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.message import Message
from textual.notifications import SeverityLevel

from tracker.media.decoded import MediaItem
from tracker.models import RunRecord

from .axis import XAxis, axis_choices, defined_step_metrics, next_axis
from .keys_help import COMPARE_KEYS, KEYS_HELP, RUN_KEYS
from .model import Changed, RunsModel
from .reader import DatabaseReader, Update
from .sanitize import safe_text
from .screens.help import HelpScreen
from .screens.runs import RunsScreen
from .screens.x_axis import XAxisScreen
from .timings import DEFAULT, Timings
from .watch import DatabaseWatcher
from .widgets.plot import PlotOptions

DEBOUNCE_S = 0.015  # after a request from the UI: let a burst of them settle into one read
EXTRAS_GAP_S = 0.02
STREAM_QUIET_S = 2.0  # the file unchanged this long: back to waiting for file events
MAX_FOLLOWED = 256
SMOOTHING_STEPS = (0.3, 0.6, 0.8, 0.9, 0.95, 0.99)


class DataUpdated(Message):
    def __init__(self, update: Update) -> None:
        super().__init__()
        self.update = update


class TrackTuiApp(App[None]):
    TITLE = "tracktui"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("question_mark", "help", "keys"),
        Binding("x", "toggle_x", "x-axis"),
        Binding("X", "pick_x", "x-axis metric", show=False),
        Binding("l", "toggle_log", "log-y"),
        Binding("m", "toggle_smoothing", "smooth"),
        Binding("plus,equals_sign", "smoother", "smoother", show=False),
        Binding("minus", "rougher", "rougher", show=False),
    ]

    def __init__(
        self,
        db_path: Path,
        *,
        poll_interval: float | None = None,
        watch: bool = True,
        clock: Callable[[], float] = time.time,
        timings: Timings = DEFAULT,
    ) -> None:
        super().__init__()
        if poll_interval is not None:
            timings = replace(timings, poll_s=poll_interval)
        self.db_path = db_path
        self.timings = timings
        self.clock = clock
        self.model = RunsModel()
        self.reader = DatabaseReader(db_path, timings=timings)
        self.watch_files = watch
        self.watcher: DatabaseWatcher | None = None
        self.smoothing = SMOOTHING_STEPS[1]
        self.options = PlotOptions()
        self.updates = 0
        self._wake = threading.Event()
        self._urgent = False  # the UI asked for something (keys): read without waiting
        self._stop = threading.Event()
        self._pending: Changed | None = None  # applied to the model, not yet drawn
        self._frame_due = False
        self._last_frame = 0.0
        self.frames = 0  # data-driven redraws, for tests and benchmarks
        self._followed: dict[int, None] = {}  # oldest first

    def on_mount(self) -> None:
        self.push_screen(RunsScreen())
        self._start_watcher()
        self.read_loop()

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()
        if self.watcher is not None:
            self.watcher.stop()

    def _start_watcher(self) -> None:
        if not self.watch_files or (self.watcher is not None and self.watcher.running):
            return
        self.watcher = DatabaseWatcher(self.db_path, self._wake)
        if not self.watcher.start():
            self.watcher = None  # folder not there yet: the poll covers it; retried later

    @property
    def poll_interval(self) -> float:
        return self.timings.poll_s

    @work(thread=True, exclusive=True, group="reader")
    def read_loop(self) -> None:
        reader, frame = self.reader, self.timings.frame_s
        quiet_since: float | None = time.monotonic()  # None while the file keeps changing
        try:
            while not self._stop.is_set():
                read_at = time.monotonic()
                self._urgent = False  # a request made from now on is seen by a later read
                update = reader.poll()
                if update:
                    self.post_message(DataUpdated(update))
                watcher = self.watcher
                if reader.changed:
                    if quiet_since is not None and watcher is not None:
                        watcher.pause()  # streaming: this loop reads every frame meanwhile
                    quiet_since = None
                elif quiet_since is None:
                    quiet_since = read_at
                elif read_at - quiet_since >= STREAM_QUIET_S and watcher is not None:
                    watcher.resume()
                if reader.pending_extras():
                    # Trends and smoothed values of a big database arrive in slices: go on.
                    self._pause_until(read_at + EXTRAS_GAP_S)
                    continue
                if quiet_since is None or read_at - quiet_since < STREAM_QUIET_S:
                    # Streaming: read once a frame; what every writer commits meanwhile comes
                    # in that one read (a file event per commit would add nothing).
                    self._pause_until(read_at + frame)
                    continue
                self._wake.wait(self.timings.poll_s)
                if not self._wake.is_set():
                    continue
                self._wake.clear()
                if self._urgent:
                    time.sleep(DEBOUNCE_S)
                    continue
                self._pause_until(read_at + frame)
        finally:
            reader.close()

    def _pause_until(self, deadline: float) -> None:
        """Wait until ``deadline``, or less if the UI asks for something (keys go first)."""
        while not self._stop.is_set() and not self._urgent:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._wake.wait(left)
            if not self._urgent:
                self._wake.clear()  # another file event: it folds into the read to come
        self._wake.clear()

    def on_data_updated(self, message: DataUpdated) -> None:
        changed = self.model.apply(message.update)
        self.updates += 1
        if changed.status and self.model.status.state == "ok":
            self._start_watcher()
        self._pending = changed if self._pending is None else self._pending.merged(changed)
        if self._frame_due:
            return
        wait = self._last_frame + self.timings.frame_s - time.monotonic()
        if wait <= 0 or changed.reset or changed.status:
            self._draw_frame()
        else:
            self._frame_due = True
            self.set_timer(wait, self._draw_frame)

    def _draw_frame(self) -> None:
        """Screens draw what changed since the last frame: at most one frame per
        ``timings.frame_s`` for data, however many writers commit meanwhile."""
        self._frame_due = False
        changed, self._pending = self._pending, None
        if changed is None:
            return
        self._last_frame = time.monotonic()
        self.frames += 1
        self._notify_screens(changed)

    def _notify_screens(self, changed: Changed) -> None:
        for screen in self.screen_stack:
            handler = getattr(screen, "data_changed", None)
            if handler is None or not screen.is_mounted:
                continue
            try:
                handler(changed)
            except NoMatches:
                pass  # the app is closing and this screen's widgets are already gone

    def wake_reader(self) -> None:
        """Read now rather than at the next poll (after this app wrote to the file itself)."""
        self._urgent = True
        self._wake.set()

    def follow(self, series_ids: Iterable[int]) -> None:
        """Ask the reader for the history and then the new points of these series."""
        followed = self._followed
        fresh = list(dict.fromkeys(sid for sid in series_ids if sid not in followed))
        if not fresh:
            return
        followed.update(dict.fromkeys(fresh))
        if len(followed) > MAX_FOLLOWED:
            dropped = list(followed)[: len(followed) - MAX_FOLLOWED]
            for sid in dropped:
                del followed[sid]
            self.reader.unfollow(dropped)
            for sid in dropped:
                self.model.series.pop(sid, None)
        self.reader.follow(fresh)
        self.wake_reader()

    def follow_media(self, run_id: str) -> None:
        """Ask the reader for this run's media list, then its new media as they come."""
        self.reader.follow_media(run_id)
        self.wake_reader()

    def follow_console(self, run_id: str) -> None:
        self.reader.follow_console(run_id)
        self.wake_reader()

    def unfollow_media(self, run_ids: Iterable[str]) -> None:
        """Stop following these runs' media and console, and forget what was read of them."""
        for run_id in run_ids:
            self.reader.unfollow_media(run_id)
            self.model.media.forget_run(run_id)

    def want_media_data(self, items: Iterable[MediaItem]) -> None:
        """Ask the reader for these media (images, tables...), read and decoded on its thread."""
        self.reader.want_media_data(items)
        self.wake_reader()

    # --- plot options ------------------------------------------------------------------------

    def _set_options(self, options: PlotOptions) -> None:
        self.options = options
        for screen in self.screen_stack:
            handler = getattr(screen, "options_changed", None)
            if handler is not None:
                handler()

    def plotted_runs(self) -> list[RunRecord]:
        """The runs whose plots the topmost plotting screen shows (for the x-axis choices)."""
        for screen in reversed(self.screen_stack):
            runs = getattr(screen, "plotted_runs", None)
            if runs is not None:
                return list(runs())
        return []

    def set_x_axis(self, axis: XAxis | None) -> None:
        if axis is not None:
            self._set_options(replace(self.options, x=axis))

    def action_toggle_x(self) -> None:
        """step → relative time → each step metric the runs shown define → step."""
        metrics = defined_step_metrics(self.plotted_runs())
        self.set_x_axis(next_axis(self.options.x, metrics))

    def action_pick_x(self) -> None:
        if isinstance(self.screen, XAxisScreen):
            return
        choices = axis_choices(self.plotted_runs())
        self.push_screen(XAxisScreen(choices, self.options.x), self.set_x_axis)

    def action_toggle_log(self) -> None:
        self._set_options(replace(self.options, log_y=not self.options.log_y))

    def action_toggle_smoothing(self) -> None:
        o = self.options
        self._set_options(replace(o, smoothing=None if o.smoothing is not None else self.smoothing))

    def _step_smoothing(self, step: int) -> None:
        index = SMOOTHING_STEPS.index(self.smoothing) if self.smoothing in SMOOTHING_STEPS else 1
        self.smoothing = SMOOTHING_STEPS[max(0, min(len(SMOOTHING_STEPS) - 1, index + step))]
        self._set_options(replace(self.options, smoothing=self.smoothing))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast (screens and widgets notify through the app) as plain, safe text:
        run names and keys in a message are neither markup nor terminal escapes."""
        super().notify(
            safe_text(message, single_line=False),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def action_smoother(self) -> None:
        self._step_smoothing(+1)

    def action_rougher(self) -> None:
        self._step_smoothing(-1)

    def action_help(self) -> None:
        """The keys of the screen ``?`` was pressed on (a run's, a comparison's, the table's)."""
        if isinstance(self.screen, HelpScreen):
            return
        name = type(self.screen).__name__
        title, keys = {
            "RunDetailScreen": ("a run — keys", RUN_KEYS),
            "CompareScreen": ("comparing runs — keys", COMPARE_KEYS),
        }.get(name, ("tracktui — keys", KEYS_HELP))
        self.push_screen(
            HelpScreen(
                title, keys, "Plots: min/max per column, so spikes survive; ⚠ marks NaN/inf (gaps)."
            )
        )
