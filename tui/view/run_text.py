"""The text of a run's view: its config and summary as aligned key/value lines (a Visual
laid out for the side pane's width), a failed run's error, and its events (resumes, health
events, alerts)."""

from __future__ import annotations

import json
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.content import Content
from textual.css.styles import RulesMap
from textual.strip import Strip
from textual.style import Style
from textual.visual import RenderOptions, Visual

from tracker.models import RunEvent

from ..formatting import cut_cells, format_duration, wrap_cells
from ..health import DETECTOR_NAMES, HEALTH, LEVEL_STYLES, detector_of, glyph_of, is_resolved
from ..sanitize import safe_text


def flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[str, Any]] = []
        for key, inner in value.items():
            out += flatten(inner, f"{prefix}{key}.")
        return out
    return [(prefix.rstrip("."), value)]


def mapping_entries(mapping: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, value)`` as shown, both through safe_text: nested keys joined with ``.``,
    floats short (``0.0`` and ``3e-05`` as written; 1.68934, not 1.6893371863328577)."""
    entries: list[tuple[str, str]] = []
    for key, value in flatten(mapping) if mapping else ():
        if isinstance(value, float):
            short = repr(value)
            shown = short if len(short) <= 8 else f"{value:.6g}"
        elif isinstance(value, str):
            shown = value
        else:
            shown = json.dumps(value, ensure_ascii=False)
        entries.append((safe_text(key, 40), safe_text(shown, 200)))
    return entries


class KeyValues(Visual):
    """Titled lists of ``key = value`` lines, laid out for the width they are drawn at: a
    key is never wrapped (one wider than the line is cut with ``…``); a value that does not
    fit after its key goes on the lines below it, indented, broken at spaces."""

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        self.sections = sections
        self._layouts: dict[int | None, Content] = {}

    def layout(self, width: int | None) -> Text:
        """The lines for ``width`` cells (None: as wide as they need)."""
        text = Text()
        for index, (title, entries) in enumerate(self.sections):
            if index:
                text.append("\n")
            text.append(f"{title if width is None else cut_cells(title, width)}\n", style="bold")
            if not entries:
                text.append("(empty)\n", style="dim")
            for key, value in entries:
                if width is None or cell_len(key) + 3 + cell_len(value) <= width:
                    text.append(key, style="cyan")
                    text.append(f" = {value}\n")
                    continue
                if cell_len(key) + 2 <= width:
                    text.append(key, style="cyan")
                    text.append(" =\n")
                elif cell_len(key) <= width:
                    text.append(f"{key}\n", style="cyan")  # whole, without its " ="
                else:
                    text.append(cut_cells(key, max(1, width - 2)), style="cyan")
                    text.append(" =\n")
                for line in wrap_cells(value, max(1, width - 2), max_lines=len(value) + 1):
                    text.append(f"  {line}\n")
        return text

    @property
    def plain(self) -> str:
        return self.layout(None).plain

    def __str__(self) -> str:
        return self.plain

    def _content(self, width: int | None) -> Content:
        content = self._layouts.get(width)
        if content is None:
            if len(self._layouts) > 8:
                self._layouts.clear()
            content = self._layouts[width] = Content.from_rich_text(self.layout(width))
        return content

    def render_strips(
        self, width: int, height: int | None, style: Style, options: RenderOptions
    ) -> list[Strip]:
        return self._content(width).render_strips(width, height, style, options)

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return self._content(None).get_optimal_width(rules, container_width)

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self._content(width).get_height(rules, width)


def describe_mappings(*sections: tuple[str, dict[str, Any]]) -> KeyValues:
    """The config and summary pane: each mapping under its title."""
    return KeyValues([(title, mapping_entries(mapping)) for title, mapping in sections])


def describe_mapping(title: str, mapping: dict[str, Any]) -> KeyValues:
    return describe_mappings((title, mapping))


EVENTS_SHOWN = 8
ERROR_LINES = 3  # a failed run's error in the header: longer ones end with …
ERROR_CHARS = 20_000  # of a failed run's error in the side pane


def error_line(error: str) -> str:
    """The line of an error that names it: a traceback's last (the exception), else the
    error as it stands."""
    lines = [line.strip() for line in error.splitlines() if line.strip()]
    return lines[-1] if lines else error


def describe_error(error: str) -> Text:
    """A failed run's whole error for the side pane, every line of it (wrapped there)."""
    text = Text("error\n", style="bold red")
    text.append(safe_text(error.rstrip(), ERROR_CHARS, single_line=False), style="red")
    text.append("\n")
    return text


ALERT_STYLES = {"ERROR": "bold red", "WARN": "yellow"}


def _health_lines(event: RunEvent, started: float | None) -> Text:
    """A health event: its level in its colour, glyph, detector, key, title, step, time."""
    detector = detector_of(event)
    resolved = is_resolved(event)
    level = safe_text(event.level or "WARN", 8)
    style = "green" if resolved else LEVEL_STYLES.get(event.level or "", "yellow")
    text = Text()
    if resolved:
        text.append("✓ resolved", style="bold green")
    else:
        text.append(f"{glyph_of(detector)} {level}", style=style)
    name = DETECTOR_NAMES.get(detector, detector)
    text.append(f" {safe_text(name, 40)}", style=style)
    if event.key:
        text.append(f" {safe_text(event.key, 40)}", style="cyan")
    when = []
    if event.step is not None:
        when.append(f"step {event.step:,}")
    if started is not None:
        when.append(f"at {format_duration(max(0.0, event.t - started))}")
    if when:
        text.append(f" ({', '.join(when)})", style="dim")
    text.append(f"\n    {safe_text(event.title, 160)}", style="dim" if resolved else "")
    return text


def _event_lines(event: RunEvent, started: float | None = None) -> Text:
    """One event as text (everything from the file through safe_text, never markup)."""
    if event.kind == HEALTH:
        return _health_lines(event, started)
    text = Text()
    step = f" at step {event.step:,}" if event.step is not None else ""
    detail = event.detail
    if event.kind == "resumed":
        previous = safe_text(str(detail.get("previous_status") or "stopped"), 12)
        text.append(f"↻ resumed{step} after {previous}", style="bold yellow")
        pid = detail.get("previous_pid")
        if pid is not None:
            text.append(f" (pid {safe_text(str(pid), 12)}", style="yellow")
            host = detail.get("previous_host")
            if host:
                text.append(f" on {safe_text(str(host), 24)}", style="yellow")
            text.append(")", style="yellow")
        if detail.get("exit_code") is not None:
            text.append(f", exit code {safe_text(str(detail['exit_code']), 8)}", style="yellow")
        error = detail.get("error")
        if error:
            text.append(f"\n    {safe_text(str(error), 120)}", style="red")
    else:
        level = safe_text(event.level or event.kind, 8)
        text.append(f"⚑ {level}", style=ALERT_STYLES.get(event.level or "", "cyan"))
        text.append(f" {safe_text(event.title, 60)}", style="bold")
        text.append(step, style="dim")
        body = detail.get("text")
        if isinstance(body, str) and body:
            text.append(f"\n    {safe_text(body, 120)}")
    return text


def describe_events(events: list[RunEvent], started: float | None = None) -> Text:
    """The run's events, newest last: resume markers, health events and alerts (``started``:
    when the run began, for the time since then of each health event)."""
    text = Text("events\n", style="bold")
    shown = events[-EVENTS_SHOWN:]
    if len(events) > len(shown):
        text.append(f"({len(events) - len(shown)} earlier)\n", style="dim")
    for event in shown:
        text.append_text(_event_lines(event, started))
        text.append("\n")
    return text
