"""Images in the terminal through ``textual-image``: Kitty graphics in Kitty, Sixel in
terminals known to speak it, coloured half cells everywhere else (also when output is not a
terminal, which keeps tests and screenshots deterministic). ``TRACKTUI_IMAGES=halfcell|sixel|
kitty`` overrides the choice.

The terminal is never queried. ``textual-image`` asks the terminal about Sixel/Kitty support
and cell size when it is imported, and a late answer is read by Textual as key presses (in
tmux it opened the help screen). So the library is imported with those queries turned off, the
renderer is chosen from the environment, and the cell size comes from the ``TIOCGWINSZ`` ioctl,
which needs no answer.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image as PILImage
from textual.widget import Widget


class _NotATerminal:
    """Stands in for ``sys.__stdout__`` while the library is imported: nothing to query."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _cell_size_from_ioctl() -> tuple[int, int]:
    try:
        import fcntl
        import struct
        import termios

        packed = fcntl.ioctl(sys.__stdout__, termios.TIOCGWINSZ, b"\0" * 8)  # type: ignore[arg-type]
        rows, columns, width, height = struct.unpack("HHHH", packed)
        if rows and columns and width and height:
            return width // columns, height // rows
    except (OSError, ValueError, ImportError, TypeError):
        pass
    return 10, 20  # a common cell (textual-image's own default)


@contextmanager
def _no_terminal_queries() -> Iterator[None]:
    real = sys.__stdout__
    sys.__stdout__ = _NotATerminal(real)  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        sys.__stdout__ = real  # type: ignore[misc]


def _import_library() -> tuple[type[Widget], type[Widget], type[Widget]]:
    from textual_image import _terminal

    cell = _terminal.CellSize(*_cell_size_from_ioctl())
    _terminal.get_cell_size._result = cell  # type: ignore[attr-defined]
    with _no_terminal_queries():
        from textual_image.widget import HalfcellImage, SixelImage, TGPImage
    return HalfcellImage, SixelImage, TGPImage


HalfcellImage, SixelImage, TGPImage = _import_library()

_CHOICES: dict[str, type[Widget]] = {
    "halfcell": HalfcellImage,
    "sixel": SixelImage,
    "kitty": TGPImage,
    "tgp": TGPImage,
}
_SIXEL_TERMINALS = ("wezterm", "foot", "mlterm", "contour", "iterm.app", "konsole", "xterm-sixel")


def choose_renderer(env: dict[str, str] | os._Environ[str], is_tty: bool) -> type[Widget]:
    """The image widget for this terminal, from its environment alone."""
    forced = env.get("TRACKTUI_IMAGES", "").strip().lower()
    if forced in _CHOICES:
        return _CHOICES[forced]
    if not is_tty or "TMUX" in env or env.get("TERM", "").startswith("screen"):
        return HalfcellImage  # multiplexers do not pass graphics through by default
    if env.get("TERM") == "xterm-kitty" or "KITTY_WINDOW_ID" in env:
        return TGPImage
    program = " ".join(
        env.get(name, "") for name in ("TERM_PROGRAM", "TERM", "LC_TERMINAL")
    ).lower()
    if "KONSOLE_VERSION" in env or any(name in program for name in _SIXEL_TERMINALS):
        return SixelImage
    return HalfcellImage


DETECTED: type[Widget] = choose_renderer(
    os.environ, bool(sys.__stdout__ and sys.__stdout__.isatty())
)
RENDERER_NAMES = {HalfcellImage: "half cells", SixelImage: "sixel", TGPImage: "kitty graphics"}

__all__ = [
    "DETECTED",
    "HalfcellImage",
    "SixelImage",
    "TGPImage",
    "choose_renderer",
    "image_widget",
    "next_renderer",
    "renderer_name",
]


CYCLE = (HalfcellImage, SixelImage, TGPImage)


def next_renderer(kind: type[Widget]) -> type[Widget]:
    """The renderer after ``kind`` (``r`` in the media pane): half cells, Sixel, Kitty."""
    index = CYCLE.index(kind) if kind in CYCLE else -1
    return CYCLE[(index + 1) % len(CYCLE)]


def renderer_name(kind: type[Widget]) -> str:
    return RENDERER_NAMES.get(kind, "auto")


def image_widget(picture: PILImage.Image, renderer: type[Widget] | None = None) -> Widget:
    kind = renderer or DETECTED
    return kind(picture)  # type: ignore[arg-type]
