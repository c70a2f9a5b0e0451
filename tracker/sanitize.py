"""The one sanitizer for text read from a database on its way to a terminal.

Stored text stays raw; it is neutralised at the display boundary, by the CLI (``tracktui ls``,
``tracktui best``, exports), by the TUI (every header, title, cell and pane) and by the
tracker's own warnings. Characters that a terminal or a reader could be tricked by become
visible escapes:

- C0 controls (ESC starts every CSI/OSC sequence: titles, OSC 52 clipboard writes, screen
  clears), DEL and the C1 controls U+0080-U+009F (U+009B is a one-character CSI);
- bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, U+061C, U+200E/F),
  zero-width and invisible characters (U+200B-U+200D, U+2060-U+2064, U+FEFF) and the line and
  paragraph separators U+2028/U+2029;
- lone surrogates (a JSON text can hold them; no terminal encoding can).

:func:`safe_text` makes text for people (``\\x1b``, ``\\u202e``); :func:`safe_json` writes
JSON whose strings spell the same characters as ``\\uXXXX`` escapes, so the JSON stays valid
and round-trips exactly. This module is plain Python: ``tracker`` and ``tui`` both use it.
"""

from __future__ import annotations

import json
import re
from typing import Any

UNSAFE_PATTERN = (
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff"
    r"\ud800-\udfff]"
)
_UNSAFE = re.compile(UNSAFE_PATTERN)  # tab and newline are left to ``single_line``


def is_safe(text: str) -> bool:
    """Whether ``text`` holds no character that :func:`safe_text` would escape (tab and
    newline aside)."""
    return _UNSAFE.search(text) is None


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: object, limit: int | None = None, single_line: bool = True) -> str:
    """``text`` as printable characters only: controls become visible ``\\xNN`` or ``\\uNNNN``
    escapes. ``single_line`` also writes newlines as ``\\n`` and tabs as spaces; ``limit``
    shortens the result to that many characters, the last one ``…``.

    Text without unsafe characters comes back unchanged, and the same text always gives the
    same result, so applying it twice changes nothing.
    """
    value = str(text)
    if single_line:
        value = value.replace("\n", "\\n").replace("\t", " ")
    value = _UNSAFE.sub(_visible, value)
    if limit is not None and len(value) > limit:
        value = value[: max(1, limit - 1)] + "…"
    return value


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def safe_json(value: Any, indent: int | None = 2) -> str:
    """``json.dumps(value)`` with every unsafe character written as a ``\\uXXXX`` escape.

    Other non-ASCII text (``é``, ``日本``) is written as it is. Outside its strings a JSON
    text holds only ASCII punctuation, digits and white space, so the escapes can only land
    inside strings, where they mean exactly the character they replace.
    """
    return _UNSAFE.sub(_json_escape, json.dumps(value, indent=indent, ensure_ascii=False))


NAME_IN_MESSAGES = 60  # characters of a run's name in a warning (its id says which run)


def short_name(name: str) -> str:
    """A run's name for a message: whole up to :data:`NAME_IN_MESSAGES` characters, else cut
    in the middle (a 256-character name repeated in every warning buried what it said)."""
    if len(name) <= NAME_IN_MESSAGES:
        return name
    head = (NAME_IN_MESSAGES - 1) * 2 // 3
    return name[:head] + "…" + name[len(name) - (NAME_IN_MESSAGES - 1 - head) :]
