"""Human formats for numbers, durations and ages, shared by the CLI and the TUI, and text
fitted to a width: cut with ``…`` (never silently), wrapped at spaces, laid out in parts."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

from rich.cells import cell_len, chop_cells
from rich.text import Text

ELLIPSIS = "…"


def format_number(value: float | int | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1e5 or magnitude < 1e-3:
        return f"{value:.{max(digits - 1, 1)}e}"
    return f"{value:.{digits}g}"


def format_duration(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{int(minutes)}m{int(seconds % 60):02d}s"
    hours = minutes / 60
    if hours < 48:
        return f"{int(hours)}h{int(minutes % 60):02d}m"
    return f"{hours / 24:.1f}d"


def format_age(seconds: float) -> str:
    return f"{format_duration(seconds)} ago"


def format_bytes(value: float | None, rate: bool = False) -> str:
    """Binary units for sizes (``12.3 GiB``), decimal ones for rates (``1.2 MB/s``)."""
    if value is None or value != value:
        return "-"
    base, units = (
        (1000.0, ("B/s", "kB/s", "MB/s", "GB/s", "TB/s"))
        if rate
        else (
            1024.0,
            ("B", "KiB", "MiB", "GiB", "TiB", "PiB"),
        )
    )
    size = float(value)
    for unit in units:
        if abs(size) < base or unit == units[-1]:
            return f"{size:.0f} {unit}" if unit in ("B", "B/s") else f"{size:.1f} {unit}"
        size /= base
    return f"{size:.1f} {units[-1]}"


def format_with_unit(value: float | None, unit: str) -> str:
    """A value with the unit of the metric registry: %, B, B/s, °C, W, MHz, cores."""
    if value is None or value != value:
        return "-"
    if unit == "B":
        return format_bytes(value)
    if unit == "B/s":
        return format_bytes(value, rate=True)
    if unit == "%":
        return f"{value:.0f}%"
    if unit in ("°C", "W", "MHz"):
        return f"{value:.0f} {unit}"
    if unit == "cores":
        return f"{value:g} cores"
    return format_number(value, 3)


def cut_cells(text: str, width: int) -> str:
    """``text`` in at most ``width`` terminal cells; when cut, its last cell is ``…``."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    kept = ""
    for char in text:
        if cell_len(kept + char) > width - 1:
            break
        kept += char
    return kept + ELLIPSIS


def cut_cells_left(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut at the start (``…/runs/demo.db``): the end of
    a path is the part that tells files apart."""
    if cell_len(text) <= width:
        return text
    if width <= 0:
        return ""
    kept = ""
    for char in reversed(text):
        if cell_len(char + kept) > width - 1:
            break
        kept = char + kept
    return ELLIPSIS + kept


def cut_cells_middle(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, cut in the middle (``lora-r32-lr0.0…seed1234``):
    run names of a sweep share a start and differ anywhere, often at the end."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    tail = (width - 1) // 2
    head = cut_cells(text, width - tail)[:-1]  # the head's cells, its ellipsis dropped
    return head + ELLIPSIS + cut_cells_left(text, tail + 1)[1:]


_BREAKS_AFTER = frozenset("/_-.,:;=+|\\")  # a path, a dotted or joined name, a list


def break_word(word: str, width: int) -> list[str]:
    """A word longer than a line, on lines of ``width`` cells: each line ends after the last
    ``/``, ``_``, ``-``, ``.`` or ``,`` that fits in its second half (a path breaks between
    its folders, ``warmup_cosine_schedule`` between its words), else where the line ends."""
    lines: list[str] = []
    rest = word
    while cell_len(rest) > width:
        line = chop_cells(rest, width)[0]
        cut = max((i for i, ch in enumerate(line) if ch in _BREAKS_AFTER), default=-1) + 1
        if cut * 2 >= len(line):
            line = line[:cut]
        lines.append(line)
        rest = rest[len(line) :]
    return [*lines, rest]


def wrap_cells(text: str, width: int, max_lines: int) -> list[str]:
    """``text`` on at most ``max_lines`` lines of ``width`` cells, broken at spaces (a word
    longer than a line: see :func:`break_word`); what does not fit ends the last line with
    ``…``."""
    width = max(1, width)
    lines: list[str] = []
    line = ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if cell_len(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        pieces = break_word(word, width) if word else [""]
        lines += pieces[:-1]
        line = pieces[-1]
    lines.append(line)
    if len(lines) > max_lines:  # the lines past the last are longer than one: cut there
        rest = " ".join(lines[max_lines - 1 :])
        lines = [*lines[: max_lines - 1], cut_cells(rest, width)]
    return lines


def _cut_text(text: Text, width: int) -> Text:
    if text.cell_len <= width:
        return text
    cut = text.copy()
    cut.truncate(max(1, width), overflow="ellipsis")
    return cut


def fit_parts(
    parts: Sequence[Text], width: int, optional: Collection[int] = (), max_lines: int = 2
) -> list[Text]:
    """``parts`` (each with the spaces that separate it from the one before) side by side on
    lines of ``width`` cells: a part that does not fit on a line starts the next one whole
    (without its leading spaces) rather than being cut. An ``optional`` part (by index) is
    left out where it does not fit on the line it would end. A part wider than a line is cut
    with ``…``, and so is the last line when the parts need more than ``max_lines``."""
    width = max(1, width)
    lines: list[Text] = [Text()]
    for index, part in enumerate(parts):
        line = lines[-1]
        if line.cell_len and line.cell_len + part.cell_len > width:
            if index in optional:
                continue
            line = Text()
            lines.append(line)
        if len(lines) > 1 and not line.cell_len:
            part = part[len(part.plain) - len(part.plain.lstrip(" ")) :]
        line.append_text(_cut_text(part, width))
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        for line in lines[max_lines:]:
            last.append_text(Text("  ") + line)
        if last.cell_len > width:
            last.truncate(width, overflow="ellipsis")
        lines = lines[:max_lines]
    return lines
