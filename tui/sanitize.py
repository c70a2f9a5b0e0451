"""The TUI's and the CLI's name for the one sanitizer, :mod:`tracker.sanitize`.

Everything read from a database passes :func:`safe_text` (or :func:`safe_json` for ``--json``)
before it reaches the terminal; see that module for what is escaped and why.
"""

from __future__ import annotations

from tracker.sanitize import is_safe, safe_json, safe_text

__all__ = ["is_safe", "safe_json", "safe_text"]
