"""The runs table as text: CSV, Markdown or LaTeX, with the columns, order and filter shown.

Markdown and LaTeX are for people and hold the cells as shown (``2,499``, ``3m33s``, ``-``).
CSV is for programs and holds data (:func:`data_cell`): whole numbers and floats as Python
writes them back exactly, nothing where a value is missing, times in seconds.

:func:`render` passes every header and cell through :func:`safe_text` first: the text goes to
the terminal (``tracktui ls --format``), to a file and to the clipboard (the TUI's ``e``).
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from collections.abc import Sequence

from .sanitize import safe_text

FORMATS = {"csv": "csv", "md": "markdown", "tex": "latex"}
DATA_FORMATS = {"csv"}  # formats that hold data, not the cells as shown


def data_cell(value: object) -> str:
    """A value as a CSV cell a program reads back: ``repr`` of a float (every digit it has;
    ``nan``, ``inf``), a whole number without separators, nothing for a missing one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue()


_MD_SPECIAL = set("\\`*_[]<>#|~")  # read as Markdown syntax in a table cell (``*em*``, code)


def _md_cell(text: str) -> str:
    """A cell's text as itself in Markdown: every character the syntax reads escaped."""
    return "".join(f"\\{ch}" if ch in _MD_SPECIAL else ch for ch in text.replace("\n", " "))


def to_markdown(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(_md_cell(h) for h in headers) + " |",
        "| " + " | ".join("---" for _ in headers) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    # The table's flag of a series with NaN/inf: pdflatex stops at a character it has no glyph
    # for ("Unicode character ⚠ not set up for use with LaTeX").
    "⚠": "(!)",
}  # fmt: skip


def _tex_cell(text: str) -> str:
    """A cell in LaTeX: its special characters escaped, and the table's own marks that
    pdflatex has no glyph for (the health detectors' ``∅ ↑``, a trend's ``▁▃█``) left out;
    letters of any script are kept (a name's ``ü``)."""
    return "".join(
        _LATEX_SPECIAL.get(ch, "" if ord(ch) > 127 and unicodedata.category(ch)[0] == "S" else ch)
        for ch in text
    ).strip()


def to_latex(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    spec = "l" * len(headers)
    lines = [
        f"\\begin{{tabular}}{{{spec}}}",
        "\\hline",
        " & ".join(_tex_cell(h) for h in headers) + " \\\\",
        "\\hline",
    ]
    lines += [" & ".join(_tex_cell(c) for c in row) + " \\\\" for row in rows]
    lines += ["\\hline", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def render(kind: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The table in format ``kind`` (``csv``, ``md``, ``tex``), every cell made safe text."""
    headers = [safe_text(h) for h in headers]
    rows = [[safe_text(c) for c in row] for row in rows]
    if kind == "csv":
        return to_csv(headers, rows)
    if kind in ("md", "markdown"):
        return to_markdown(headers, rows)
    if kind in ("tex", "latex"):
        return to_latex(headers, rows)
    raise ValueError(f"unknown export format {kind!r}; use csv, md or tex")
