"""The tracktui app: wiring only. A reader thread turns database changes into messages; the
model applies them on the UI thread; screens draw from the model. Plot options live here.

Attributes go down (screens read ``app.model`` and ``app.options``), messages come up: the
reader thread's findings (:mod:`tui.messages`), applied to the model as they come and drawn
once a frame (:class:`DataChanged` to each screen), and requests from screens and widgets
(``FollowSeries``...). No SQL, psutil or NVML runs on the UI thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from rich.console import RenderableType
from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from tracker.db import Target, parse_target
from tracker.models import RunRecord

from .axis import XAxis, axis_choices, defined_step_metrics, next_axis
from .collector import REFREEZE_S, CollectorPolicy
from .feed import ReaderFeed
from .health import legend, new_notable
from .key_sequencer import KeySequencer
from .keys_help import COMPARE_KEYS, KEYS_HELP, RUN_KEYS
from .live_screen import LiveScreen
from .messages import (
    Changed,
    ConsoleRead,
    DataChanged,
    Dropped,
    ExtrasRead,
    FileReopened,
    FollowConsole,
    FollowMedia,
    FollowSeries,
    HistoryLoaded,
    MediaRead,
    OptionsChanged,
    PointsRead,
    ReadBatch,
    ReadDone,
    ReaderMessage,
    RunsRead,
    StatusRead,
    UnfollowMedia,
    WantMediaData,
)
from .model import RunsModel
from .reader import DatabaseReader
from .sanitize import safe_text
from .screens.help import HelpScreen
from .screens.runs import RunsScreen
from .screens.x_axis import XAxisScreen
from .timings import DEFAULT, Timings
from .watch import DatabaseWatcher
from .widgets.plot import PlotOptions

MAX_FOLLOWED = 256
FRAME_GATE = 0.5  # data-driven paints at least this many frames apart
FREEZE_AFTER_S = 1.0  # after the first read: its screen drawn, the first trends read
SMOOTHING_STEPS = (0.3, 0.6, 0.8, 0.9, 0.95, 0.99)


@runtime_checkable
class PlotsRuns(Protocol):
    """A screen whose plots show runs: ``x`` and ``X`` offer the step metrics they define."""

    def plotted_runs(self) -> list[RunRecord]: ...


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
        Binding("n", "toggle_bell", "bell", show=False),
    ]

    def __init__(
        self,
        db: Path | Target,
        *,
        poll_interval: float | None = None,
        watch: bool = True,
        clock: Callable[[], float] = time.time,
        timings: Timings = DEFAULT,
        own_process: bool = False,
    ) -> None:
        """``own_process``: the process is the viewer's alone (the command line's), so the
        app may set its garbage collector's policy (:mod:`tui.collector`)."""
        super().__init__()
        if poll_interval is not None:
            timings = replace(timings, poll_s=poll_interval)
        self.db = parse_target(db)
        self.timings = timings
        self.clock = clock
        self.model = RunsModel()
        self.reader = DatabaseReader(self.db, timings=timings)
        self.feed = ReaderFeed(self.reader, timings, watch)
        self.smoothing = SMOOTHING_STEPS[1]
        self.options = PlotOptions()
        self.updates = 0  # reader messages applied, for tests and benchmarks
        self._pending: Changed | None = None  # applied to the model, not yet drawn
        self._frame_due = False
        self._last_frame = 0.0
        self.frames = 0  # data-driven redraws, for tests and benchmarks
        self._followed: dict[int, None] = {}  # oldest first
        # Ring the terminal bell when a health event or alert arrives (n; $TRACKTUI_NOTIFY=1);
        # only after the first read, so the events already in the file at start stay quiet.
        self.ring_on_events = os.environ.get("TRACKTUI_NOTIFY", "").strip() in ("1", "true", "yes")
        self._first_read_done = False
        self.bells = 0  # bells rung for new events, for tests
        self.collector = CollectorPolicy(own_process)
        self.keys = KeySequencer(self, self._handle_key)
        self._collector_armed = False  # its first freeze is scheduled

    @property
    def watcher(self) -> DatabaseWatcher | None:
        return self.feed.watcher

    @property
    def poll_interval(self) -> float:
        return self.timings.poll_s

    # Keys read in one burst are handled one at a time (tui.key_sequencer): the next waits until
    # the one before has been handled, and until a screen it opened or closed has settled.
    def push_screen(self, screen: Screen[Any] | str, *args: Any, **kwargs: Any) -> Any:
        result = super().push_screen(screen, *args, **kwargs)
        if isinstance(screen, Screen) and not kwargs.get("wait_for_dismiss"):
            self.keys.screen_changed(screen)
        return result

    def pop_screen(self) -> Any:
        result = super().pop_screen()
        self.keys.screen_changed(self.screen)
        return result

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self.keys.read(event)
            return
        await super().on_event(event)

    async def _handle_key(self, event: events.Key) -> None:
        await App.on_event(self, event)

    def on_mount(self) -> None:
        self.collector.start()
        self.push_screen(RunsScreen())
        self.feed.start_watcher(self.db)
        self.read_loop()

    def on_unmount(self) -> None:
        self.feed.stop()
        self.collector.stop()

    def _freeze_collector(self) -> None:
        self.collector.freeze()
        self.set_interval(REFREEZE_S, self.collector.freeze)

    def _display(self, screen: Screen[object], renderable: RenderableType | None) -> None:
        """Textual's, with a frame's writes (synchronised-output start, the update, its end)
        handed to the output thread as one string: each write wakes that thread and costs a
        flush, a tenth of a live frame's CPU in a profile."""
        driver = self._driver
        if driver is None or self.is_headless:
            super()._display(screen, renderable)
            return
        parts: list[str] = []
        write = driver.write
        driver.write = parts.append  # type: ignore[method-assign,assignment]
        try:
            super()._display(screen, renderable)
        finally:
            del driver.write  # the method again
            if parts:
                write("".join(parts))

    @work(thread=True, exclusive=True, group="reader")
    def read_loop(self) -> None:
        self.feed.run(self.post_message)

    # --- what the reader found: applied to the model, drawn once a frame ----------------------

    def _apply(self, message: ReaderMessage) -> None:
        changed = self.model.apply(message)
        self.updates += 1
        if changed.status and self.model.status.state == "ok":
            self.feed.start_watcher(self.db)  # the folder may exist only now
        self._pending = changed if self._pending is None else self._pending.merged(changed)

    def on_read_batch(self, batch: ReadBatch) -> None:
        """One read's messages, handled in order as if each had been posted."""
        handlers: dict[type[ReaderMessage], Callable[..., None]] = {
            FileReopened: self.on_file_reopened, StatusRead: self.on_status_read,
            RunsRead: self.on_runs_read, HistoryLoaded: self.on_history_loaded,
            PointsRead: self.on_points_read, ExtrasRead: self.on_extras_read,
            MediaRead: self.on_media_read, ConsoleRead: self.on_console_read,
            ReadDone: self.on_read_done,
        }  # fmt: skip
        for message in batch.messages:
            handler = handlers.get(type(message))
            if handler is not None:
                handler(message)

    def on_file_reopened(self, message: FileReopened) -> None:
        self._first_read_done = False  # what the (re)opened file holds is not news
        self._apply(message)

    def on_status_read(self, message: StatusRead) -> None:
        self._apply(message)

    def on_runs_read(self, message: RunsRead) -> None:
        if self.ring_on_events and self._first_read_done:
            held = self.model.runs
            if any(new_notable(held.get(run.id), run) for run in message.runs):
                self.bells += 1
                self.bell()
        self._apply(message)

    def on_history_loaded(self, message: HistoryLoaded) -> None:
        self._apply(message)

    def on_points_read(self, message: PointsRead) -> None:
        self._apply(message)

    def on_extras_read(self, message: ExtrasRead) -> None:
        self._apply(message)

    def on_media_read(self, message: MediaRead) -> None:
        self._apply(message)

    def on_console_read(self, message: ConsoleRead) -> None:
        self._apply(message)

    def on_read_done(self, message: ReadDone) -> None:
        """The end of one read's messages: draw now, or when the frame is due."""
        if self.collector.enabled and not self._collector_armed:
            self._collector_armed = True  # once: a reopened file changes nothing here
            self.set_timer(FREEZE_AFTER_S, self._freeze_collector)  # the first screen is up
        self._first_read_done = True
        pending = self._pending
        if self._frame_due or pending is None:
            return
        # The reader reads once a frame while runs stream, so its reads already pace the
        # frames: draw at once. Holding a read for a full frame after the last paint would lock
        # the paints to a phase of their own, up to a frame behind the reads (measured: 130 ms
        # of a 270 ms median latency). Only reads closer than half a frame (a key's, a first
        # load's slices) wait.
        wait = self._last_frame + FRAME_GATE * self.timings.frame_s - time.monotonic()
        if wait <= 0 or pending.reset or pending.status:
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
        for screen in self.screen_stack:
            # Only the screens that draw data: a message to any other makes it repaint.
            if isinstance(screen, LiveScreen) and screen.is_mounted:
                screen.post_message(DataChanged(changed))

    def wake_reader(self) -> None:
        """Read now rather than at the next poll (after this app wrote to the file itself)."""
        self.feed.request()

    # --- requests from screens and widgets ---------------------------------------------------

    def on_follow_series(self, message: FollowSeries) -> None:
        self.follow(message.series_ids)

    def on_follow_media(self, message: FollowMedia) -> None:
        self.reader.follow_media(message.run_id)
        self.feed.request()

    def on_follow_console(self, message: FollowConsole) -> None:
        self.reader.follow_console(message.run_id)
        self.feed.request()

    def on_unfollow_media(self, message: UnfollowMedia) -> None:
        for run_id in message.run_ids:
            self.reader.unfollow_media(run_id)
        self.model.apply(Dropped(run_ids=message.run_ids))

    def on_want_media_data(self, message: WantMediaData) -> None:
        self.reader.want_media_data(message.items)
        self.feed.request()

    def follow(self, series_ids: Iterable[int]) -> None:
        """Ask the reader for the history and then the new points of these series: the first
        asked for matter most (a screen asks for what it shows first). Past MAX_FOLLOWED, the
        series asked for longest ago are let go, never one just asked for: a run view of 300
        metrics asked for all of them, and the first (its top plots) were let go at once and
        asked for again every frame ("no finite values yet" on screen every other second)."""
        followed = self._followed
        wanted = list(dict.fromkeys(series_ids))[:MAX_FOLLOWED]
        fresh = [sid for sid in wanted if sid not in followed]
        for sid in reversed(wanted):  # the newest last, the first asked for newest of all
            followed.pop(sid, None)
            followed[sid] = None
        if not fresh:
            return
        if len(followed) > MAX_FOLLOWED:
            dropped = list(followed)[: len(followed) - MAX_FOLLOWED]
            for sid in dropped:
                del followed[sid]
            self.reader.unfollow(dropped)
            self.model.apply(Dropped(series_ids=dropped))
        self.reader.follow(fresh)
        self.feed.request()

    # --- plot options ------------------------------------------------------------------------

    def _set_options(self, options: PlotOptions) -> None:
        self.options = options
        for screen in self.screen_stack:
            if isinstance(screen, LiveScreen):
                screen.post_message(OptionsChanged())

    def plotted_runs(self) -> list[RunRecord]:
        """The runs whose plots the topmost plotting screen shows (for the x-axis choices)."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, PlotsRuns):
                return list(screen.plotted_runs())
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

    def action_toggle_bell(self) -> None:
        self.ring_on_events = not self.ring_on_events
        state = "on" if self.ring_on_events else "off"
        self.notify(f"bell on new health events and alerts: {state}", timeout=3)

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
        notes = (
            "Plots: min/max per column, so spikes survive; ⚠ marks NaN/inf (gaps); ▲ under a"
            " plot: a health event on that metric or an alert, at its step.\n"
            "Health column: ⚠N health events and alerts, then one glyph per open episode: "
            + legend()
        )
        self.push_screen(HelpScreen(title, keys, notes))
