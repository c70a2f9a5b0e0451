"""Make text read from a database safe to print: no terminal escapes, no bidi tricks.

Stored text stays raw; it is neutralised here, at the display boundary, for the CLI and the TUI.
"""

from __future__ import annotations

import re

# C0 controls except tab/newline, DEL, C1 controls, bidi overrides/isolates, zero-width chars.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: object, limit: int | None = None, single_line: bool = True) -> str:
    """``text`` as printable characters only: controls become visible ``\\xNN`` escapes."""
    value = str(text)
    if single_line:
        value = value.replace("\n", "\\n").replace("\t", " ")
    value = _UNSAFE.sub(_visible, value)
    if limit is not None and len(value) > limit:
        value = value[: max(1, limit - 1)] + "…"
    return value
